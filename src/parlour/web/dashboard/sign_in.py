"""Signing up, confirming the address, logging in with a code, enrolling an authenticator,
stepping up and logging out: the pages over the identity use cases."""

from __future__ import annotations

from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.responses import Response

from parlour.errors import ParlourError
from parlour.identity.errors import ReauthenticationRequired
from parlour.identity.models import Enrolment
from parlour.web.dashboard.pages import (
    PublicPage,
    SignedInPage,
    SigningInPage,
    failed,
    go,
    next_step,
    render,
    safe_next,
    same_origin_form,
)
from parlour.web.deps import ServicesDep, request_context
from parlour.web.policy import clear_session_cookie, session_token, set_session_cookie

router = APIRouter(include_in_schema=False)


@router.get("/dashboard/signup", dependencies=[PublicPage])
async def signup_page(request: Request) -> Response:
    return render(request, "signup.html")


@router.post("/dashboard/signup", dependencies=[PublicPage])
async def signup(request: Request, services: ServicesDep) -> Response:
    form = await same_origin_form(request)
    fields = {k: form.get(k, "") for k in ("email", "organisation")}
    try:
        await services.signup.sign_up(
            fields["email"],
            form.get("password", ""),
            fields["organisation"],
            source_ip=request_context(request)["ip"],
        )
    except ParlourError as error:
        return failed(request, "signup.html", error, **fields)
    return render(request, "check_email.html", email=fields["email"])


@router.get("/dashboard/verify-email", dependencies=[PublicPage])
async def verify_email_page(request: Request, token: str = "") -> Response:
    # A button, not the link itself: mail scanners open links, and must not spend the token.
    return render(request, "verify_email.html", token=token)


@router.post("/dashboard/verify-email", dependencies=[PublicPage])
async def verify_email(request: Request, services: ServicesDep) -> Response:
    form = await same_origin_form(request)
    try:
        await services.email_verification.verify(
            form.get("token", ""), source_ip=request_context(request)["ip"]
        )
    except ParlourError as error:
        return failed(request, "verify_email.html", error, token="")
    return render(request, "login.html", notice="Your address is confirmed. Log in to go on.")


@router.get("/dashboard/welcome", dependencies=[PublicPage])
async def welcome_page(request: Request, token: str = "") -> Response:
    """Platform staff made from the server choose their first password here."""
    return render(request, "welcome.html", token=token)


@router.post("/dashboard/welcome", dependencies=[PublicPage])
async def welcome(request: Request, services: ServicesDep) -> Response:
    form = await same_origin_form(request)
    token = form.get("token", "")
    try:
        await services.platform_staff.choose_first_password(
            token, form.get("password", ""), source_ip=request_context(request)["ip"]
        )
    except ParlourError as error:
        return failed(request, "welcome.html", error, token=token)
    return render(
        request, "login.html", notice="Your password is set. Log in to set up two-step login."
    )


@router.get("/dashboard/login", dependencies=[PublicPage])
async def login_page(request: Request, next: str = "") -> Response:
    return render(request, "login.html", next=safe_next(next))


@router.post("/dashboard/login", dependencies=[PublicPage])
async def login(request: Request, services: ServicesDep) -> Response:
    form = await same_origin_form(request)
    email = form.get("email", "")
    try:
        issued = await services.login.log_in(
            email, form.get("password", ""), source_ip=request_context(request)["ip"]
        )
    except ParlourError as error:
        return failed(request, "login.html", error, email=email, next=form.get("next", ""))
    response = go(next_step(issued.stage))
    set_session_cookie(response, request, issued.token)
    return response


@router.get("/dashboard/forgot", dependencies=[PublicPage])
async def forgot_page(request: Request) -> Response:
    return render(request, "forgot.html")


@router.post("/dashboard/forgot", dependencies=[PublicPage])
async def forgot(request: Request, services: ServicesDep) -> Response:
    form = await same_origin_form(request)
    email = form.get("email", "")
    try:
        await services.password_reset.request(email, source_ip=request_context(request)["ip"])
    except ParlourError as error:
        return failed(request, "forgot.html", error, email=email)
    return render(request, "check_email.html", email=email)


@router.get("/dashboard/reset", dependencies=[PublicPage])
async def reset_page(request: Request, token: str = "") -> Response:
    return render(request, "reset.html", token=token)


