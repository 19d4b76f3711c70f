"""Every table. Row-level tenancy: each one carries `tenant_id` (TB-07)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from parlour.storage.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(64)


def _tenant_fk() -> Column[str]:
    return Column(
        "tenant_id", ID, ForeignKey("tenants.tenant_id", ondelete="CASCADE"), nullable=False
    )


tenants = Table(
    "tenants",
    metadata,
    Column("tenant_id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("widget_id", ID, nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)

tenant_origins = Table(
    "tenant_origins",
    metadata,
    _tenant_fk(),
    Column("origin", String(300), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "origin"),
)

api_keys = Table(
    "api_keys",
    metadata,
    _tenant_fk(),
    Column("key_id", ID, primary_key=True),
    Column("label", String(200), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Index("ix_api_keys_tenant", "tenant_id"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    _tenant_fk(),
    Column("kid", ID, primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("private_key_sealed", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime, nullable=True),
    Index("ix_signing_keys_tenant", "tenant_id"),
)

conversations = Table(
    "conversations",
    metadata,
    _tenant_fk(),
    Column("conversation_id", ID, primary_key=True),
    Column("end_user_id", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("last_seq", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_conversations_tenant_user", "tenant_id", "end_user_id"),
)

messages = Table(
    "messages",
    metadata,
    _tenant_fk(),
    Column(
        "conversation_id",
        ID,
        ForeignKey("conversations.conversation_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("seq", Integer, nullable=False),
    Column("message_id", ID, nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("author", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("client_id", String(64), nullable=True),
    Column("citations", JSON, nullable=False),
    Column("actions", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("conversation_id", "seq"),
    UniqueConstraint("conversation_id", "client_id"),
)

faq_entries = Table(
    "faq_entries",
    metadata,
    _tenant_fk(),
    Column("entry_id", ID, primary_key=True),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_faq_entries_tenant", "tenant_id"),
)
