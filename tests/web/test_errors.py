"""Every HTTP error answers in one JSON shape with a stable code, never a traceback."""

from __future__ import annotations

import httpx
import pytest

from parlour.chat.admission import (
    AuthenticationTimedOut,
    BindingWithdrawn,
    IdentityChanged,
    IdentityRevoked,
    OriginMismatch,
    TooManyBadFrames,
    TooManyFrames,
    VisitorsNotAllowed,
)
from parlour.chat.limits import TooManyConnections
from parlour.chat.protocol import BadAuthFrame, BadFrame
from parlour.errors import (
    AppNotAllowed,
    InvalidToken,
    ParlourError,
    PayloadTooLarge,
    TokenExpired,
    Unavailable,
)
from parlour.web.errors import ws_close
from tests.conftest import Stack


def assert_error_shape(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["request_id"] == answer.headers["x-request-id"]
    assert "Traceback" not in answer.text


async def test_unknown_route_is_a_404_in_the_error_shape(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        assert_error_shape(await client.get("/v1/nothing-here"), 404, "not_found")


async def test_wrong_method_is_a_405_in_the_error_shape(stack: Stack) -> None:
    """T-57: methods a route does not serve are refused."""
    async with httpx.AsyncClient(base_url=stack.url) as client:
        answer = await client.request("TRACE", "/v1/end-user-tokens")
        assert_error_shape(answer, 405, "method_not_allowed")


async def test_missing_credentials_are_a_401_in_the_error_shape(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        answer = await client.post("/v1/end-user-tokens", json={})
        assert_error_shape(answer, 401, "unauthenticated")


async def test_unparseable_json_is_a_422_in_the_error_shape(stack: Stack) -> None:
    from tests.support import seed

    org = await seed.organisation(stack.services)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        answer = await client.post(
            "/v1/end-user-tokens",
            content=b'{"user_id": ',
            headers={"Authorization": f"Bearer {org.api_key}", "Content-Type": "application/json"},
        )
    assert_error_shape(answer, 422, "invalid_input")


async def test_an_unexpected_exception_is_a_generic_500_without_details(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """T-58: the body says nothing of the failure; the log has it under the request id."""

    async def explode() -> None:
        raise RuntimeError("database password is hunter2")

    stack.app.add_api_route("/v1/explode", explode)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        answer = await client.get("/v1/explode")
    assert_error_shape(answer, 500, "internal_error")
    assert "hunter2" not in answer.text
    assert "RuntimeError" not in answer.text


async def test_every_response_carries_the_security_headers(stack: Stack) -> None:
    """T-53 (first cut; issue 3 checks every route)."""
    async with httpx.AsyncClient(base_url=stack.url) as client:
        for path in ["/healthz", "/.well-known/jwks.json", "/nope", "/widget/v1/parlour-widget.js"]:
            answer = await client.get(path)
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["referrer-policy"] == "no-referrer"
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (BadFrame("frames must be JSON text"), 4400),
        (TooManyBadFrames(), 4400),
        (BadAuthFrame(), 4401),
        (InvalidToken("invalid token"), 4401),
        (TokenExpired(), 4401),
        (IdentityChanged(), 4401),
        (IdentityRevoked(), 4401),
        (OriginMismatch(), 4403),
        (AppNotAllowed(), 4403),
        (VisitorsNotAllowed(), 4403),
        (BindingWithdrawn(), 4403),
        (AuthenticationTimedOut(), 4408),
        (TooManyFrames(), 4429),
        (TooManyConnections(), 4429),
        (PayloadTooLarge(), 1009),
        (Unavailable("fell behind; reconnect and resume"), 1013),
        (ParlourError("server error; reconnect and resume"), 1011),
    ],
)
def test_every_close_a_chat_socket_gets_comes_from_its_errors_class(
    error: ParlourError, code: int
) -> None:
    close = ws_close(error)
    assert (close.code, close.reason) == (code, error.message)


def test_a_close_reason_is_printable_ascii_within_a_close_frames_123_bytes() -> None:
    """T-17: a reason may quote what a client sent."""
    close = ws_close(BadFrame("auth.\u202e\x1b[2J" + "x" * 200))
    assert close.reason.startswith("auth.??[2J")
    assert close.reason.isascii()
    assert close.reason.isprintable()
    assert len(close.reason.encode()) == 123
