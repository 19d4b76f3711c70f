"""Dashboard accounts over HTTP: sign-up, e-mail confirmation, and the session a browser holds.

The session reference travels only in a `__Host-` cookie (Secure, HttpOnly, SameSite=Strict,
Path=/; T-43). Every state-changing request made with it must also carry the session's CSRF token
in `X-CSRF-Token` (T-55), which a cross-site form or `text/plain` post cannot set. Bodies are
JSON only; a form or plain-text body is refused before anything runs.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from parlour.errors import Forbidden, UnsupportedMediaType
from parlour.identity.models import IssuedSession, Session, Stage
from parlour.services import Services
from parlour.web.deps import ServicesDep, request_context, services_of

COOKIE = "__Host-parlour_session"
CSRF_HEADER = "x-csrf-token"

router = APIRouter(tags=["accounts"])


class CsrfRefused(Forbidden):
    code = "csrf_refused"
    default_message = "This request did not come from a Parlour page; reload and try again."


def _json_only(request: Request) -> None:
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaType("Send JSON (Content-Type: application/json).")


def _checked(request: Request, session: Session) -> Session:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise CsrfRefused()
    return session


async def active_session(request: Request) -> Session:
    """The caller's ACTIVE session; with the CSRF check on anything but reads."""
    services = services_of(request)
    return _checked(request, await services.identity.session(request.cookies.get(COOKIE)))


async def any_session(request: Request) -> Session:
    """The caller's session at whatever stage of login it is."""
    services = services_of(request)
    session = await services.identity.pending_session(request.cookies.get(COOKIE))
    return _checked(request, session)


ActiveSession = Annotated[Session, Depends(active_session)]
AnySession = Annotated[Session, Depends(any_session)]
JsonOnly = Depends(_json_only)


def _set_cookie(response: Response, services: Services, issued: IssuedSession) -> None:
    response.set_cookie(
        COOKIE,
        issued.token,
        max_age=services.settings.identity.session_absolute_hours * 3600,
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )


def _token(request: Request) -> str:
    return request.cookies.get(COOKIE, "")


class SignUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(min_length=3, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    organisation: Annotated[str, Field(min_length=1, max_length=200)]


class Accepted(BaseModel):
    status: str


@router.post("/v1/accounts", status_code=202, dependencies=[JsonOnly])
async def sign_up(body: SignUp, request: Request, services: ServicesDep) -> Accepted:
    """Always 202 with the same body: whether the address had an account is told by e-mail."""
    ip = request_context(request)["ip"]
    await services.identity.sign_up(body.email, body.password, body.organisation, source_ip=ip)
    return Accepted(status="check_your_email")


class EmailToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, Field(min_length=1, max_length=200)]


@router.post("/v1/accounts/verify-email", status_code=204, dependencies=[JsonOnly])
async def verify_email(body: EmailToken, request: Request, services: ServicesDep) -> Response:
    await services.identity.verify_email(body.token, source_ip=request_context(request)["ip"])
    return Response(status_code=204)


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class Code(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, Field(min_length=6, max_length=32)]


class StepUp(Code):
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class SessionStarted(BaseModel):
    stage: Stage
    csrf_token: str = Field(description="Send it back as X-CSRF-Token on every change.")


class Membership(BaseModel):
    tenant_id: str
    role: str


class SessionView(BaseModel):
    email: str
    stage: Stage
    csrf_token: str
    platform_role: str | None
    memberships: list[Membership]


class EnrolmentView(BaseModel):
    seed: str = Field(description="For typing into an authenticator app.")
    uri: str = Field(description="otpauth:// URI, for a QR code.")


class Enrolled(SessionStarted):
    recovery_codes: list[str] = Field(description="Shown this once; each works once.")


class Ended(BaseModel):
    sessions_ended: int


@router.post("/v1/session", dependencies=[JsonOnly])
async def log_in(
    body: Credentials, request: Request, response: Response, services: ServicesDep
) -> SessionStarted:
    ip = request_context(request)["ip"]
    issued = await services.identity.log_in(body.email, body.password, source_ip=ip)
    _set_cookie(response, services, issued)
    return SessionStarted(stage=issued.stage, csrf_token=issued.csrf_token)


@router.post("/v1/session/code", dependencies=[JsonOnly])
async def complete_login(
    body: Code, request: Request, response: Response, services: ServicesDep, _: AnySession
) -> SessionStarted:
    ip = request_context(request)["ip"]
    issued = await services.identity.complete_login(_token(request), body.code, source_ip=ip)
    _set_cookie(response, services, issued)
    return SessionStarted(stage=issued.stage, csrf_token=issued.csrf_token)


@router.post("/v1/session/enrolment")
async def begin_enrolment(request: Request, services: ServicesDep, _: AnySession) -> EnrolmentView:
    enrolment = await services.identity.begin_enrolment(_token(request))
    return EnrolmentView(seed=enrolment.seed, uri=enrolment.uri)


@router.post("/v1/session/enrolment/confirm", dependencies=[JsonOnly])
async def confirm_enrolment(
    body: Code, request: Request, response: Response, services: ServicesDep, _: AnySession
) -> Enrolled:
    ip = request_context(request)["ip"]
    issued, codes = await services.identity.confirm_enrolment(
        _token(request), body.code, source_ip=ip
    )
    _set_cookie(response, services, issued)
    return Enrolled(stage=issued.stage, csrf_token=issued.csrf_token, recovery_codes=codes)


@router.post("/v1/session/reauthenticate", dependencies=[JsonOnly])
async def reauthenticate(
    body: StepUp, request: Request, response: Response, services: ServicesDep, _: ActiveSession
) -> SessionStarted:
    ip = request_context(request)["ip"]
    issued = await services.identity.reauthenticate(
        _token(request), body.password, body.code, source_ip=ip
    )
    _set_cookie(response, services, issued)
    return SessionStarted(stage=issued.stage, csrf_token=issued.csrf_token)


@router.get("/v1/session")
async def current_session(session: AnySession, services: ServicesDep) -> SessionView:
    account = session.account
    memberships = await services.identity.memberships(account.account_id)
    return SessionView(
        email=account.email,
        stage=session.stage,
        csrf_token=session.csrf_token,
        platform_role=account.platform_role.value if account.platform_role else None,
        memberships=[Membership(tenant_id=m.tenant_id, role=m.role.value) for m in memberships],
    )


@router.delete("/v1/session", status_code=204)
async def log_out(request: Request, services: ServicesDep, _: AnySession) -> Response:
    await services.identity.log_out(_token(request))
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


@router.delete("/v1/session/others")
async def end_other_sessions(request: Request, services: ServicesDep, _: ActiveSession) -> Ended:
    ended = await services.identity.end_other_sessions(
        _token(request), source_ip=request_context(request)["ip"]
    )
    return Ended(sessions_ended=ended)
