"""What every dashboard page shares: templates, the page CSP, form checks (CSRF token and the
request's own Origin, T-55), and the policies pages declare (T-44), which send a person without
a session to the login page, and answer a form that needs a recent step-up with the step-up form
itself (T-42), carrying the fields of the form that was sent, so that one submit confirms the
person and does what they asked."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parlour import logs
from parlour.audit.events import Actor, ActorType
from parlour.errors import ParlourError, PayloadTooLarge
from parlour.identity.errors import ReauthenticationRequired, SessionRequired, WrongStage
from parlour.identity.models import Session, Stage
from parlour.identity.policy import Permission, PlatformPermission
from parlour.web.dashboard.notices import NOTICE_COOKIE, NOTICES, Notice
from parlour.web.deps import declares, request_context, services_of
from parlour.web.errors import http_status
from parlour.web.policy import COOKIE, CsrfRefused, Member, set_session_cookie

HERE = Path(__file__).parent
# Scripts only from this app's own files (the live desk's static/desk.js, the reply box's
# canned.js: no inline script, no eval), and connections only to this origin ('self' covers its
# ws:/wss: too, CSP Level 3: the desk socket). Every page works without them.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


FORM_REFUSED = "This form did not come from this page; reload it and try again."


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """`1 passage`, `2 passages`: the `counted` filter of the templates."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


_templates.filters["counted"] = counted


class GoTo(Exception):
    """Leave the page for another (login, step-up, the next step of signing in)."""

    def __init__(self, url: str) -> None:
        self.url = url


# The step-up fields a form gains when it needs one; named apart from any field of a form.
STEP_UP_PASSWORD = "step_up_password"  # noqa: S105 (a field name)
STEP_UP_CODE = "step_up_code"


