"""Accounts, the roles they hold, and the stages a dashboard session passes through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    """What an account may do in one organisation."""

    OWNER = "owner"
    ADMIN = "admin"
    AGENT = "agent"
    ANALYST = "analyst"


class PlatformRole(StrEnum):
    """Staff of the platform itself; never a member of an organisation through this role."""

    OPERATOR = "operator"
    SUPERADMIN = "superadmin"


class Stage(StrEnum):
    """How far a session has come. Only an ACTIVE session reaches anything but its next step."""

    MFA_REQUIRED = "mfa_required"  # password accepted; a TOTP or recovery code is next
    MFA_ENROLMENT = "mfa_enrolment"  # password accepted; no MFA yet, so enrolling is next
    ACTIVE = "active"


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    email: str
    email_verified: bool
    mfa_enabled: bool
    platform_role: PlatformRole | None
    disabled: bool
    created_at: datetime
    display_name: str | None = None  # what customers see on the member's replies


@dataclass(frozen=True, slots=True)
class Membership:
    account_id: str
    tenant_id: str
    role: Role


@dataclass(frozen=True, slots=True)
class Session:
    """A session as its holder sees it; the reference itself is never kept."""

    account: Account
    stage: Stage
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    authenticated_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedSession:
    """A new session reference, for the cookie; shown once."""

    token: str
    stage: Stage
    csrf_token: str


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A TOTP seed to put in an authenticator app, as text and as an otpauth:// URI."""

    seed: str
    uri: str


@dataclass(frozen=True, slots=True)
class TeamMember:
    """Someone in an organisation, as its member list shows them."""

    account_id: str
    email: str
    role: Role
    since: datetime


@dataclass(frozen=True, slots=True)
class Invitation:
    invitation_id: str
    tenant_id: str
    email: str
    role: Role
    invited_by: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None = None
