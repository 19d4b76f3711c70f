"""What every dashboard page shares: templates, the page CSP, form checks (CSRF token and the
request's own Origin, T-55), and the policies pages declare (T-44), which send a person without
a session to the login page and one without a recent step-up to the step-up page (T-42)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from parlour.audit.events import Actor, ActorType
from parlour.errors import Forbidden, ParlourError, PayloadTooLarge
from parlour.identity.errors import ReauthenticationRequired, SessionRequired, WrongStage
from parlour.identity.models import Session, Stage
from parlour.identity.policy import Permission, PlatformPermission
from parlour.web.deps import declares, request_context, services_of
from parlour.web.errors import http_status
from parlour.web.policy import COOKIE, Member

HERE = Path(__file__).parent
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


class FormRefused(Forbidden):
    code = "csrf_refused"
    default_message = "This form did not come from this page; reload it and try again."


class GoTo(Exception):
    """Leave the page for another (login, step-up, the next step of signing in)."""

    def __init__(self, url: str) -> None:
        self.url = url


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    page = _templates.get_template(template).render(request=request, **context)
    return HTMLResponse(
        page, status_code=status_code, headers={"Content-Security-Policy": PAGE_CSP}
    )


def failed(request: Request, template: str, error: ParlourError, **context: Any) -> HTMLResponse:
    """The form again, with the error said plainly, and the status the API would give."""
    return render(request, template, status_code=http_status(error), error=error.message, **context)


def go(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def same_origin_form(request: Request) -> dict[str, str]:
    """The posted form, if it was posted from one of our own pages: browsers send `Origin` with
    every form post, and a cross-site one names the other site."""
    services = services_of(request)
    own = urlsplit(services.settings.server.public_url)
    origin = request.headers.get("origin", "")
    fetch_site = request.headers.get("sec-fetch-site")
    if origin != f"{own.scheme}://{own.netloc}" and fetch_site != "same-origin":
        raise FormRefused()
    # Browsers give every form post its length; the parser would otherwise spool any amount
    # of a file to disk before a page could refuse it. (How much each form may carry is
    # web/request_limits.py's to say, before the body is read.)
    if not request.headers.get("content-length", "").isdigit():
        raise PayloadTooLarge("A form must say how long it is.")
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _check_token(form: dict[str, str], session: Session) -> None:
    if not hmac.compare_digest(form.get("csrf_token", "").encode(), session.csrf_token.encode()):
        raise FormRefused()


@declares("public")
async def public_page() -> None:
    """Anyone may open it (sign-up, login, confirming an address)."""


PublicPage = Depends(public_page)


async def _session(request: Request) -> Session:
    try:
        return await services_of(request).identity.session(request.cookies.get(COOKIE))
    except WrongStage as unfinished:
        raise GoTo("/dashboard/login") from unfinished
    except SessionRequired as missing:
        raise GoTo("/dashboard/login?next=" + quote(request.url.path)) from missing


@declares("signed_in")
async def signed_in_page(request: Request) -> Session:
    session = await _session(request)
    if request.method == "POST":
        _check_token(await same_origin_form(request), session)
    return session


@declares("signing_in")
async def signing_in_page(request: Request) -> Session:
    """Part-way through login; pages of the next step only."""
    try:
        session = await services_of(request).identity.pending_session(request.cookies.get(COOKIE))
    except SessionRequired as missing:
        raise GoTo("/dashboard/login") from missing
    if request.method == "POST":
        _check_token(await same_origin_form(request), session)
    return session


SignedInPage = Annotated[Session, Depends(signed_in_page)]
SigningInPage = Annotated[Session, Depends(signing_in_page)]


def _actor(request: Request, session: Session, kind: ActorType) -> Actor:
    context = request_context(request)
    return Actor(kind, session.account.account_id, context["ip"], context["request_id"])


def _step_up_or_go(request: Request, session: Session) -> None:
    try:
        services_of(request).identity.require_recent_authentication(session)
    except ReauthenticationRequired as stale:
        back = request.headers.get("referer") or request.url.path
        raise GoTo("/dashboard/step-up?next=" + quote(urlsplit(back).path)) from stale


def member_page(
    permission: Permission, *, step_up: bool = False
) -> Callable[..., Awaitable[Member]]:
    """Like web.policy.member, for pages: the organisation is the path's `{tenant_id}`."""

    @declares(f"member:{permission.value}" + (":step_up" if step_up else ""))
    async def authorise(
        request: Request, tenant_id: str, session: Annotated[Session, Depends(signed_in_page)]
    ) -> Member:
        membership = await services_of(request).authorisation.authorise(
            session, tenant_id, permission, source_ip=request_context(request)["ip"]
        )
        if step_up and request.method == "POST":
            _step_up_or_go(request, session)
        return Member(session, membership, _actor(request, session, ActorType.ACCOUNT))

    return authorise


@dataclass(frozen=True, slots=True)
class StaffPage:
    session: Session
    actor: Actor


def platform_page(permission: PlatformPermission) -> Callable[..., Awaitable[StaffPage]]:
    @declares(f"platform:{permission.value}")
    async def authorise(
        request: Request, session: Annotated[Session, Depends(signed_in_page)]
    ) -> StaffPage:
        await services_of(request).authorisation.authorise_platform(
            session, permission, source_ip=request_context(request)["ip"]
        )
        if request.method == "POST":
            _step_up_or_go(request, session)
        return StaffPage(session, _actor(request, session, ActorType.OPERATOR))

    return authorise


def next_step(stage: Stage) -> str:
    return {
        Stage.MFA_ENROLMENT: "/dashboard/enrol",
        Stage.MFA_REQUIRED: "/dashboard/code",
        Stage.ACTIVE: "/dashboard",
    }[stage]


def safe_next(value: str | None) -> str:
    """Only a path of this dashboard: never another site (open redirect)."""
    if value and value.startswith("/dashboard") and "//" not in value and "\\" not in value:
        return value
    return "/dashboard"
