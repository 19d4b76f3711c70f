"""The SQL of report counts has one home: rollups/repository.py."""

from __future__ import annotations

import ast
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import parlour
from parlour.rollups.models import Count, Figure
from parlour.rollups.period import Period
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


def _hours(first: datetime, days: int) -> list[datetime]:
    return [first + timedelta(hours=n) for n in range(days * 24)]


# Periods whose ends are local midnights that are not UTC ones (+05:30, +12:45/+13:45), that
# cross a change of the clocks (London, 25 October 2026), and one shorter than a UTC day.
PERIODS = [
    Period(date(2026, 10, 20), date(2026, 10, 28), "Europe/London"),
    Period(date(2026, 10, 21), date(2026, 10, 27), "Asia/Kolkata"),
    Period(date(2026, 10, 22), date(2026, 10, 26), "Pacific/Chatham"),
    Period(date(2026, 10, 23), date(2026, 10, 23), "America/New_York"),
    Period(date(2026, 10, 18), date(2026, 10, 30), "UTC"),
]


async def test_a_periods_citations_read_by_the_day_are_the_sum_of_its_hours(
    tmp_path: Path, database_url: str
) -> None:
    """Citations are kept per hour and per UTC day too: a period's total per passage reads
    whole UTC days from the daily rows and the hours at its ends from the hourly ones, and
    comes to what summing its hours gives."""
    rng = random.Random(31)
    start = datetime(2026, 10, 17, tzinfo=UTC)
    async with migrated_services(tmp_path, database_url) as services:
        tenant_id = await _tenant(services)
        counts = [
            Count(tenant_id, Figure.CITATIONS, f"e{rng.randrange(4)}", hour, rng.randrange(1, 5))
            for hour in _hours(start, 16)
            if rng.random() < 0.7
        ]
        async with services.db.transaction(tenant_id) as conn:
            await CountRepository(conn).add(counts[: len(counts) // 2])  # two flushes
            await CountRepository(conn).add(counts[len(counts) // 2 :])
        for period in PERIODS:
            expected: Counter[str] = Counter()
            for c in counts:
                if period.since <= c.hour < period.until:
                    expected[c.detail] += c.value
            async with services.db.read(tenant_id) as conn:
                summed = await CountRepository(conn).by_detail(
                    tenant_id, Figure.CITATIONS, period.since, period.until
                )
            assert summed == dict(expected), period


async def test_counts_per_local_day_are_the_hours_that_start_in_that_day(
    tmp_path: Path, database_url: str
) -> None:
    """Summed by the database per span of a period's days: the same as each hour put in the
    local day it starts in, across a change of the clocks and in a zone a half hour off UTC."""
    rng = random.Random(21)
    start = datetime(2026, 10, 17, tzinfo=UTC)
    async with migrated_services(tmp_path, database_url) as services:
        tenant_id = await _tenant(services)
        counts = [
            Count(tenant_id, figure, detail, hour, rng.randrange(1, 9))
            for hour in _hours(start, 16)
            for figure, detail in [
                (Figure.TURNS, "answered"),
                (Figure.TURNS, "abstained"),
                (Figure.INPUT_TOKENS, ""),
                (Figure.MESSAGES, "user"),  # not asked for
            ]
            if rng.random() < 0.8
        ]
        async with services.db.transaction(tenant_id) as conn:
            await CountRepository(conn).add(counts)
        for period in PERIODS:
            days = period.days()
            expected: Counter[tuple[int, Figure, str]] = Counter()
            for c in counts:
                if period.since <= c.hour < period.until and c.figure is not Figure.MESSAGES:
                    expected[(days.index(period.local(c.hour).date()), c.figure, c.detail)] += (
                        c.value
                    )
            async with services.db.read(tenant_id) as conn:
                per_day = await CountRepository(conn).per_span(
                    tenant_id, [Figure.TURNS, Figure.INPUT_TOKENS], period.day_spans()
                )
            assert per_day == dict(expected), period
