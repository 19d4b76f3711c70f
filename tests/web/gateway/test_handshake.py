"""Who may open a chat socket, checked against a real uvicorn server on 127.0.0.1 (an in-process
client would hide how a real server answers a refusal before the upgrade)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from parlour.keys.tokens import END_USER_TOKEN_TYPE
from parlour.storage.types import utcnow
from tests.conftest import Stack, running_stack
from tests.support import seed
from tests.support.chat import authenticate, close_code, open_socket, receive
from tests.support.clock import ManualClock

ALLOWED = "https://shop.example.com"


async def refused_status(stack: Stack, widget_id: str, origin: str | None) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(stack.ws_url, widget_id, origin):
            pass
    return refused.value.response.status_code


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.com",
        "https://shop.example.com.evil.com",
        "https://evilshop.example.com",
        "null",
        "http://shop.example.com",
        "https://SHOP.EXAMPLE.COM",
        "https://shop.example.com/",
        "https://shop.example.com:8443",
        None,
    ],
)
async def test_origin_not_on_the_allowlist_is_refused_before_upgrade(
    stack: Stack, origin: str | None
) -> None:
    """T-18: every variant of a foreign or look-alike origin gets HTTP 403, never a 101."""
    org = await seed.organisation(stack.services, origin=ALLOWED)
    assert await refused_status(stack, org.widget_id, origin) == 403


async def test_refusal_before_upgrade_answers_in_the_json_error_shape(stack: Stack) -> None:
    """T-18: the refusal body is the one error shape, naming a stable code."""
    org = await seed.organisation(stack.services)
    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(stack.ws_url, org.widget_id, "https://evil.com"):
            pass
    body = json.loads(refused.value.response.body)
    assert body["error"]["code"] == "origin_not_allowed"


async def test_unknown_widget_is_refused_like_a_foreign_origin(stack: Stack) -> None:
    """T-29: an unknown widget id is indistinguishable from a forbidden origin (no oracle)."""
    assert await refused_status(stack, "wgt_does-not-exist", ALLOWED) == 403


@pytest.mark.parametrize("widget_id", ["wgt_a%2Fb", "a/b", "wgt_x%00y", "%2F"])
async def test_a_widget_id_with_a_slash_or_a_control_is_refused_like_an_unknown_one(
    stack: Stack, widget_id: str
) -> None:
    """Whatever follows /v1/chat/ is the widget id, an encoded slash included: no widget has
    it, so the answer is an unknown widget's, in the JSON shape (not a bare 403)."""
    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(stack.ws_url, widget_id, ALLOWED):
            pass
    assert refused.value.response.status_code == 403
    body = json.loads(refused.value.response.body)
    assert body["error"]["code"] == "origin_not_allowed"


async def test_a_socket_to_any_other_path_gets_the_json_404(stack: Stack) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{stack.ws_url}/v1/nothing-here", origin=ALLOWED):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 404
    assert json.loads(refused.value.response.body)["error"]["code"] == "not_found"


async def test_allowed_origin_with_a_valid_token_is_bound_to_its_user(stack: Stack) -> None:
    org = await seed.organisation(stack.services)
    token = await seed.token_for(stack.services, org, "customer-42")
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        ready = await authenticate(ws, token)
    conversation = await stack.services.chat.get_conversation(
        org.tenant_id, ready["conversation_id"]
    )
    assert conversation.end_user_id == "customer-42"


async def test_permessage_deflate_is_not_negotiated(stack: Stack) -> None:
    """T-26: the server never agrees to compression, even when the client offers it."""
    org = await seed.organisation(stack.services)

    async with connect(
        f"{stack.ws_url}/v1/chat/{org.widget_id}", origin=org.origin, compression="deflate"
    ) as ws:
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None


