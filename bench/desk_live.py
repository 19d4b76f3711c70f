"""bench/desk_live: `bench desk`'s `live` part (issue 22): the agents' live desk sockets while
customers write.

Real `parlour serve` nodes in child processes (their memory and CPU read from /proc), the load
from this process:

- CUSTOMERS (1,000) open conversations, each handed to a person (so the assistant adds no work:
  the figures are the chat's and the desk's), each with a real widget socket and token;
- AGENTS (50) members of the organisation, signed in with dashboard sessions, each with one live
  desk socket (`/dashboard/o/{tenant_id}/live`, the session cookie and the dashboard's Origin),
  as their Inbox page holds it;
- customers' messages at RATE (200/s) for SECONDS (30), open loop (on schedule whatever the
  answers do), spread over the conversations in turn.

Measured: from a message's send to its `accepted` on the customer's socket, and to the
`stored` frame announcing it on each agent's socket (p50 and p99 over every delivery, and over
the slowest agent of each message); the achieved rate, and what was not accepted or not
delivered. Memory per desk socket: the agents' node's RSS with the customers' sockets open,
before and after MEMORY_SOCKETS (500) more desk sockets (ten per member), divided.

On SQLite: one node, in-process broker (the embedded profile). On PostgreSQL: two nodes and
Redis, the agents on node A and the customers on node B (the scaled-out profile).

BENCH_DESK_CUSTOMERS, BENCH_DESK_AGENTS, BENCH_DESK_RATE, BENCH_DESK_SECONDS and
BENCH_DESK_MEMORY_SOCKETS set smaller runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import secrets
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tests.support.accounts import COOKIE
from tests.support.redis import redis_url
from tests.support.servers import ServeProcess
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.gateway import cpu_seconds, embedded_env, free_port, rss_kib, settings_from
from bench.harness import percentile
from parlour.audit.events import Actor
from parlour.identity.models import Role, Stage
from parlour.services import Services, build_services
from parlour.settings import Settings

ACTOR = Actor.system("bench")
ORIGIN = "https://bench.example"  # the customers' site
PASSWORD = "bench desk password, long enough"  # noqa: S105 (made-up accounts)
CUSTOMERS = int(os.environ.get("BENCH_DESK_CUSTOMERS", "1000"))
AGENTS = int(os.environ.get("BENCH_DESK_AGENTS", "50"))
RATE = float(os.environ.get("BENCH_DESK_RATE", "200"))
SECONDS = float(os.environ.get("BENCH_DESK_SECONDS", "30"))
MEMORY_SOCKETS = int(os.environ.get("BENCH_DESK_MEMORY_SOCKETS", "500"))
SETTLE_SECONDS = 3.0  # after opening sockets, before reading memory
DRAIN_SECONDS = 15.0  # after the last message, for answers still on their way
BATCH = 50  # sockets opened at once
T = TypeVar("T")


@dataclass
class Tally:
    """What the sockets saw, by the monotonic clock (shared by every process of the machine)."""

    sent_at: dict[str, float] = field(default_factory=dict)  # client_id → when sent
    accepted: dict[str, tuple[str, int, float]] = field(default_factory=dict)  # → conv, seq, at
    stored: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    closed: int = 0
    deliveries: int = 0
    expected: tuple[int, int] = (0, 0)  # messages to accept, deliveries to the agents
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    def check(self) -> None:
        messages, deliveries = self.expected
        if messages and len(self.accepted) >= messages and self.deliveries >= deliveries:
            self.complete.set()


async def _customer(
    services: Services, tenant_id: str, widget_id: str, url: str, user: str
) -> tuple[ClientConnection, str]:
    """A customer's socket on a conversation handed to a person; its conversation's id."""
    conversation = await services.chat.open_conversation(tenant_id, user)
    await services.chat.request_handoff(tenant_id, conversation.conversation_id)
    token = (
        await services.end_user_tokens.mint(
            tenant_id, widget_id=widget_id, user_id=user, origin=ORIGIN
        )
    ).token
    ws = await connect(
        f"{url}/v1/chat/{widget_id}",
        origin=ORIGIN,  # type: ignore[arg-type]
        max_queue=None,
        open_timeout=120,
        compression=None,
    )
    await ws.send(json.dumps({"type": "auth", "token": token, "last_seq": 10**9}))
    while (frame := json.loads(await ws.recv()))["type"] != "ready":
        pass
    return ws, str(frame["conversation_id"])


async def _member(services: Services, tenant_id: str, n: int) -> str:
    """An agent of the organisation, signed in; their dashboard session's token."""
    email = f"agent-{n}-{secrets.token_hex(3)}@bench.example"
    # Each from an address of its own: sign-ups are rate-limited per address.
    address = f"198.18.{n // 256}.{n % 256}"
    await services.signup.sign_up(email, PASSWORD, f"Agent {n}", source_ip=address)
    await services.members.add(tenant_id, email, Role.AGENT, actor=ACTOR)
    account = await services.accounts.by_email(email)
    assert account is not None
    async with services.db.transaction() as conn:
        issued = await services.sessions.issue(conn, account.account_id, Stage.ACTIVE, None)
    return issued.token


