"""A conversation's customer panel, for the members who read the desk: the customer's verified
name, e-mail and traits (only from a token the organisation signed: chat.customers; a visitor
is anonymous), their previous conversations, and the assistant's turns in this conversation
with their citations and provenance (provider, model, template and knowledge versions,
outcome)."""

from __future__ import annotations

from dataclasses import dataclass

from parlour.assistant.models import TurnRecord
from parlour.assistant.repository import AssistantRepository
from parlour.chat.customers import CustomerProfiles, Profile
from parlour.chat.models import Citation, Conversation
from parlour.chat.repository import MessageRepository
from parlour.chat.service import ChatService
from parlour.crypto.vault import TenantCipher, Vault
from parlour.keys.models import VISITOR_PREFIX
from parlour.storage.database import Database

PREVIOUS = 20  # of the customer's other conversations, the newest
TURNS = 50  # of the assistant's turns in the conversation, the latest


@dataclass(frozen=True, slots=True)
class Turn:
    record: TurnRecord
    citations: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class Panel:
    conversation: Conversation
    anonymous: bool  # a visitor: nobody vouched for who they are
    profile: Profile | None  # the latest verified claims; None if none were kept
    previous: list[Conversation]
    turns: list[Turn]


class CustomerPanel:
    def __init__(
        self, db: Database, vault: Vault, chat: ChatService, profiles: CustomerProfiles
    ) -> None:
        self._db = db
        self._vault = vault
        self._chat = chat
        self._profiles = profiles

    async def panel(self, tenant_id: str, conversation_id: str) -> Panel:
        conversation = await self._chat.get_conversation(tenant_id, conversation_id)
        user_id = conversation.end_user_id
        anonymous = user_id.startswith(VISITOR_PREFIX)
        profile = None if anonymous else await self._profiles.profile(tenant_id, user_id)
        theirs = await self._profiles.conversations_of(tenant_id, user_id, limit=PREVIOUS + 1)
        previous = [c for c in theirs if c.conversation_id != conversation_id][:PREVIOUS]
        turns = await self._vault.using(
            tenant_id, lambda cipher: self._turns(tenant_id, conversation_id, cipher)
        )
        return Panel(conversation, anonymous, profile, previous, turns)

    async def _turns(
        self, tenant_id: str, conversation_id: str, cipher: TenantCipher
    ) -> list[Turn]:
        async with self._db.read(tenant_id) as conn:
            records = await AssistantRepository(conn).turns_in(tenant_id, conversation_id, TURNS)
            answers = await MessageRepository(conn, cipher).get_many(
                tenant_id, [r.message_id for r in records]
            )
        cited = {m.message_id: m.citations for m in answers}
        return [Turn(r, cited.get(r.message_id, ())) for r in records]
