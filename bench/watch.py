"""bench/watch: what re-checking every open socket's identity costs the node's event loop
(issue 4: acknowledgement latency is measured in its tail, and this round runs on the same loop
as every socket).

Ten thousand sockets' identities of one organisation, re-checked five times, with a monitor
that wakes every millisecond: the round's duration, and the longest the loop was held. Then the
same in one slice (as before slicing), for comparison.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
import time
from contextlib import suppress
from pathlib import Path

from bench.harness import settings_for
from parlour.audit.events import Actor
from parlour.chat import identity_watch
from parlour.chat.identity_watch import IdentityWatch
from parlour.keys.models import EndUser
from parlour.services import build_services

SOCKETS = 10_000
ROUNDS = 5
ORIGIN = "https://bench.example"


@dataclasses.dataclass(eq=False)
class Socket:
    identity: EndUser

    def identity_revoked(self) -> None:
        raise AssertionError("no identity here is revoked")

    def binding_refused(self) -> None:
        raise AssertionError("no origin here is removed")


async def held(watch: IdentityWatch) -> tuple[float, float]:
    """The slowest round's duration and the longest stall of the loop, in seconds."""
    stalls: list[float] = []

    async def monitor() -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            stalls.append(time.perf_counter() - started - 0.001)

    watching = asyncio.create_task(monitor())
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        await watch.check_now()
        rounds.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)
    watching.cancel()
    with suppress(asyncio.CancelledError):
        await watching
    return max(rounds), max(stalls)


async def run() -> str:
    with tempfile.TemporaryDirectory() as folder:
        services = build_services(settings_for(Path(folder)))
        await services.migrate()
        try:
            tenant = await services.tenants.create("Bench", [ORIGIN], actor=Actor.system("bench"))
            minted = await services.end_user_tokens.mint(
                tenant.tenant_id, widget_id=tenant.widget_id, user_id="u0", origin=ORIGIN
            )
            one = await services.end_user_tokens.verify(
                tenant.tenant_id, tenant.widget_id, minted.token
            )
            watch = IdentityWatch(services.end_user_tokens, services.tenants, every_seconds=3600)
            for i in range(SOCKETS):
                watch.add(Socket(dataclasses.replace(one, user_id=f"u{i}")))
            sliced = await held(watch)
            slice_size = identity_watch.CHECK_SLICE
            identity_watch.CHECK_SLICE = SOCKETS
            try:
                whole = await held(watch)
            finally:
                identity_watch.CHECK_SLICE = slice_size
            await watch.aclose()
        finally:
            await services.aclose()
    return "\n".join(
        [
            "### bench/watch",
            "",
            f"- re-checking {SOCKETS:,} sockets' identities and origins, slowest of {ROUNDS} "
            f"rounds: in slices of {slice_size:,}, {sliced[0] * 1e3:.0f} ms a round, the loop "
            f"held at most **{sliced[1] * 1e3:.1f} ms**; in one slice, {whole[0] * 1e3:.0f} ms "
            f"a round, the loop held at most **{whole[1] * 1e3:.1f} ms**",
            "",
        ]
    )