async def _desk(url: str, dashboard: str, tenant_id: str, session: str) -> ClientConnection:
    """A member's live desk socket, as their Inbox page opens it (no conversation shown)."""
    ws = await connect(
        f"{url}/dashboard/o/{tenant_id}/live",
        origin=dashboard,  # type: ignore[arg-type]
        additional_headers={"cookie": f"{COOKIE}={session}"},
        max_queue=None,
        open_timeout=120,
        compression=None,
    )
    await ws.send(json.dumps({"type": "hello"}))
    while json.loads(await ws.recv())["type"] != "ready":
        pass
    return ws


async def _in_batches(count: int, open_one: Callable[[int], Awaitable[T]]) -> list[T]:
    opened: list[T] = []
    for start in range(0, count, BATCH):
        batch = range(start, min(count, start + BATCH))
        opened += await asyncio.gather(*(open_one(i) for i in batch))
    return opened


async def _read_customer(ws: ClientConnection, conversation_id: str, tally: Tally) -> None:
    try:
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "accepted":
                tally.accepted[frame["client_id"]] = (
                    conversation_id,
                    int(frame["seq"]),
                    time.perf_counter(),
                )
                tally.check()
            elif frame["type"] == "error":
                tally.errors.append(str(frame.get("code")))
    except ConnectionClosed:
        tally.closed += 1


async def _read_agent(ws: ClientConnection, tally: Tally) -> None:
    try:
        async for raw in ws:
            now = time.perf_counter()
            frame = json.loads(raw)
            if frame["type"] == "stored" and frame["author"] == "user":
                tally.stored[(frame["conversation_id"], int(frame["seq"]))].append(now)
                tally.deliveries += 1
                tally.check()
            elif frame["type"] == "error":
                tally.errors.append(str(frame.get("code")))
    except ConnectionClosed:
        tally.closed += 1


@dataclass
class Figures:
    sent: int
    sending_seconds: float
    latest_send_lag: float  # how far behind schedule the sender fell, at worst
    to_accepted: list[float]
    to_stored: list[float]  # every (message, agent) delivery
    to_slowest_agent: list[float]  # per message: its last agent
    accepted_to_slowest: list[float]  # per message: from its `accepted` to its last agent
    not_accepted: int
    deliveries_missing: int
    errors: list[str]
    closed: int
    server_cpu: float
    bench_cpu: float


