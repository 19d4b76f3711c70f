"""A customer's rating of a resolved conversation (issue 22): a score from 1 to 5 and an optional
comment, asked for by the widget when the conversation is resolved.

- One rating per resolution: a conversation resolved, reopened and resolved again may be rated
  again, but a second rating of the same resolution is refused (`AlreadyRated`), so the first
  stands and cannot be flipped back and forth. A conversation that is not resolved cannot be
  rated (`NotResolved`).
- The rating is stored with the member who had the conversation when it was resolved (its
  assignee, else the person who first answered it), for the reports' per-agent figures.
- The comment is customer text: sealed with the organisation's key, bound to the rating.
- The `conversation.rated` webhook event is owed in the rating's transaction, with ids, the
  score and the member, never the comment: webhook payloads of the desk's events carry ids and
  states only (the organisation reads comments in its dashboard and API).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.chat.models import ConversationStatus
from parlour.chat.ratings_repository import RatingRepository
from parlour.crypto.vault import Place, TenantCipher, Vault
from parlour.errors import Conflict, InvalidInput, NotFound
from parlour.storage.database import Database
from parlour.storage.ids import time_ordered_id
from parlour.storage.types import Clock, utcnow

MAX_COMMENT = 1000
RATED = "conversation.rated"


class NotResolved(Conflict):
    code = "not_resolved"
    default_message = "Only a resolved conversation can be rated."


class AlreadyRated(Conflict):
    code = "already_rated"
    default_message = "This conversation has been rated already."


class RatingEvents(Protocol):
    """Owes an organisation's event to its webhooks in the caller's transaction
    (`webhooks.organisation_events.OrganisationEvents` is one; chat may not import it)."""

    async def owe(
        self,
        conn: AsyncConnection,
        tenant_id: str,
        event: str,
        data: dict[str, object],
        at: datetime,
    ) -> int: ...


@dataclass(frozen=True, slots=True)
class Rating:
    conversation_id: str
    score: int
    agent_id: str | None
    rated_at: datetime


@dataclass(frozen=True, slots=True)
class RatingRead:
    """A rating as the organisation's members read it, its comment opened."""

    score: int
    comment: str | None
    agent_id: str | None
    resolved_at: datetime
    rated_at: datetime


class Ratings:
    def __init__(
        self, db: Database, vault: Vault, events: RatingEvents, *, clock: Clock = utcnow
    ) -> None:
        self._db = db
        self._vault = vault
        self._events = events
        self._clock = clock

    async def rate(
        self, tenant_id: str, conversation_id: str, score: int, comment: str | None = None
    ) -> Rating:
        if not 1 <= score <= 5:
            raise InvalidInput("a rating is a whole number from 1 to 5")
        text = _comment(comment)
        rating_id = time_ordered_id()
        sealed = None
        if text is not None:
            cipher = await self._vault.cipher(tenant_id)
            sealed = cipher.seal_text(text, comment_place(rating_id))
        now = self._clock()
        try:
            return await self._store(tenant_id, conversation_id, rating_id, score, sealed, now)
        except IntegrityError:  # a rating of the same resolution committed first
            raise AlreadyRated() from None

    async def of_conversation(self, tenant_id: str, conversation_id: str) -> list[RatingRead]:
        """The conversation's ratings, one per resolution rated, oldest first, comments opened
        (for members who read conversations)."""
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.read(tenant_id) as conn:
            found = await RatingRepository(conn).resolution(tenant_id, conversation_id, lock=False)
            if found is None:
                raise NotFound("no such conversation")
            rows = await RatingRepository(conn).of_conversation(tenant_id, conversation_id)
        return _opened(cipher, rows)

    async def _store(
        self,
        tenant_id: str,
        conversation_id: str,
        rating_id: str,
        score: int,
        sealed: bytes | None,
        now: datetime,
    ) -> Rating:
        async with self._db.transaction(tenant_id) as conn:
            ratings = RatingRepository(conn)
            resolution = await ratings.resolution(tenant_id, conversation_id)
            if resolution is None:
                raise NotFound("no such conversation")
            if (
                resolution.status != ConversationStatus.RESOLVED.value
                or resolution.resolved_at is None
            ):
                raise NotResolved()
            if await ratings.rated(tenant_id, conversation_id, resolution.resolved_at):
                raise AlreadyRated()
            await ratings.insert(
                tenant_id,
                conversation_id,
                resolution.resolved_at,
                rating_id=rating_id,
                score=score,
                comment_sealed=sealed,
                agent_id=resolution.agent_id,
                at=now,
            )
            data: dict[str, object] = {
                "organisation_id": tenant_id,
                "conversation_id": conversation_id,
                "end_user_id": resolution.end_user_id,
                "score": score,
                "agent_id": resolution.agent_id,
                "resolved_at": resolution.resolved_at.isoformat(),
                "rated_at": now.isoformat(),
            }
            await self._events.owe(conn, tenant_id, RATED, data, now)
        return Rating(conversation_id, score, resolution.agent_id, now)


def _opened(
    cipher: TenantCipher, rows: list[tuple[str, int, bytes | None, str | None, datetime, datetime]]
) -> list[RatingRead]:
    return [
        RatingRead(
            score,
            None if sealed is None else cipher.open_text(sealed, comment_place(rating_id)),
            agent_id,
            resolved_at,
            rated_at,
        )
        for rating_id, score, sealed, agent_id, resolved_at, rated_at in rows
    ]


def comment_place(rating_id: str) -> Place:
    return Place("conversation_ratings", rating_id, "comment")


def _comment(comment: str | None) -> str | None:
    if comment is None:
        return None
    text = unicodedata.normalize("NFC", comment).strip()
    if not text:
        return None
    if len(text) > MAX_COMMENT:
        raise InvalidInput(f"a comment may have at most {MAX_COMMENT} characters")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
        raise InvalidInput("a comment may not contain control characters")
    return text
