"""Request dependencies: the services, and the API key a server-to-server call presents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from starlette.requests import HTTPConnection

from parlour import logs
from parlour.errors import Forbidden, Unauthenticated
from parlour.keys.api_keys import parse_key_id
from parlour.keys.models import ApiKey, Scope
from parlour.observability import security_event
from parlour.services import Services
from parlour.web.proxy import ClientInfo

POLICY = "__parlour_policy__"
Dependency = TypeVar("Dependency", bound=Callable[..., Any])


def declares(policy: str) -> Callable[[Dependency], Dependency]:
    """Mark a dependency as the access policy of the routes that use it. Every route must use
    exactly one (tests/web/test_route_policies.py); which one is in the OpenAPI document too."""

    def mark(dependency: Dependency) -> Dependency:
        setattr(dependency, POLICY, policy)
        return dependency

    return mark


def route_policies(dependant: Dependant) -> set[str]:
    """The outermost policies a route depends on (a member policy builds on signed_in)."""
    found: set[str] = set()
    for dependency in dependant.dependencies:
        declared = getattr(dependency.call, POLICY, None)
        found |= {declared} if declared is not None else route_policies(dependency)
    return found


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

    @declares(f"api_key:{scope.value}")
    async def authenticate(request: Request) -> ApiKey:
        secret = bearer_secret(request)
        try:
            key = await services_of(request).api_keys.authenticate(secret, scope=scope)
        except (Unauthenticated, Forbidden) as refused:
            security_event(
                "api_key.refused",
                reason=refused.code,
                key_id=parse_key_id(secret) if secret else None,
                **request_context(request),
            )
            raise
        logs.bind(tenant_id=key.tenant_id)
        return key

    return authenticate
