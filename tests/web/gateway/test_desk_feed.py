"""The members' live desk socket, with real sockets against a real server (docs/desk.md): who
may open it (T-97), what it carries, to whom (T-98), and when it closes.

Past 400 lines as one specification: the members' socket from open to close.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus

from parlour.audit.events import Actor, ActorType
from parlour.crypto.digest import sha256_hex
from parlour.identity.models import Membership, Role
from parlour.settings import RedisSettings
from parlour.storage.tables import account_sessions
from tests.conftest import Stack, new_master_key, running_stack
from tests.support import seed
from tests.support.chat import (
    Frame,
    authenticate,
    close_code,
    open_socket,
    receive,
    receive_until,
    say,
)
from tests.support.clock import ManualClock
from tests.support.desk import DeskMember, desk_member, hello, open_desk
from tests.support.redis import redis_url


async def refused(stack: Stack, tenant_id: str, token: str | None, origin: str | None) -> Frame:
    """The HTTP answer to a refused desk socket: its status and error code."""
    with pytest.raises(InvalidStatus) as refusal:
        async with open_desk(stack.ws_url, tenant_id, token, origin):
            pass
    response = refusal.value.response
    return {"status": response.status_code, "code": json.loads(response.body)["error"]["code"]}


async def asks_for_a_person(stack: Stack, org: seed.Organisation, user_id: str) -> str:
    """A customer on the widget asks for a person (through the server, whose broker the desk
    sockets hear); their conversation's id."""
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as customer:
        ready = await authenticate(customer, await seed.token_for(stack.services, org, user_id))
        await customer.send(json.dumps({"type": "handoff"}))
        await receive_until(customer, lambda f: f["type"] == "handoff")
    return str(ready["conversation_id"])


def next_round(stack: Stack, clock: ManualClock) -> None:
    """Move the server's clock to its next re-check of the open desk sockets."""
    clock.advance(timedelta(seconds=stack.services.settings.gateway.desk_revalidate_seconds))


async def test_t97_a_desk_socket_from_another_origin_is_refused_with_403_before_the_upgrade(
    stack: Stack,
) -> None:
    """T-97, cross-site WebSocket hijacking: a page elsewhere opening the socket carries the
    member's cookie; it is answered 403 in the JSON error shape, and no socket opens. Without an
    Origin, or from a look-alike of the dashboard's, the same."""
    org = await seed.organisation(stack.services)
    ada = await desk_member(stack.services, org.tenant_id)
    for origin in ("https://evil.example", None, stack.url + ".evil.example", org.origin):
        assert await refused(stack, org.tenant_id, ada.session_token, origin) == {
            "status": 403,
            "code": "desk_origin_refused",
        }
    async with open_desk(stack.ws_url, org.tenant_id, ada.session_token, stack.url) as ws:
        assert (await hello(ws))["account_id"] == ada.account_id


async def test_t97_a_desk_socket_without_a_member_session_is_refused(stack: Stack) -> None:
    """T-97: no cookie, a made-up one, a member of another organisation (T-98), and a role that
    does not handle conversations: refused before the upgrade."""
    org = await seed.organisation(stack.services)
    other = await seed.organisation(stack.services, name="Other Org")
    outsider = await desk_member(stack.services, other.tenant_id)
    analyst = await desk_member(stack.services, org.tenant_id, Role.ANALYST)
    tenant, own = org.tenant_id, stack.url
    assert await refused(stack, tenant, None, own) == {"status": 401, "code": "session_required"}
    assert await refused(stack, tenant, "made-up", own) == {
        "status": 401,
        "code": "session_required",
    }
    assert await refused(stack, tenant, outsider.session_token, own) == {
        "status": 404,
        "code": "not_found",
    }
    assert await refused(stack, tenant, analyst.session_token, own) == {
        "status": 403,
        "code": "not_permitted",
    }


