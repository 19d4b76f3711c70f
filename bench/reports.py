"""bench/reports: the Reports page's queries on one organisation with 1,000,000 messages in
100,000 conversations, on SQLite and on PostgreSQL (issue 21: p95 ≤ 200 ms).

The data is written straight into the tables, as the chat, the desk, the assistant and the tally
would have left it over 90 days: conversations with their moments with people, sealed messages
(10 per conversation), and the hourly report counts. Set BENCH_CONVERSATIONS for a smaller
run. Each report of the page is then read
REPEATS times for the last 30 days and for all 90, and the page's total (every report of it in
turn) timed the same way.
"""

from __future__ import annotations

import contextlib
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from tests.support.databases import new_postgres_database

from bench.harness import percentile, settings_for
from parlour.audit.events import Actor
from parlour.chat.models import Author, Message, MessageKind
from parlour.chat.repository import sealed_row
from parlour.rollups.models import Figure
from parlour.rollups.period import Period
from parlour.rollups.tally import hour_of
from parlour.services import Services, build_services
from parlour.storage.database import Database
from parlour.storage.tables import conversations, messages, report_counts
from parlour.storage.types import utcnow

ACTOR = Actor.system("bench")
# BENCH_CONVERSATIONS: fewer, for a quick try of the benchmark itself.
CONVERSATIONS = int(os.environ.get("BENCH_CONVERSATIONS", "100000"))
MESSAGES_EACH = 10
DAYS = 90
AGENTS = [f"agent-{i:02}" for i in range(12)]
ENTRIES = 50
REPEATS = 30
CHUNK = 5_000
OUTCOMES = [("answered", 70), ("abstained", 18), ("blocked", 2), ("fallback", 5), ("refused", 5)]


def _faq() -> bytes:
    rows = ["question,answer"]
    for i in range(ENTRIES):
        rows.append(f"How do I do task number {i}?,Open the app and choose task {i} from the menu.")
    return ("\n".join(rows) + "\n").encode()


async def _seed(services: Services, now: datetime) -> tuple[str, int]:
    """One organisation's 90 days; its id and the number of report count rows written."""
    tenant = await services.tenants.create("Bench Reports Bank", actor=ACTOR)
    tenant_id = tenant.tenant_id
    await services.knowledge.upload(tenant_id, "faq.csv", _faq(), actor=ACTOR)
    entry_ids = [e.entry_id for e in await services.knowledge.faq_entries(tenant_id)]
    rng = random.Random(21)  # noqa: S311 (made-up data, repeatable)
    counts: Counter[tuple[str, str, datetime]] = Counter()
    start = now - timedelta(days=DAYS)
    outcomes = [name for name, weight in OUTCOMES for _ in range(weight)]
    cipher = await services.vault.cipher(tenant_id)
    conversation_rows: list[dict[str, Any]] = []
    message_rows: list[dict[str, Any]] = []
    for n in range(CONVERSATIONS):
        created = start + timedelta(seconds=rng.uniform(0, DAYS * 86_400 - 3_600))
        conversation_id = f"bench-conversation-{n:06}"
        handed = rng.random() < 0.2
        replied = handed and rng.random() < 0.9
        resolved = replied and rng.random() < 0.8
        outcome = rng.choice(outcomes)
        handed_at = created + timedelta(seconds=60) if handed else None
        reply_at = (
            handed_at + timedelta(seconds=rng.expovariate(1 / 120))
            if replied and handed_at
            else None
        )
        conversation_rows.append(
            {
                "tenant_id": tenant_id,
                "conversation_id": conversation_id,
                "end_user_id": f"customer-{n}",
                "status": "bot",
                "last_seq": MESSAGES_EACH,
                "created_at": created,
                "updated_at": created + timedelta(seconds=20 * MESSAGES_EACH),
                "handed_at": handed_at,
                "first_human_reply_at": reply_at,
                "human_account_id": rng.choice(AGENTS) if replied else None,
                "resolved_at": reply_at + timedelta(seconds=rng.expovariate(1 / 600))
                if resolved and reply_at
                else None,
                "last_turn_outcome": outcome,
            }
        )
        counts[(Figure.CONVERSATIONS_STARTED, "", hour_of(created))] += 1
        for seq in range(1, MESSAGES_EACH + 1):
            at = created + timedelta(seconds=20 * seq)
            author = Author.USER if seq % 2 else (Author.AGENT if replied else Author.ASSISTANT)
            message = Message(
                tenant_id=tenant_id,
                conversation_id=conversation_id,
                seq=seq,
                message_id=f"{conversation_id}-{seq:02}",
                kind=MessageKind.TEXT,
                author=author,
                body=f"message {seq} of conversation {n}",
                created_at=at,
            )
            message_rows.append(sealed_row(message, cipher))
            hour = hour_of(at)
            counts[(Figure.MESSAGES, author.value, hour)] += 1
            if author is Author.ASSISTANT:
                turn = outcome if seq == MESSAGES_EACH else "answered"
                counts[(Figure.TURNS, turn, hour)] += 1
                counts[(Figure.INPUT_TOKENS, "", hour)] += 900
                counts[(Figure.OUTPUT_TOKENS, "", hour)] += 120
                if turn == "answered":
                    counts[(Figure.CITATIONS, rng.choice(entry_ids[: ENTRIES - 5]), hour)] += 1
        if len(message_rows) >= CHUNK * MESSAGES_EACH:
            await _insert(services.db, tenant_id, conversation_rows, message_rows)
            conversation_rows, message_rows = [], []
    await _insert(services.db, tenant_id, conversation_rows, message_rows)
    count_rows = [
        {"tenant_id": tenant_id, "metric": f.value, "detail": d, "hour": h, "value": v}
        for (f, d, h), v in counts.items()
    ]
    async with services.db.transaction(tenant_id) as conn:
        for i in range(0, len(count_rows), CHUNK):
            await conn.execute(insert(report_counts), count_rows[i : i + CHUNK])
    return tenant_id, len(count_rows)


