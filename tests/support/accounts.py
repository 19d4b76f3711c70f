"""Dashboard accounts for tests: the identity use cases on a test's services with a clock the test
moves (TOTP steps and session timeouts, without sleeping), the mail it sent, and the way through
sign-up, e-mail confirmation, enrolment and login that a person would take."""

from __future__ import annotations

import email
import email.policy
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import httpx
import pyotp
from sqlalchemy import update

from parlour.identity.accounts import Accounts as AccountDirectory
from parlour.identity.authorisation import Authorisation
from parlour.identity.email_verification import EmailVerification
from parlour.identity.enrolment import MfaEnrolment
from parlour.identity.login import Login
from parlour.identity.mail import Mailer, OutboxMailer
from parlour.identity.members import MemberService
from parlour.identity.models import IssuedSession
from parlour.identity.password_change import PasswordChange
from parlour.identity.password_reset import PasswordReset
from parlour.identity.passwords import Passwords
from parlour.identity.platform_staff import PlatformStaff
from parlour.identity.sessions import SessionPolicy, Sessions
from parlour.identity.signup import SignUp
from parlour.identity.step_up import StepUp
from parlour.rate_limits import RateLimits
from parlour.services import Services, account_services
from parlour.storage.tables import account_sessions
from parlour.storage.types import utcnow
from tests.support.clock import SetClock

if TYPE_CHECKING:
    from tests.conftest import Stack

PASSWORD = "correct horse battery staple"
COOKIE = "__Host-parlour_session"
T = TypeVar("T")
RULES = {
    "login_pair": "10/15 minutes",
    "login_address": "60/15 minutes",
    "codes": "10/15 minutes",
    "mails": "100/hour",
}


def mails_in(outbox: Path) -> list[email.message.EmailMessage]:
    files = sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in files
    ]


def mailed_token(outbox: Path, to: str) -> str:
    """The token of the last link mailed to `to`."""
    for mail in reversed(mails_in(outbox)):
        found = re.search(r"token=([\w-]+)", mail.get_content())
        if mail["To"] == to and found:
            return found.group(1)
    raise AssertionError(f"no link was mailed to {to}")


@dataclass
class Accounts:
    """The identity use cases under the names `Services` gives them, on the test's clock."""

    accounts: AccountDirectory
    signup: SignUp
    email_verification: EmailVerification
    login: Login
    sessions: Sessions
    step_up: StepUp
    mfa_enrolment: MfaEnrolment
    password_reset: PasswordReset
    password_change: PasswordChange
    platform_staff: PlatformStaff
    authorisation: Authorisation
    members: MemberService
    clock: SetClock
    outbox: Path

    def mails(self) -> list[email.message.EmailMessage]:
        return mails_in(self.outbox)

    def link_token(self, to: str) -> str:
        return mailed_token(self.outbox, to)

    def code(self, seed: str) -> str:
        return pyotp.TOTP(seed).at(self.clock.now)

    async def verified(self, address: str | None = None) -> str:
        """A signed-up account with its e-mail confirmed; returns its address."""
        address = address or f"owner-{secrets.token_hex(4)}@example.com"
        await self.signup.sign_up(address, PASSWORD, "Acme Bank", source_ip="198.51.100.7")
        await self.email_verification.verify(self.link_token(address), source_ip="198.51.100.7")
        return address

    async def enrolled(self, address: str | None = None) -> Enrolled:
        """An account through its first login and TOTP enrolment, with an ACTIVE session."""
        address = await self.verified(address)
        first = await self.login.log_in(address, PASSWORD, source_ip="198.51.100.7")
        enrolment = await self.mfa_enrolment.begin(first.token)
        session, codes = await self.mfa_enrolment.confirm(
            first.token, self.code(enrolment.seed), source_ip="198.51.100.7"
        )
        self.clock.next_step()
        return Enrolled(address, enrolment.seed, session, codes)


@dataclass
class Enrolled:
    email: str
    seed: str
    session: IssuedSession
    recovery_codes: list[str]


