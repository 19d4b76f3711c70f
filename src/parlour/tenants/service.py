"""Organisations: creating and deleting them, their allowlists, and their data-key lifecycle."""

from __future__ import annotations

import contextlib
import re
import secrets
import uuid
from collections.abc import Iterable
from functools import cache
from zoneinfo import available_timezones

from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.audit.events import (
    PLATFORM_CHAIN,
    Actor,
    AnonymousVisitorsSet,
    AppAllowed,
    AppRemoved,
    DataKeyRotated,
    MasterKeyRotated,
    OriginAllowed,
    OriginClaimed,
    OriginRemoved,
    TalkToAPersonSet,
    TenantCreated,
    TenantDeleted,
    TimeZoneSet,
    VerificationDecided,
)
from parlour.audit.service import AuditLog
from parlour.crypto.reencrypt import reencrypt_tenant
from parlour.crypto.vault import Vault
from parlour.egress import EgressGuard
from parlour.errors import (
    AppNotAllowed,
    Conflict,
    InvalidInput,
    NotFound,
    OriginNotAllowed,
    RateLimited,
)
from parlour.identifiers import check_identifier, check_text, first_refused
from parlour.rate_limits import RateLimits
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow
from parlour.tenants.domain_proof import OriginClaim, ProofMethod, prove
from parlour.tenants.models import Tenant, Verification
from parlour.tenants.origins import is_loopback_origin, normalize_origin
from parlour.tenants.repository import TenantRepository

