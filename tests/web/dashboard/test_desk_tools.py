"""The agents' tools on the dashboard, over real HTTP: private notes among a conversation's
messages and their form (T-99), canned replies offered in the reply box and expanded by the
server from exactly `/shortcut` when no script runs, and the canned replies page, where admins
manage them and agents read them."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from parlour.identity.models import Role
from tests.conftest import Stack
from tests.support import seed
from tests.support.accounts import Browser, signed_up_and_enrolled
from tests.web.dashboard.test_pages import Pages

REFUND = "Refunds reach your account within 5 working days."


@dataclass
class Team:
    org: seed.Organisation
    admin: Pages
    agent: Pages
    csrf: dict[str, str]  # each one's session CSRF token, by role

    def path(self, rest: str) -> str:
        return f"/dashboard/o/{self.org.tenant_id}{rest}"


async def _signed_in(
    stack: Stack, client: httpx.AsyncClient, org: str, role: Role
) -> tuple[Pages, str]:
    """A member with `role` signed in, on the pages; and their session's CSRF token."""
    browser = Browser(client)
    email, _ = await signed_up_and_enrolled(stack, browser)
    await stack.services.members.add(org, email, role, actor=seed.ACTOR)
    pages = Pages(client, stack.url)
    pages.cookie = browser.cookie
    assert browser.csrf is not None
    return pages, browser.csrf


@pytest.fixture
async def team(stack: Stack) -> AsyncIterator[Team]:
    org = await seed.organisation(stack.services)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        admin, admin_csrf = await _signed_in(stack, client, org.tenant_id, Role.ADMIN)
        agent, agent_csrf = await _signed_in(stack, client, org.tenant_id, Role.AGENT)
        yield Team(org, admin, agent, {"admin": admin_csrf, "agent": agent_csrf})


async def test_a_note_shows_among_the_messages_by_time_and_apart_from_them(
    team: Team, stack: Stack
) -> None:
    """T-99: the page shows the note between the messages around it, marked as private, and a
    refused note comes back with its error and its text."""
    conversation_id = await seed.with_a_person(stack.services, team.org)
    page = team.path(f"/inbox/{conversation_id}")
    sent = await team.agent.post(page, {"csrf_token": team.csrf["agent"], "text": "Hello."})
    assert sent.status_code == 303
    noted = await team.agent.post(
        f"{page}/notes", {"csrf_token": team.csrf["agent"], "text": "Asked twice <b>already</b>."}
    )
    assert (noted.status_code, noted.headers["location"]) == (303, f"{page}#note-form")
    await team.agent.post(page, {"csrf_token": team.csrf["agent"], "text": "Anything else?"})

    shown = (await team.agent.get(page)).text
    items = re.findall(r'<li class="([\w-]+)"[^>]*>(.*?)</li>', shown, re.S)
    texts = [(kind, re.sub(r"<[^>]+>", " ", body)) for kind, body in items]
    kinds = [kind for kind, _ in texts]
    assert kinds[-3:] == ["agent", "private-note", "agent"]
    assert "Private note by you" in " ".join(texts[-2][1].split())
    assert "Asked twice &lt;b&gt;already&lt;/b&gt;." in shown  # text, never markup

    refused = await team.agent.post(
        f"{page}/notes", {"csrf_token": team.csrf["agent"], "text": "bell\x07"}
    )
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    assert "bell\x07</textarea>" in html.unescape(refused.text)
    other = await team.agent.post(
        team.path("/inbox/no-such-conversation/notes"),
        {"csrf_token": team.csrf["agent"], "text": "Lost."},
    )
    assert other.status_code == 404


async def test_without_script_a_reply_of_exactly_a_shortcut_sends_the_canned_reply(
    team: Team, stack: Stack
) -> None:
    await stack.services.canned_replies.create(
        team.org.tenant_id, "refund-policy", REFUND, actor=seed.ACTOR
    )
    conversation_id = await seed.with_a_person(stack.services, team.org)
    page = team.path(f"/inbox/{conversation_id}")
    shown = (await team.agent.get(page)).text
    assert '<script src="/dashboard/static/canned.js" defer></script>' in shown
    assert 'data-shortcut="refund-policy"' in shown

    sent = await team.agent.post(page, {"csrf_token": team.csrf["agent"], "text": "/refund-policy"})
    assert sent.status_code == 303
    unknown = await team.agent.post(page, {"csrf_token": team.csrf["agent"], "text": "/refund"})
    assert unknown.status_code == 422
    assert "There is no canned reply /refund." in unknown.text
    assert ">/refund</textarea>" in unknown.text
    history = await stack.services.chat.history(
        team.org.tenant_id, conversation_id, after_seq=0, limit=20
    )
    assert [m.body for m in history if m.author.value == "agent"] == [REFUND]


async def test_the_pages_script_is_served_from_the_dashboard_under_its_csp(team: Team) -> None:
    """T-53: the only script is a file of the dashboard's own; the page allows no other."""
    script = await team.agent.get("/dashboard/static/canned.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "textContent" in script.text
    assert "innerHTML" not in script.text
    page = await team.agent.get(team.path("/canned-replies"))
    assert "script-src 'self';" in page.headers["content-security-policy"]


async def test_admins_manage_canned_replies_and_agents_read_them(team: Team, stack: Stack) -> None:
    here = team.path("/canned-replies")
    token = team.csrf["admin"]
    made = await team.admin.post(here, {"csrf_token": token, "shortcut": "hours", "body": "9-5."})
    assert (made.status_code, made.headers["location"]) == (303, here)
    again = await team.admin.post(here, {"csrf_token": token, "shortcut": "hours", "body": "x"})
    assert again.status_code == 409
    assert "A canned reply is already called /hours." in again.text
    bad = await team.admin.post(
        here, {"csrf_token": token, "shortcut": "Opening Hours", "body": "x"}
    )
    assert bad.status_code == 422
    assert 'value="Opening Hours"' in bad.text

    [reply] = await stack.services.canned_replies.all(team.org.tenant_id)
    changed = await team.admin.post(
        f"{here}/{reply.reply_id}",
        {"csrf_token": token, "shortcut": "opening-hours", "body": "9 to 5."},
    )
    assert changed.status_code == 303
    listed = await team.agent.get(here)
    assert "<code>/opening-hours</code>" in listed.text
    assert 'id="add-reply"' not in listed.text
    assert "Remove /opening-hours" not in listed.text

    refused = await team.agent.post(
        here, {"csrf_token": team.csrf["agent"], "shortcut": "mine", "body": "x"}
    )
    assert refused.status_code == 403
    gone = await team.admin.post(f"{here}/{reply.reply_id}/remove", {"csrf_token": token})
    assert gone.status_code == 303
    assert await stack.services.canned_replies.all(team.org.tenant_id) == []
    audited = [e["action"] for e in await stack.services.audit.recent(team.org.tenant_id, limit=3)]
    assert audited == ["canned_reply.removed", "canned_reply.changed", "canned_reply.created"]
