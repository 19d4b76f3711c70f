"""Request dependencies: the services, and the API key a server-to-server call presents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from parlour.errors import Forbidden, Unauthenticated
from parlour.keys.api_keys import parse_key_id
from parlour.keys.models import ApiKey, Scope
from parlour.observability import security_event
from parlour.services import Services
from parlour.web.proxy import ClientInfo


def request_context(connection: HTTPConnection) -> dict[str, str | None]:
    """The trusted client address and our request id, for logs and audit events."""
    state = connection.scope.get("state", {})
    client: ClientInfo | None = state.get("client")
    return {"ip": client.ip if client else None, "request_id": state.get("request_id")}


def services_of(connection: HTTPConnection) -> Services:
    services: Services = connection.app.state.services
    return services


def get_services(request: Request) -> Services:
    return services_of(request)


ServicesDep = Annotated[Services, Depends(get_services)]


def bearer_secret(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def api_key(scope: Scope) -> Callable[[Request], Awaitable[ApiKey]]:
    """A dependency that admits requests carrying a valid API key with `scope`."""

    async def authenticate(request: Request) -> ApiKey:
        secret = bearer_secret(request)
        try:
            return await services_of(request).keys.authenticate(secret, scope=scope)
        except (Unauthenticated, Forbidden) as refused:
            security_event(
                "api_key.refused",
                reason=refused.code,
                key_id=parse_key_id(secret) if secret else None,
                **request_context(request),
            )
            raise

    return authenticate