async def _load(
    customers: list[tuple[ClientConnection, str]],
    agents: list[ClientConnection],
    servers: list[ServeProcess],
) -> Figures:
    tally = Tally()
    readers = [asyncio.create_task(_read_customer(ws, c, tally)) for ws, c in customers]
    readers += [asyncio.create_task(_read_agent(ws, tally)) for ws in agents]
    order = list(range(len(customers)))
    random.Random(22).shuffle(order)  # noqa: S311 (which conversation writes next)
    total = int(RATE * SECONDS)
    expected = total * len(agents)
    tally.expected = (total, expected)
    cpu_before = sum(cpu_seconds(s.process.pid) for s in servers)
    bench_before = _own_cpu()
    lag = 0.0
    started = time.perf_counter()
    for n in range(total):
        due = started + n / RATE
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            lag = max(lag, -delay)
        ws, _ = customers[order[n % len(order)]]
        client_id = str(uuid.uuid4())
        tally.sent_at[client_id] = time.perf_counter()
        await ws.send(json.dumps({"type": "message", "client_id": client_id, "text": f"m{n}"}))
    sending = time.perf_counter() - started
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            await tally.complete.wait()
    server_cpu = sum(cpu_seconds(s.process.pid) for s in servers) - cpu_before
    bench_cpu = _own_cpu() - bench_before
    for task in readers:
        task.cancel()

    to_accepted, to_stored, to_slowest, beyond = [], [], [], []
    delivered = 0
    for client_id, (conversation_id, seq, at) in tally.accepted.items():
        sent = tally.sent_at[client_id]
        to_accepted.append(at - sent)
        arrivals = tally.stored.get((conversation_id, seq), [])
        delivered += len(arrivals)
        to_stored += [a - sent for a in arrivals]
        if len(arrivals) == len(agents):
            to_slowest.append(max(arrivals) - sent)
            beyond.append(max(arrivals) - at)
    return Figures(
        sent=total,
        sending_seconds=sending,
        latest_send_lag=lag,
        to_accepted=to_accepted,
        to_stored=to_stored,
        to_slowest_agent=to_slowest,
        accepted_to_slowest=beyond,
        not_accepted=total - len(tally.accepted),
        deliveries_missing=expected - delivered,
        errors=tally.errors,
        closed=tally.closed,
        server_cpu=server_cpu,
        bench_cpu=bench_cpu,
    )


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _ms(samples: list[float], *, least: bool = False) -> str:
    if not samples:
        return "none"
    low = f"min {min(samples) * 1e3:.1f} ms, " if least else ""
    return (
        f"{low}p50 {percentile(samples, 50) * 1e3:.1f} ms, "
        f"p99 {percentile(samples, 99) * 1e3:.1f} ms, max {max(samples) * 1e3:.1f} ms"
    )


