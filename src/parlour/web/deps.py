"""Request dependencies: the services, and the API key a server-to-server call presents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from parlour.keys.models import ApiKey, Scope
from parlour.services import Services


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
        return await services_of(request).keys.authenticate(bearer_secret(request), scope=scope)

    return authenticate
