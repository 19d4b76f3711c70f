"""Teams, presence and auto-assignment over HTTP: an owner makes a team and fills it, an agent
puts a conversation in it and reads the team's queue, members set their presence, the owner
switches auto-assignment on; another organisation's people are not found (T-98)."""

from __future__ import annotations

import httpx

from parlour.identity.models import Role
from tests.chat.test_lifecycle import member
from tests.conftest import Stack
from tests.support.accounts import Browser, signed_up_and_enrolled
from tests.support.seed import ACTOR
from tests.web.test_errors import assert_error_shape


async def test_an_owner_makes_a_team_whose_queue_an_agent_works_over_the_api(
    stack: Stack,
) -> None:
    """T-98: a team takes members of its own organisation only, over the API too."""
    services = stack.services
    async with httpx.AsyncClient(base_url=stack.url) as client:
        owner = Browser(client)
        email, _ = await signed_up_and_enrolled(stack, owner)
        account = await services.accounts.by_email(email)
        assert account is not None
        (membership,) = await services.authorisation.memberships(account.account_id)
        org = membership.tenant_id
        base = f"/v1/organisations/{org}"
        agent = await member(services, org)
        other = await services.tenants.create("Other Bank", actor=ACTOR)
        theirs = await member(services, other.tenant_id)
        analyst = await member(services, org, Role.ANALYST)

        made = await owner.send("POST", f"{base}/teams", {"name": "Billing"})
        assert made.status_code == 201, made.text
        team = made.json()["team_id"]
        assert_error_shape(
            await owner.send("POST", f"{base}/teams", {"name": "Billing"}), 409, "conflict"
        )
        assert_error_shape(
            await owner.send("POST", f"{base}/teams", {"name": ""}), 422, "invalid_input"
        )
        for outsider in (theirs.id, "no-such-account"):
            refused = await owner.send("PUT", f"{base}/teams/{team}/members/{outsider}")
            assert_error_shape(refused, 404, "not_found")
        refused = await owner.send("PUT", f"{base}/teams/{team}/members/{analyst.id}")
        assert_error_shape(refused, 422, "invalid_input")
        added = await owner.send("PUT", f"{base}/teams/{team}/members/{agent.id}")
        assert added.json()["members"] == [agent.id]

        waiting = (await services.chat.open_conversation(org, "customer-1")).conversation_id
        other_one = (await services.chat.open_conversation(org, "customer-2")).conversation_id
        for conversation_id in (waiting, other_one):
            await services.chat.request_handoff(org, conversation_id)
        placed = await owner.send("PUT", f"{base}/conversations/{waiting}/team/{team}")
        assert placed.json()["team_id"] == team
        queue = (await owner.send("GET", f"{base}/teams/{team}/conversations")).json()
        assert [c["conversation_id"] for c in queue] == [waiting]
        listed = await owner.send("GET", f"{base}/conversations?team_id={team}")
        assert [c["conversation_id"] for c in listed.json()] == [waiting]
        everyone = (await owner.send("GET", f"{base}/conversations")).json()
        assert {c["conversation_id"] for c in everyone} == {waiting, other_one}

        chosen = await owner.send("PUT", f"{base}/presence/me", {"presence": "away"})
        assert chosen.json() == {"account_id": account.account_id, "presence": "offline"}
        assert_error_shape(
            await owner.send("PUT", f"{base}/presence/me", {"presence": "offline"}),
            422,
            "invalid_input",
        )
        presence = {
            p["account_id"]: p["presence"]
            for p in (await owner.send("GET", f"{base}/presence")).json()
        }
        assert set(presence) == {account.account_id, agent.id, analyst.id}

        switched = await owner.send(
            "PUT", f"{base}/auto-assignment", {"enabled": True, "default_capacity": 4}
        )
        assert switched.json()["enabled"] is True
        capacity = await owner.send(
            "PUT", f"{base}/auto-assignment/capacities/{agent.id}", {"capacity": 2}
        )
        assert capacity.json()["capacities"][agent.id] == 2
        refused = await owner.send(
            "PUT", f"{base}/auto-assignment/capacities/{theirs.id}", {"capacity": 2}
        )
        assert_error_shape(refused, 404, "not_found")

        assert (await owner.send("DELETE", f"{base}/teams/{team}")).status_code == 204
        after = (await owner.send("GET", f"{base}/conversations/{waiting}")).json()
        assert after["team_id"] is None
    recent = await services.audit.recent(org, limit=20)
    assert {e["action"] for e in recent} >= {
        "team.created",
        "team.member_added",
        "conversation.team_set",
        "desk.auto_assignment_set",
        "desk.member_capacity_set",
        "team.deleted",
    }
    assert {e["actor"]["id"] for e in recent if e["action"].startswith("team.")} == {  # type: ignore[index]
        account.account_id
    }
