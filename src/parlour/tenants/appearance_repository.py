"""SQL for how an organisation's widget looks (tenants/appearance.py) and its logo."""

from __future__ import annotations

import hmac
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.storage.tables import widget_appearance as table
from parlour.tenants.appearance import DEFAULT, FEATURES, Appearance, Features

_SHOWN = [c for c in table.c if c.name != "logo_png"]


def _features(stored: Any) -> Features:
    values = stored if isinstance(stored, dict) else {}
    return replace(DEFAULT.features, **{k: bool(v) for k, v in values.items() if k in FEATURES})


class AppearanceRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, tenant_id: str) -> Appearance:
        row = (
            await self._conn.execute(select(*_SHOWN).where(table.c.tenant_id == tenant_id))
        ).first()
        if row is None:
            return DEFAULT
        m = row._mapping
        return Appearance(
            title=m["title"],
            greeting=m["greeting"],
            brand_colour=m["brand_colour"],
            launcher_position=m["launcher_position"],
            hours_message=m["hours_message"],
            features=_features(m["features"]),
            language=m["language"],
            logo_digest=m["logo_digest"],
            configured=True,
        )

    async def put(self, tenant_id: str, appearance: Appearance, at: datetime) -> None:
        """Store the settings, keeping the logo the row has."""
        values = {
            "title": appearance.title,
            "greeting": appearance.greeting,
            "brand_colour": appearance.brand_colour,
            "launcher_position": appearance.launcher_position,
            "hours_message": appearance.hours_message,
            "features": appearance.features.as_dict(),
            "language": appearance.language,
            "updated_at": at,
        }
        changed = await self._conn.execute(
            update(table).where(table.c.tenant_id == tenant_id).values(**values)
        )
        if changed.rowcount == 0:
            await self._conn.execute(insert(table).values(tenant_id=tenant_id, **values))

    async def put_logo(
        self, tenant_id: str, png: bytes | None, digest: str | None, at: datetime
    ) -> None:
        """Set (or with None, remove) the logo; the row is made with the defaults if the
        organisation had none."""
        changed = await self._conn.execute(
            update(table)
            .where(table.c.tenant_id == tenant_id)
            .values(logo_png=png, logo_digest=digest, updated_at=at)
        )
        if changed.rowcount == 0:
            await self.put(tenant_id, DEFAULT, at)
            await self._conn.execute(
                update(table)
                .where(table.c.tenant_id == tenant_id)
                .values(logo_png=png, logo_digest=digest)
            )

    async def logo(self, tenant_id: str, digest: str) -> bytes | None:
        """The logo's PNG if `digest` names the one the organisation has now (a public name,
        compared like every digest, T-07)."""
        row = (
            await self._conn.execute(
                select(table.c.logo_png, table.c.logo_digest).where(table.c.tenant_id == tenant_id)
            )
        ).first()
        if row is None or row.logo_png is None or row.logo_digest is None:
            return None
        return bytes(row.logo_png) if hmac.compare_digest(row.logo_digest, digest) else None