async def run(database_url: str | None) -> list[str]:
    """The live part on SQLite (`database_url` None: one node, in-process broker) or on
    PostgreSQL (two nodes and Redis)."""
    with tempfile.TemporaryDirectory() as folder:
        env = embedded_env(folder)
        # The customers' sockets re-check their identity at the default interval, not
        # bench/gateway's 5 s (which it sets to see a round within its hold).
        env["PARLOUR_TOKENS__REVALIDATE_SECONDS"] = "30"
        env["PARLOUR_GATEWAY__DESK_SOCKETS_PER_MEMBER"] = str(
            max(1, -(-MEMORY_SOCKETS // max(AGENTS, 1)) + 1)
        )
        if database_url is not None:
            env |= {
                "PARLOUR_DATABASE__URL": database_url,
                "PARLOUR_REDIS__URL": redis_url(),
                "PARLOUR_REDIS__KEY_PREFIX": f"bench-{secrets.token_hex(4)}",
            }
        nodes = 1 if database_url is None else 2
        servers = [ServeProcess(env, free_port()) for _ in range(nodes)]
        services = build_services(Settings(**settings_from(env)))
        try:
            for server in servers:
                server.wait_ready()
            return await _measure(services, servers, env["PARLOUR_SERVER__PUBLIC_URL"])
        finally:
            await services.aclose()
            for server in servers:
                server.stop()


async def _measure(services: Services, servers: list[ServeProcess], dashboard: str) -> list[str]:
    agents_node, customers_node = servers[0], servers[-1]
    tenant = await services.tenants.create("Bench Desk", [ORIGIN], actor=ACTOR)
    tenant_id, widget_id = tenant.tenant_id, tenant.widget_id
    sessions = [await _member(services, tenant_id, n) for n in range(AGENTS)]

    started = time.perf_counter()
    customers = await _in_batches(
        CUSTOMERS,
        lambda i: _customer(services, tenant_id, widget_id, customers_node.ws_url, f"c-{i}"),
    )
    opened_customers = time.perf_counter() - started

    # Memory: the agents' node before and after MEMORY_SOCKETS desk sockets, ten or so a member.
    await asyncio.sleep(SETTLE_SECONDS)
    before = rss_kib(agents_node.process.pid)
    extra = await _in_batches(
        MEMORY_SOCKETS,
        lambda i: _desk(agents_node.ws_url, dashboard, tenant_id, sessions[i % len(sessions)]),
    )
    await asyncio.sleep(SETTLE_SECONDS)
    after = rss_kib(agents_node.process.pid)
    kib_each = (after - before) / max(len(extra), 1)
    for ws in extra:
        await ws.close()

    agents = await _in_batches(
        AGENTS, lambda i: _desk(agents_node.ws_url, dashboard, tenant_id, sessions[i])
    )
    await asyncio.sleep(SETTLE_SECONDS)
    load_before = os.getloadavg()[0]
    figures = await _load(customers, agents, servers)
    load_after = os.getloadavg()[0]
    for ws in [*agents, *(c for c, _ in customers)]:
        await ws.close()

    where = (
        "one node (embedded: SQLite, in-process broker)"
        if len(servers) == 1
        else "two nodes (PostgreSQL, Redis): agents on node A, customers on node B"
    )
    delivered = len(figures.to_stored)
    return [
        f"- {where}: {CUSTOMERS:,} customers' sockets on conversations with a person "
        f"(opened in {opened_customers:.1f} s), {AGENTS} agents' desk sockets",
        f"- memory per desk socket (the agents' node's RSS before and after {len(extra)} more "
        f"desk sockets): **{kib_each:.1f} KiB** ({before / 1024:,.0f} → {after / 1024:,.0f} MiB)",
        f"- load: {figures.sent:,} customer messages in {figures.sending_seconds:.1f} s: "
        f"**{figures.sent / figures.sending_seconds:,.0f}/s** (asked {RATE:,.0f}/s; the "
        f"sender fell behind its schedule by {figures.latest_send_lag * 1e3:.0f} ms at worst)",
        f"- send → `accepted` (customer): {_ms(figures.to_accepted)}",
        f"- send → `stored` on the agents' sockets, every delivery ({delivered:,}): "
        f"**{_ms(figures.to_stored)}**",
        f"- send → `stored` on the slowest of the {AGENTS} agents, per message "
        f"({len(figures.to_slowest_agent):,}): {_ms(figures.to_slowest_agent)}",
        f"- the desk's own share, from the customer's `accepted` to the slowest agent's `stored` "
        f"(negative: the agents heard first): {_ms(figures.accepted_to_slowest, least=True)}",
        f"- not accepted: {figures.not_accepted}; deliveries missing: "
        f"{figures.deliveries_missing}; error frames: {len(figures.errors)} "
        f"{sorted(set(figures.errors))[:5] if figures.errors else ''}; sockets closed by the "
        f"server: {figures.closed}",
        f"- CPU during the load: servers {figures.server_cpu:.1f} s "
        f"({figures.server_cpu / max(figures.sent, 1) * 1e6:,.0f} µs a message, fan-out "
        f"included), this process (the {CUSTOMERS + AGENTS:,} clients) {figures.bench_cpu:.1f} s; "
        f"the machine's load average {load_before:.1f} before, {load_after:.1f} after",
    ]
