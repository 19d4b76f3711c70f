"""People over HTTP: an owner invites by e-mail; a newcomer makes an account from the mailed
link and still enrols a second factor; someone with an account finds the invitation after
logging in; owners are protected from admins."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pyotp
import pytest

from tests.conftest import Stack
from tests.support.accounts import PASSWORD, Browser, mailed_token, signed_up_and_enrolled
from tests.web.test_errors import assert_error_shape


@dataclass
class Team:
    owner: Browser
    org: str
    client: httpx.AsyncClient

    def path(self, rest: str) -> str:
        return f"/v1/organisations/{self.org}/{rest}"


@pytest.fixture
async def team(stack: Stack) -> AsyncIterator[Team]:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        owner = Browser(client)
        await signed_up_and_enrolled(stack, owner)
        (organisation,) = (await owner.send("GET", "/v1/organisations")).json()
        yield Team(owner, organisation["tenant_id"], client)


async def test_a_newcomer_joins_from_the_mailed_link_and_enrols_a_second_factor(
    team: Team, stack: Stack
) -> None:
    newcomer = f"new-{secrets.token_hex(4)}@example.com"
    invited = await team.owner.send(
        "POST", team.path("invitations"), {"email": newcomer, "role": "analyst"}
    )
    assert invited.status_code == 201
    token = mailed_token(stack.services.settings.data_dir / "outbox", newcomer)

    them = Browser(team.client)
    looked = await them.send("POST", "/v1/invitations/lookup", {"token": token})
    assert looked.json() == {
        "organisation": "Acme Bank",
        "email": newcomer,
        "role": "analyst",
        "has_account": False,
    }
    made = await them.send("POST", "/v1/accounts/invited", {"token": token, "password": PASSWORD})
    assert made.status_code == 204
    logged_in = await them.send("POST", "/v1/session", {"email": newcomer, "password": PASSWORD})
    assert logged_in.json()["stage"] == "mfa_enrolment"
    seed = (await them.send("POST", "/v1/session/enrolment")).json()["seed"]
    code = pyotp.TOTP(seed).now()
    await them.send("POST", "/v1/session/enrolment/confirm", {"code": code})
    assert (await them.send("GET", "/v1/organisations")).json() == [
        {"tenant_id": team.org, "name": "Acme Bank", "role": "analyst"}
    ]
    again = await them.send("POST", "/v1/invitations/lookup", {"token": token})
    assert_error_shape(again, 422, "invitation_invalid")


async def test_someone_with_an_account_finds_the_invitation_after_logging_in(
    team: Team, stack: Stack
) -> None:
    colleague = Browser(team.client)
    email, _codes = await signed_up_and_enrolled(stack, colleague)
    await team.owner.send("POST", team.path("invitations"), {"email": email, "role": "admin"})

    (waiting,) = (await colleague.send("GET", "/v1/invitations")).json()
    assert (waiting["organisation"], waiting["role"]) == ("Acme Bank", "admin")
    accepted = await colleague.send("POST", f"/v1/invitations/{waiting['invitation_id']}/accept")
    assert accepted.json() == {"tenant_id": team.org, "role": "admin"}
    members = (await team.owner.send("GET", team.path("members"))).json()
    assert {m["email"]: m["role"] for m in members}[email] == "admin"

    # An admin cannot touch the owner, and the last owner cannot step down.
    owner_id = next(m["account_id"] for m in members if m["role"] == "owner")
    refused = await colleague.send("DELETE", team.path(f"members/{owner_id}"))
    assert_error_shape(refused, 403, "not_permitted")
    demoted = await team.owner.send("PATCH", team.path(f"members/{owner_id}"), {"role": "admin"})
    assert_error_shape(demoted, 409, "last_owner")


async def test_an_invitation_with_a_role_that_does_not_exist_is_refused(team: Team) -> None:
    answer = await team.owner.send(
        "POST", team.path("invitations"), {"email": "x@example.com", "role": "superadmin"}
    )
    assert_error_shape(answer, 422, "invalid_input")
