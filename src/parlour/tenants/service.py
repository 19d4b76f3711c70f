"""Creating organisations and answering "may this origin embed this widget?"."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable

from parlour.errors import InvalidInput, NotFound, OriginNotAllowed
from parlour.storage.database import Database
from parlour.storage.types import utcnow
from parlour.tenants.models import Tenant
from parlour.tenants.origins import normalize_origin
from parlour.tenants.repository import TenantRepository


def new_widget_id() -> str:
    # Public, but unguessable so that widget ids cannot be enumerated.
    return "wgt_" + secrets.token_urlsafe(12)


class TenantService:
    def __init__(self, db: Database, *, allow_insecure_origins: bool) -> None:
        self._db = db
        self._allow_insecure = allow_insecure_origins

    async def create(self, name: str, origins: Iterable[str] = ()) -> Tenant:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("an organisation needs a name of 1 to 200 characters")
        normalized = [self.normalize_origin(o) for o in origins]
        tenant = Tenant(
            tenant_id=str(uuid.uuid4()), name=name, widget_id=new_widget_id(), created_at=utcnow()
        )
        async with self._db.transaction() as conn:
            repo = TenantRepository(conn)
            await repo.insert(tenant)
            for origin in normalized:
                await repo.add_origin(tenant.tenant_id, origin, tenant.created_at)
        return tenant

    def normalize_origin(self, origin: str) -> str:
        return normalize_origin(origin, allow_insecure=self._allow_insecure)

    async def get(self, tenant_id: str) -> Tenant:
        async with self._db.read() as conn:
            tenant = await TenantRepository(conn).get(tenant_id)
        if tenant is None:
            raise NotFound("no such organisation")
        return tenant

    async def find_by_widget_id(self, widget_id: str) -> Tenant | None:
        if len(widget_id) > 64:
            return None
        async with self._db.read() as conn:
            return await TenantRepository(conn).find_by_widget_id(widget_id)

    async def allow_origin(self, tenant_id: str, origin: str) -> str:
        normalized = self.normalize_origin(origin)
        async with self._db.transaction() as conn:
            await TenantRepository(conn).add_origin(tenant_id, normalized, utcnow())
        return normalized

    async def origins(self, tenant_id: str) -> list[str]:
        async with self._db.read() as conn:
            return await TenantRepository(conn).list_origins(tenant_id)

    async def require_origin(self, tenant_id: str, origin: str | None) -> str:
        """The origin itself when it is on the tenant's allowlist, exactly as sent."""
        if not origin or len(origin) > 300:
            raise OriginNotAllowed()
        async with self._db.read() as conn:
            allowed = await TenantRepository(conn).has_origin(tenant_id, origin)
        if not allowed:
            raise OriginNotAllowed()
        return origin