async def _insert(
    db: Database, tenant_id: str, conversation_rows: list[Any], message_rows: list[Any]
) -> None:
    if not conversation_rows:
        return
    async with db.transaction(tenant_id) as conn:
        await conn.execute(insert(conversations), conversation_rows)
        await conn.execute(insert(messages), message_rows)


async def _timed(work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """p50 and p95 of REPEATS calls, in milliseconds, after one warm-up call."""
    await work()
    seconds = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        await work()
        seconds.append(time.perf_counter() - started)
    return percentile(seconds, 50) * 1000, percentile(seconds, 95) * 1000


async def _measure(services: Services, tenant_id: str, today: date) -> list[str]:
    lines = []
    reports = services.reports
    for days in (30, DAYS):
        period = Period(today - timedelta(days=days - 1), today, "Europe/London")
        page: dict[str, Callable[[], Awaitable[object]]] = {
            "conversations": lambda p=period: reports.conversations(tenant_id, p),
            "people": lambda p=period: reports.people(tenant_id, p),
            "assistant": lambda p=period: reports.assistant(tenant_id, p),
        }

        async def whole(parts: dict[str, Callable[[], Awaitable[object]]] = page) -> None:
            for part in parts.values():
                await part()

        for name, work in [*page.items(), ("the whole page", whole)]:
            p50, p95 = await _timed(work)
            lines.append(f"| {days} days | {name} | {p50:,.1f} | {p95:,.1f} |")
    return lines


@contextlib.asynccontextmanager
async def _services(folder: Path, database_url: str | None) -> AsyncIterator[Services]:
    settings = settings_for(folder)
    if database_url is not None:
        settings = settings.model_copy(
            update={"database": settings.database.model_copy(update={"url": database_url})}
        )
    services = build_services(settings)
    await services.migrate()
    try:
        yield services
    finally:
        await services.aclose()


async def _backend(name: str, database_url: str | None) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        async with _services(Path(folder), database_url) as services:
            now = utcnow()
            started = time.perf_counter()
            tenant_id, rows = await _seed(services, now)
            seeded = time.perf_counter() - started
            measured = await _measure(services, tenant_id, now.date())
    return [
        f"**{name}**: seeded {CONVERSATIONS:,} conversations, "
        f"{CONVERSATIONS * MESSAGES_EACH:,} messages and {rows:,} hourly count rows in "
        f"{seeded:,.0f} s",
        "",
        "| period | report | p50 ms | p95 ms |",
        "|---|---|---|---|",
        *measured,
        "",
    ]


async def run() -> str:
    lines = ["### bench/reports", ""]
    lines += await _backend("SQLite", None)
    async with new_postgres_database() as url:
        lines += await _backend("PostgreSQL", url)
    return "\n".join(lines)