async def test_token_of_tenant_a_on_tenant_b_widget_is_refused(stack: Stack) -> None:
    """T-20, T-05: a valid token for tenant A opens nothing on tenant B's widget, even from an
    origin B allows; the socket closes 4401 before any frame of B's is sent."""
    shared_origin = "https://shared.example.com"
    a = await seed.organisation(stack.services, name="A", origin=shared_origin)
    b = await seed.organisation(stack.services, name="B", origin=shared_origin)
    token_a = await seed.token_for(stack.services, a)
    async with open_socket(stack.ws_url, b.widget_id, shared_origin) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token_a}))
        assert await close_code(ws) == 4401


async def test_token_bound_to_another_origin_is_forbidden(stack: Stack) -> None:
    """T-18: a token minted for one allowlisted origin cannot be replayed from another."""
    org = await seed.organisation(stack.services, origin="https://one.example.com")
    await stack.services.tenants.allow_origin(
        org.tenant_id, "https://two.example.com", actor=seed.ACTOR
    )
    token = await seed.token_for(stack.services, org)
    async with open_socket(stack.ws_url, org.widget_id, "https://two.example.com") as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        assert await close_code(ws) == 4403


def _alg_none(token: str) -> str:
    header = {
        "alg": "none",
        "typ": END_USER_TOKEN_TYPE,
        "kid": jwt.get_unverified_header(token)["kid"],
    }
    body = token.split(".")[1]
    return f"{jwt.utils.base64url_encode(json.dumps(header).encode()).decode()}.{body}."


async def _expired(stack: Stack, org: seed.Organisation) -> str:
    past = utcnow() - timedelta(minutes=30)
    return await seed.signed_token(stack.services, org, issuer=stack.url, now=past)


async def _forged(stack: Stack, org: seed.Organisation) -> str:
    # The right kid, the wrong key.
    return await seed.signed_token(
        stack.services, org, issuer=stack.url, private_key=Ed25519PrivateKey.generate()
    )


@pytest.mark.parametrize("kind", ["expired", "forged", "alg_none", "garbage", "empty_signature"])
async def test_bad_tokens_close_the_socket_with_4401(stack: Stack, kind: str) -> None:
    """T-21, T-06, T-09: expired, forged, `alg: none` and malformed tokens never authenticate."""
    org = await seed.organisation(stack.services)
    good = await seed.token_for(stack.services, org)
    tokens = {
        "expired": await _expired(stack, org),
        "forged": await _forged(stack, org),
        "alg_none": _alg_none(good),
        "garbage": "not-a-jwt",
        "empty_signature": good.rsplit(".", 1)[0] + ".",
    }
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await ws.send(json.dumps({"type": "auth", "token": tokens[kind]}))
        assert await close_code(ws) == 4401


async def test_first_frame_other_than_auth_closes_with_4401(stack: Stack) -> None:
    """T-21: no application frame is processed before authentication."""
    org = await seed.organisation(stack.services)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await ws.send(json.dumps({"type": "message", "client_id": "x", "text": "hello"}))
        assert await close_code(ws) == 4401
    conversation = await stack.services.chat.open_conversation(org.tenant_id, "customer-1")
    assert conversation.last_seq == 0


LONG_NAME = "field" * 100


@pytest.mark.parametrize(
    ("first_frame", "reason"),
    [
        (
            {"type": "auth", "token": "x" * 9000},
            "the first frame must be a valid auth: auth.token: String should have at most 8192 "
            "characters",
        ),
        (
            {"type": "auth", "token": "x", "tenant_id": "other"},
            "the first frame must be a valid auth: auth.tenant_id: Extra inputs are not permitted",
        ),
        (
            {"type": "auth", "token": "x", LONG_NAME: 1},
            f"the first frame must be a valid auth: auth.{LONG_NAME}"[:120] + "...",
        ),
        (
            {"type": "auth", "token": "x", "\u202e\x1b[2J": 1},
            "the first frame must be a valid auth: auth.??[2J: Extra inputs are not permitted",
        ),
        ({"type": "typing", "state": True}, "the first frame must be auth, not typing"),
        ("{not json", "the first frame must be a valid auth: frame: Invalid JSON: key must be a"),
    ],
)
async def test_t21_a_bad_first_frame_closes_with_4401_and_a_reason_saying_what_was_wrong(
    stack: Stack, first_frame: dict[str, object] | str, reason: str
) -> None:
    """T-21, T-17: nothing is authenticated, and the close reason names the problem (in
    printable ASCII, within a close frame's 123 bytes, however long or strange the field a
    client sent)."""
    org = await seed.organisation(stack.services)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await ws.send(first_frame if isinstance(first_frame, str) else json.dumps(first_frame))
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
    assert closed.value.rcvd.reason.startswith(reason)


