"""The dashboard's charts: SVG drawn on the server from figures, each with a table of the same
numbers, under a CSP that allows no script and no inline style."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from parlour.web.dashboard.charts import Series, bar_chart, compact, series_chart

SVG = "{http://www.w3.org/2000/svg}"
DAYS = ["2026-11-01", "2026-11-02", "2026-11-03"]


def parsed(figure: str) -> ET.Element:
    """The figure as XML: the markup is well formed, or this fails."""
    return ET.fromstring(figure)  # noqa: S314 (our own markup, not untrusted input)


def table_rows(figure: ET.Element) -> list[list[str]]:
    table = figure.find("details/table")
    assert table is not None
    return [["".join(cell.itertext()) for cell in row] for row in table.iter("tr")]


def drawn_values(figure: ET.Element) -> list[str]:
    return [text.text or "" for text in figure.iter(f"{SVG}text") if text.get("class") == "value"]


def test_a_bar_chart_writes_each_value_on_its_bar_and_in_its_table() -> None:
    figure = parsed(
        bar_chart(
            "by-day",
            "Conversations by day",
            DAYS,
            [3, 0, 12],
            label_heading="Day",
            value_heading="Conversations",
        )
    )

    assert figure.tag == "figure"
    assert "".join(figure.find("figcaption").itertext()) == "Conversations by day"  # type: ignore[union-attr]
    assert drawn_values(figure) == ["3", "12"]  # an empty day has a bar of nothing
    assert table_rows(figure) == [
        ["Day", "Conversations"],
        ["2026-11-01", "3"],
        ["2026-11-02", "0"],
        ["2026-11-03", "12"],
    ]
    svg = figure.find(f"{SVG}svg")
    assert svg is not None
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "by-day-title"
    assert svg.findtext(f"{SVG}title") == "Conversations by day"
    assert svg.findtext(f"{SVG}desc") == (
        "Conversations by day: 15 in all; the most, 12, at 2026-11-03."
    )
    axis = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "axis"]
    assert {"2026-11-01", "2026-11-03"} <= set(axis)  # the days label the axis
    assert axis[:4] == ["0", "5", "10", "15"]  # and the scale's ticks the other


def test_a_bar_is_as_tall_as_its_value_on_the_scale() -> None:
    figure = parsed(
        bar_chart("bars", "Bars", ["a", "b"], [5, 10], label_heading="L", value_heading="V")
    )
    heights = [float(r.get("height", "0")) for r in figure.iter(f"{SVG}rect")]
    assert heights[1] == pytest.approx(2 * heights[0], rel=0.01)


def test_a_stacked_chart_stacks_its_series_and_totals_them_in_its_table() -> None:
    figure = parsed(
        series_chart(
            "outcomes",
            "How turns ended",
            DAYS,
            [Series("answered", [4, 0, 1]), Series("abstained", [1, 0, 2])],
            label_heading="Day",
        )
    )

    assert table_rows(figure) == [
        ["Day", "answered", "abstained", "Total"],
        ["2026-11-01", "4", "1", "5"],
        ["2026-11-02", "0", "0", "0"],
        ["2026-11-03", "1", "2", "3"],
    ]
    assert drawn_values(figure) == ["5", "3"]  # the total on top of each stack
    legend = [("".join(li.itertext())) for li in figure.iter("li")]
    assert legend == ["answered", "abstained"]
    bars = [(r.get("class"), r.findtext(f"{SVG}title")) for r in figure.iter(f"{SVG}rect")]
    assert ("bar series-1", "2026-11-03: abstained 2") in bars


def test_a_grouped_chart_sets_its_series_side_by_side_with_compact_values() -> None:
    figure = parsed(
        series_chart(
            "tokens",
            "Tokens by day",
            DAYS[:2],
            [Series("in", [12_345, 800]), Series("out", [2_100, 0])],
            label_heading="Day",
            stacked=False,
        )
    )

    assert drawn_values(figure) == ["12.3k", "2.1k", "800"]
    assert table_rows(figure)[1] == ["2026-11-01", "12,345", "2,100", "14,445"]


def test_labels_and_titles_are_escaped_text_never_markup() -> None:
    """A passage's title or any label reaches the page as text: no element of its own."""
    hostile = '<script>alert("x")</script> & <b onclick="x">'
    figure = bar_chart(
        "hostile",
        f"Cited {hostile}",
        [hostile],
        [2],
        label_heading=hostile,
        value_heading=hostile,
    )

    assert "<script" not in figure
    assert "<b " not in figure
    tree = parsed(figure)
    assert "".join(tree.find("figcaption").itertext()) == f"Cited {hostile}"  # type: ignore[union-attr]
    assert table_rows(tree)[1] == [hostile, "2"]


