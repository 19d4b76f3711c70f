"""HTTP hardening, checked on every route of the app's route table rather than on a sample."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest
from starlette.routing import Route
from websockets.exceptions import InvalidStatus

from parlour.app import ROUTERS
from parlour.observability import event_fields
from parlour.settings import Environment
from parlour.web.proxy import client_info, parse_networks
from tests.conftest import Stack, running_stack
from tests.support import seed
from tests.support.chat import open_socket

REQUIRED_HEADERS = {
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def http_routes(stack: Stack) -> list[tuple[str, str]]:
    """(method, concrete path) for every HTTP route the app serves, its own and the framework's."""
    routes = [r for r in stack.app.routes if isinstance(r, Route)]
    routes += [r for router in ROUTERS for r in router.routes if isinstance(r, Route)]
    found = {
        (method, re.sub(r"\{[^}]+\}", "x", route.path))
        for route in routes
        for method in (route.methods or {"GET"}) - {"HEAD"}
    }
    assert len(found) >= 6, found  # the inventory itself is not empty
    return sorted(found)


def assert_security_headers(headers: httpx.Headers | dict[str, str], where: str) -> None:
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, value in REQUIRED_HEADERS.items():
        assert lowered.get(name) == value, f"{where}: {name}"
    csp = lowered.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, where
    assert "default-src 'none'" in csp, where
    assert "'unsafe-inline'" not in csp, where


async def test_every_http_route_sends_the_security_headers(stack: Stack) -> None:
    """T-53: HSTS, nosniff, a strict CSP with frame-ancestors, Referrer-Policy, on every route,
    whatever its answer (success, 401, 404, 405, 422)."""
    async with httpx.AsyncClient(base_url=stack.url) as client:
        for method, path in [*http_routes(stack), ("GET", "/no-such-route")]:
            answer = await client.request(method, path, json={} if method == "POST" else None)
            assert_security_headers(answer.headers, f"{method} {path} -> {answer.status_code}")
            assert answer.status_code < 500, f"{method} {path}"
            content_type = answer.headers.get("content-type", "")
            if content_type.startswith("text/"):  # JSON is UTF-8 by definition; text must say
                assert "charset=utf-8" in content_type, f"{method} {path}"


async def test_the_websocket_refusal_sends_the_security_headers_too(stack: Stack) -> None:
    """T-53: including the HTTP 403 that refuses a chat socket before the upgrade."""
    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(stack.ws_url, "wgt_unknown", "https://evil.example"):
            pass
    assert_security_headers(dict(refused.value.response.headers.raw_items()), "websocket 403")


async def test_no_route_reflects_a_foreign_origin_for_cors(stack: Stack) -> None:
    """T-54: no route reflects an arbitrary origin, preflight or not, and none allows
    credentials. The exceptions say `*` without credentials: the public widget script, so that
    pages can load it with a Subresource Integrity hash (which needs CORS); the widget's config
    (its 404 too, so the widget can read it) and logo, which the widget reads from
    organisations' pages; and the preflight of a customer's upload and its answers (T-102),
    whose only credential is the single-use ticket in its Authorization header, never a
    cookie."""
    evil = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    public = {
        ("GET", "/widget/v1/parlour-widget.js"),
        # Read by the widget on organisations' pages (the logo's unknown path is a plain 404).
        ("GET", "/widget/v1/config/x"),
        ("OPTIONS", "/v1/uploads"),
        ("POST", "/v1/uploads"),
    }
    async with httpx.AsyncClient(base_url=stack.url) as client:
        for method, path in http_routes(stack):
            for verb in (method, "OPTIONS"):
                answer = await client.request(verb, path, headers=evil)
                allowed = answer.headers.get("access-control-allow-origin")
                assert allowed == ("*" if (verb, path) in public else None), f"{verb} {path}"
                assert "access-control-allow-credentials" not in answer.headers


def scope_from(peer: str, headers: dict[str, str], scheme: str = "http") -> dict[str, object]:
    return {
        "type": "http",
        "client": (peer, 50000),
        "scheme": scheme,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }


def test_forwarding_headers_from_an_untrusted_peer_are_ignored() -> None:
    """T-56: a client cannot claim another address or https by sending the headers itself."""
    info = client_info(
        scope_from("198.51.100.4", {"X-Forwarded-For": "10.0.0.1", "X-Forwarded-Proto": "https"}),
        parse_networks(["127.0.0.1/32"]),
    )
    assert info.ip == "198.51.100.4"
    assert not info.secure


def test_forwarding_headers_from_a_trusted_proxy_name_the_first_untrusted_hop() -> None:
    """T-56: the client's own X-Forwarded-For entries, left of the proxies, are not believed."""
    trusted = parse_networks(["127.0.0.1/32", "10.0.0.0/8"])
    info = client_info(
        scope_from(
            "127.0.0.1",
            {"X-Forwarded-For": "6.6.6.6, 203.0.113.7, 10.1.2.3", "X-Forwarded-Proto": "https"},
        ),
        trusted,
    )
    assert info.ip == "203.0.113.7"
    assert info.secure


async def test_security_events_log_the_trusted_client_address(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """T-56, T-88: a refused API key is logged with the address the trusted proxy saw."""
    async with running_stack(tmp_path, sqlite_url, trusted_proxies=("127.0.0.1/32",)) as stack:
        with caplog.at_level(logging.WARNING, logger="parlour.security"):
            async with httpx.AsyncClient(base_url=stack.url) as client:
                await client.post(
                    "/v1/end-user-tokens",
                    json={},
                    headers={"X-Forwarded-For": "203.0.113.7", "Authorization": "Bearer nope"},
                )
    events = [event_fields(r) for r in caplog.records if r.name == "parlour.security"]
    assert events[-1]["event"] == "api_key.refused"
    assert events[-1]["ip"] == "203.0.113.7"
    assert events[-1]["request_id"]


async def test_production_refuses_chat_sockets_that_did_not_arrive_over_tls(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-28: behind the TLS proxy, an upgrade whose trusted X-Forwarded-Proto is not https is
    refused; the same upgrade forwarded as https is admitted."""
    async with running_stack(
        tmp_path, sqlite_url, environment=Environment.PRODUCTION, trusted_proxies=("127.0.0.1/32",)
    ) as stack:
        org = await seed.organisation(stack.services)
        with pytest.raises(InvalidStatus) as refused:
            async with open_socket(stack.ws_url, org.widget_id, org.origin):
                pass
        assert refused.value.response.status_code == 403
        from websockets.asyncio.client import connect

        async with connect(
            f"{stack.ws_url}/v1/chat/{org.widget_id}",
            origin=org.origin,  # type: ignore[arg-type]
            additional_headers={"X-Forwarded-Proto": "https"},
        ) as ws:
            assert ws.response.status_code == 101


async def test_production_serves_no_api_docs(tmp_path: Path, sqlite_url: str) -> None:
    """T-57."""
    async with (
        running_stack(tmp_path, sqlite_url, environment=Environment.PRODUCTION) as stack,
        httpx.AsyncClient(base_url=stack.url) as client,
    ):
        for path in ("/docs", "/openapi.json", "/redoc"):
            assert (await client.get(path)).status_code == 404
