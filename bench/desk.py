"""bench/desk: issue 22's `bench desk`, in parts (`BENCH_DESK_PARTS`, comma-separated; all by
default), each a function that returns its own Markdown section. So far:

- `search`: text search over 100,000 messages of one organisation (goal: p95 ≤ 300 ms), on
  SQLite and PostgreSQL (`BENCH_DESK_BACKENDS=sqlite` for one). The messages are customer
  questions from banking77 (../shared/corpora, CC-BY-4.0) and the replies a support desk
  writes, sealed and written straight into the tables as the chat would have left them, 10 per
  conversation over 90 days; then the indexer builds the blind index (its rate is measured),
  and searches of one to three words drawn from banking77's *test* questions run, alone and
  with a filter (state, customer, assignee), beside filter-only searches. For comparison, the
  other design the issue names is timed too: opening every sealed body and scanning it
  (`decrypt-and-scan`). Set BENCH_DESK_MESSAGES for a smaller run.

- `live`: the agents' live desk sockets under customers' messages (bench/desk_live.py): the
  time from a customer's message to the agents' `stored` frame, memory per desk socket. On
  SQLite it is the embedded profile (one node, in-process broker); on PostgreSQL the scaled-out
  one (two nodes and Redis, the agents on one node and the customers on the other).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import os
import random
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from tests.support.databases import new_postgres_database

from bench import desk_live as live
from bench.harness import percentile, settings_for
from parlour.audit.events import Actor
from parlour.chat.models import Author, ConversationStatus, Message, MessageKind
from parlour.chat.repository import TABLE, sealed_row
from parlour.crypto.vault import Place
from parlour.search.indexer import SearchIndexer
from parlour.search.service import Query
from parlour.search.terms import words
from parlour.services import Services, build_services
from parlour.storage.database import Database
from parlour.storage.ids import time_ordered_id
from parlour.storage.tables import conversations, messages, search_terms
from parlour.storage.types import utcnow

ACTOR = Actor.system("bench")
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "banking77"
MESSAGES = int(os.environ.get("BENCH_DESK_MESSAGES", "100000"))
EACH = 10  # messages per conversation: the customer's and the replies, in turn
DAYS = 90
AGENTS = [f"agent-{i:02}" for i in range(12)]
QUERIES = 200
CHUNK = 5_000
REPLIES = [
    "Thanks for reaching out. Your new card should arrive within 5 working days.",
    "I have frozen the card for you; you can unfreeze it any time in the app.",
    "The transfer is pending and usually completes within 24 hours.",
    "Top-ups by bank transfer can take up to one working day to show.",
    "We charge a 0.5% fee for exchanges above the monthly allowance.",
    "Please verify your identity in the app under Settings, then Verification.",
    "I've raised a refund request for the duplicate payment; it takes 3-5 days.",
    "Your PIN can be viewed in the app under Card, then Show PIN.",
    "Cash withdrawals are free up to 200 GBP a month, then 2% applies.",
    "The exchange rate is the interbank rate at the moment of the payment.",
    "I can see the payment was declined by the merchant, not by us.",
    "You can change your address in Profile; a new card goes to the new address.",
    "Contactless payments are limited to 100 GBP at a time by the card networks.",
    "A direct debit can be cancelled from the Payments tab at any time.",
    "I am sorry for the wait. A colleague from the cards team will take it from here.",
]


def _questions(name: str) -> list[str]:
    path = CORPUS / name
    if not path.exists():
        raise SystemExit(f"bench desk needs {path} (../shared/corpora, read its README)")
    with path.open(newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


async def _seed(services: Services, now: datetime) -> tuple[str, list[str]]:
    """One organisation's MESSAGES messages; its id and its customers' ids."""
    tenant_id = (await services.tenants.create("Bench Desk Bank", actor=ACTOR)).tenant_id
    questions = _questions("train.csv")
    rng = random.Random(22)  # noqa: S311 (made-up data, repeatable)
    cipher = await services.vault.cipher(tenant_id)
    start = now - timedelta(days=DAYS)
    statuses = [s.value for s in ConversationStatus]
    customers = [f"customer-{n}" for n in range(MESSAGES // EACH // 3 + 1)]
    conversation_rows: list[dict[str, Any]] = []
    message_rows: list[dict[str, Any]] = []
    for _ in range(MESSAGES // EACH):
        created = start + timedelta(seconds=rng.uniform(0, DAYS * 86_400 - 3_600))
        conversation_id = time_ordered_id()
        status = rng.choice(statuses)
        conversation_rows.append(
            {
                "tenant_id": tenant_id,
                "conversation_id": conversation_id,
                "end_user_id": rng.choice(customers),
                "status": status,
                "last_seq": EACH,
                "created_at": created,
                "updated_at": created + timedelta(seconds=30 * EACH),
                "assignee": rng.choice(AGENTS) if status not in ("bot", "queued") else None,
            }
        )
        for seq in range(1, EACH + 1):
            author = Author.USER if seq % 2 else rng.choice([Author.ASSISTANT, Author.AGENT])
            body = rng.choice(questions) if author is Author.USER else rng.choice(REPLIES)
            message = Message(
                tenant_id=tenant_id,
                conversation_id=conversation_id,
                seq=seq,
                message_id=time_ordered_id(),
                kind=MessageKind.TEXT,
                author=author,
                body=body,
                created_at=created + timedelta(seconds=30 * seq),
            )
            message_rows.append(sealed_row(message, cipher))
        if len(message_rows) >= CHUNK:
            await _insert(services.db, tenant_id, conversation_rows, message_rows)
            conversation_rows, message_rows = [], []
    await _insert(services.db, tenant_id, conversation_rows, message_rows)
    return tenant_id, customers


async def _insert(db: Database, tenant_id: str, conversation_rows: Any, message_rows: Any) -> None:
    if conversation_rows:
        async with db.transaction(tenant_id) as conn:
            await conn.execute(insert(conversations), conversation_rows)
            await conn.execute(insert(messages), message_rows)


def _queries(rng: random.Random) -> list[str]:
    """One to three words of a held-out question (banking77's test set), as a person types."""
    held_out = [words(q) for q in _questions("test.csv")]
    drawn = []
    while len(drawn) < QUERIES:
        some = rng.choice(held_out)
        if some:
            drawn.append(" ".join(rng.sample(some, min(len(some), rng.choice((1, 1, 2, 2, 3))))))
    return drawn


async def _timed(calls: list[Callable[[], Awaitable[object]]]) -> tuple[float, float, float]:
    """p50, p95 and max of the calls, in milliseconds (after one warm-up call)."""
    await calls[0]()
    seconds = []
    for call in calls:
        started = time.perf_counter()
        await call()
        seconds.append(time.perf_counter() - started)
    return (
        percentile(seconds, 50) * 1000,
        percentile(seconds, 95) * 1000,
        max(seconds) * 1000,
    )


async def _decrypt_and_scan(services: Services, tenant_id: str, word: str) -> int:
    """The other design: open every sealed body of the organisation and look for the word."""
    cipher = await services.vault.cipher(tenant_id)
    found = 0
    async with services.db.read(tenant_id) as conn:
        rows = await conn.execute(
            select(messages.c.message_id, messages.c.body_sealed).where(
                messages.c.tenant_id == tenant_id
            )
        )
        for message_id, sealed in rows:
            body = cipher.open_text(sealed, Place(TABLE, message_id, "body"))
            found += word in words(body)
    return found


async def _search_part(services: Services) -> list[str]:
    now = utcnow()
    started = time.perf_counter()
    tenant_id, customers = await _seed(services, now)
    seeded = time.perf_counter() - started

    started = time.perf_counter()
    # The whole of a core: a node's indexer takes a tenth of its event loop at most (it rests
    # nine times as long as each batch took), so it builds at a tenth of this rate.
    indexer = SearchIndexer(services.db, services.vault, share=1.0)
    indexed, resume = await indexer.index_tenant(tenant_id, 0)
    while resume is not None:
        done, resume = await indexer.index_tenant(tenant_id, 0, after=resume)
        indexed += done
    built = time.perf_counter() - started
    if not services.db.is_sqlite:
        # What autovacuum's analyze does after a load this size: without statistics, just after
        # the bulk load, PostgreSQL planned range scans where key lookups belong (a run of
        # 10,000 messages: p95 300 ms rather than 20).
        async with services.db.engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
    async with services.db.read(tenant_id) as conn:
        terms = await conn.scalar(
            select(func.count())
            .select_from(search_terms)
            .where(search_terms.c.tenant_id == tenant_id)
        )

    rng = random.Random(2022)  # noqa: S311
    texts = _queries(rng)
    search = services.search.search
    statuses = list(ConversationStatus)

    def calls(make: Callable[[str], Query]) -> list[Callable[[], Awaitable[object]]]:
        return [functools.partial(search, tenant_id, make(t)) for t in texts]

    kinds: dict[str, list[Callable[[], Awaitable[object]]]] = {
        "words": calls(lambda t: Query(text=t)),
        "words + state": calls(lambda t: Query(text=t, status=rng.choice(statuses))),
        "words + customer": calls(lambda t: Query(text=t, end_user_id=rng.choice(customers))),
        "words + assignee": calls(lambda t: Query(text=t, assignee=rng.choice(AGENTS))),
        "words + last 7 days": calls(lambda t: Query(text=t, since=now - timedelta(days=7))),
        "state alone": calls(lambda _t: Query(status=rng.choice(statuses))),
        "customer alone": calls(lambda _t: Query(end_user_id=rng.choice(customers))),
        "the commonest word (card)": [functools.partial(search, tenant_id, Query(text="card"))]
        * 30,
    }
    lines = [
        f"seeded {MESSAGES:,} messages in {MESSAGES // EACH:,} conversations in {seeded:,.0f} s; "
        f"indexed {indexed:,} messages ({terms:,} tags, {terms / max(indexed, 1):.1f} a "
        f"message) in {built:,.1f} s: **{indexed / built:,.0f} messages/s** on a whole core (a "
        "node's indexer, at a tenth of its loop: a tenth of that)",
        "",
        "| search | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|",
    ]
    for name, work in kinds.items():
        p50, p95, most = await _timed(work)
        lines.append(f"| {name} ({len(work)}) | {p50:,.1f} | {p95:,.1f} | {most:,.1f} |")
    started = time.perf_counter()
    hits = await _decrypt_and_scan(services, tenant_id, "refund")
    scanned = time.perf_counter() - started
    lines += [
        "",
        f"decrypt-and-scan of all {MESSAGES:,} messages for one word: {scanned * 1000:,.0f} ms "
        f"({hits:,} hits)",
    ]
    return lines


async def _search(backend: Backend) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        async with _services(Path(folder), backend.database_url) as services:
            return await _search_part(services)


async def _live(backend: Backend) -> list[str]:
    return await live.run(backend.database_url)


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str | None  # None: SQLite in a folder of its own


PARTS: dict[str, Callable[[Backend], Awaitable[list[str]]]] = {
    "search": _search,
    "live": _live,
}


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


async def _backend(backend: Backend, parts: list[str]) -> list[str]:
    lines = [f"**{backend.name}**", ""]
    for part in parts:
        lines += [f"*{part}*: ", *await PARTS[part](backend), ""]
    return lines


async def run() -> str:
    parts = [p for p in os.environ.get("BENCH_DESK_PARTS", ",".join(PARTS)).split(",") if p]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise SystemExit(f"unknown part(s) of bench desk: {', '.join(unknown)}")
    backends = os.environ.get("BENCH_DESK_BACKENDS", "sqlite,postgresql").split(",")
    lines = ["### bench/desk", ""]
    if "sqlite" in backends:
        lines += await _backend(Backend("SQLite", None), parts)
    if "postgresql" in backends:
        async with new_postgres_database() as url:
            lines += await _backend(Backend("PostgreSQL", url), parts)
    return "\n".join(lines)
