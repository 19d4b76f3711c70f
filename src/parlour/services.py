"""build_services(settings): the one place where collaborators are created and wired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from parlour.assistant.faq_responder import FaqResponder
from parlour.assistant.service import AssistantService
from parlour.chat.broker import Broker, InProcessBroker
from parlour.chat.service import ChatService
from parlour.crypto.master_key import load_master_key
from parlour.keys.service import KeyService
from parlour.knowledge.service import KnowledgeService
from parlour.settings import Settings
from parlour.storage.database import Database
from parlour.storage.migrate import migrate
from parlour.tenants.service import TenantService


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    db: Database
    broker: Broker
    tenants: TenantService
    keys: KeyService
    knowledge: KnowledgeService
    chat: ChatService
    assistant: AssistantService

    async def migrate(self) -> None:
        await migrate(self.db)

    async def aclose(self) -> None:
        await self.assistant.aclose()
        await self.broker.aclose()
        await self.db.dispose()


def build_services(settings: Settings) -> Services:
    db = Database(settings.database_url, echo=settings.database.echo)
    broker = InProcessBroker()
    knowledge = KnowledgeService(
        db,
        max_faq_bytes=settings.knowledge.max_faq_bytes,
        max_entries=settings.knowledge.max_faq_entries,
        max_field_chars=settings.knowledge.max_field_chars,
    )
    chat = ChatService(db, broker, max_message_chars=settings.gateway.max_message_chars)
    return Services(
        settings=settings,
        db=db,
        broker=broker,
        tenants=TenantService(db, allow_insecure_origins=not settings.is_production),
        keys=KeyService(
            db,
            load_master_key(settings),
            issuer=settings.server.public_url,
            end_user_ttl=timedelta(seconds=settings.tokens.end_user_ttl_seconds),
            leeway=timedelta(seconds=settings.tokens.leeway_seconds),
        ),
        knowledge=knowledge,
        chat=chat,
        assistant=AssistantService(chat, FaqResponder(knowledge)),
    )