async def test_t06_a_token_inside_its_expiry_leeway_is_refused_not_opened_already_expired(
    stack: Stack,
) -> None:
    """T-06: the leeway forgives clocks a little apart, but a token already past its `exp`
    opens no session that would end at once: 4401, saying it expired, and no `ready`."""
    org = await seed.organisation(stack.services)
    lapsed = await seed.signed_token(
        stack.services,
        org,
        issuer=stack.url,
        now=utcnow() - timedelta(minutes=5, seconds=10),  # expired 10 s ago; leeway 30 s
        ttl=timedelta(minutes=5),
    )
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await ws.send(json.dumps({"type": "auth", "token": lapsed}))
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
        4401,
        "The token has expired; get a fresh one.",
    )


async def test_no_first_frame_in_time_closes_with_4408(tmp_path: Path, sqlite_url: str) -> None:
    """T-21, T-25: a socket that never authenticates is dropped at the auth deadline (5 s after
    the upgrade, on the server's clock, which this test moves)."""
    clock = ManualClock()
    async with running_stack(tmp_path, sqlite_url, auth_timeout=5, clock=clock) as stack:
        org = await seed.organisation(stack.services)
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            clock.advance(timedelta(seconds=5))
            with pytest.raises(ConnectionClosed) as closed:
                await receive(ws)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4408, "authentication timed out")


async def test_frame_over_the_size_limit_closes_with_1009(stack: Stack) -> None:
    """T-24: a frame over 64 KiB is refused by the server with 1009."""
    org = await seed.organisation(stack.services)
    token = await seed.token_for(stack.services, org)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, token)
        await ws.send(json.dumps({"type": "typing", "state": True, "pad": "x" * 70_000}))
        assert await close_code(ws) == 1009


async def test_malformed_frames_after_auth_get_an_error_frame_not_a_close(stack: Stack) -> None:
    """T-24: bad JSON and schema-invalid frames answer a typed error; the socket stays usable."""
    org = await seed.organisation(stack.services)
    token = await seed.token_for(stack.services, org)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, token)
        for bad in [
            "{not json",
            json.dumps({"type": "message"}),
            json.dumps({"type": "nope"}),
            "[]",
        ]:
            await ws.send(bad)
            frame = await receive(ws)
            assert frame["type"] == "error"
            assert frame["code"] == "bad_frame"
            assert "Traceback" not in frame["message"]
        await ws.send(json.dumps({"type": "typing", "state": True}))
        await ws.ping()


async def test_binary_frames_close_with_4400(stack: Stack) -> None:
    org = await seed.organisation(stack.services)
    token = await seed.token_for(stack.services, org)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, token)
        await ws.send(b"\x00\x01")
        assert await close_code(ws) == 4400


async def test_a_cookie_never_authenticates_a_socket(stack: Stack) -> None:
    """T-19: even with the site's cookies attached, a socket without an auth frame can do
    nothing; cookies are not read at all."""
    org = await seed.organisation(stack.services)

    async with connect(
        f"{stack.ws_url}/v1/chat/{org.widget_id}",
        origin=org.origin,  # type: ignore[arg-type]
        additional_headers={"Cookie": "session=admin-session; demo_customer=customer-1"},
    ) as ws:
        await ws.send(json.dumps({"type": "message", "client_id": str(uuid.uuid4()), "text": "hi"}))
        assert await close_code(ws) == 4401
