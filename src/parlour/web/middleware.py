"""Per-request context, the security headers every HTTP response carries, and the last word on
unexpected exceptions."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parlour import logs
from parlour.errors import ParlourError
from parlour.tracing import span, tracer_of
from parlour.web.errors import error_body
from parlour.web.proxy import Network, client_info

log = logging.getLogger(__name__)

# The API answers JSON and one script; nothing it serves needs to load or frame anything.
UPLOADS = "/v1/uploads"
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


class RequestContextMiddleware:
    """Gives each request an id (ours, never the client's: ids end up in logs) and binds it for
    the records logged meanwhile, works out the real client address behind trusted proxies, sets
    the security headers, and traces each HTTP request (a chat socket's frames are traced one by
    one, by the gateway: a socket lives for hours)."""

    def __init__(
        self, app: ASGIApp, *, trusted_proxies: Sequence[Network], tracer: Tracer | None = None
    ) -> None:
        self.app = app
        self.trusted_proxies = list(trusted_proxies)
        self.tracer = tracer or tracer_of(None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client"] = client_info(scope, self.trusted_proxies)
        with logs.request_scope(request_id):
            if scope["type"] == "websocket":
                await self._serve(scope, receive, send, request_id, trace.INVALID_SPAN)
                return
            method = scope["method"]
            attributes: dict[str, AttributeValue] = {"http.request.method": method}
            with span(self.tracer, method, kind=SpanKind.SERVER, attributes=attributes) as current:
                await self._serve(scope, receive, send, request_id, current)
                if (route := getattr(scope.get("route"), "path", None)) is not None:
                    current.update_name(f"{method} {route}")

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, traced: Span
    ) -> None:
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.http.response.start"):
                started = True
                traced.set_attribute("http.response.status_code", message["status"])
                if message["status"] >= 500:
                    traced.set_status(StatusCode.ERROR)
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = request_id
                headers.setdefault("Content-Security-Policy", API_CSP)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
                headers.setdefault("Cache-Control", "no-store")
                if scope.get("path") == UPLOADS:
                    # A customer's upload is posted from the organisation's pages, authorised by
                    # its ticket alone (never a cookie): every answer, refusals included (413 at
                    # the cap, 415, 401), is readable there (T-102, T-54).
                    headers["Access-Control-Allow-Origin"] = "*"
                # Browsers ignore HSTS over plain http, so it is sent always, not per profile.
                headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Outermost on purpose: the generic 500 still carries the request id and headers.
            log.exception("unexpected error", extra={"request_id": request_id})
            if scope["type"] != "http" or started:
                raise
            body = error_body("internal_error", ParlourError.default_message, request_id)
            await JSONResponse(body, status_code=500)(scope, receive, send_with_headers)