async def last_seen(stack: Stack, member: DeskMember) -> object:
    async with stack.services.db.read() as conn:
        return (
            await conn.execute(
                select(account_sessions.c.last_seen_at).where(
                    account_sessions.c.token_hash == sha256_hex(member.session_token)
                )
            )
        ).scalar_one_or_none()


async def test_t97_the_desk_socket_never_extends_the_sessions_idle_time(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-97, T-41: the socket's handshake, its frames and its re-checks never count as a use of
    the session; with nothing else done, the session runs out at its idle time and the socket
    closes with 4401 within the interval after."""
    clock = ManualClock()
    async with running_stack(tmp_path, sqlite_url, clock=clock) as stack:
        org = await seed.organisation(stack.services)
        ada = await desk_member(stack.services, org.tenant_id)
        conversation_id = await seed.with_a_person(stack.services, org)
        seen_at_first = await last_seen(stack, ada)
        idle = timedelta(minutes=stack.services.settings.identity.session_idle_minutes)
        async with open_desk(stack.ws_url, org.tenant_id, ada.session_token, stack.url) as ws:
            await hello(ws, conversation_id)
            steps = int(idle / timedelta(minutes=5))
            for _ in range(steps - 1):
                clock.advance(timedelta(minutes=5))  # re-check rounds run, and pass
                await ws.send(
                    json.dumps({"type": "read", "conversation_id": conversation_id, "seq": 1})
                )
                await ws.send(
                    json.dumps(
                        {"type": "typing", "conversation_id": conversation_id, "state": True}
                    )
                )
                typing = await receive_until(ws, lambda f: f["type"] == "read")
                assert typing[-1]["seq"] == 1
                assert await last_seen(stack, ada) == seen_at_first
            clock.advance(timedelta(minutes=5, seconds=1))  # past the idle time
            next_round(stack, clock)
            assert await close_code(ws) == 4401
        assert await last_seen(stack, ada) is None  # the session ended


async def test_t97_logging_out_closes_the_desk_socket_within_the_interval(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-97: the member logs out; at the next re-check their socket closes (4401), a colleague's
    stays open, and the ended session opens no new one."""
    clock = ManualClock()
    async with running_stack(tmp_path, sqlite_url, clock=clock) as stack:
        org = await seed.organisation(stack.services)
        ada = await desk_member(stack.services, org.tenant_id)
        bo = await desk_member(stack.services, org.tenant_id)
        async with (
            open_desk(stack.ws_url, org.tenant_id, ada.session_token, stack.url) as ada_ws,
            open_desk(stack.ws_url, org.tenant_id, bo.session_token, stack.url) as bo_ws,
        ):
            await hello(ada_ws)
            await hello(bo_ws)
            await stack.services.sessions.log_out(ada.session_token)
            next_round(stack, clock)
            assert await close_code(ada_ws) == 4401
            # Bo's stays open: a customer's arrival reaches it after the round.
            await asks_for_a_person(stack, org, "customer-after")
            frames = await receive_until(bo_ws, lambda f: f.get("status") == "queued")
            assert frames[-1]["end_user_id"] == "customer-after"
        assert await refused(stack, org.tenant_id, ada.session_token, stack.url) == {
            "status": 401,
            "code": "session_required",
        }


async def test_t97_session_expiry_closes_the_desk_socket_within_the_interval(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-97: at the session's absolute expiry, though the member keeps using the dashboard, the
    socket closes (4401) within the interval."""
    clock = ManualClock()
    async with running_stack(tmp_path, sqlite_url, clock=clock) as stack:
        org = await seed.organisation(stack.services)
        ada = await desk_member(stack.services, org.tenant_id)
        absolute = timedelta(hours=stack.services.settings.identity.session_absolute_hours)
        async with open_desk(stack.ws_url, org.tenant_id, ada.session_token, stack.url) as ws:
            await hello(ws)
            while absolute > timedelta(0):
                clock.advance(timedelta(minutes=10))
                absolute -= timedelta(minutes=10)
                # The member's own page requests: they keep the session from idling.
                await stack.services.sessions.active(ada.session_token)
            next_round(stack, clock)
            assert await close_code(ws) == 4401


@pytest.mark.parametrize("change", ["removed", "analyst"])
async def test_t97_removal_or_loss_of_the_role_closes_the_desk_socket_within_the_interval(
    tmp_path: Path, sqlite_url: str, change: str
) -> None:
    """T-97: removed from the organisation, or made an analyst (who does not handle
    conversations), the member's socket closes (4403) at the next re-check."""
    clock = ManualClock()
    async with running_stack(tmp_path, sqlite_url, clock=clock) as stack:
        org = await seed.organisation(stack.services)
        ada = await desk_member(stack.services, org.tenant_id)
        owner = Membership("tests", org.tenant_id, Role.OWNER)
        async with open_desk(stack.ws_url, org.tenant_id, ada.session_token, stack.url) as ws:
            await hello(ws)
            members = stack.services.members
            if change == "removed":
                await members.remove(org.tenant_id, ada.account_id, by=owner, actor=seed.ACTOR)
            else:
                await members.change_role(
                    org.tenant_id, ada.account_id, Role.ANALYST, by=owner, actor=seed.ACTOR
                )
            next_round(stack, clock)
            assert await close_code(ws) == 4403


async def test_the_desk_hears_a_customer_ask_for_a_person_write_and_type_and_answers_typing(
    stack: Stack,
) -> None:
    """The conversation appears (queued), its customer's messages are noted by number (their
    text only on the socket of the page that shows the conversation), the customer's typing is
    heard; an agent's typing reaches the customer as `typing` from an agent, and their
    colleague's desk with who types; a read mark reaches the customer, and the member's own
    other pages."""
    org = await seed.organisation(stack.services, faq=None)
    ada = await desk_member(stack.services, org.tenant_id)
    bo = await desk_member(stack.services, org.tenant_id)
    async with (
        open_desk(stack.ws_url, org.tenant_id, ada.session_token, stack.url) as inbox,
        open_desk(stack.ws_url, org.tenant_id, bo.session_token, stack.url) as colleague,
        open_socket(stack.ws_url, org.widget_id, org.origin) as customer,
    ):
        await hello(inbox)
        await hello(colleague)
        await authenticate(customer, await seed.token_for(stack.services, org))
        await customer.send(json.dumps({"type": "handoff"}))
        queued = await receive_until(inbox, lambda f: f.get("status") == "queued")
        conversation_id = queued[-1]["conversation_id"]
        assert queued[-1]["end_user_id"] == "customer-1"
        async with open_desk(stack.ws_url, org.tenant_id, ada.session_token, stack.url) as page:
            await hello(page, conversation_id, after_seq=queued[-1]["last_seq"])
            await say(customer, "My card is blocked")
            noted = await receive_until(inbox, lambda f: f["type"] == "stored")
            assert noted[-1] == {
                "type": "stored",
                "conversation_id": conversation_id,
                "seq": 2,
                "author": "user",
                "kind": "text",
            }
            assert not any("text" in frame for frame in noted)
            shown = await receive_until(page, lambda f: f["type"] == "message")
            assert (shown[-1]["text"], shown[-1]["seq"]) == ("My card is blocked", 2)
            assert shown[-1]["conversation_id"] == conversation_id

            await customer.send(json.dumps({"type": "typing", "state": True}))
            typing = await receive_until(inbox, lambda f: f["type"] == "typing")
            assert typing[-1] == {
                "type": "typing",
                "conversation_id": conversation_id,
                "author": "user",
                "account_id": None,
                "state": True,
            }
            await page.send(
                json.dumps({"type": "typing", "conversation_id": conversation_id, "state": True})
            )
            told = await receive_until(customer, lambda f: f["type"] == "typing")
            assert told[-1] == {"type": "typing", "author": "agent", "state": True}
            heard = await receive_until(
                colleague, lambda f: f["type"] == "typing" and f["author"] == "agent"
            )
            assert heard[-1]["account_id"] == ada.account_id

            await page.send(
                json.dumps({"type": "read", "conversation_id": conversation_id, "seq": 2})
            )
            receipt = await receive_until(customer, lambda f: f["type"] == "read")
            assert receipt[-1] == {"type": "read", "seq": 2, "by": "agent"}
            mine = await receive_until(inbox, lambda f: f["type"] == "read")
            assert mine[-1]["account_id"] == ada.account_id


async def test_a_desk_frame_about_another_organisations_conversation_is_no_such_conversation(
    stack: Stack,
) -> None:
    """T-98: typing, a read mark or a page shown on another organisation's conversation id is
    answered `not_found`, and nothing reaches that conversation."""
    org = await seed.organisation(stack.services)
    other = await seed.organisation(stack.services, name="Other Org")
    theirs = await seed.with_a_person(stack.services, other)
    ada = await desk_member(stack.services, org.tenant_id)
    async with (
        open_desk(stack.ws_url, org.tenant_id, ada.session_token, stack.url) as ws,
        open_socket(stack.ws_url, other.widget_id, other.origin) as customer,
    ):
        await authenticate(customer, await seed.token_for(stack.services, other))
        ready_and_more = await hello(ws, theirs)
        assert ready_and_more["type"] == "ready"
        assert (await receive(ws))["code"] == "not_found"
        for frame in (
            {"type": "typing", "conversation_id": theirs, "state": True},
            {"type": "read", "conversation_id": theirs, "seq": 1},
            {"type": "focus", "conversation_id": theirs},
        ):
            await ws.send(json.dumps(frame))
            assert (await receive(ws)) == {
                "type": "error",
                "code": "not_found",
                "message": "no such conversation",
            }
        # The customer heard nothing of it: their history, then their own message's receipt.
        await say(customer, "hello?")
        heard = await receive_until(customer, lambda f: f["type"] == "accepted")
        assert [f["type"] for f in heard] == ["handoff", "accepted"]


async def everything_until(ws: ClientConnection, end_user_id: str) -> list[Frame]:
    return await receive_until(
        ws, lambda f: f["type"] == "conversation" and f["end_user_id"] == end_user_id, timeout=10
    )


async def test_t98_two_organisations_members_each_hear_their_own_organisation_only(
    stack: Stack,
) -> None:
    """T-98 (the feed): two organisations, a member's socket in each; customers of both ask for
    a person, write and type; every frame each socket gets is about its own organisation's
    conversations."""
    orgs = [await seed.organisation(stack.services, name=name, faq=None) for name in ("Aa", "Bb")]
    members = [await desk_member(stack.services, org.tenant_id) for org in orgs]
    own: list[set[str]] = [set(), set()]
    async with (
        open_desk(stack.ws_url, orgs[0].tenant_id, members[0].session_token, stack.url) as a,
        open_desk(stack.ws_url, orgs[1].tenant_id, members[1].session_token, stack.url) as b,
    ):
        await hello(a)
        await hello(b)
        for n in range(3):
            for i, org in enumerate(orgs):
                async with open_socket(stack.ws_url, org.widget_id, org.origin) as customer:
                    token = await seed.token_for(stack.services, org, f"customer-{n}")
                    ready = await authenticate(customer, token)
                    own[i].add(ready["conversation_id"])
                    await customer.send(json.dumps({"type": "handoff"}))
                    await say(customer, f"help from {org.tenant.name}")
                    await customer.send(json.dumps({"type": "typing", "state": True}))
                    await receive_until(customer, lambda f: f["type"] == "accepted")
        # The last event of each organisation, then everything before it is checked.
        for i, org in enumerate(orgs):
            own[i].add(await asks_for_a_person(stack, org, "the-end"))
        for i, ws in enumerate((a, b)):
            frames = await everything_until(ws, "the-end")
            about = {f["conversation_id"] for f in frames if "conversation_id" in f}
            assert about <= own[i], (i, about - own[i])
            assert len(about) == 4
            assert not any("help from" in json.dumps(f) for f in frames)


@pytest.mark.postgres
@pytest.mark.redis
async def test_t98_desk_events_reach_members_on_another_node_over_redis_for_their_own_org_only(
    tmp_path: Path, postgres_url: str, redis_prefix: str
) -> None:
    """T-98 across nodes: two nodes on one PostgreSQL database and one Redis: a customer on node
    A asks for a
    person and writes; a member's desk socket on node B hears it, with the text on the page
    that shows the conversation (read there, from the database); a member of another
    organisation on node B hears none of it."""
    redis = RedisSettings(url=redis_url(), key_prefix=redis_prefix)
    key = new_master_key()
    async with (
        running_stack(tmp_path / "a", postgres_url, redis=redis, master_key=key) as node_a,
        running_stack(tmp_path / "b", postgres_url, redis=redis, master_key=key) as node_b,
    ):
        org = await seed.organisation(node_a.services, faq=None)
        other = await seed.organisation(node_a.services, name="Other Org", faq=None)
        ada = await desk_member(node_a.services, org.tenant_id)
        stranger = await desk_member(node_a.services, other.tenant_id)
        async with (
            open_desk(node_b.ws_url, org.tenant_id, ada.session_token, node_b.url) as desk,
            open_desk(node_b.ws_url, other.tenant_id, stranger.session_token, node_b.url) as far,
            open_socket(node_a.ws_url, org.widget_id, org.origin) as customer,
        ):
            await hello(desk)
            await hello(far)
            ready = await authenticate(customer, await seed.token_for(node_a.services, org))
            conversation_id = ready["conversation_id"]
            await customer.send(json.dumps({"type": "handoff"}))
            queued = await receive_until(desk, lambda f: f.get("status") == "queued", timeout=10)
            assert queued[-1]["conversation_id"] == conversation_id
            async with open_desk(
                node_b.ws_url, org.tenant_id, ada.session_token, node_b.url
            ) as page:
                await hello(page, conversation_id, after_seq=queued[-1]["last_seq"])
                await say(customer, "Across the nodes")
                noted = await receive_until(desk, lambda f: f["type"] == "stored", timeout=10)
                assert noted[-1]["seq"] == 2
                shown = await receive_until(page, lambda f: f["type"] == "message", timeout=10)
                assert shown[-1]["text"] == "Across the nodes"
            # The other organisation's member: only its own customer's arrival, at last.
            own = await asks_for_a_person(node_a, other, "their-own")
            frames = await receive_until(
                far, lambda f: f["type"] == "conversation" and f["status"] == "queued", timeout=10
            )
            assert {f.get("conversation_id") for f in frames} == {own}


async def test_a_members_desk_socket_makes_them_present_to_their_colleagues_until_it_closes(
    stack: Stack,
) -> None:
    """Presence comes from live desk sockets: a member's first socket makes them available (their
    own choice), told to colleagues on the desk; their last socket's closing, offline."""
    org = await seed.organisation(stack.services)
    ada = await desk_member(stack.services, org.tenant_id)
    bo = await desk_member(stack.services, org.tenant_id)
    async with open_desk(stack.ws_url, org.tenant_id, bo.session_token, stack.url) as watcher:
        await hello(watcher)
        async with open_desk(stack.ws_url, org.tenant_id, ada.session_token, stack.url) as ws:
            await hello(ws)
            came = await receive_until(
                watcher, lambda f: f["type"] == "presence" and f["account_id"] == ada.account_id
            )
            assert came[-1] == {
                "type": "presence",
                "account_id": ada.account_id,
                "state": "available",
            }
        went = await receive_until(
            watcher, lambda f: f["type"] == "presence" and f["account_id"] == ada.account_id
        )
        assert went[-1] == {"type": "presence", "account_id": ada.account_id, "state": "offline"}


async def test_a_desk_socket_that_floods_or_keeps_sending_bad_frames_is_closed(
    tmp_path: Path, sqlite_url: str
) -> None:
    """Frames count against the connection's rate (4429 past it); a bad frame is answered with
    an `error` frame, and too many close the socket (4400); a first frame that is not `hello`
    closes it too."""
    async with running_stack(
        tmp_path, sqlite_url, gateway={"frames_per_connection": "3/hour"}
    ) as stack:
        org = await seed.organisation(stack.services)
        ada = await desk_member(stack.services, org.tenant_id)
        conversation_id = await seed.with_a_person(stack.services, org)
        typing = json.dumps({"type": "typing", "conversation_id": conversation_id, "state": True})
        async with open_desk(stack.ws_url, org.tenant_id, ada.session_token, stack.url) as ws:
            await hello(ws)
            for _ in range(4):
                await ws.send(typing)
            assert await close_code(ws) == 4429
        async with open_desk(stack.ws_url, org.tenant_id, ada.session_token, stack.url) as ws:
            await ws.send(typing)
            assert await close_code(ws) == 4400
    async with running_stack(tmp_path / "again", sqlite_url) as stack:
        org = await seed.organisation(stack.services)
        ada = await desk_member(stack.services, org.tenant_id)
        async with open_desk(stack.ws_url, org.tenant_id, ada.session_token, stack.url) as ws:
            await hello(ws)
            for n in range(11):
                await ws.send(json.dumps({"type": "read", "conversation_id": "nope", "seq": n}))
            errors = await receive_until(ws, lambda f: f["type"] == "error")
            assert errors[-1]["code"] == "not_found"
            assert await close_code(ws) == 4400


async def test_t99_a_new_note_reaches_the_page_that_shows_its_conversation_with_its_text_only(
    stack: Stack,
) -> None:
    """A member writes a private note: the desk socket of a colleague's page showing that
    conversation gets the note with its text (read there, under the organisation); an Inbox
    socket hears of it by id only; the customer's socket hears nothing of it (T-99)."""
    org = await seed.organisation(stack.services, faq=None)
    ada = await desk_member(stack.services, org.tenant_id)
    bo = await desk_member(stack.services, org.tenant_id)
    async with (
        open_desk(stack.ws_url, org.tenant_id, bo.session_token, stack.url) as inbox,
        open_socket(stack.ws_url, org.widget_id, org.origin) as customer,
    ):
        await hello(inbox)
        ready = await authenticate(customer, await seed.token_for(stack.services, org))
        conversation_id = str(ready["conversation_id"])
        await customer.send(json.dumps({"type": "handoff"}))
        queued = await receive_until(inbox, lambda f: f.get("status") == "queued")
        async with open_desk(stack.ws_url, org.tenant_id, bo.session_token, stack.url) as page:
            await hello(page, conversation_id, after_seq=queued[-1]["last_seq"])
            author = Actor(ActorType.ACCOUNT, ada.account_id)
            note = await stack.on_the_server(
                lambda s: s.notes.add(
                    org.tenant_id, conversation_id, "Wants a refund NOTE5150", actor=author
                ),
            )
            shown = await receive_until(page, lambda f: f["type"] == "note")
            assert shown[-1] == {
                "type": "note",
                "conversation_id": conversation_id,
                "note_id": note.note_id,
                "author_id": ada.account_id,
                "text": "Wants a refund NOTE5150",
                "created_at": note.created_at.isoformat().replace("+00:00", "Z"),
            }
            heard = await receive_until(inbox, lambda f: f["type"] == "note")
            assert heard[-1] == {
                "type": "note",
                "conversation_id": conversation_id,
                "note_id": note.note_id,
            }
        await say(customer, "Hello?")
        after = await receive_until(customer, lambda f: f["type"] == "accepted")
        assert "NOTE5150" not in json.dumps(after)
        assert note.note_id not in json.dumps(after)
