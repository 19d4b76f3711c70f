"""Who may call a route, declared by the one dependency each route uses (T-44): `public`, an API
key with a scope (`deps.api_key`), a signed-in person (`signed_in`, `signing_in`), a member of
the organisation in the path whose role grants a permission (`member`), with or without a recent
step-up (T-42), or platform staff (`platform`).

The session reference travels only in a `__Host-` cookie; every change made with it must carry
the session's CSRF token in `X-CSRF-Token` (T-55), which a cross-site form cannot set.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request, Response

from parlour import logs
from parlour.audit.events import Actor, ActorType
from parlour.errors import Forbidden, UnsupportedMediaType
from parlour.identity.models import Membership, Session
from parlour.identity.policy import Permission, PlatformPermission
from parlour.web.deps import declares, request_context, services_of

COOKIE = "__Host-parlour_session"
CSRF_HEADER = "x-csrf-token"


class CsrfRefused(Forbidden):
    code = "csrf_refused"
    default_message = "This request did not come from a Parlour page; reload and try again."


@declares("public")
def public() -> None:
    """Anyone may call it (sign-up, login, the JWKS, the widget script)."""


Public = Depends(public)


def json_only(request: Request) -> None:
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaType("Send JSON (Content-Type: application/json).")


JsonOnly = Depends(json_only)


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """The only place the session reference is handed out (T-43)."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=services_of(request).settings.identity.session_absolute_hours * 3600,
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")


def session_token(request: Request) -> str:
    return request.cookies.get(COOKIE, "")


def _checked(request: Request, session: Session) -> Session:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise CsrfRefused()
    return session


@declares("signed_in")
async def signed_in(request: Request) -> Session:
    """A person with an ACTIVE session (password and second factor)."""
    services = services_of(request)
    return _checked(request, await services.sessions.active(request.cookies.get(COOKIE)))


@declares("signing_in")
async def signing_in(request: Request) -> Session:
    """A person part-way through login: only the next step's routes take this."""
    services = services_of(request)
    session = await services.sessions.pending(request.cookies.get(COOKIE))
    return _checked(request, session)


SignedIn = Annotated[Session, Depends(signed_in)]
SigningIn = Annotated[Session, Depends(signing_in)]


@dataclass(frozen=True, slots=True)
class Member:
    """A signed-in person acting in one organisation, as their role allows."""

    session: Session
    membership: Membership
    actor: Actor

    @property
    def tenant_id(self) -> str:
        return self.membership.tenant_id


def platform(permission: PlatformPermission) -> Callable[..., Awaitable[Actor]]:
    """A dependency admitting platform staff whose role grants `permission`, after a recent
    step-up: the operator console acts on every organisation."""

    @declares(f"platform:{permission.value}")
    async def authorise(request: Request, session: Annotated[Session, Depends(signed_in)]) -> Actor:
        services = services_of(request)
        context = request_context(request)
        await services.authorisation.authorise_platform(
            session, permission, source_ip=context["ip"]
        )
        if request.method not in ("GET", "HEAD"):
            services.step_up.require_recent(session)
        return Actor(
            ActorType.OPERATOR, session.account.account_id, context["ip"], context["request_id"]
        )

    return authorise


def member(permission: Permission, *, step_up: bool = False) -> Callable[..., Awaitable[Member]]:
    """A dependency admitting members of the path's `{tenant_id}` whose role grants
    `permission` (and, with `step_up`, who re-authenticated lately)."""

    @declares(f"member:{permission.value}" + (":step_up" if step_up else ""))
    async def authorise(
        request: Request,
        tenant_id: Annotated[str, Path(min_length=1, max_length=64)],
        session: Annotated[Session, Depends(signed_in)],
    ) -> Member:
        services = services_of(request)
        context = request_context(request)
        membership = await services.authorisation.authorise(
            session, tenant_id, permission, source_ip=context["ip"]
        )
        logs.bind(tenant_id=membership.tenant_id)
        if step_up:
            services.step_up.require_recent(session)
        actor = Actor(
            ActorType.ACCOUNT, session.account.account_id, context["ip"], context["request_id"]
        )
        return Member(session, membership, actor)

    return authorise
