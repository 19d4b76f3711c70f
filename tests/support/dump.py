"""What someone holding a copy of the database would see."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, text

from parlour.services import Services
from parlour.storage.tables import metadata, tenants


async def every_cell(services: Services) -> str:
    """Every cell of every table, every tenant's rows in scope (row-level security, T-31, is
    no wall against a copy of the files)."""
    cells: list[str] = []
    async with services.db.read() as conn:
        tenant_ids = [row[0] for row in await conn.execute(select(tenants.c.tenant_id))]
    async with services.db.read(*tenant_ids) as conn:
        for table in metadata.sorted_tables:
            for row in await conn.execute(text(f"SELECT * FROM {table.name}")):  # noqa: S608
                cells.extend(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row)
    return "\n".join(cells)


def sqlite_files(database_url: str) -> bytes:
    """The raw bytes of a SQLite database and its WAL, as they sit on disk."""
    path = Path(database_url.split("///", 1)[1])
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