def test_a_chart_carries_no_inline_style_and_no_script() -> None:
    """The dashboard's CSP refuses both; the colours are classes of dashboard.css."""
    figure = series_chart(
        "plain", "Plain", DAYS, [Series("a", [1, 2, 3]), Series("b", [3, 2, 1])], label_heading="D"
    )
    tree = parsed(figure)
    assert all("style" not in element.attrib for element in tree.iter())
    assert not [e for e in tree.iter() if e.tag.endswith(("style", "script"))]
    assert re.search(r"\bon[a-z]+=", figure) is None


def test_a_chart_of_nothing_says_so_in_its_picture_and_its_table() -> None:
    nothing = parsed(
        bar_chart(
            "none",
            "Conversations by day",
            [],
            [],
            label_heading="Day",
            value_heading="Conversations",
            empty="No conversations in this period.",
        )
    )
    svg = nothing.find(f"{SVG}svg")
    assert svg is not None
    assert [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-empty"] == [
        "No conversations in this period."
    ]
    assert svg.findtext(f"{SVG}desc") == "Conversations by day: No conversations in this period."
    assert table_rows(nothing) == [["Day", "Conversations"], ["No conversations in this period."]]


def test_a_period_of_zeros_shows_its_days_and_says_nothing_happened() -> None:
    zeros = parsed(
        bar_chart("zeros", "By day", DAYS, [0, 0, 0], label_heading="Day", value_heading="N")
    )
    assert [t.text for t in zeros.iter(f"{SVG}text") if t.get("class") == "chart-empty"] == [
        "Nothing in this period."
    ]
    assert not list(zeros.iter(f"{SVG}rect"))
    assert [row[1] for row in table_rows(zeros)[1:]] == ["0", "0", "0"]


def test_a_month_of_days_labels_the_axis_without_crowding_it() -> None:
    days = [f"2026-11-{d:02d}" for d in range(1, 31)]
    figure = parsed(
        bar_chart("month", "Month", days, list(range(30)), label_heading="D", value_heading="N")
    )
    axis = [t.text for t in figure.iter(f"{SVG}text") if t.get("class") == "axis"]
    shown_days = [a for a in axis if a and a.startswith("2026-")]
    assert 3 <= len(shown_days) < 30
    assert shown_days[0] == "2026-11-01"


def test_compact_values_stay_short() -> None:
    assert [compact(v) for v in (0, 999, 1_000, 12_345, 4_500_000, 2_000_000_000)] == [
        "0",
        "999",
        "1k",
        "12.3k",
        "4.5M",
        "2G",
    ]


@pytest.mark.parametrize("chart_id", ["", "Has Space", "1starts-with-digit", 'x"y'])
def test_a_chart_id_is_a_slug(chart_id: str) -> None:
    with pytest.raises(ValueError, match="slug"):
        bar_chart(chart_id, "T", ["a"], [1], label_heading="L", value_heading="V")


def test_a_chart_of_shares_writes_its_unit_and_adds_no_total() -> None:
    figure = parsed(
        bar_chart(
            "burn",
            "Budget used",
            DAYS,
            [40, 0, 125],
            label_heading="Day",
            value_heading="Share of the daily budget",
            unit="%",
        )
    )
    assert drawn_values(figure) == ["40%", "125%"]
    assert table_rows(figure)[1:] == [
        ["2026-11-01", "40%"],
        ["2026-11-02", "0%"],
        ["2026-11-03", "125%"],
    ]
    svg = figure.find(f"{SVG}svg")
    assert svg is not None
    assert svg.findtext(f"{SVG}desc") == "Budget used: the most, 125%, at 2026-11-03."
