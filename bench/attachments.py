"""bench/attachments: a customer's upload (docs/protocol.md §3.7) at the size cap, over a real
server on loopback: its throughput, and the memory it takes while the body streams.

Each upload posts a PNG of random pixels (so it does not compress, and is judged, decoded and
thumbnailed like a photograph) just under the cap (`PARLOUR_ATTACHMENTS__MAX_BYTES`, 10 MB by
default), in 64 KiB chunks and without a Content-Length, with a ticket minted as the socket would
(the client and the server share this process: the figures are the whole round trip on one
machine). Figures: uploads and MB per second, one at a time; the peak of Python's allocations
(tracemalloc) and of the process's resident memory (VmHWM, reset before each measure where the
kernel allows) above what they were before, for one upload at the cap and for one twice the cap
that is cut off with 413 as it streams (the cap holds memory to about the cap, not the body).

`BENCH_ATTACHMENT_BYTES` sets the cap (e.g. 200000 for a quick functional run) and
`BENCH_ATTACHMENT_UPLOADS` the number of timed uploads (10).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import secrets
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from PIL import Image
from tests.support.servers import start_threaded

from bench.harness import settings_for
from parlour.app import create_app
from parlour.audit.events import Actor
from parlour.services import build_services
from parlour.settings import AttachmentSettings, Settings

CHUNK = 64 * 1024
ACTOR_ORIGIN = "https://bench.example"


def image_near(size: int) -> bytes:
    """A PNG of random pixels a little under `size` bytes."""
    side = max(8, int((size * 0.97 / 3) ** 0.5))
    while True:
        out = io.BytesIO()
        Image.frombytes("RGB", (side, side), secrets.token_bytes(side * side * 3)).save(
            out, format="PNG", compress_level=1
        )
        if len(out.getvalue()) <= size:
            return out.getvalue()
        side = int(side * 0.98)


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    for at in range(0, len(data), CHUNK):
        yield data[at : at + CHUNK]


def high_water_kib() -> int | None:
    """The process's peak resident memory (VmHWM), after asking the kernel to reset it."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return rss_peak_kib()


def rss_peak_kib() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


async def measured(work: Callable[[], Any]) -> tuple[Any, float, int | None]:
    """`work()`'s result, and the peaks of traced allocations (MB) and resident memory (KiB)
    above where they stood before it."""
    before_rss = high_water_kib()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    try:
        result = await work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    after_rss = rss_peak_kib()
    grew = after_rss - before_rss if after_rss is not None and before_rss is not None else None
    return result, (peak - base) / 1e6, grew


async def run() -> str:
    cap = int(os.environ.get("BENCH_ATTACHMENT_BYTES", str(10 * 1024 * 1024)))
    uploads = int(os.environ.get("BENCH_ATTACHMENT_UPLOADS", "10"))
    with tempfile.TemporaryDirectory() as folder:

        def make(url: str) -> tuple[FastAPI, Settings]:
            settings = settings_for(Path(folder), url).model_copy(
                update={
                    "attachments": AttachmentSettings(
                        max_bytes=cap,
                        files_per_conversation=10_000,
                        bytes_per_conversation=10**12,
                        bytes_per_organisation=10**12,
                        uploads_per_user="100000/minute",
                        uploads_per_organisation="100000/minute",
                    )
                }
            )
            return create_app(settings), settings

        server = start_threaded(make)  # type: ignore[arg-type]
        server.server.config.access_log = False
        assert server.settings is not None
        services = build_services(server.settings)
        try:
            tenant = await services.tenants.create(
                "Bench Files", [ACTOR_ORIGIN], actor=Actor.system("bench")
            )
            conversation = await services.chat.open_conversation(tenant.tenant_id, "bench-1")
            links = services.attachments.links
            data = image_near(cap)

            async def upload(client: httpx.AsyncClient, body: bytes) -> int:
                ticket, _ = links.ticket(tenant.tenant_id, conversation.conversation_id, "bench-1")
                answer = await client.post(
                    f"{server.url}/v1/uploads",
                    content=chunks(body),
                    headers={"Authorization": f"Bearer {ticket}", "X-Parlour-Filename": "b.png"},
                )
                return answer.status_code

            async with httpx.AsyncClient(timeout=120) as client:
                assert await upload(client, data) == 201  # warm: imports, the first key read
                started = time.perf_counter()
                for _ in range(uploads):
                    assert await upload(client, data) == 201
                elapsed = time.perf_counter() - started
                status, traced_mb, rss_kib = await measured(lambda: upload(client, data))
                assert status == 201
                over = data + secrets.token_bytes(len(data))
                cut, cut_traced_mb, cut_rss_kib = await measured(lambda: upload(client, over))
                assert cut == 413
        finally:
            await services.aclose()
            server.stop()
    megabytes = len(data) * uploads / 1e6
    return "\n".join(
        [
            "### bench/attachments",
            "",
            f"A customer's upload at the cap ({cap:,} bytes; the file {len(data):,} bytes, a PNG "
            f"of random pixels), posted in {CHUNK // 1024} KiB chunks without a length to a real "
            "server on loopback, one at a time; client and server in one process.",
            "",
            "| figure | value |",
            "|---|---|",
            f"| uploads per second | {uploads / elapsed:.2f} |",
            f"| MB per second | {megabytes / elapsed:.1f} |",
            f"| peak Python allocations, one upload at the cap | {traced_mb:.1f} MB |",
            f"| peak resident memory growth, one upload at the cap | {_kib(rss_kib)} |",
            f"| peak Python allocations, twice the cap cut off (413) | {cut_traced_mb:.1f} MB |",
            f"| peak resident memory growth, twice the cap cut off | {_kib(cut_rss_kib)} |",
        ]
    )


def _kib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 1024:.1f} MB"


if __name__ == "__main__":
    print(asyncio.run(run()))