_APP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def organisation_name(name: str) -> str:
    """The name an organisation may have, trimmed. It goes into mail subjects and pages: no
    line breaks, no invisible or bidirectional controls (T-90)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("an organisation needs a name of 1 to 200 characters")
    return check_identifier(name, "an organisation's name")


def new_widget_id() -> str:
    # Public, but unguessable so that widget ids cannot be enumerated.
    return "wgt_" + secrets.token_urlsafe(12)


class TenantService:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        audit: AuditLog,
        egress: EgressGuard,
        rate_limits: RateLimits,
        *,
        allow_insecure_origins: bool,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._vault = vault
        self._audit = audit
        self._egress = egress
        self._rate_limits = rate_limits
        self._allow_insecure = allow_insecure_origins
        self._clock = clock

    async def create(self, name: str, origins: Iterable[str] = (), *, actor: Actor) -> Tenant:
        async with self._db.transaction() as conn:
            return await self.create_in(conn, name, origins, actor=actor)

    async def create_in(
        self,
        conn: AsyncConnection,
        name: str,
        origins: Iterable[str] = (),
        *,
        actor: Actor,
        verification: Verification = Verification.VERIFIED,
    ) -> Tenant:
        """Create the organisation inside the caller's transaction (sign-up creates its first
        account beside it, unverified)."""
        name = organisation_name(name)
        normalized = list(dict.fromkeys(self.normalize_origin(o) for o in origins))
        tenant = Tenant(
            tenant_id=str(uuid.uuid4()),
            name=name,
            widget_id=new_widget_id(),
            created_at=self._clock(),
            verification=verification,
        )
        repo = TenantRepository(conn)
        await repo.insert(tenant)
        await self._db.scope_to(conn, tenant.tenant_id)
        await self._vault.create_tenant_key(conn, tenant.tenant_id)
        await self._audit.record(conn, tenant.tenant_id, TenantCreated(name=name), actor)
        for origin in normalized:
            await repo.add_origin(tenant.tenant_id, origin, tenant.created_at)
            await self._audit.record(conn, tenant.tenant_id, OriginAllowed(origin), actor)
        return tenant

    async def delete(self, tenant_id: str, *, actor: Actor) -> None:
        """Offboard: rows, audit chain and data keys go in one transaction; whatever ciphertext
        survives elsewhere (backups, replicas) is unreadable without the keys (T-37)."""
        async with self._db.transaction(tenant_id) as conn:
            repo = TenantRepository(conn)
            if await repo.get(tenant_id) is None:
                raise NotFound("no such organisation")
            destroyed = await self._vault.destroy_tenant_keys(conn, tenant_id)
            await repo.delete(tenant_id)
            await self._audit.delete_chain(conn, tenant_id)
            await self._audit.record(
                conn, PLATFORM_CHAIN, TenantDeleted(tenant_id, destroyed), actor
            )
        self._vault.forget(tenant_id)

    def normalize_origin(self, origin: str) -> str:
        return normalize_origin(origin, allow_insecure=self._allow_insecure)

    async def get(self, tenant_id: str) -> Tenant:
        async with self._db.read() as conn:
            tenant = await TenantRepository(conn).get(tenant_id)
        if tenant is None:
            raise NotFound("no such organisation")
        return tenant

    async def find_by_widget_id(self, widget_id: str) -> Tenant | None:
        # No stored id holds what the identifier rule refuses (nor could, NUL on PostgreSQL).
        if len(widget_id) > 64 or first_refused(widget_id) is not None:
            return None
        async with self._db.read() as conn:
            return await TenantRepository(conn).find_by_widget_id(widget_id)

    async def allow_origin(
        self, tenant_id: str, origin: str, *, actor: Actor, proof: str = "operator"
    ) -> str:
        """Allowlist an origin without asking for proof: for the platform's own CLI, and for
        loopback origins, which only the visitor's own machine serves."""
        normalized = self.normalize_origin(origin)
        async with self._db.transaction(tenant_id) as conn:
            await self._allow_in(conn, tenant_id, normalized, proof, actor)
        return normalized

    async def _allow_in(
        self, conn: AsyncConnection, tenant_id: str, origin: str, proof: str, actor: Actor
    ) -> None:
        repo = TenantRepository(conn)
        await repo.remove_claim(tenant_id, origin)
        if await repo.add_origin(tenant_id, origin, self._clock()):
            await self._audit.record(conn, tenant_id, OriginAllowed(origin, proof), actor)

    async def request_origin(
        self, tenant_id: str, origin: str, *, actor: Actor
    ) -> OriginClaim | None:
        """A member asks for an origin: a loopback one is allowed at once (None); any other
        waits as a claim, with a fresh token to publish, until `check_origin` finds the proof.
        Asking again for a waiting origin returns the same claim."""
        normalized = self.normalize_origin(origin)
        if is_loopback_origin(normalized):
            await self.allow_origin(tenant_id, normalized, actor=actor, proof="loopback")
            return None
        async with self._db.transaction(tenant_id) as conn:
            repo = TenantRepository(conn)
            if await repo.has_origin(tenant_id, normalized):
                raise Conflict("this origin is already on the allowlist")
            claim = await repo.claim(tenant_id, normalized)
            if claim is None:
                claim = OriginClaim(normalized, secrets.token_urlsafe(24), self._clock())
                await repo.add_claim(tenant_id, claim)
                await self._audit.record(conn, tenant_id, OriginClaimed(normalized), actor)
        return claim

    async def check_origin(self, tenant_id: str, origin: str, *, actor: Actor) -> ProofMethod:
        """Look for the claim's proof; when found, the origin joins the allowlist."""
        async with self._db.read(tenant_id) as conn:
            claim = await TenantRepository(conn).claim(tenant_id, origin)
        if claim is None:
            raise NotFound("no origin waits for proof under that name")
        # Each check makes Parlour look something up on the tenant's behalf.
        if not await self._rate_limits.allow("origin_check", tenant_id):
            raise RateLimited("too many checks; try again later")
        async with self._db.transaction(tenant_id) as conn:
            await TenantRepository(conn).mark_claim_checked(tenant_id, origin, self._clock())
        method = await prove(claim, self._egress)
        async with self._db.transaction(tenant_id) as conn:
            await self._allow_in(conn, tenant_id, origin, method.value, actor)
        return method

    async def pending_origins(self, tenant_id: str) -> list[OriginClaim]:
        async with self._db.read(tenant_id) as conn:
            return await TenantRepository(conn).list_claims(tenant_id)

    async def remove_origin(self, tenant_id: str, origin: str, *, actor: Actor) -> None:
        """Take an origin off the allowlist, or withdraw its claim. No new socket is accepted
        from it, and the gateway's next re-check closes those already open."""
        with contextlib.suppress(InvalidInput):
            origin = self.normalize_origin(origin)
        if first_refused(origin) is not None:  # never allowed, so never there
            raise NotFound("that origin is neither allowed nor waiting for proof")
        async with self._db.transaction(tenant_id) as conn:
            repo = TenantRepository(conn)
            if await repo.remove_origin(tenant_id, origin):
                was = "allowlist"
            elif await repo.remove_claim(tenant_id, origin):
                was = "claim"
            else:
                raise NotFound("that origin is neither allowed nor waiting for proof")
            await self._audit.record(conn, tenant_id, OriginRemoved(origin, was), actor)

    async def apps(self, tenant_id: str) -> list[str]:
        async with self._db.read(tenant_id) as conn:
            return await TenantRepository(conn).list_apps(tenant_id)

    async def remove_app(self, tenant_id: str, app_id: str, *, actor: Actor) -> None:
        async with self._db.transaction(tenant_id) as conn:
            if not _APP_ID.fullmatch(app_id) or not await TenantRepository(conn).remove_app(
                tenant_id, app_id
            ):
                raise NotFound("that app is not on the allowlist")
            await self._audit.record(conn, tenant_id, AppRemoved(app_id), actor)

    async def allow_app(self, tenant_id: str, app_id: str, *, actor: Actor) -> str:
        """Allow a mobile app (by its bundle or package id) to open chat sockets."""
        app_id = app_id.strip()
        if not _APP_ID.fullmatch(app_id):
            raise InvalidInput("an app id looks like com.example.app (letters, digits, . _ -)")
        async with self._db.transaction(tenant_id) as conn:
            if await TenantRepository(conn).add_app(tenant_id, app_id, self._clock()):
                await self._audit.record(conn, tenant_id, AppAllowed(app_id), actor)
        return app_id

    async def has_app(self, tenant_id: str, app_id: str | None = None) -> bool:
        """Whether the app may chat: allowlisted, and the organisation verified (a sandbox
        organisation has no apps)."""
        async with self._db.read(tenant_id) as conn:
            repo = TenantRepository(conn)
            if await repo.verification(tenant_id) is not Verification.VERIFIED:
                return False
            return await repo.has_app(tenant_id, app_id)

    async def require_app(self, tenant_id: str, app_id: str) -> str:
        # Only app ids of the allowed shape are ever on a list; others are not looked up.
        if not _APP_ID.fullmatch(app_id) or not await self.has_app(tenant_id, app_id):
            raise AppNotAllowed()
        return app_id

    async def binding_allowed(self, tenant_id: str, origin: str | None, app_id: str | None) -> bool:
        """Whether a socket bound to this origin (or, without one, this app) may stay open:
        the same rule as when it opened."""
        if origin is None:
            return await self.has_app(tenant_id, app_id)
        try:
            await self.require_origin(tenant_id, origin)
        except OriginNotAllowed:
            return False
        return True

    async def set_anonymous_visitors(self, tenant_id: str, allowed: bool, *, actor: Actor) -> None:
        async with self._db.transaction() as conn:
            await self.set_anonymous_visitors_in(conn, tenant_id, allowed, actor=actor)

    async def set_anonymous_visitors_in(
        self, conn: AsyncConnection, tenant_id: str, allowed: bool, *, actor: Actor
    ) -> None:
        """Inside the caller's transaction (the switch changes beside the assistant's,
        parlour.features)."""
        await TenantRepository(conn).set_anonymous_visitors(tenant_id, allowed)
        await self._audit.record(conn, tenant_id, AnonymousVisitorsSet(allowed), actor)

    async def set_talk_to_a_person_in(
        self, conn: AsyncConnection, tenant_id: str, allowed: bool, *, actor: Actor
    ) -> None:
        """Whether customers may ask for a person at any time (the widget's button and typed
        requests), inside the caller's transaction (parlour.features)."""
        await TenantRepository(conn).set_talk_to_a_person(tenant_id, allowed)
        await self._audit.record(conn, tenant_id, TalkToAPersonSet(allowed), actor)

    async def set_time_zone(self, tenant_id: str, name: str, *, actor: Actor) -> None:
        """The IANA time zone (e.g. Europe/London) the organisation's reports read days in."""
        if name not in available_time_zones():
            raise InvalidInput("name a time zone of the IANA database, e.g. Europe/London")
        async with self._db.transaction(tenant_id) as conn:
            await TenantRepository(conn).set_time_zone(tenant_id, name)
            await self._audit.record(conn, tenant_id, TimeZoneSet(name), actor)

    async def origins(self, tenant_id: str) -> list[str]:
        async with self._db.read(tenant_id) as conn:
            return await TenantRepository(conn).list_origins(tenant_id)

    async def require_origin(self, tenant_id: str, origin: str | None) -> str:
        """The origin itself when it is on the tenant's allowlist, exactly as sent."""
        if not origin or len(origin) > 300 or first_refused(origin) is not None:
            raise OriginNotAllowed()
        async with self._db.read(tenant_id) as conn:
            repo = TenantRepository(conn)
            allowed = await repo.has_origin(tenant_id, origin)
            verification = await repo.verification(tenant_id)
        if not allowed:
            raise OriginNotAllowed()
        if verification is not Verification.VERIFIED and not is_loopback_origin(origin):
            raise OriginNotAllowed(
                "Until Parlour has verified this organisation, its widget works on localhost only."
            )
        return origin

    async def decide_verification(
        self,
        tenant_id: str,
        *,
        approve: bool,
        reason: str,
        actor: Actor,
        own_organisation: bool = False,
    ) -> Tenant:
        """An operator's decision, with the reason the organisation will read; audited in the
        organisation's chain and the platform's. Operators' decisions come through
        identity.verification, which keeps four eyes."""
        reason = reason.strip()
        if not reason or len(reason) > 1000:
            raise InvalidInput("give a reason of 1 to 1000 characters")
        check_text(reason, "a reason")
        verification = Verification.VERIFIED if approve else Verification.REJECTED
        event = VerificationDecided(tenant_id, verification.value, reason, own_organisation)
        async with self._db.transaction() as conn:
            repo = TenantRepository(conn)
            if not await repo.set_verification(tenant_id, verification, reason):
                raise NotFound("no such organisation")
            await self._audit.record(conn, tenant_id, event, actor)
            await self._audit.record(conn, PLATFORM_CHAIN, event, actor)
            tenant = await repo.get(tenant_id)
        assert tenant is not None
        return tenant

    async def by_verification(
        self, verification: Verification, *, limit: int = 200
    ) -> list[Tenant]:
        async with self._db.read() as conn:
            return await TenantRepository(conn).list_by_verification(verification, limit)

    async def rotate_data_key(self, tenant_id: str, *, actor: Actor) -> tuple[int, int]:
        """A new data key for the tenant; then every sealed value is moved to it. Until the sweep
        ends, values sealed with the old key still read (T-51). Returns (version, moved)."""
        await self.get(tenant_id)
        async with self._db.transaction() as conn:
            version = await self._vault.create_tenant_key(conn, tenant_id)
            await self._audit.record(conn, tenant_id, DataKeyRotated(version), actor)
        return version, await reencrypt_tenant(self._db, self._vault, tenant_id)

    async def rotate_master_key(self, *, actor: Actor) -> int:
        """Re-wrap every tenant's data keys with the current master key; data is untouched."""
        rewrapped = await self._vault.rewrap_all()
        async with self._db.transaction() as conn:
            await self._audit.record(
                conn,
                PLATFORM_CHAIN,
                MasterKeyRotated(rewrapped, self._vault.master_key_id),
                actor,
            )
        return rewrapped


@cache
def available_time_zones() -> frozenset[str]:
    """The IANA time zones this machine knows (read once: listing them reads the disk)."""
    return frozenset(available_timezones())
