"""The Reports page over real HTTP: for analysts, administrators and owners only, over the last
30 days of the organisation's time zone unless a range is asked for, a bad range answered by the
error page, and each report downloaded as CSV, the export audited with the member who asked.
(The numbers on the page against a seed: tests/browser/test_reports.py.)"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from parlour.assistant.tools import Subject
from parlour.identity.models import Role
from tests.chat.test_lifecycle import member as lifecycle_member
from tests.conftest import Stack, running_stack
from tests.support import seed
from tests.support.clock import PinnableClock
from tests.support.seed import ACTOR
from tests.web.dashboard.test_pages import Pages, enrolled


@pytest.fixture
def clock() -> PinnableClock:
    return PinnableClock()


@pytest.fixture
async def stack(sqlite_url: str, tmp_path: Path, clock: PinnableClock) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, sqlite_url, clock=clock) as running:
        yield running


async def member(stack: Stack, client: httpx.AsyncClient, tenant_id: str, role: Role) -> Pages:
    """A person signed in on the dashboard (through sign-up and enrolment, with an organisation
    of their own) and a member of `tenant_id` with `role`."""
    pages = Pages(client, stack.url)
    email, _codes = await enrolled(stack, pages)
    await stack.services.members.add(tenant_id, email, role, actor=ACTOR)
    return pages


def reports_of(tenant_id: str, query: str = "") -> str:
    return f"/dashboard/o/{tenant_id}/reports{query}"


async def test_an_agent_is_refused_the_reports_and_their_downloads_and_is_not_shown_the_link(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        agent = await member(stack, client, org.tenant_id, Role.AGENT)
        page = await agent.get(reports_of(org.tenant_id))
        download = await agent.get(reports_of(org.tenant_id, "/conversations.csv"))
        overview = await agent.get(f"/dashboard/o/{org.tenant_id}")

    assert page.status_code == 403
    assert "Something is not right" in page.text
    assert download.status_code == 403
    assert "text/csv" not in download.headers["content-type"]
    assert overview.status_code == 200
    assert f'href="{reports_of(org.tenant_id)}"' not in overview.text
    assert await stack.services.audit.recent(org.tenant_id, action_prefix="report.") == []


@pytest.mark.parametrize("role", [Role.ANALYST, Role.ADMIN, Role.OWNER])
async def test_analysts_administrators_and_owners_open_the_reports_from_the_navigation(
    stack: Stack, role: Role
) -> None:
    org = await seed.organisation(stack.services)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        someone = await member(stack, client, org.tenant_id, role)
        overview = await someone.get(f"/dashboard/o/{org.tenant_id}")
        page = await someone.get(reports_of(org.tenant_id))

    assert f'href="{reports_of(org.tenant_id)}">Reports</a>' in overview.text
    assert page.status_code == 200
    assert "<h1>Reports</h1>" in page.text
    assert "<script" not in page.text
    assert "style=" not in page.text


async def test_the_page_shows_the_last_30_days_of_the_organisations_time_zone_by_default(
    stack: Stack, clock: PinnableClock
) -> None:
    """At 11:30 UTC on 1 March it is already 2 March in Kiritimati (UTC+14): the 30 days end
    there, today included. (The clock is pinned in the past of the session, which stays good.)"""
    org = await seed.organisation(stack.services)
    await stack.services.tenants.set_time_zone(org.tenant_id, "Pacific/Kiritimati", actor=ACTOR)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        analyst = await member(stack, client, org.tenant_id, Role.ANALYST)
        clock.pinned = datetime(2020, 3, 1, 11, 30, tzinfo=UTC)
        page = await analyst.get(reports_of(org.tenant_id))
        only_the_end = await analyst.get(reports_of(org.tenant_id, "?to=2020-01-15"))

    assert page.status_code == 200
    assert 'name="from" value="2020-02-02"' in page.text
    assert 'name="to" value="2020-03-02"' in page.text
    assert "30 days, 2020-02-02 to 2020-03-02 inclusive" in page.text
    assert "(Pacific/Kiritimati)" in page.text
    assert (
        f'href="/dashboard/o/{org.tenant_id}/reports/people.csv?from=2020-02-02&amp;to=2020-03-02"'
        in page.text
    )
    assert 'name="from" value="2019-12-17"' in only_the_end.text  # 30 days up to the end asked


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("?from=2026-11-31&to=2026-12-01", "YYYY-MM-DD"),
        ("?from=yesterday&to=2026-12-01", "YYYY-MM-DD"),
        ("?from=2026-11-01T00:00&to=2026-12-01", "YYYY-MM-DD"),
        ("?from=20261101&to=20261201", "YYYY-MM-DD"),
        ("?from=2026-12-02&to=2026-12-01", "ends before it starts"),
        ("?from=2024-01-01&to=2026-12-01", "at most 366 days"),
        ("?from=" + "9" * 5000 + "&to=2026-12-01", "YYYY-MM-DD"),
        ("?to=0001-01-05", "between the years"),  # no from: 30 days before the year 1
        ("?from=9999-12-31&to=9999-12-31", "between the years"),
    ],
)
async def test_a_bad_range_is_answered_by_the_error_page_saying_what_is_wrong(
    stack: Stack, query: str, said: str
) -> None:
    org = await seed.organisation(stack.services)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        analyst = await member(stack, client, org.tenant_id, Role.ANALYST)
        page = await analyst.get(reports_of(org.tenant_id, query))
        download = await analyst.get(reports_of(org.tenant_id, "/assistant.csv" + query))

    assert page.status_code == 422
    assert "Something is not right" in page.text
    assert said in page.text
    assert download.status_code == 422
    assert said in download.text
    assert await stack.services.audit.recent(org.tenant_id, action_prefix="report.") == []


async def test_a_report_downloads_as_a_csv_file_and_the_export_is_audited_with_who_asked(
    stack: Stack, clock: PinnableClock
) -> None:
    org = await seed.organisation(stack.services)
    clock.pinned = datetime(2020, 6, 10, 12, 0, tzinfo=UTC)
    await stack.services.chat.open_conversation(org.tenant_id, "customer-1")
    await stack.services.chat.open_conversation(org.tenant_id, "customer-2")
    await stack.services.tally.flush()  # the seeding process's counts, as its timer would
    clock.pinned = None
    start, end = "2020-06-09", "2020-06-10"
    async with httpx.AsyncClient(base_url=stack.url) as client:
        analyst = await member(stack, client, org.tenant_id, Role.ANALYST)
        page = await analyst.get(reports_of(org.tenant_id, f"?from={start}&to={end}"))
        link = f"/dashboard/o/{org.tenant_id}/reports/conversations.csv?from={start}&to={end}"
        assert f'href="{link.replace("&", "&amp;")}"' in page.text
        download = await analyst.get(link)
        unknown = await analyst.get(reports_of(org.tenant_id, "/secrets.csv"))

    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.headers["content-disposition"] == (
        f'attachment; filename="conversations-{start}-{end}.csv"'
    )
    assert download.headers["cache-control"] == "no-store"
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == ["figure", "key", "value"]
    assert ["started", end, "2"] in rows
    assert unknown.status_code == 404
    [exported] = await stack.services.audit.recent(org.tenant_id, action_prefix="report.")
    [analyst_member] = [
        m for m in await stack.services.members.members(org.tenant_id) if m.role is Role.ANALYST
    ]
    assert exported["action"] == "report.exported"
    assert exported["actor"] == {"type": "account", "id": analyst_member.account_id}
    assert exported["data"] == {
        "report": "conversations",
        "start": start,
        "end": end,
        "time_zone": "UTC",
    }


async def test_the_page_charts_customers_ratings_by_day_and_tables_them_by_agent(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services, faq=None)
    conversation = await stack.services.chat.open_conversation(org.tenant_id, "rated-customer")
    conversation_id = conversation.conversation_id
    async with httpx.AsyncClient(base_url=stack.url) as client:
        analyst = await member(stack, client, org.tenant_id, Role.ANALYST)
        agent = await lifecycle_member(stack.services, org.tenant_id)
        await stack.services.chat.request_handoff(org.tenant_id, conversation_id)
        await stack.services.desk.take(org.tenant_id, conversation_id, actor=agent)
        await stack.services.desk.resolve(org.tenant_id, conversation_id, actor=agent)
        await stack.services.ratings.rate(
            org.tenant_id, conversation_id, 4, "<b>only mine</b> CANARY8812"
        )
        page = await analyst.get(reports_of(org.tenant_id))
    assert page.status_code == 200
    assert 'id="ratings-by-day"' in page.text
    table = page.text[page.text.index('id="ratings-by-agent"') :]
    table = table[: table.index("</table>")]
    assert "4.00" in table
    assert "CANARY8812" not in page.text


async def test_the_page_tables_handling_times_by_team_by_name_and_no_team_together(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services, faq=None)
    services, tenant_id = stack.services, org.tenant_id
    team = await services.teams.create(tenant_id, "Cards & loans", actor=ACTOR)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        analyst = await member(stack, client, tenant_id, Role.ANALYST)
        agent = await lifecycle_member(services, tenant_id)
        for customer, team_id in (("in-a-team", team.team_id), ("in-none", None)):
            conversation_id = (
                await services.chat.open_conversation(tenant_id, customer)
            ).conversation_id
            await services.teams.place(tenant_id, conversation_id, team_id, actor=ACTOR)
            await services.chat.request_handoff(tenant_id, conversation_id)
            await services.desk.reply(tenant_id, conversation_id, "Hello", actor=agent)
        page = await analyst.get(reports_of(tenant_id))
    assert page.status_code == 200
    table = page.text[page.text.index('id="people-times-by-team"') :]
    table = table[: table.index("</table>")]
    rows = [row.split("</th>")[0] for row in table.split('<th scope="row">')[1:]]
    assert rows == ["Cards &amp; loans", "no team", "Everyone"]


async def test_the_page_shows_thumbs_by_day_per_cited_passage_and_unhelpful_answers_gaps(
    stack: Stack,
) -> None:
    services = stack.services
    org = await seed.organisation(services)
    conversation = await services.chat.open_conversation(org.tenant_id, "unhappy-customer")
    posted = await services.chat.post_user_message(
        org.tenant_id, conversation.conversation_id, client_id="c1", text="reset my password"
    )
    answer = await services.assistant.answer(
        posted.message, Subject(org.tenant_id, "unhappy-customer", {})
    )
    assert answer is not None
    await services.assistant.feedback.give(
        org.tenant_id, conversation.conversation_id, answer.message_id, "down"
    )
    await services.tally.flush()  # these services are another process's, as it were
    async with httpx.AsyncClient(base_url=stack.url) as client:
        analyst = await member(stack, client, org.tenant_id, Role.ANALYST)
        page = (await analyst.get(reports_of(org.tenant_id))).text
    assert 'id="thumbs-by-day"' in page
    figures = page[page.index('id="thumbs"') :]
    figures = figures[: figures.index("</ul>")]
    assert '<span class="figure">0</span> thumbs up' in figures
    assert '<span class="figure">1</span> thumbs down' in figures
    assert '<span class="figure">0%</span> of thumbs were up' in figures
    cited = page[page.index('id="most-cited"') :]
    cited = cited[: cited.index("</table>")]
    assert "<td>How do I reset my password?</td><td>1</td><td>0</td><td>1</td>" in cited
    gaps = page[page.index('id="gaps-table"') :]
    gaps = gaps[: gaps.index("</table>")]
    assert "reset my password" in gaps
    assert "1 answered but unhelpful" in gaps