def accounts_on(
    services: Services,
    tmp_path: Path,
    rules: dict[str, str] | None = None,
    *,
    mailer: Mailer | None = None,
) -> Accounts:
    """Accounts and members on `services`, mailing into an outbox folder unless `mailer` is
    given."""
    clock = SetClock()
    outbox = tmp_path / "test-outbox"
    # The cheapest Argon2id the library allows: these tests are about the flow, not cost.
    passwords = Passwords(time_cost=1, memory_kib=8 * 1024, parallelism=1)
    mailer = mailer or OutboxMailer(outbox, "Parlour <no-reply@localhost>")
    limits = RateLimits(rules or RULES)
    identity = account_services(
        services.db,
        services.vault,
        services.audit,
        services.tenants,
        passwords,
        mailer,
        limits,
        SessionPolicy(
            idle=timedelta(minutes=30),
            absolute=timedelta(hours=12),
            reauthentication=timedelta(minutes=10),
            email_token=timedelta(hours=24),
        ),
        public_url="http://127.0.0.1:8000",
        clock=clock,
    )
    members = MemberService(
        services.db,
        services.vault,
        services.audit,
        services.tenants,
        passwords,
        mailer,
        limits,
        public_url="http://127.0.0.1:8000",
        clock=clock,
    )
    return Accounts(
        **{f.name: getattr(identity, f.name) for f in fields(identity)},
        authorisation=services.authorisation,
        members=members,
        clock=clock,
        outbox=outbox,
    )


class Browser:
    """What a browser does with the session cookie, by hand: it is Secure, and these servers
    are plain http on loopback, where httpx would rightly not send it back."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.cookie: str | None = None
        self.csrf: str | None = None

    async def send(
        self, method: str, path: str, body: object | None = None, *, csrf: bool = True
    ) -> httpx.Response:
        headers = {}
        if self.cookie:
            headers["cookie"] = f"{COOKIE}={self.cookie}"
        if csrf and self.csrf:
            headers["x-csrf-token"] = self.csrf
        answer = await self.client.request(
            method, path, json=body if body is not None else None, headers=headers
        )
        if "set-cookie" in answer.headers:
            jar: SimpleCookie = SimpleCookie(answer.headers["set-cookie"])
            self.cookie = jar[COOKIE].value or None
        if answer.is_success and "csrf_token" in answer.text:
            self.csrf = answer.json()["csrf_token"]
        return answer


async def with_current_code(
    seed: str, submit: Callable[[str], Awaitable[T]], *, accepted: Callable[[T], bool]
) -> T:
    """Submit the code of the TOTP step now running, to a server on the real clock. A code
    lives only for its own 30-second step (T-38), so one read in a step's last instant is
    refused if the server reads its clock a moment later; then, and only then, the new step's
    code is submitted once."""
    totp = pyotp.TOTP(seed)
    read_at = datetime.now(UTC)
    answer = await submit(totp.at(read_at))
    if not accepted(answer) and totp.timecode(datetime.now(UTC)) != totp.timecode(read_at):
        answer = await submit(totp.now())
    return answer


async def signed_up_and_enrolled(stack: Stack, browser: Browser) -> tuple[str, list[str]]:
    email = f"web-{secrets.token_hex(4)}@example.com"
    body = {"email": email, "password": PASSWORD, "organisation": "Acme Bank"}
    assert (await browser.send("POST", "/v1/accounts", body)).status_code == 202
    token = mailed_token(stack.services.settings.data_dir / "outbox", email)
    answer = await browser.send("POST", "/v1/accounts/verify-email", {"token": token})
    assert answer.status_code == 204
    answer = await browser.send("POST", "/v1/session", {"email": email, "password": PASSWORD})
    assert answer.json()["stage"] == "mfa_enrolment"
    seed = (await browser.send("POST", "/v1/session/enrolment")).json()["seed"]
    answer = await with_current_code(
        seed,
        lambda code: browser.send("POST", "/v1/session/enrolment/confirm", {"code": code}),
        accepted=lambda answer: answer.status_code == 200,
    )
    assert answer.status_code == 200, (answer.status_code, answer.text)
    assert answer.json()["stage"] == "active", answer.text
    return email, answer.json()["recovery_codes"]


async def authenticated_minutes_ago(services: Services, minutes: float) -> None:
    """Make every session's last password-and-code `minutes` old (step-up tests)."""
    async with services.db.transaction() as conn:
        await conn.execute(
            update(account_sessions).values(authenticated_at=utcnow() - timedelta(minutes=minutes))
        )


# A documentation address (RFC 5737) as the client's.
IP = "198.51.100.7"


def fresh_email() -> str:
    return f"someone-{secrets.token_hex(4)}@example.com"