@router.post("/dashboard/reset", dependencies=[PublicPage])
async def reset(request: Request, services: ServicesDep) -> Response:
    form = await same_origin_form(request)
    token = form.get("token", "")
    try:
        await services.password_reset.reset(
            token,
            form.get("password", ""),
            form.get("code", ""),
            source_ip=request_context(request)["ip"],
        )
    except ParlourError as error:
        return failed(request, "reset.html", error, token=token)
    return render(request, "login.html", notice="Your password is changed. Log in with it.")


@router.get("/dashboard/code")
async def code_page(request: Request, session: SigningInPage) -> Response:
    return render(request, "code.html", csrf_token=session.csrf_token)


@router.post("/dashboard/code")
async def code(request: Request, session: SigningInPage, services: ServicesDep) -> Response:
    form = await same_origin_form(request)
    try:
        issued = await services.login.complete(
            session_token(request), form.get("code", ""), source_ip=request_context(request)["ip"]
        )
    except ParlourError as error:
        return failed(request, "code.html", error, csrf_token=session.csrf_token)
    response = go("/dashboard")
    set_session_cookie(response, request, issued.token)
    return response


@router.get("/dashboard/enrol")
async def enrol_page(request: Request, session: SigningInPage) -> Response:
    return render(request, "enrol_start.html", csrf_token=session.csrf_token)


@router.post("/dashboard/enrol")
async def enrol(request: Request, session: SigningInPage, services: ServicesDep) -> Response:
    """A new seed, pending until a code from it is confirmed."""
    try:
        enrolment = await services.mfa_enrolment.begin(session_token(request))
    except ReauthenticationRequired:
        # Replacing an authenticator from a signed-in session: password and code first.
        return go("/dashboard/step-up?next=/dashboard/enrol")
    except ParlourError as error:
        return failed(request, "enrol_start.html", error, csrf_token=session.csrf_token)
    return _seed_page(request, session.csrf_token, enrolment)


def _seed_page(
    request: Request, csrf_token: str, enrolment: Enrolment, error: ParlourError | None = None
) -> Response:
    """The seed as a QR code (an image made here, no script) and as text."""
    qr = segno.make(enrolment.uri, error="m").svg_data_uri(scale=5, border=2)
    context: dict[str, Any] = {"csrf_token": csrf_token, "seed": enrolment.seed, "qr": qr}
    if error is None:
        return render(request, "enrol.html", **context)
    return failed(request, "enrol.html", error, **context)


@router.post("/dashboard/enrol/confirm")
async def confirm_enrolment(
    request: Request, session: SigningInPage, services: ServicesDep
) -> Response:
    form = await same_origin_form(request)
    try:
        issued, codes = await services.mfa_enrolment.confirm(
            session_token(request), form.get("code", ""), source_ip=request_context(request)["ip"]
        )
    except ParlourError as error:
        # A mistyped or just-expired code: the same seed again, which the app already holds.
        try:
            pending = await services.mfa_enrolment.pending(session_token(request))
        except ParlourError:
            return failed(request, "enrol_start.html", error, csrf_token=session.csrf_token)
        return _seed_page(request, session.csrf_token, pending, error)
    response = render(request, "recovery_codes.html", codes=codes)
    set_session_cookie(response, request, issued.token)
    return response


@router.get("/dashboard/step-up")
async def step_up_page(request: Request, session: SignedInPage, next: str = "") -> Response:
    return render(request, "step_up.html", csrf_token=session.csrf_token, next=safe_next(next))


@router.post("/dashboard/step-up")
async def step_up(request: Request, session: SignedInPage, services: ServicesDep) -> Response:
    form = await same_origin_form(request)
    target = safe_next(form.get("next"))
    try:
        issued = await services.step_up.reauthenticate(
            session_token(request),
            form.get("password", ""),
            form.get("code", ""),
            source_ip=request_context(request)["ip"],
        )
    except ParlourError as error:
        return failed(request, "step_up.html", error, csrf_token=session.csrf_token, next=target)
    response = go(target)
    set_session_cookie(response, request, issued.token)
    return response


@router.post("/dashboard/logout")
async def logout(request: Request, _: SigningInPage, services: ServicesDep) -> Response:
    await services.sessions.log_out(session_token(request))
    response = go("/dashboard/login")
    clear_session_cookie(response)
    return response