class StepUpNeeded(Exception):
    """The form just sent needs the password and a code again (T-42). It is answered with the
    step-up form, which posts back to the same address with the sent fields as hidden inputs,
    so nothing typed is lost. The fields travel in the body of a page that is never cached
    (no-store), never in an address, and the replay carries the session's CSRF token like any
    form (T-55)."""

    def __init__(
        self,
        action: str,
        fields: list[tuple[str, str]],
        csrf_token: str,
        error: ParlourError | None = None,
    ) -> None:
        self.action = action
        self.fields = fields
        self.csrf_token = csrf_token
        self.error = error


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page; with the notice a change redirected here with, which it then forgets."""
    told = request.cookies.get(NOTICE_COOKIE)
    if told and not context.get("notice"):
        context["notice"] = NOTICES.get(told)
    page = _templates.get_template(template).render(request=request, **context)
    response = HTMLResponse(
        page, status_code=status_code, headers={"Content-Security-Policy": PAGE_CSP}
    )
    if told:
        response.delete_cookie(
            NOTICE_COOKIE, path="/", secure=True, httponly=True, samesite="strict"
        )
    return response


def failed(request: Request, template: str, error: ParlourError, **context: Any) -> HTMLResponse:
    """The form again, with the error said plainly, and the status the API would give."""
    return render(request, template, status_code=http_status(error), error=error.message, **context)


def go(url: str, notice: Notice | None = None) -> RedirectResponse:
    """Redirect after a form (the page, reloaded, does not post again); with what the change
    did, said on the page it lands on."""
    response = RedirectResponse(url, status_code=303)
    if notice is not None:
        response.set_cookie(
            NOTICE_COOKIE,
            notice.value,
            max_age=60,
            path="/",
            secure=True,
            httponly=True,
            samesite="strict",
        )
    return response


async def same_origin_form(request: Request) -> dict[str, str]:
    """The posted form, if it was posted from one of our own pages: browsers send `Origin` with
    every form post, and a cross-site one names the other site."""
    services = services_of(request)
    own = urlsplit(services.settings.server.public_url)
    origin = request.headers.get("origin", "")
    fetch_site = request.headers.get("sec-fetch-site")
    if origin != f"{own.scheme}://{own.netloc}" and fetch_site != "same-origin":
        raise CsrfRefused(FORM_REFUSED)
    # Browsers give every form post its length; the parser would otherwise spool any amount
    # of a file to disk before a page could refuse it. (How much each form may carry is
    # web/request_limits.py's to say, before the body is read.)
    if not request.headers.get("content-length", "").isdigit():
        raise PayloadTooLarge("A form must say how long it is.")
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _check_token(form: dict[str, str], session: Session) -> None:
    if not hmac.compare_digest(form.get("csrf_token", "").encode(), session.csrf_token.encode()):
        raise CsrfRefused(FORM_REFUSED)


@declares("public")
async def public_page() -> None:
    """Anyone may open it (sign-up, login, confirming an address)."""


PublicPage = Depends(public_page)


async def _session(request: Request) -> Session:
    try:
        return await services_of(request).sessions.active(request.cookies.get(COOKIE))
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
        session = await services_of(request).sessions.pending(request.cookies.get(COOKIE))
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


async def stepped_up(request: Request, session: Session) -> Session:
    """The session, if its holder gave the password and a code lately; else the step-up they
    sent with this form, checked (the session is then replaced, and the browser handed the new
    one by `RenewedSession`); else StepUpNeeded, which answers with the step-up form."""
    step_up = services_of(request).step_up
    try:
        step_up.require_recent(session)
        return session
    except ReauthenticationRequired:
        pass
    form = await request.form()  # parsed, and its origin and token checked, already
    sent = list(form.multi_items())
    if any(not isinstance(value, str) for _, value in sent):
        # A file cannot ride along in a hidden field: step up, then choose it again.
        raise GoTo("/dashboard/step-up?next=" + quote(request.url.path))
    own = {"csrf_token", STEP_UP_PASSWORD, STEP_UP_CODE}
    fields = [(k, str(v)) for k, v in sent if k not in own]
    if STEP_UP_PASSWORD not in form:
        raise StepUpNeeded(request.url.path, fields, session.csrf_token)
    try:
        issued = await step_up.reauthenticate(
            request.cookies.get(COOKIE, ""),
            str(form.get(STEP_UP_PASSWORD, "")),
            str(form.get(STEP_UP_CODE, "")),
            source_ip=request_context(request)["ip"],
        )
    except ParlourError as error:
        raise StepUpNeeded(request.url.path, fields, session.csrf_token, error) from None
    request.state.renewed_session = issued.token
    return await services_of(request).sessions.active(issued.token)


def live_session_token(request: Request) -> str:
    """The session reference this request acts with: the one a step-up in it just issued, or
    the cookie's."""
    renewed: str | None = getattr(request.state, "renewed_session", None)
    return renewed or request.cookies.get(COOKIE, "")


def step_up_page(request: Request, needed: StepUpNeeded) -> HTMLResponse:
    context: dict[str, Any] = {
        "action": needed.action,
        "replay": needed.fields,
        "csrf_token": needed.csrf_token,
    }
    if needed.error is not None:
        return failed(request, "step_up.html", needed.error, **context)
    return render(request, "step_up.html", **context)


class RenewedSession:
    """Hands the browser the session a step-up replaced, on whatever answer follows it: the
    page, a redirect or an error page. Without it, a form that failed after the step-up would
    leave the browser holding the ended session."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/dashboard"):
            await self.app(scope, receive, send)
            return

        async def send_renewed(message: Message) -> None:
            token = scope.get("state", {}).get("renewed_session")
            if message["type"] == "http.response.start" and token:
                carrier = Response()
                set_session_cookie(carrier, Request(scope), token)
                message["headers"] = [
                    *message.get("headers", []),
                    *(h for h in carrier.raw_headers if h[0] == b"set-cookie"),
                ]
            await send(message)

        await self.app(scope, receive, send_renewed)


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
        logs.bind(tenant_id=membership.tenant_id)
        if step_up and request.method == "POST":
            session = await stepped_up(request, session)
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
            session = await stepped_up(request, session)
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
