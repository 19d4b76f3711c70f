"""An organisation's security figures over HTTP, and the dashboard's section that shows them."""

from __future__ import annotations

from html.parser import HTMLParser

from parlour.rollups.models import Figure
from parlour.web.dashboard.pages import _templates
from tests.conftest import Stack
from tests.web.api.conftest import Owner
from tests.web.test_errors import assert_error_shape


async def test_the_security_report_has_each_figure_by_day_and_reason(
    owner: Owner, stack: Stack
) -> None:
    tally = stack.services.tally
    tally.add(owner.org, Figure.TOKEN_FAILURES, "invalid_token", n=3)
    tally.add(owner.org, Figure.TOKEN_FAILURES, "token_expired")
    await tally.flush()
    answer = await owner.browser.send("GET", owner.path("reports/security"))
    assert answer.status_code == 200
    report = answer.json()
    assert report["organisation_id"] == owner.org
    assert [f["figure"] for f in report["figures"]][:2] == [
        "security.foreign_origin",
        "security.token_failure",
    ]
    tokens = report["figures"][1]
    assert len(tokens["days"]) == 30
    assert tokens["total"] == 4
    assert tokens["days"][-1]["details"] == {"invalid_token": 3, "token_expired": 1}


async def test_a_period_back_to_front_is_refused_in_the_json_error_shape(owner: Owner) -> None:
    answer = await owner.browser.send(
        "GET", owner.path("reports/security?from=2026-03-02&to=2026-03-01")
    )
    assert_error_shape(answer, 422, "invalid_period")


async def test_the_dashboard_section_has_a_table_per_figure(owner: Owner, stack: Stack) -> None:
    """The Reports page includes it; each figure a table a screen reader reads by day."""
    period = await stack.services.reports.period(owner.org)
    security = await stack.services.security_figures.report(owner.org, period)
    html = _templates.get_template("reports_security.html").render(security=security)
    tables = _Tables()
    tables.feed(html)
    assert tables.captions[0].startswith("Connections refused for a foreign origin")
    assert len(tables.captions) == len(security.figures)
    assert "<script" not in html


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.captions: list[str] = []
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_caption = tag == "caption"
        if self._in_caption:
            self.captions.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_caption = False

    def handle_data(self, data: str) -> None:
        if self._in_caption:
            self.captions[-1] += data
