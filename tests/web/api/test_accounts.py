"""Dashboard sign-up and sessions over real HTTP: the cookie's attributes (T-43), CSRF (T-55),
rotation and logout (T-41), and one error shape for every refusal."""

from __future__ import annotations

import secrets

import httpx

from tests.conftest import Stack
from tests.support.accounts import (
    COOKIE,
    PASSWORD,
    Browser,
    authenticated_minutes_ago,
    signed_up_and_enrolled,
)
from tests.web.test_errors import assert_error_shape


async def test_signing_up_answers_the_same_for_a_new_and_a_taken_address(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        email = f"web-{secrets.token_hex(4)}@example.com"
        body = {"email": email, "password": PASSWORD, "organisation": "Acme Bank"}
        first = await client.post("/v1/accounts", json=body)
        second = await client.post("/v1/accounts", json=body)
    assert (first.status_code, first.json()) == (second.status_code, second.json())
    assert first.json() == {"status": "check_your_email"}


async def test_a_weak_password_is_refused_alike_for_a_new_and_a_taken_address(
    stack: Stack,
) -> None:
    """With a reason, in the error shape. Sign-up is 202 only for a well-formed request; what
    makes one malformed (the password, the address, the organisation's name) is judged before
    the address is looked up, so the 422 says nothing of who has an account."""
    taken = f"web-{secrets.token_hex(4)}@example.com"
    async with httpx.AsyncClient(base_url=stack.url) as client:
        body = {"email": taken, "password": PASSWORD, "organisation": "Acme"}
        assert (await client.post("/v1/accounts", json=body)).status_code == 202
        answers = [
            await client.post(
                "/v1/accounts",
                json={"email": email, "password": "password1", "organisation": "Acme"},
            )
            for email in (taken, "new@example.com")
        ]
    for answer in answers:
        assert_error_shape(answer, 422, "password_rejected")
    assert answers[0].json()["error"]["message"] == answers[1].json()["error"]["message"]


async def test_the_session_cookie_is_host_prefixed_secure_httponly_and_strict(
    stack: Stack,
) -> None:
    """T-43."""
    async with httpx.AsyncClient(base_url=stack.url) as client:
        browser = Browser(client)
        email, _codes = await signed_up_and_enrolled(stack, browser)
        answer = await browser.send("POST", "/v1/session", {"email": email, "password": PASSWORD})
    cookie = answer.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith(f"{COOKIE}=")
    assert {"secure", "httponly", "path", "samesite"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert "path=/;" in cookie.lower() + ";"
    assert "domain" not in attributes
    assert browser.cookie not in answer.text  # the reference is only ever in Set-Cookie


async def test_a_change_without_the_csrf_token_or_as_a_form_is_refused(stack: Stack) -> None:
    """T-55."""
    async with httpx.AsyncClient(base_url=stack.url) as client:
        browser = Browser(client)
        await signed_up_and_enrolled(stack, browser)
        assert_error_shape(
            await browser.send("DELETE", "/v1/session/others", csrf=False), 403, "csrf_refused"
        )
        forged = await client.post(
            "/v1/session/reauthenticate",
            content=f'{{"password": "{PASSWORD}", "code": "123456"}}',
            headers={
                "cookie": f"{COOKIE}={browser.cookie}",
                "content-type": "text/plain",
                "x-csrf-token": browser.csrf or "",
            },
        )
        assert_error_shape(forged, 415, "unsupported_media_type")
        form = await client.post(
            "/v1/session", data={"email": "a@example.com", "password": PASSWORD}
        )
        assert_error_shape(form, 415, "unsupported_media_type")
        # With the token, the same session works.
        assert (await browser.send("DELETE", "/v1/session/others")).status_code == 200


async def test_login_rotates_the_reference_and_logout_kills_it_on_the_server(
    stack: Stack,
) -> None:
    """T-41."""
    async with httpx.AsyncClient(base_url=stack.url) as client:
        browser = Browser(client)
        email, codes = await signed_up_and_enrolled(stack, browser)
        await browser.send("DELETE", "/v1/session")
        await browser.send("POST", "/v1/session", {"email": email, "password": PASSWORD})
        before_code = browser.cookie
        answer = await browser.send("POST", "/v1/session/code", {"code": codes[0]})
        assert answer.json()["stage"] == "active"
        assert browser.cookie != before_code
        me = await browser.send("GET", "/v1/session")
        assert me.json()["email"] == email
        assert [m["role"] for m in me.json()["memberships"]] == ["owner"]

        stale = Browser(client)
        stale.cookie, stale.csrf = before_code, browser.csrf
        assert_error_shape(await stale.send("GET", "/v1/session"), 401, "session_required")

        kept = browser.cookie
        assert (await browser.send("DELETE", "/v1/session")).status_code == 204
        replay = Browser(client)
        replay.cookie = kept
        assert_error_shape(await replay.send("GET", "/v1/session"), 401, "session_required")


async def test_login_failures_look_alike_over_http(stack: Stack) -> None:
    """T-40."""
    async with httpx.AsyncClient(base_url=stack.url) as client:
        browser = Browser(client)
        email, _codes = await signed_up_and_enrolled(stack, browser)
        unknown = await client.post(
            "/v1/session", json={"email": "nobody@example.com", "password": PASSWORD}
        )
        wrong = await client.post("/v1/session", json={"email": email, "password": "nope nope"})
    assert_error_shape(unknown, 401, "invalid_credentials")
    assert_error_shape(wrong, 401, "invalid_credentials")
    assert unknown.json()["error"]["message"] == wrong.json()["error"]["message"]


async def test_a_password_change_over_http_ends_the_other_sessions_and_needs_a_step_up(
    stack: Stack,
) -> None:
    """T-41, T-42."""
    async with httpx.AsyncClient(base_url=stack.url) as client:
        first = Browser(client)
        email, _codes = await signed_up_and_enrolled(stack, first)
        new_password = "another long passphrase, entirely mine"
        changed = await first.send("POST", "/v1/session/password", {"password": new_password})
        assert changed.json() == {"sessions_ended": 0}
        await authenticated_minutes_ago(stack.services, 11)
        stale = await first.send("POST", "/v1/session/password", {"password": PASSWORD})
        assert_error_shape(stale, 403, "reauthentication_required")
        wrong = await Browser(client).send(
            "POST", "/v1/session", {"email": email, "password": PASSWORD}
        )
        assert_error_shape(wrong, 401, "invalid_credentials")
