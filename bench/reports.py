"""bench/reports: the Reports page's queries on one organisation with 1,000,000 messages in
100,000 conversations, on SQLite and on PostgreSQL (issue 21: p95 ≤ 200 ms).

The data is written straight into the tables, as the chat, the desk, the assistant and the tally
would have left it over 90 days: conversations with their moments with people, sealed messages
(10 per conversation), and the report counts (hourly, and daily for the citations). Set
BENCH_CONVERSATIONS for a smaller run. Each report of the page is then read REPEATS times for
the last 30 days and for all 90, and the whole page (the three as the dashboard reads them,
`Reports.page`: in one transaction) timed the same way. On PostgreSQL the tables are vacuumed
and analysed once seeded, as autovacuum would have done before anyone read a report.

BENCH_REPORTS_KEEP=<folder> keeps the seeded data for the next run, which reuses it (seeding a
million messages takes minutes): the SQLite file, the name of the PostgreSQL database and the
master key stay in the folder. Delete the folder (and the database it names) to seed afresh.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import insert, text
from tests.support.databases import kept_postgres_database, new_postgres_database

from bench.harness import percentile, settings_for
from parlour.audit.events import Actor
from parlour.chat.models import Author, Message, MessageKind
from parlour.chat.repository import sealed_row
from parlour.rollups.models import Count, Figure, kept
from parlour.rollups.period import Period
from parlour.rollups.tally import hour_of
from parlour.services import Services, build_services
from parlour.storage.database import Database
from parlour.storage.tables import conversations, messages, report_counts
from parlour.storage.types import utcnow

ACTOR = Actor.system("bench")
# BENCH_CONVERSATIONS: fewer, for a quick try of the benchmark itself.
CONVERSATIONS = int(os.environ.get("BENCH_CONVERSATIONS", "100000"))
KEEP = os.environ.get("BENCH_REPORTS_KEEP")
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
    # As the tally stores them: each hour's count, and the figures also kept per day.
    count_rows = [
        {"tenant_id": c.tenant_id, "metric": c.figure.value, "detail": c.detail,
         "hour": c.hour, "value": c.value}
        for c in kept([Count(tenant_id, f, d, h, v) for (f, d, h), v in counts.items()])
    ]  # fmt: skip
    async with services.db.transaction(tenant_id) as conn:
        for i in range(0, len(count_rows), CHUNK):
            await conn.execute(insert(report_counts), count_rows[i : i + CHUNK])
    if not services.db.is_sqlite:
        # What autovacuum does to tables written so much, before anyone reads a report (the
        # test server runs without it): the planner's statistics, and the visibility map that
        # lets a covering index answer alone.
        async with services.db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
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

        async def whole(p: Period = period) -> None:
            await reports.page(tenant_id, p)

        for name, work in [*page.items(), ("the whole page", whole)]:
            p50, p95 = await _timed(work)
            lines.append(f"| {days} days | {name} | {p50:,.1f} | {p95:,.1f} |")
    return lines


@contextlib.asynccontextmanager
async def _services(
    folder: Path, database_url: str | None, master_key: str | None = None
) -> AsyncIterator[Services]:
    settings = settings_for(folder)
    if database_url is not None:
        settings = settings.model_copy(
            update={"database": settings.database.model_copy(update={"url": database_url})}
        )
    if master_key is not None:
        settings = settings.model_copy(
            update={
                "crypto": settings.crypto.model_copy(update={"master_key": SecretStr(master_key)})
            }
        )
    services = build_services(settings)
    await services.migrate()
    try:
        yield services
    finally:
        await services.aclose()


async def _seeded(services: Services, kept: Path | None) -> tuple[str, int, datetime, float]:
    """The organisation, its count rows, when it was seeded and how long seeding took: seeded
    now, or read from `kept` (a run's notes) and reused."""
    notes = _notes(kept)
    if notes is not None:
        return notes["tenant_id"], notes["rows"], datetime.fromisoformat(notes["now"]), 0.0
    now = utcnow()
    started = time.perf_counter()
    tenant_id, rows = await _seed(services, now)
    seeded = time.perf_counter() - started
    if kept is not None:
        _note(kept, {"tenant_id": tenant_id, "rows": rows, "now": now.isoformat()})
    return tenant_id, rows, now, seeded


def _note(kept: Path, notes: dict[str, Any]) -> None:
    kept.write_text(json.dumps(notes))


def _notes(kept: Path | None) -> Any:
    return json.loads(kept.read_text()) if kept is not None and kept.exists() else None


def _kept(folder: Path, name: str) -> tuple[Path, str, Path]:
    """The backend's folder in `folder`, the master key the runs share, and its notes file."""
    data = folder / name
    data.mkdir(parents=True, exist_ok=True)
    key_file = folder / "master.key"
    if not key_file.exists():
        key_file.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
    return data, key_file.read_text(), data / "seeded.json"


def _kept_database_name(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    name_file = folder / "postgres-database"
    if not name_file.exists():
        name_file.write_text(f"parlour_bench_reports_{secrets.token_hex(4)}")
    return name_file.read_text()


async def _backend(name: str, database_url: str | None, folder: Path | None = None) -> list[str]:
    with contextlib.ExitStack() as stack:
        if folder is None:
            data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            master_key, kept = None, None
        else:
            data, master_key, kept = _kept(folder, name)
        async with _services(data, database_url, master_key) as services:
            tenant_id, rows, now, seeded = await _seeded(services, kept)
            measured = await _measure(services, tenant_id, now.date())
    how = f"in {seeded:,.0f} s" if seeded else "(reused from an earlier run)"
    return [
        f"**{name}**: seeded {CONVERSATIONS:,} conversations, "
        f"{CONVERSATIONS * MESSAGES_EACH:,} messages and {rows:,} count rows {how}",
        "",
        "| period | report | p50 ms | p95 ms |",
        "|---|---|---|---|",
        *measured,
        "",
    ]


async def run() -> str:
    lines = ["### bench/reports", ""]
    folder = Path(KEEP) if KEEP else None
    lines += await _backend("SQLite", None, folder)
    if folder is None:
        async with new_postgres_database() as url:
            lines += await _backend("PostgreSQL", url)
    else:
        async with kept_postgres_database(_kept_database_name(folder)) as url:
            lines += await _backend("PostgreSQL", url, folder)
    return "\n".join(lines)
