"""Reports over HTTP: JSON and CSV for those who may view analytics, refusals in the one error
shape, and T-103 (an organisation's reports hold nothing of another's) on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from parlour.assistant.tools import Subject
from parlour.audit.events import Actor, ActorType
from parlour.identity.models import Role
from parlour.keys.models import Scope
from tests.conftest import Stack, migrated_services, running_stack
from tests.support import canaries, seed
from tests.support.accounts import Browser, signed_up_and_enrolled
from tests.web.test_errors import assert_error_shape

B_QUESTION = "Where does the Bee Bank keep its honey?"
B_FAQ = f'question,answer\n"{B_QUESTION}","In the hive, behind the vault."\n'.encode()
B_AGENT = "account-of-bee-agent-zed"
A_TEAM, B_TEAM = "Ant Desk", "Bee Hive Desk"
NAMES = ("conversations", "people", "assistant")


@pytest.fixture
async def stack(database_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, database_url) as running:
        yield running


@dataclass
class Two:
    """Organisation A (its owner signed in, a key that reads reports) and B, each with a
    conversation a person answered and one the assistant answered."""

    a: str
    b: str
    owner: Browser
    owner_email: str
    key: str
    client: httpx.AsyncClient
    dates: str

    def path(self, rest: str, org: str | None = None) -> str:
        return f"/v1/organisations/{org or self.a}/reports/{rest}{self.dates}"


async def _activity(
    stack: Stack, tenant_id: str, agent_id: str, question: str, team_name: str, thumbs: str
) -> None:
    services = stack.services
    handed = await services.chat.open_conversation(tenant_id, "customer-handed")
    team = await services.teams.create(tenant_id, team_name, actor=seed.ACTOR)
    await services.teams.place(tenant_id, handed.conversation_id, team.team_id, actor=seed.ACTOR)
    await services.chat.request_handoff(tenant_id, handed.conversation_id)
    agent = Actor(ActorType.ACCOUNT, agent_id)
    await services.desk.reply(tenant_id, handed.conversation_id, "Hello", actor=agent)
    asked = await services.chat.open_conversation(tenant_id, "customer-asking")
    posted = await services.chat.post_user_message(
        tenant_id, asked.conversation_id, client_id="c1", text=question
    )
    answer = await services.assistant.answer(
        posted.message, Subject(tenant_id, "customer-asking", {})
    )
    assert answer is not None
    await services.assistant.feedback.give(
        tenant_id, asked.conversation_id, answer.message_id, thumbs
    )


@pytest.fixture
async def two(stack: Stack) -> AsyncIterator[Two]:
    services = stack.services
    async with httpx.AsyncClient(base_url=stack.url) as client:
        owner = Browser(client)
        email, _ = await signed_up_and_enrolled(stack, owner)
        (organisation,) = (await owner.send("GET", "/v1/organisations")).json()
        a = organisation["tenant_id"]
        await services.knowledge.import_faq_csv(a, seed.SAMPLE_FAQ, actor=seed.ACTOR)
        (me,) = await services.members.members(a)
        await _activity(stack, a, me.account_id, "What are your opening hours?", A_TEAM, "up")
        b = (await seed.organisation(services, name="Bee Bank", faq=B_FAQ)).tenant_id
        await _activity(stack, b, B_AGENT, B_QUESTION, B_TEAM, "down")
        await services.tally.flush()  # these services are another process's, as it were
        issued = await services.api_keys.create(
            a, label="reports", scopes=[Scope.READ_REPORTS], actor=seed.ACTOR
        )
        today = services.clock().date()
        dates = f"?from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"
        key = canaries.register(issued.secret)
        yield Two(a, b, owner, email, key, client, dates)


def _nothing_of_b(body: str, two: Two) -> None:
    for trace in (two.b, B_AGENT, B_QUESTION, "Bee Bank", B_TEAM):
        assert trace not in body


async def test_an_organisations_reports_and_exports_hold_nothing_of_another(
    two: Two, stack: Stack
) -> None:
    """T-103: A's reports and CSV exports, read with A's session and with A's key, contain
    none of B's agents, teams, questions or counts; B's reports refuse A's session and key; each
    export is audited in A's chain only."""
    bearer = {"authorization": f"Bearer {two.key}"}
    for name in NAMES:
        for answer in (
            await two.owner.send("GET", two.path(name)),
            await two.client.get(f"/v1/reports/{name}{two.dates}", headers=bearer),
        ):
            assert answer.status_code == 200, answer.text
            _nothing_of_b(answer.text, two)
        for answer in (
            await two.owner.send("GET", two.path(f"{name}.csv")),
            await two.client.get(f"/v1/reports/{name}.csv{two.dates}", headers=bearer),
        ):
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"].startswith("text/csv")
            assert answer.headers["content-disposition"].startswith("attachment;")
            _nothing_of_b(answer.text, two)
        assert_error_shape(await two.owner.send("GET", two.path(name, org=two.b)), 404, "not_found")

    conversations = (await two.owner.send("GET", two.path("conversations"))).json()
    assert conversations["started"] == 2  # A's two, not B's
    assert conversations["outcomes"] == {
        "resolved_by_assistant": 1,
        "handed_to_person": 1,
        "abandoned": 0,
    }
    people = (await two.owner.send("GET", two.path("people"))).json()
    (agent,) = people["by_agent"]
    assert agent["name"] == two.owner_email
    (team,) = people["by_team"]  # A's team, not B's
    assert (team["name"], team["times"]["conversations"]) == (A_TEAM, 1)
    assistant = (await two.owner.send("GET", two.path("assistant"))).json()
    assert [p["question"] for p in assistant["most_cited"]] == ["What are your opening hours?"]
    # A's thumbs up only: B's thumbs down (and its passage's) never count in A's report.
    (cited,) = assistant["most_cited"]
    assert (cited["thumbs_up"], cited["thumbs_down"]) == (1, 0)
    thumbs = assistant["thumbs"]
    assert (thumbs["up"], thumbs["down"], thumbs["up_rate"]) == (1, 0, 1.0)
    assert sum(d["down"] for d in thumbs["by_day"]) == 0
    csv = (await two.owner.send("GET", two.path("assistant.csv"))).text
    assert "thumbs,up,,1" in csv
    assert "thumbs,down,,0" in csv

    exported = await stack.services.audit.recent(two.a, limit=10, action_prefix="report.")
    assert len(exported) == 7  # six above, and the thumbs' CSV
    assert {e["actor"]["type"] for e in exported} == {"account", "api_key"}
    assert await stack.services.audit.recent(two.b, limit=10, action_prefix="report.") == []


