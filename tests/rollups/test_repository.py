"""The SQL of report counts has one home: rollups/repository.py."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import parlour
from parlour.rollups.models import Count, Figure
from parlour.rollups.repository import CountRepository
from parlour.services import Services
from tests.conftest import migrated_services
from tests.support.seed import ACTOR

SRC = Path(parlour.__file__).parent
# Where the table may be named: its definition, its migration, and its repository.
HOMES = {"storage/tables.py", "rollups/repository.py"}


def _uses_the_table(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Name) and node.id == "report_counts":
            return True
        if isinstance(node, ast.alias) and node.name == "report_counts":
            return True
    return False


def test_only_the_count_repository_queries_report_counts() -> None:
    using = {
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if "migrations" not in path.parts and _uses_the_table(path)
    }
    assert using == HOMES


async def test_a_figure_is_summed_by_detail_over_the_hours_of_a_period(
    tmp_path: Path, database_url: str
) -> None:
    hour = datetime(2026, 3, 2, 9, tzinfo=UTC)
    async with migrated_services(tmp_path, database_url) as services:
        tenant = await _tenant(services)
        counts = [
            Count(tenant, Figure.TURN_REASONS, "credential_request", hour, 2),
            Count(tenant, Figure.TURN_REASONS, "credential_request", hour + timedelta(hours=1), 3),
            Count(tenant, Figure.TURN_REASONS, "model_timed_out", hour, 1),
            Count(tenant, Figure.TURN_REASONS, "model_timed_out", hour + timedelta(days=1), 9),
            Count(tenant, Figure.CITATIONS, "entry-1", hour, 4),
        ]
        async with services.db.transaction(tenant) as conn:
            await CountRepository(conn).add(counts)
        async with services.db.read(tenant) as conn:
            summed = await CountRepository(conn).by_detail(
                tenant, Figure.TURN_REASONS, hour, hour + timedelta(days=1)
            )
    assert summed == {"credential_request": 5, "model_timed_out": 1}


async def _tenant(services: Services) -> str:
    return (await services.tenants.create("Counted Bank", actor=ACTOR)).tenant_id
