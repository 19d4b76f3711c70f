"""bench/webhooks: how fast the outbox drains to an endpoint that answers at once.

Messages are stored through the chat service (each owing one delivery to the organisation's
endpoint), then the dispatcher runs rounds until every delivery is taken; the endpoint is a bare
uvicorn app in another process on 127.0.0.1. Figures: deliveries per second drained, and what
storing the messages cost with the endpoint subscribed and without one (the outbox's share of
the chat's write path).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator

from bench.gateway import _wait_for_port, free_port
from bench.harness import embedded_services
from parlour.audit.events import Actor
from parlour.services import Services

MESSAGES = 5000
CONVERSATIONS = 50
ACTOR = Actor.system("bench")


def start_endpoint(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bench.webhook_receiver_app", str(port)])  # noqa: S603


@contextlib.asynccontextmanager
async def endpoint() -> AsyncIterator[str]:
    port = free_port()
    process = start_endpoint(port)
    try:
        await _wait_for_port(port)
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        process.terminate()
        process.wait(timeout=20)


async def store(services: Services, tenant_id: str, label: str) -> float:
    """Messages/s stored, a conversation's messages in turn and conversations side by side."""
    conversations = [
        await services.chat.open_conversation(tenant_id, f"{label}-{i}")
        for i in range(CONVERSATIONS)
    ]

    async def say(n: int) -> None:
        conversation = conversations[n % CONVERSATIONS].conversation_id
        await services.chat.post_user_message(
            tenant_id, conversation, client_id=f"{label}-{n}", text=f"message {n}"
        )

    started = time.perf_counter()
    await asyncio.gather(*(say(n) for n in range(MESSAGES)))
    return MESSAGES / (time.perf_counter() - started)


async def run() -> str:
    async with embedded_services(egress_to_loopback=True) as services, endpoint() as url:
        plain = await services.tenants.create("Plain", ["https://a.example"], actor=ACTOR)
        hooked = await services.tenants.create("Hooked", ["https://b.example"], actor=ACTOR)
        await services.webhook_endpoints.add(
            hooked.tenant_id, url=url, events=["message.created"], actor=ACTOR
        )
        without = await store(services, plain.tenant_id, "plain")
        with_outbox = await store(services, hooked.tenant_id, "hooked")
        started = time.perf_counter()
        delivered = 0
        while delivered < MESSAGES:
            delivered += await services.webhook_dispatcher.deliver_due()
        drained = MESSAGES / (time.perf_counter() - started)
    return "\n".join(
        [
            "### bench/webhooks",
            "",
            f"- {MESSAGES:,} messages in {CONVERSATIONS} conversations, stored through the chat "
            f"service: {without:,.0f}/s without a webhook, {with_outbox:,.0f}/s with one "
            "subscribed (the outbox row is written in the same transaction)",
            f"- the dispatcher drained their {MESSAGES:,} deliveries to a bare local endpoint "
            f"at {drained:,.0f}/s",
            "",
        ]
    )
