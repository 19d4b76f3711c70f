"""Reading and setting how an organisation's widget looks (tenants/appearance.py) and its logo
(tenants/logo.py): set by its admins and owners (dashboard or API), audited without the logo's
bytes; read by the widget through its public config, by widget id."""

from __future__ import annotations

from dataclasses import dataclass, replace

from parlour.audit.events import Actor, WidgetAppearanceSet, WidgetLogoRemoved, WidgetLogoSet
from parlour.audit.service import AuditLog
from parlour.errors import NotFound
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow
from parlour.tenants.appearance import Appearance, checked
from parlour.tenants.appearance_repository import AppearanceRepository
from parlour.tenants.logo import remade
from parlour.tenants.models import Tenant, Verification
from parlour.tenants.service import TenantService


class NoSuchWidget(NotFound):
    code = "widget_not_found"
    default_message = "No widget has this id."


@dataclass(frozen=True, slots=True)
class WidgetLook:
    """What the widget's public config is made of: its organisation's widget id and how it
    looks, with the features the organisation's own switches allow."""

    widget_id: str
    appearance: Appearance


class WidgetAppearance:
    def __init__(
        self, db: Database, tenants: TenantService, audit: AuditLog, *, clock: Clock = utcnow
    ) -> None:
        self._db = db
        self._tenants = tenants
        self._audit = audit
        self._clock = clock

    async def get(self, tenant_id: str) -> Appearance:
        async with self._db.read(tenant_id) as conn:
            return await AppearanceRepository(conn).get(tenant_id)

    async def set(
        self,
        tenant_id: str,
        *,
        title: str,
        greeting: str | None,
        brand_colour: str,
        launcher_position: str,
        hours_message: str | None,
        features: dict[str, bool],
        language: str,
        actor: Actor,
        logo: bytes | None = None,
        remove_logo: bool = False,
    ) -> Appearance:
        """Replace the settings, and with them the logo if one is given (judged by its
        content and remade as a small PNG, T-109) or remove it; all or nothing. The logo
        stays as it was otherwise. InvalidInput (or PayloadTooLarge) says what is wrong."""
        appearance = checked(
            title=title,
            greeting=greeting,
            brand_colour=brand_colour,
            launcher_position=launcher_position,
            hours_message=hours_message,
            features=features,
            language=language,
        )
        new_logo = None if logo is None else remade(logo)
        event = WidgetAppearanceSet(
            appearance.title,
            len(appearance.greeting or ""),
            appearance.brand_colour,
            appearance.launcher_position,
            len(appearance.hours_message or ""),
            appearance.features.as_dict(),
            appearance.language,
        )
        now = self._clock()
        async with self._db.transaction(tenant_id) as conn:
            repository = AppearanceRepository(conn)
            had_logo = (await repository.get(tenant_id)).logo_digest is not None
            await repository.put(tenant_id, appearance, now)
            await self._audit.record(conn, tenant_id, event, actor)
            if new_logo is not None and logo is not None:
                await repository.put_logo(tenant_id, new_logo.png, new_logo.digest, now)
                logo_event = WidgetLogoSet(new_logo.digest, len(logo), len(new_logo.png))
                await self._audit.record(conn, tenant_id, logo_event, actor)
            elif remove_logo and had_logo:
                await repository.put_logo(tenant_id, None, None, now)
                await self._audit.record(conn, tenant_id, WidgetLogoRemoved(), actor)
            return await repository.get(tenant_id)

    async def set_logo(self, tenant_id: str, upload: bytes, *, actor: Actor) -> Appearance:
        """Take an uploaded logo alone (the settings stay)."""
        logo = remade(upload)
        event = WidgetLogoSet(logo.digest, len(upload), len(logo.png))
        async with self._db.transaction(tenant_id) as conn:
            repository = AppearanceRepository(conn)
            await repository.put_logo(tenant_id, logo.png, logo.digest, self._clock())
            await self._audit.record(conn, tenant_id, event, actor)
            return await repository.get(tenant_id)

    async def remove_logo(self, tenant_id: str, *, actor: Actor) -> Appearance:
        async with self._db.transaction(tenant_id) as conn:
            repository = AppearanceRepository(conn)
            if (await repository.get(tenant_id)).logo_digest is not None:
                await repository.put_logo(tenant_id, None, None, self._clock())
                await self._audit.record(conn, tenant_id, WidgetLogoRemoved(), actor)
            return await repository.get(tenant_id)

    async def _widget_tenant(self, widget_id: str) -> Tenant:
        tenant = await self._tenants.find_by_widget_id(widget_id)
        # A refused organisation's widget has nothing to show anyone.
        if tenant is None or tenant.verification is Verification.REJECTED:
            raise NoSuchWidget()
        return tenant

    async def for_widget(self, widget_id: str) -> WidgetLook:
        """How the widget `widget_id` looks, or NoSuchWidget. The "talk to a person" button
        shows only where the organisation lets customers ask for one at all."""
        tenant = await self._widget_tenant(widget_id)
        appearance = await self.get(tenant.tenant_id)
        if not tenant.talk_to_a_person and appearance.features.person:
            features = replace(appearance.features, person=False)
            appearance = replace(appearance, features=features)
        return WidgetLook(tenant.widget_id, appearance)

    async def logo_for_widget(self, widget_id: str, digest: str) -> bytes:
        """The logo `digest` names, if it is the widget's organisation's logo now."""
        tenant = await self._widget_tenant(widget_id)
        if len(digest) != 64:
            raise NotFound("no such logo")
        async with self._db.read(tenant.tenant_id) as conn:
            png = await AppearanceRepository(conn).logo(tenant.tenant_id, digest)
        if png is None:
            raise NotFound("no such logo")
        return png
