"""People over HTTP: an owner invites by e-mail; a newcomer makes an account from the mailed
link and still enrols a second factor; someone with an account finds the invitation after
logging in; owners are protected from admins."""

from __future__ import annotations

import secrets

from tests.conftest import Stack
from tests.support.accounts import (
    PASSWORD,
    Browser,
    mailed_token,
    signed_up_and_enrolled,
    with_current_code,
)
from tests.web.api.conftest import Owner
from tests.web.test_errors import assert_error_shape


async def test_a_newcomer_joins_from_the_mailed_link_and_enrols_a_second_factor(
    owner: Owner, stack: Stack
) -> None:
    newcomer = f"new-{secrets.token_hex(4)}@example.com"
    invited = await owner.browser.send(
        "POST", owner.path("invitations"), {"email": newcomer, "role": "analyst"}
    )
    assert invited.status_code == 201
    token = mailed_token(stack.services.settings.data_dir / "outbox", newcomer)

    them = Browser(owner.client)
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
    confirmed = await with_current_code(
        seed,
        lambda code: them.send("POST", "/v1/session/enrolment/confirm", {"code": code}),
        accepted=lambda answer: answer.status_code == 200,
    )
    assert confirmed.status_code == 200, confirmed.text
    assert (await them.send("GET", "/v1/organisations")).json() == [
        {"tenant_id": owner.org, "name": "Acme Bank", "role": "analyst"}
    ]
    again = await them.send("POST", "/v1/invitations/lookup", {"token": token})
    assert_error_shape(again, 422, "invitation_invalid")


async def test_someone_with_an_account_finds_the_invitation_after_logging_in(
    owner: Owner, stack: Stack
) -> None:
    colleague = Browser(owner.client)
    email, _codes = await signed_up_and_enrolled(stack, colleague)
    await owner.browser.send("POST", owner.path("invitations"), {"email": email, "role": "admin"})

    (waiting,) = (await colleague.send("GET", "/v1/invitations")).json()
    assert (waiting["organisation"], waiting["role"]) == ("Acme Bank", "admin")
    accepted = await colleague.send("POST", f"/v1/invitations/{waiting['invitation_id']}/accept")
    assert accepted.json() == {"tenant_id": owner.org, "role": "admin"}
    members = (await owner.browser.send("GET", owner.path("members"))).json()
    assert {m["email"]: m["role"] for m in members}[email] == "admin"

    # An admin cannot touch the owner, and the last owner cannot step down.
    owner_id = next(m["account_id"] for m in members if m["role"] == "owner")
    refused = await colleague.send("DELETE", owner.path(f"members/{owner_id}"))
    assert_error_shape(refused, 403, "not_permitted")
    demoted = await owner.browser.send(
        "PATCH", owner.path(f"members/{owner_id}"), {"role": "admin"}
    )
    assert_error_shape(demoted, 409, "last_owner")


async def test_an_invitation_with_a_role_that_does_not_exist_is_refused(owner: Owner) -> None:
    answer = await owner.browser.send(
        "POST", owner.path("invitations"), {"email": "x@example.com", "role": "superadmin"}
    )
    assert_error_shape(answer, 422, "invalid_input")
