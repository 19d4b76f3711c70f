from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal


class Scope(StrEnum):
    MINT_END_USER_TOKENS = "end_user_tokens:mint"
    REVOKE_END_USERS = "end_users:revoke"
    WRITE_CLIENT_KEYS = "client_keys:write"
    WRITE_KNOWLEDGE = "knowledge:write"
    READ_REPORTS = "reports:read"


@dataclass(frozen=True, slots=True)
class ApiKey:
    tenant_id: str
    key_id: str
    label: str
    digest: str
    scopes: frozenset[Scope]
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A new key and its secret: the only moment the secret exists outside the caller's hands."""

    key: ApiKey
    secret: str


@dataclass(frozen=True, slots=True)
class SigningKey:
    tenant_id: str
    kid: str
    algorithm: str
    public_key: bytes
    private_key_sealed: bytes
    created_at: datetime
    retired_at: datetime | None = None

    def state_at(self, now: datetime) -> Literal["current", "retiring", "retired"]:
        """Current: it signs new tokens. Retiring: replaced, but what it signed is accepted
        until `retired_at`. Retired: nothing it signed is accepted."""
        if self.retired_at is None:
            return "current"
        return "retiring" if self.retired_at > now else "retired"

    def valid_at(self, moment: datetime) -> bool:
        """Whether tokens it signed still verify at `moment` (it is not retired by then)."""
        return self.state_at(moment) != "retired"


@dataclass(frozen=True, slots=True)
class ClientKey:
    """A public key an organisation registered to sign its own end-user tokens."""

    tenant_id: str
    kid: str
    algorithm: str
    public_key_pem: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class EndUser:
    """Who is on the other end of a widget, as proven by a verified token."""

    tenant_id: str
    user_id: str
    origin: str | None
    token_id: str
    expires_at: datetime
    traits: dict[str, str] = field(default_factory=dict)
    key_id: str = ""
    issued_at: datetime | None = None
    app_id: str | None = None
    # An anonymous visitor: a fresh, isolated identity that was never verified by the
    # organisation; its user_id always starts with VISITOR_PREFIX.
    visitor: bool = False


VISITOR_PREFIX = "visitor:"


@dataclass(frozen=True, slots=True)
class MintedToken:
    token: str
    expires_at: datetime
