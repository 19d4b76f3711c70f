"""What every HTTP request must keep before any route sees it.

Its body (T-62): at most `server.max_request_bytes`, unless the route declares its own limit
(knowledge uploads take `knowledge.max_upload_bytes`). A declared length over the limit is
answered 413 at once, without reading the body; an undeclared one (chunked) is counted as it
streams and answered 413 as soon as it passes the limit, and nothing after that is read. The 413
closes the connection, so the rest of the body is never waited for.

Its path and query (T-90): no control, bidirectional or invisible formatting character (the
identifier rule), since every name in them is one a client chose, or an id looked up in storage
that could never hold one (PostgreSQL cannot even be asked about a NUL).

A refusal is the route's usual error answer: the JSON shape, or an error page on the dashboard.
FastAPI's own `max_body_size` answers in plain text, from outside the middleware that gives every
answer its request id and security headers; this one sits inside it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parlour.errors import InvalidIdentifier, ParlourError, PayloadTooLarge
from parlour.identifiers import check_identifier
from parlour.settings import Settings

_LIMIT = "__parlour_body_limit__"
# What a multipart form adds around the file it carries: boundaries, headers, other fields.
FORM_OVERHEAD_BYTES = 64 * 1024

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
Answer = Callable[[Request, ParlourError], Awaitable[Response]]


def body_limit(limit: Callable[[Settings], int]) -> Callable[[Endpoint], Endpoint]:
    """Let a route take bodies of up to `limit(settings)` bytes instead of the server's cap."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _LIMIT, limit)
        return endpoint

    return mark


@dataclass(frozen=True, slots=True)
class RouteLimit:
    methods: frozenset[str]
    path: re.Pattern[str]
    limit: int


def route_limits(routes: Iterable[BaseRoute], settings: Settings) -> list[RouteLimit]:
    """The routes that declared their own body limit, with it worked out from the settings."""
    return [
        RouteLimit(frozenset(route.methods or ()), route.path_regex, limit(settings))
        for route in routes
        if isinstance(route, APIRoute) and (limit := getattr(route.endpoint, _LIMIT, None))
    ]


def check_path_and_query(scope: Scope) -> None:
    """InvalidIdentifier if the (decoded) path or a query value holds what the identifier
    rule refuses."""
    check_identifier(scope["path"], "a path")
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        check_identifier(name, "a query parameter's name")
        check_identifier(value, f"the query parameter {name}")


class _TooLarge(Exception):
    pass


class RequestLimits:
    def __init__(
        self, app: ASGIApp, *, limit: int, routes: Sequence[RouteLimit], answer: Answer
    ) -> None:
        self.app = app
        self.limit = limit
        self.routes = list(routes)
        self.answer = answer

    def limit_for(self, scope: Scope) -> int:
        for route in self.routes:
            if scope["method"] in route.methods and route.path.fullmatch(scope["path"]):
                return route.limit
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_path_and_query(scope)
        except InvalidIdentifier as refused:
            await self.refuse(scope, receive, send, refused)
            return
        limit = self.limit_for(scope)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self.refuse(scope, receive, send, _too_large(limit))
            return

        received = 0
        cut_off = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, cut_off
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if started:  # too late for a 413: the app is told the client has gone
                        return {"type": "http.disconnect"}
                    cut_off = True
                    raise _TooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if cut_off:
                return  # whatever the app answers to a body cut short, the answer is 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            # The app may turn the cut into an error of its own (FastAPI: "400, error parsing
            # the body"); once the body was cut off, that is not news.
            if not cut_off:
                raise
        if cut_off:
            await self.refuse(scope, receive, send, _too_large(limit))

    async def refuse(self, scope: Scope, receive: Receive, send: Send, error: ParlourError) -> None:
        response = await self.answer(Request(scope, receive), error)
        # Any unread rest of the body must not be taken for the next request.
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"A request body here may be at most {limit} bytes.", details={"limit_bytes": limit}
    )
