"""The Teams page and the desk's team and presence controls, as server-rendered forms: an admin
makes a team, fills it and switches auto-assignment on; an agent puts a conversation in a team,
filters the inbox by team and sets their presence. No script on any of them (T-53), and forms
from another site are refused (T-55)."""

from __future__ import annotations

import html
import re

import httpx

from parlour.chat.presence import PresenceState
from parlour.identity.models import Role
from tests.chat.test_lifecycle import member
from tests.conftest import Stack
from tests.web.dashboard.test_pages import Pages, csrf_of, enrolled


async def test_an_admin_makes_a_team_and_an_agent_works_its_queue_from_the_pages(
    stack: Stack,
) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages = Pages(client, stack.url)
        email, _codes = await enrolled(stack, pages)
        overview = await pages.get((await pages.get("/dashboard")).headers["location"])
        org = re.search(r'href="/dashboard/o/([^"/]+)/origins"', overview.text)[1]  # type: ignore[index]
        services = stack.services
        bo = await member(services, org)
        await member(services, org, Role.ANALYST)

        teams = await pages.get(f"/dashboard/o/{org}/teams")
        assert teams.status_code == 200
        assert 'id="no-teams"' in teams.text
        assert "<script" not in teams.text
        assert "default-src 'none'" in teams.headers["content-security-policy"]
        csrf = csrf_of(teams)
        forged = await pages.post(
            f"/dashboard/o/{org}/teams/create",
            {"name": "Forged", "csrf_token": csrf},
            origin="https://evil.example",
        )
        assert forged.status_code == 403
        made = await pages.post(
            f"/dashboard/o/{org}/teams/create", {"name": "Billing", "csrf_token": csrf}
        )
        assert made.status_code == 303
        (team,) = await services.teams.teams(org)
        assert team.name == "Billing"
        # Only people who handle conversations are offered; the analyst is not.
        page = await pages.get(f"/dashboard/o/{org}/teams")
        offered = re.search(r'<select id="add-1" name="account_id">(.*?)</select>', page.text, re.S)
        assert offered is not None
        assert bo.id in offered[1]
        assert len(re.findall("<option", offered[1])) == 2  # the owner and the agent
        await pages.post(
            f"/dashboard/o/{org}/teams/{team.team_id}/add",
            {"account_id": bo.id, "csrf_token": csrf},
        )
        duplicate = await pages.post(
            f"/dashboard/o/{org}/teams/create", {"name": "Billing", "csrf_token": csrf}
        )
        assert 'id="error"' in duplicate.text
        assert "has that name already" in duplicate.text
        await pages.post(
            f"/dashboard/o/{org}/teams/auto-assignment",
            {"enabled": "on", "default_capacity": "2", "csrf_token": csrf},
        )
        await pages.post(
            f"/dashboard/o/{org}/capacities/{bo.id}", {"capacity": "1", "csrf_token": csrf}
        )
        assert (await services.teams.get(org, team.team_id)).members == (bo.id,)
        settings = await services.auto_assignment.settings(org)
        assert (settings.auto_assign, settings.default_capacity) == (True, 2)
        assert (await services.auto_assignment.capacities(org))[bo.id] == 1

        # The owner, as an agent: a conversation into the team, the inbox by team, presence.
        ours = (await services.chat.open_conversation(org, "customer-1")).conversation_id
        theirs = (await services.chat.open_conversation(org, "customer-2")).conversation_id
        for conversation_id in (ours, theirs):
            await services.chat.request_handoff(org, conversation_id)
        await pages.post(
            f"/dashboard/o/{org}/inbox/{ours}/team",
            {"team_id": team.team_id, "csrf_token": csrf},
        )
        shown = await pages.get(f"/dashboard/o/{org}/inbox/{ours}")
        assert f'<option value="{team.team_id}" selected>Billing</option>' in shown.text
        filtered = await pages.get(f"/dashboard/o/{org}/inbox?team={team.team_id}")
        assert "customer-1" in filtered.text
        assert "customer-2" not in filtered.text
        everything = await pages.get(f"/dashboard/o/{org}/inbox")
        assert "customer-1" in everything.text
        assert "customer-2" in everything.text

        await pages.post(f"/dashboard/o/{org}/presence", {"presence": "away", "csrf_token": csrf})
        inbox = await pages.get(f"/dashboard/o/{org}/inbox")
        assert "You are offline" in html.unescape(inbox.text)  # no live socket yet
        account = await services.accounts.by_email(email)
        assert account is not None
        # The choice is kept in the database; with a live socket (here, on this side's own
        # embedded presence) the member is what they chose.
        await services.presence.connected(org, account.account_id)
        assert (await services.presence.of(org))[account.account_id] is PresenceState.AWAY