async def test_an_agent_is_refused_the_reports(two: Two, stack: Stack) -> None:
    """T-103: agents handle conversations; reports are for analysts, admins and owners."""
    agent = Browser(two.client)
    email, _ = await signed_up_and_enrolled(stack, agent)
    await stack.services.members.add(two.a, email, Role.AGENT, actor=seed.ACTOR)

    assert_error_shape(await agent.send("GET", two.path("people")), 403, "not_permitted")
    assert_error_shape(await agent.send("GET", two.path("people.csv")), 403, "not_permitted")


async def test_a_key_without_the_reports_scope_is_refused(two: Two, stack: Stack) -> None:
    issued = await stack.services.api_keys.create(
        two.a, label="tokens", scopes=[Scope.MINT_END_USER_TOKENS], actor=seed.ACTOR
    )
    bearer = {"authorization": f"Bearer {canaries.register(issued.secret)}"}

    answer = await two.client.get(f"/v1/reports/people{two.dates}", headers=bearer)

    assert answer.status_code == 403


@pytest.mark.postgres
async def test_report_counts_scoped_to_one_organisation_show_none_of_anothers(
    tmp_path: Path, postgres_url: str
) -> None:
    """T-103: on PostgreSQL, row-level security keeps B's counts from a read scoped to A,
    even one that forgets the tenant filter."""
    async with migrated_services(tmp_path, postgres_url) as services:
        a = (await seed.organisation(services, name="Ant Bank")).tenant_id
        b = (await seed.organisation(services, name="Bee Bank", faq=B_FAQ)).tenant_id
        for tenant_id in (a, b):
            await services.chat.open_conversation(tenant_id, "customer")
        await services.tally.flush()

        async with services.db.read(a) as conn:
            seen = {r[0] for r in await conn.execute(text("SELECT tenant_id FROM report_counts"))}
        async with services.db.read(a, b) as conn:
            both = {r[0] for r in await conn.execute(text("SELECT tenant_id FROM report_counts"))}

    assert seen == {a}
    assert both == {a, b}


async def test_bad_periods_and_unknown_reports_are_refused_in_the_one_shape(two: Two) -> None:
    base = f"/v1/organisations/{two.a}/reports"
    for query in (
        "?from=2026-13-01&to=2026-12-31",
        "?from=yesterday&to=today",
        "?from=2026-03-02&to=2026-03-01",
        "?from=2025-01-01&to=2026-01-02",  # 367 days
        "?from=9999-12-31&to=9999-12-31",  # no instant after its last day
        "?from=0001-01-01&to=0001-01-01",
    ):
        assert_error_shape(
            await two.owner.send("GET", f"{base}/people{query}"), 422, "invalid_period"
        )
    assert_error_shape(await two.owner.send("GET", f"{base}/people"), 422, "invalid_input")
    assert_error_shape(
        await two.owner.send("GET", f"{base}/secrets{two.dates}"), 404, "unknown_report"
    )
    assert_error_shape(
        await two.owner.send("GET", f"{base}/secrets.csv{two.dates}"), 404, "unknown_report"
    )
    zone = {"time_zone": "Asia/Tokyo"}
    set_zone = await two.owner.send("PUT", f"/v1/organisations/{two.a}/time-zone", zone)
    assert set_zone.status_code < 300
    for rest in ("people", "assistant.csv", "security", "gaps"):
        # Its midnight in Tokyo is before the year 1 in UTC: refused, never a 500.
        assert_error_shape(
            await two.owner.send("GET", f"{base}/{rest}?from=0001-01-01&to=0001-01-01"),
            422,
            "invalid_period",
        )
    year = await two.owner.send("GET", f"{base}/people?from=2025-01-02&to=2026-01-02")
    assert year.status_code == 200  # 366 days


async def test_an_admin_sets_the_time_zone_reports_read_days_in(two: Two, stack: Stack) -> None:
    path = f"/v1/organisations/{two.a}/time-zone"
    answer = await two.owner.send("PUT", path, {"time_zone": "Asia/Kolkata"})
    assert answer.json() == {"time_zone": "Asia/Kolkata"}
    report = (await two.owner.send("GET", two.path("conversations"))).json()
    assert report["period"]["time_zone"] == "Asia/Kolkata"

    refused = await two.owner.send("PUT", path, {"time_zone": "Mars/Olympus_Mons"})
    assert_error_shape(refused, 422, "invalid_input")
