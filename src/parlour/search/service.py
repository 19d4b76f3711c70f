"""Searching an organisation's conversations, for its members who read the desk: by customer,
state, assignee, dates and words. Words are found through the blind index (parlour.search.terms,
docs/search.md); each conversation found comes with its newest matching message's snippet,
opened with the organisation's key for the member who asked, and checked against the words (a
tag collision never shows)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from parlour.chat.models import Conversation, ConversationStatus, Message
from parlour.chat.repository import ConversationRepository, MessageRepository
from parlour.crypto.vault import TenantCipher, Vault
from parlour.errors import InvalidInput
from parlour.search.repository import Filters, SearchRepository
from parlour.search.terms import MAX_QUERY_TERMS, normalise, tags, words
from parlour.storage.database import Database

MAX_RESULTS = 50
SNIPPET_CHARS = 160
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Query:
    text: str = ""
    end_user_id: str | None = None
    status: ConversationStatus | None = None
    assignee: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 20


@dataclass(frozen=True, slots=True)
class Found:
    conversation: Conversation
    message: Message | None  # the newest message holding every word; None without words
    snippet: str | None


class ConversationSearch:
    def __init__(self, db: Database, vault: Vault) -> None:
        self._db = db
        self._vault = vault

    async def search(self, tenant_id: str, query: Query) -> list[Found]:
        """The organisation's conversations matching every part of `query`, newest first: by
        their newest matching message with words, by their latest activity without."""
        limit = max(1, min(query.limit, MAX_RESULTS))
        if query.since and query.until and query.since > query.until:
            raise InvalidInput("the search's start comes after its end")
        filters = Filters(
            end_user_id=query.end_user_id or None,
            status=query.status,
            assignee=query.assignee or None,
            since=query.since,
            until=query.until,
        )
        terms = words(query.text)
        if query.text.strip() and not terms:
            raise InvalidInput(
                "search for a word of two letters or more, not only words like 'the'"
            )
        if len(terms) > MAX_QUERY_TERMS:
            raise InvalidInput(f"search for {MAX_QUERY_TERMS} words at most")
        if not terms:
            async with self._db.read(tenant_id) as conn:
                ids = await SearchRepository(conn).conversation_ids(tenant_id, filters, limit)
                found = await ConversationRepository(conn).get_many(tenant_id, ids)
            return [Found(found[i], None, None) for i in ids if i in found]
        return await self._vault.using(
            tenant_id, lambda cipher: self._by_words(tenant_id, cipher, terms, filters, limit)
        )

    async def _by_words(
        self,
        tenant_id: str,
        cipher: TenantCipher,
        terms: list[str],
        filters: Filters,
        limit: int,
    ) -> list[Found]:
        wanted = tags(cipher.index_key, terms)
        async with self._db.read(tenant_id) as conn:
            repo = SearchRepository(conn)
            counts = [await repo.postings(tenant_id, t) for t in wanted]
            if 0 in counts:
                return []
            rarest_first = [t for _, t in sorted(zip(counts, wanted, strict=True))]
            hits = await repo.matching(tenant_id, rarest_first, filters, limit)
            conversations = await ConversationRepository(conn).get_many(
                tenant_id, [conversation_id for conversation_id, _ in hits]
            )
            messages = {
                message.message_id: message
                for message in await MessageRepository(conn, cipher).get_many(
                    tenant_id, [message_id for _, message_id in hits]
                )
            }
        found = []
        for conversation_id, message_id in hits:
            message = messages.get(message_id)
            conversation = conversations.get(conversation_id)
            if (
                message is None
                or conversation is None
                or not set(terms) <= set(words(message.body))
            ):
                continue
            found.append(Found(conversation, message, snippet(message.body, terms)))
        return found


def snippet(text: str, terms: list[str], width: int = SNIPPET_CHARS) -> str:
    """Up to `width` characters of `text` around the first of its words among `terms`."""
    wanted = set(terms)
    start = 0
    for match in _WORD.finditer(text):
        if normalise(match.group()) in wanted:
            start = match.start()
            break
    begin = max(0, start - width // 3)
    end = min(len(text), begin + width)
    begin = max(0, end - width)
    return ("…" if begin else "") + text[begin:end].strip() + ("…" if end < len(text) else "")
