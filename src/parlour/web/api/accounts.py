"""Dashboard accounts over HTTP: sign-up, e-mail confirmation, and the session a browser holds.

The session reference travels only in a `__Host-` cookie (Secure, HttpOnly, SameSite=Strict,
Path=/; T-43); the CSRF rule is in web/policy.py. Bodies are JSON only: a form or plain-text body
is refused before anything runs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from parlour.audit.events import Actor, ActorType
from parlour.identity.models import Stage
from parlour.web.deps import ServicesDep, request_context
from parlour.web.policy import (
    JsonOnly,
    Public,
    SignedIn,
    SigningIn,
    clear_session_cookie,
    session_token,
    set_session_cookie,
)

router = APIRouter(tags=["accounts"])


class SignUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(min_length=3, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    organisation: Annotated[str, Field(min_length=1, max_length=200)]


class Accepted(BaseModel):
    status: str


@router.post("/v1/accounts", status_code=202, dependencies=[Public, JsonOnly])
async def sign_up(body: SignUp, request: Request, services: ServicesDep) -> Accepted:
    """202 with the same body whether or not the address had an account (that is told by
    e-mail). A weak password, a malformed address or organisation name is 422, judged before the
    address is looked up: the 422 is no oracle either."""
    ip = request_context(request)["ip"]
    await services.signup.sign_up(body.email, body.password, body.organisation, source_ip=ip)
    return Accepted(status="check_your_email")


class EmailToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, Field(min_length=1, max_length=200)]


@router.post("/v1/accounts/verify-email", status_code=204, dependencies=[Public, JsonOnly])
async def verify_email(body: EmailToken, request: Request, services: ServicesDep) -> Response:
    await services.email_verification.verify(body.token, source_ip=request_context(request)["ip"])
    return Response(status_code=204)


class ResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(min_length=1, max_length=320)]


class NewPassword(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, Field(min_length=1, max_length=200)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    code: Annotated[str, Field(max_length=32)] = ""


@router.post("/v1/accounts/password-reset", status_code=202, dependencies=[Public, JsonOnly])
async def request_password_reset(
    body: ResetRequest, request: Request, services: ServicesDep
) -> Accepted:
    """202 with the same body for any well-formed address; a link goes by mail if it has an
    account."""
    await services.password_reset.request(body.email, source_ip=request_context(request)["ip"])
    return Accepted(status="check_your_email")


@router.post(
    "/v1/accounts/password-reset/confirm", status_code=204, dependencies=[Public, JsonOnly]
)
async def reset_password(body: NewPassword, request: Request, services: ServicesDep) -> Response:
    """The mailed token, the new password, and a TOTP or recovery code: a reset keeps MFA."""
    await services.password_reset.reset(
        body.token, body.password, body.code, source_ip=request_context(request)["ip"]
    )
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


@router.post("/v1/session", dependencies=[Public, JsonOnly])
async def log_in(
    body: Credentials, request: Request, response: Response, services: ServicesDep
) -> SessionStarted:
    ip = request_context(request)["ip"]
    issued = await services.login.log_in(body.email, body.password, source_ip=ip)
    set_session_cookie(response, request, issued.token)
    return SessionStarted(stage=issued.stage, csrf_token=issued.csrf_token)


@router.post("/v1/session/code", dependencies=[JsonOnly])
async def complete_login(
    body: Code, request: Request, response: Response, services: ServicesDep, _: SigningIn
) -> SessionStarted:
    ip = request_context(request)["ip"]
    issued = await services.login.complete(session_token(request), body.code, source_ip=ip)
    set_session_cookie(response, request, issued.token)
    return SessionStarted(stage=issued.stage, csrf_token=issued.csrf_token)


@router.post("/v1/session/enrolment")
async def begin_enrolment(request: Request, services: ServicesDep, _: SigningIn) -> EnrolmentView:
    enrolment = await services.mfa_enrolment.begin(session_token(request))
    return EnrolmentView(seed=enrolment.seed, uri=enrolment.uri)


@router.post("/v1/session/enrolment/confirm", dependencies=[JsonOnly])
async def confirm_enrolment(
    body: Code, request: Request, response: Response, services: ServicesDep, _: SigningIn
) -> Enrolled:
    ip = request_context(request)["ip"]
    issued, codes = await services.mfa_enrolment.confirm(
        session_token(request), body.code, source_ip=ip
    )
    set_session_cookie(response, request, issued.token)
    return Enrolled(stage=issued.stage, csrf_token=issued.csrf_token, recovery_codes=codes)


@router.post("/v1/session/reauthenticate", dependencies=[JsonOnly])
async def reauthenticate(
    body: StepUp, request: Request, response: Response, services: ServicesDep, _: SignedIn
) -> SessionStarted:
    ip = request_context(request)["ip"]
    issued = await services.step_up.reauthenticate(
        session_token(request), body.password, body.code, source_ip=ip
    )
    set_session_cookie(response, request, issued.token)
    return SessionStarted(stage=issued.stage, csrf_token=issued.csrf_token)


@router.get("/v1/session")
async def current_session(session: SigningIn, services: ServicesDep) -> SessionView:
    account = session.account
    memberships = await services.authorisation.memberships(account.account_id)
    return SessionView(
        email=account.email,
        stage=session.stage,
        csrf_token=session.csrf_token,
        platform_role=account.platform_role.value if account.platform_role else None,
        memberships=[Membership(tenant_id=m.tenant_id, role=m.role.value) for m in memberships],
    )


@router.delete("/v1/session", status_code=204)
async def log_out(request: Request, services: ServicesDep, _: SigningIn) -> Response:
    await services.sessions.log_out(session_token(request))
    response = Response(status_code=204)
    clear_session_cookie(response)
    return response


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: Annotated[str, Field(min_length=1, max_length=1024)]
    end_other_sessions: bool = Field(
        default=True, description="Log out every other session of the account (advised)."
    )


@router.post("/v1/session/password", dependencies=[JsonOnly])
async def change_password(
    body: PasswordChange, request: Request, services: ServicesDep, _: SignedIn
) -> Ended:
    """A new password, after a step-up; other sessions end unless asked not to."""
    ended = await services.password_change.change(
        session_token(request),
        body.password,
        end_other_sessions=body.end_other_sessions,
        source_ip=request_context(request)["ip"],
    )
    return Ended(sessions_ended=ended)


class DisplayName(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: Annotated[str, Field(max_length=200)] = Field(
        description="The name customers see on your replies; blank clears it."
    )


class DisplayNameOut(BaseModel):
    display_name: str | None


@router.put("/v1/session/display-name", dependencies=[JsonOnly])
async def set_display_name(
    body: DisplayName, request: Request, services: ServicesDep, session: SignedIn
) -> DisplayNameOut:
    """The name customers see on your replies from now on (replies sent keep theirs). Audited."""
    context = request_context(request)
    account_id = session.account.account_id
    actor = Actor(ActorType.ACCOUNT, account_id, context["ip"], context["request_id"])
    name = await services.accounts.set_display_name(
        session.account.account_id, body.display_name, actor=actor
    )
    return DisplayNameOut(display_name=name)


@router.delete("/v1/session/others")
async def end_other_sessions(request: Request, services: ServicesDep, _: SignedIn) -> Ended:
    ended = await services.sessions.end_others(
        session_token(request), source_ip=request_context(request)["ip"]
    )
    return Ended(sessions_ended=ended)
