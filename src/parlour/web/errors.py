"""The one place errors meet transports: the JSON error shape for HTTP, close codes for sockets.

Every HTTP error answers `{"error": {"code", "message", "request_id"[, "details"]}}`; unexpected
exceptions end in web/middleware.py: logged with their request id, answered with a generic 500.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.exceptions import WebSocketException

from parlour import errors, metrics
from parlour.chat.admission import AuthenticationTimedOut
from parlour.web.deps import route_policies

log = logging.getLogger(__name__)

_HTTP_STATUS: list[tuple[type[errors.ParlourError], int]] = [
    (errors.UnsupportedMediaType, 415),
    (errors.InvalidInput, 422),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.PayloadTooLarge, 413),
    (errors.RateLimited, 429),
    (errors.Unavailable, 503),
]
# Every close code a chat socket is closed with comes from here, by the error's class; the first
# row whose class the error is an instance of decides. 1009 (a frame over the size limit) is sent
# by the server itself, before the application reads the frame.
_WS_CLOSE: list[tuple[type[errors.ParlourError], int]] = [
    (errors.InvalidInput, 4400),
    (AuthenticationTimedOut, 4408),
    (errors.Unauthenticated, 4401),
    (errors.Forbidden, 4403),
    (errors.RateLimited, 4429),
    (errors.PayloadTooLarge, 1009),
    # "Try again later": the client reconnects after a while and resumes.
    (errors.Unavailable, 1013),
    (errors.ParlourError, 1011),
]
# A refused upgrade on a server without the denial-response extension: it answers HTTP 403.
REFUSED_WITHOUT_ANSWER = 1008
# What HTTP routing's own errors (no Parlour error behind them) are answered with.
HTTP_ERROR = "http_error"
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def http_status(error: errors.ParlourError | type[errors.ParlourError]) -> int:
    kind = error if isinstance(error, type) else type(error)
    return next((status for cls, status in _HTTP_STATUS if issubclass(kind, cls)), 500)


def ws_close_code(error: errors.ParlourError | type[errors.ParlourError]) -> int:
    kind = error if isinstance(error, type) else type(error)
    return next(code for cls, code in _WS_CLOSE if issubclass(kind, cls))


def ws_close(error: errors.ParlourError) -> WebSocketException:
    """The close an error ends a socket with: the code of its class, its message as the reason."""
    return WebSocketException(ws_close_code(error), close_reason(error.message))


def close_reason(text: str) -> str:
    """A close frame's reason: printable ASCII (it may quote what a client sent), cut to the
    123 bytes a close frame holds."""
    printable = "".join(c if " " <= c <= "~" else "?" for c in text)
    return printable if len(printable) <= 123 else printable[:120] + "..."


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    code: str
    meaning: str
    http_status: int | None  # None: whatever status routing gave
    close_code: int | None  # None: never sent on a socket
    defined_in: str


def catalogue() -> list[CatalogueEntry]:
    """Every error code Parlour answers with, by code: each error class loaded (the caller
    imports the modules that define them) and the codes HTTP routing gives before any Parlour
    code runs. docs/errors.md is this, rendered by scripts/error-catalogue."""
    entries = [
        CatalogueEntry(
            kind.code,
            kind.default_message,
            http_status(kind),
            ws_close_code(kind),
            f"{kind.__module__}.{kind.__qualname__}",
        )
        for kind in _error_classes(errors.ParlourError)
    ]
    taken = {entry.code for entry in entries}
    routing = "HTTP routing"
    entries += [
        CatalogueEntry(code, "The request could not be routed or read.", status, None, routing)
        for status, code in _STATUS_CODES.items()
        if code not in taken
    ]
    entries.append(CatalogueEntry(HTTP_ERROR, "Any other HTTP failure.", None, None, routing))
    return sorted(entries, key=lambda entry: entry.code)


def _error_classes(root: type[errors.ParlourError]) -> list[type[errors.ParlourError]]:
    found = [root]
    for kind in root.__subclasses__():
        found += _error_classes(kind)
    return found


def error_body(
    code: str, message: str, request_id: str | None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details:
        body["details"] = details
    return {"error": body}


def error_response(
    status: int,
    code: str,
    message: str,
    request: Request,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    metrics.refused("http", code)
    request_id = getattr(request.state, "request_id", None)
    return JSONResponse(
        error_body(code, message, request_id, details), status_code=status, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_parlour_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.ParlourError)
        status = http_status(exc)
        if status == 500:
            log.error("unmapped error %s", exc.code)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return error_response(status, exc.code, exc.message, request, exc.details, headers)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        return error_response(
            422, "invalid_input", "The request is not valid.", request, {"fields": problems}
        )

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _STATUS_CODES.get(exc.status_code, HTTP_ERROR)
        message = exc.detail if isinstance(exc.detail, str) else "The request failed."
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, code, message, request, headers=headers)

    app.add_exception_handler(errors.ParlourError, on_parlour_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)


# What every error looks like, for the OpenAPI document (FastAPI would describe its own 422).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "description": "Stable; branch on this."},
                "message": {"type": "string", "description": "For people; may change."},
                "request_id": {"type": ["string", "null"]},
                "details": {"type": "object"},
            },
        }
    },
}


SECURITY_SCHEMES: dict[str, Any] = {
    "apiKey": {"type": "http", "scheme": "bearer", "description": "An organisation's API key."},
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "__Host-parlour_session",
        "description": "A dashboard session; changes also need its token in X-CSRF-Token.",
    },
}


def _security(policies: set[str]) -> list[dict[str, list[str]]]:
    if any(p.startswith("api_key:") for p in policies):
        return [{"apiKey": []}]
    if policies and policies != {"public"}:
        return [{"session": []}]
    return []


def document_api(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Describe, in the OpenAPI document, the one error shape (for 422 and every other 4xx) and
    which credential each operation takes, read from the policy it declares."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Error"] = ERROR_SCHEMA
        error = {
            "description": "The request was refused; see `error.code`.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        schema["components"]["securitySchemes"] = SECURITY_SCHEMES
        policies = {
            (method.lower(), route.path): route_policies(route.dependant)
            for router in routers
            for route in router.routes
            if isinstance(route, APIRoute)
            for method in route.methods or ()
        }
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                responses["4XX"] = error
                operation["security"] = _security(policies.get((method, path), set()))
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
