"""The identity watch re-checks every open socket's identity and allowlisting in one round and
ends only the sockets whose identity no longer stands, or whose origin is no longer allowed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from opentelemetry.sdk.trace import TracerProvider

from parlour import logs
from parlour.chat import identity_watch
from parlour.chat.identity_watch import IdentityWatch
from parlour.keys.models import EndUser
from parlour.services import Services
from tests.support import seed
from tests.support.clock import ManualClock
from tests.support.logs import records, written


@dataclass(eq=False)
class Socket:
    identity: EndUser
    revoked: bool = False
    refused: bool = False
    on_end: Callable[[], None] = lambda: None

    def identity_revoked(self) -> None:
        self.revoked = True
        self.on_end()

    def binding_refused(self) -> None:
        self.refused = True
        self.on_end()


async def socket_for(services: Services, org: seed.Organisation, user_id: str) -> Socket:
    token = await seed.token_for(services, org, user_id)
    user = await services.end_user_tokens.verify(org.tenant_id, org.widget_id, token)
    return Socket(user)


async def test_one_round_ends_the_revoked_users_sockets_and_keeps_the_rest(
    backend: Services,
) -> None:
    """T-22: revoking an end user reaches every socket of theirs, and no one else's."""
    a = await seed.organisation(backend)
    b = await seed.organisation(backend, origin="https://other.example")
    alice = [await socket_for(backend, a, "alice") for _ in range(2)]
    bob = await socket_for(backend, a, "bob")
    alice_at_b = await socket_for(backend, b, "alice")
    watch = IdentityWatch(backend.end_user_tokens, backend.tenants, every_seconds=60)
    for socket in [*alice, bob, alice_at_b]:
        watch.add(socket)
    await backend.end_user_revocations.revoke(a.tenant_id, "alice")
    await watch.check_now()
    await watch.aclose()
    assert [s.revoked for s in alice] == [True, True]
    assert not bob.revoked
    assert not alice_at_b.revoked  # the same user id in another organisation is someone else


async def test_a_socket_that_closed_is_no_longer_checked(backend: Services) -> None:
    org = await seed.organisation(backend)
    socket = await socket_for(backend, org, "alice")
    watch = IdentityWatch(backend.end_user_tokens, backend.tenants, every_seconds=60)
    watch.add(socket)
    watch.discard(socket)
    await backend.end_user_revocations.revoke(org.tenant_id, "alice")
    await watch.check_now()
    await watch.aclose()
    assert not socket.revoked


async def test_one_round_ends_the_sockets_of_an_origin_taken_off_the_allowlist(
    backend: Services,
) -> None:
    """T-18, after the handshake: the origin's sockets are refused, other origins' are not."""
    a = await seed.organisation(backend)
    b = await seed.organisation(backend, origin="https://other.example")
    removed, kept = await socket_for(backend, a, "alice"), await socket_for(backend, b, "alice")
    watch = IdentityWatch(backend.end_user_tokens, backend.tenants, every_seconds=60)
    watch.add(removed)
    watch.add(kept)
    await backend.tenants.remove_origin(a.tenant_id, a.origin, actor=seed.ACTOR)
    await watch.check_now()
    await watch.aclose()
    assert (removed.refused, removed.revoked) == (True, False)
    assert not kept.refused


async def test_a_round_in_many_slices_checks_every_socket(
    backend: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity_watch, "CHECK_SLICE", 2)
    org = await seed.organisation(backend)
    users = ["alice", "bob", "bob", "carol", "alice"]
    sockets = [await socket_for(backend, org, user) for user in users]
    watch = IdentityWatch(backend.end_user_tokens, backend.tenants, every_seconds=60)
    for socket in sockets:
        watch.add(socket)
    await backend.end_user_revocations.revoke(org.tenant_id, "alice")
    await watch.check_now()
    await watch.aclose()
    assert [s.revoked for s in sockets] == [user == "alice" for user in users]


async def test_a_round_comes_each_interval_on_the_watchs_clock(backend: Services) -> None:
    """T-22: nothing is checked before the interval has passed since the first socket was
    watched; once the clock reaches it, the round runs by itself."""
    org = await seed.organisation(backend)
    socket = await socket_for(backend, org, "alice")
    ended = asyncio.Event()
    socket.on_end = ended.set
    clock = ManualClock()
    watch = IdentityWatch(backend.end_user_tokens, backend.tenants, every_seconds=30, clock=clock)
    watch.add(socket)
    await backend.end_user_revocations.revoke(org.tenant_id, "alice")
    clock.advance(timedelta(seconds=29))
    assert clock.pending() == 1  # the round still waits
    clock.advance(timedelta(seconds=1))
    async with asyncio.timeout(5):
        await ended.wait()
    await watch.aclose()
    assert socket.revoked


class Unreadable:
    """A socket whose identity cannot be read: the round that checks it fails, and says so."""

    def __init__(self) -> None:
        self.read = asyncio.Event()

    @property
    def identity(self) -> EndUser:
        self.read.set()
        raise RuntimeError("the socket's identity is gone")

    def identity_revoked(self) -> None:
        raise AssertionError("never reached")

    def binding_refused(self) -> None:
        raise AssertionError("never reached")


async def test_what_a_round_logs_names_none_of_the_request_that_started_the_watch(
    services: Services,
) -> None:
    """The first socket watched starts the node's one watch task, inside that socket's log
    context (request id, tenant id) and trace span; the task then serves every socket after,
    so what its rounds log carries none of them."""
    clock = ManualClock()
    watch = IdentityWatch(services.end_user_tokens, services.tenants, every_seconds=30, clock=clock)
    socket = Unreadable()
    tracer = TracerProvider().get_tracer("test")
    with written(logging.INFO, "json") as log:
        with logs.request_scope("request-of-the-first-socket"), tracer.start_as_current_span("ws"):
            logs.bind(tenant_id="tenant-of-the-first-socket")
            watch.add(socket)
            logging.getLogger("parlour.chat").info("the first socket is watched")
        # The round is due at once, whether or not the task has set its timer yet.
        clock.advance(timedelta(seconds=30))
        async with asyncio.timeout(5):
            await socket.read.wait()
        await watch.aclose()
    written_records = records(log.getvalue())

    (inside,) = [r for r in written_records if r["event"] == "the first socket is watched"]
    assert inside["request_id"] == "request-of-the-first-socket"
    assert inside["tenant_id"] == "tenant-of-the-first-socket"
    assert "trace_id" in inside
    (failed,) = [r for r in written_records if r["event"] == "a round of identity watch failed"]
    assert "RuntimeError" in failed["exception"]
    assert {"request_id", "tenant_id", "trace_id", "span_id"}.isdisjoint(failed)
