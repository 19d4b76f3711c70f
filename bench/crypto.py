"""bench/crypto: what per-tenant encryption costs a chat message.

Measures sealing and opening a 1 KiB message body with a tenant's data key, and sets it beside
the cost of one message through the chat path: stored (sealed) and acknowledged over a real
WebSocket on the embedded profile. Goal (issue 3): encryption under 5% of the chat path.
"""

from __future__ import annotations

import json
import time
import uuid

from websockets.asyncio.client import connect

from bench.harness import embedded_server, embedded_services, percentile, summary_us
from parlour.audit.events import Actor
from parlour.crypto.vault import Place

MESSAGE = ("Où est ma carte? " * 64)[:1024]
ROUNDS = 20_000
CHAT_MESSAGES = 500
ACTOR = Actor.system("bench")


async def run() -> str:
    async with embedded_services() as services:
        tenant = await services.tenants.create("Bench", ["https://bench.example"], actor=ACTOR)
        cipher = await services.vault.cipher(tenant.tenant_id)
        body = MESSAGE.encode()
        place = Place("messages", str(uuid.uuid4()), "body")
        samples = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            cipher.open(cipher.seal(body, place), place)
            samples.append(time.perf_counter() - started)
        crypto_mean = sum(samples) / len(samples)

    service_path, socket_path = await _chat_path()
    service_mean = sum(service_path) / len(service_path)
    socket_mean = sum(socket_path) / len(socket_path)
    return "\n".join(
        [
            "### bench/crypto",
            "",
            f"- seal + open of a 1 KiB body ({ROUNDS:,} rounds): {summary_us(samples)}; "
            f"{1 / crypto_mean:,.0f} round trips/s on one core "
            f"({len(body) * 2 / crypto_mean / 1e6:,.0f} MB/s)",
            f"- one user message through ChatService.post_user_message ({CHAT_MESSAGES} messages, "
            f"SQLite): {summary_us(service_path)}",
            f"- one user message over a real socket until `accepted` ({CHAT_MESSAGES} messages, "
            f"embedded profile): p50 {percentile(socket_path, 50) * 1e3:.2f} ms, "
            f"p99 {percentile(socket_path, 99) * 1e3:.2f} ms",
            f"- encryption's share of the chat path: {crypto_mean / service_mean:.2%} of the "
            f"service path, {crypto_mean / socket_mean:.2%} of the socket path (goal: under 5%)",
            "",
        ]
    )


async def _chat_path() -> tuple[list[float], list[float]]:
    async with embedded_server() as running:
        services = running.services
        tenant = await services.tenants.create("Bench", ["https://bench.example"], actor=ACTOR)
        conversation = await services.chat.open_conversation(tenant.tenant_id, "bench-user")
        service_path = []
        for i in range(CHAT_MESSAGES):
            started = time.perf_counter()
            await services.chat.post_user_message(
                tenant.tenant_id, conversation.conversation_id, client_id=f"s{i}", text=MESSAGE
            )
            service_path.append(time.perf_counter() - started)

        # The socket path, on a conversation queued for a person so no answer is computed.
        await services.chat.request_handoff(tenant.tenant_id, conversation.conversation_id)
        token = (
            await services.end_user_tokens.mint(
                tenant.tenant_id,
                widget_id=tenant.widget_id,
                user_id="bench-user",
                origin="https://bench.example",
            )
        ).token
        socket_path = []
        ws_url = running.url.replace("http://", "ws://") + f"/v1/chat/{tenant.widget_id}"
        async with connect(ws_url, origin="https://bench.example", max_queue=None) as ws:  # type: ignore[arg-type]
            await ws.send(json.dumps({"type": "auth", "token": token, "last_seq": 10**9}))
            json.loads(await ws.recv())
            for _ in range(CHAT_MESSAGES):
                client_id = str(uuid.uuid4())
                started = time.perf_counter()
                await ws.send(
                    json.dumps({"type": "message", "client_id": client_id, "text": MESSAGE})
                )
                while json.loads(await ws.recv()).get("type") != "accepted":
                    pass
                socket_path.append(time.perf_counter() - started)
        return service_path, socket_path
