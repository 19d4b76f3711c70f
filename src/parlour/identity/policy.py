"""What each role may do. One table, read by every route that acts for a signed-in person; the
role-by-route-by-organisation matrix test holds it to its specification (T-44).

Platform staff hold no organisation permission through their platform role: an operator verifies
organisations and never reads their conversations or keys.
"""

from __future__ import annotations

from enum import StrEnum

from parlour.identity.models import PlatformRole, Role


class Permission(StrEnum):
    VIEW_ORGANISATION = "organisation:view"
    MANAGE_KEYS = "keys:manage"
    MANAGE_MEMBERS = "members:manage"
    MANAGE_ALLOWLIST = "allowlist:manage"
    MANAGE_SETTINGS = "settings:manage"
    MANAGE_KNOWLEDGE = "knowledge:manage"
    VIEW_AUDIT = "audit:view"
    HANDLE_CONVERSATIONS = "conversations:handle"
    VIEW_CONVERSATIONS = "conversations:view"  # read the desk's conversations, act on none
    VIEW_ANALYTICS = "analytics:view"


class PlatformPermission(StrEnum):
    VERIFY_ORGANISATIONS = "organisations:verify"
    MANAGE_OPERATORS = "operators:manage"


_EVERYTHING = frozenset(Permission)

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: _EVERYTHING,
    Role.ADMIN: _EVERYTHING,
    Role.AGENT: frozenset(
        {
            Permission.VIEW_ORGANISATION,
            Permission.HANDLE_CONVERSATIONS,
            Permission.VIEW_CONVERSATIONS,
        }
    ),
    # Analysts read the desk (issue 22: agents and admins act, analysts read).
    Role.ANALYST: frozenset(
        {Permission.VIEW_ORGANISATION, Permission.VIEW_ANALYTICS, Permission.VIEW_CONVERSATIONS}
    ),
}

PLATFORM_GRANTS: dict[PlatformRole, frozenset[PlatformPermission]] = {
    PlatformRole.OPERATOR: frozenset({PlatformPermission.VERIFY_ORGANISATIONS}),
    PlatformRole.SUPERADMIN: frozenset(PlatformPermission),
}


def role_grants(role: Role, permission: Permission) -> bool:
    return permission in GRANTS[role]


def platform_role_grants(role: PlatformRole | None, permission: PlatformPermission) -> bool:
    return role is not None and permission in PLATFORM_GRANTS[role]
