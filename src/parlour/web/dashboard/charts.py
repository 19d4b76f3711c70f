"""Charts for the dashboard: pure functions from figures to a `<figure>` of server-rendered SVG,
a person reads at a glance, with the same numbers as a table for screen readers.

The page's CSP allows no script and no inline style, so the SVG carries geometry as attributes
and its colours as classes styled by dashboard.css. Every text that reaches the markup is
escaped (`Markup.format`). The SVG is one image (`role="img"`, named by its `<title>` and
summed up by its `<desc>`); the table beside it, in a `<details>`, is what a screen reader
reads, and what anyone may open to see the exact figures.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

# The drawing's own units; it scales to the width of its figure (dashboard.css), about one to
# one in a half-width column of the wide page, so that its 12-unit text reads at 12 pixels.
WIDTH = 520
HEIGHT = 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 8, 24, 30
_PLOT_W = WIDTH - _LEFT - _RIGHT
_PLOT_H = HEIGHT - _TOP - _BOTTOM
_CHAR_W = 7.2  # the width of a character of the charts' 12-unit labels, about
_MAX_SERIES = 6  # dashboard.css colours series-0 … series-5
_ID = re.compile(r"[a-z][a-z0-9-]{0,40}")


@dataclass(frozen=True, slots=True)
class Series:
    """One named row of values, one value per label of its chart."""

    name: str
    values: Sequence[int]


def figure_number(value: float) -> str:
    """`1,234` as a table shows it."""
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def compact(value: int) -> str:
    """`987`, `12.3k`, `4.5M`: a bar's label, short enough to sit on the bar."""
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if abs(value) >= size:
            shown = f"{value / size:.1f}".removesuffix(".0")
            return f"{shown}{suffix}"
    return str(value)


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[int],
    *,
    label_heading: str,
    value_heading: str,
    ticks: Sequence[str] | None = None,
    unit: str = "",
    empty: str = "Nothing in this period.",
) -> Markup:
    """One bar per label (a day, an hour of the day), its value written on it where it fits.
    `ticks` are shorter forms of the labels for the axis (the table shows `labels`); `unit`
    follows every value shown ("%")."""
    return series_chart(
        chart_id,
        title,
        labels,
        [Series(value_heading, values)],
        label_heading=label_heading,
        ticks=ticks,
        unit=unit,
        empty=empty,
    )


def series_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    label_heading: str,
    stacked: bool = True,
    ticks: Sequence[str] | None = None,
    unit: str = "",
    empty: str = "Nothing in this period.",
) -> Markup:
    """Several series over the same labels: stacked (parts of a whole, such as how turns ended,
    with the total written on top) or grouped side by side (such as tokens in and out)."""
    if not _ID.fullmatch(chart_id):
        raise ValueError(f"a chart id is a short lowercase slug, not {chart_id!r}")
    if not 1 <= len(series) <= _MAX_SERIES:
        raise ValueError(f"a chart draws 1 to {_MAX_SERIES} series")
    for one in series:
        if len(one.values) != len(labels):
            raise ValueError(f"series {one.name!r} has a value per label")
    ticks = labels if ticks is None else ticks
    if len(ticks) != len(labels):
        raise ValueError("a tick per label")
    chart = _Chart(
        chart_id,
        title,
        labels,
        ticks,
        series,
        stacked=stacked and len(series) > 1,
        unit=unit,
        empty=empty,
    )
    legend = Markup("") if len(series) == 1 else _legend(series)
    return Markup(
        '<figure class="chart" id="{id}" aria-labelledby="{id}-caption">'
        '<figcaption id="{id}-caption">{title}</figcaption>'
        "{legend}{drawing}"
        '<details class="chart-table"><summary>The figures as a table</summary>{table}</details>'
        "</figure>"
    ).format(
        id=chart_id,
        title=title,
        legend=legend,
        drawing=chart.svg(),
        table=chart.table(label_heading),
    )


def _nice_top(largest: int) -> tuple[int, int]:
    """The axis's top and its step: 1, 2 or 5 times a power of ten, four steps or so."""
    if largest <= 0:
        return 4, 1
    rough = largest / 4
    power = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = max(1, int(next(m * power for m in (1, 2, 5, 10) if m * power >= rough)))
    return step * math.ceil(largest / step), step


@dataclass(frozen=True, slots=True)
class _Chart:
    chart_id: str
    title: str
    labels: Sequence[str]
    ticks: Sequence[str]
    series: Sequence[Series]
    stacked: bool
    unit: str
    empty: str

    @property
    def totals(self) -> list[int]:
        return [sum(one.values[i] for one in self.series) for i in range(len(self.labels))]

    def exact(self, value: int) -> str:
        return figure_number(value) + self.unit

    def short(self, value: int) -> str:
        return compact(value) + self.unit

    def summary(self) -> str:
        """What the picture says, in a sentence: the SVG's description."""
        totals = self.totals
        if not sum(totals):
            return f"{self.title}: {self.empty}"
        peak = max(range(len(totals)), key=lambda i: totals[i])
        if self.unit:  # shares do not add up: say the largest alone
            return f"{self.title}: the most, {self.exact(totals[peak])}, at {self.labels[peak]}."
        parts = ""
        if len(self.series) > 1:
            each = ", ".join(f"{one.name} {self.exact(sum(one.values))}" for one in self.series)
            parts = f" ({each})"
        return (
            f"{self.title}: {self.exact(sum(totals))} in all{parts}; "
            f"the most, {self.exact(totals[peak])}, at {self.labels[peak]}."
        )

    def svg(self) -> Markup:
        totals = self.totals
        side_by_side = len(self.series) > 1 and not self.stacked
        tallest = (
            max((max(one.values, default=0) for one in self.series), default=0)
            if side_by_side
            else max(totals, default=0)
        )
        top, step = _nice_top(tallest)
        parts: list[Markup] = [
            Markup(
                '<title id="{id}-title">{title}</title><desc id="{id}-desc">{summary}</desc>'
            ).format(id=self.chart_id, title=self.title, summary=self.summary())
        ]

        def y_of(value: float) -> float:
            return _TOP + _PLOT_H - value / top * _PLOT_H

        for level in range(0, top + 1, step):
            y = y_of(level)
            parts.append(
                Markup(
                    '<line class="grid" x1="{x1}" x2="{x2}" y1="{y:.1f}" y2="{y:.1f}"/>'
                    '<text class="axis" x="{tx}" y="{ty:.1f}" text-anchor="end">{label}</text>'
                ).format(
                    x1=_LEFT,
                    x2=WIDTH - _RIGHT,
                    y=y,
                    tx=_LEFT - 6,
                    ty=y + 4,
                    label=self.short(level),
                )
            )
        if self.ticks:
            parts.extend(self._axis())
            parts.extend(self._bars(y_of, side_by_side=side_by_side))
        parts.append(
            Markup('<line class="baseline" x1="{x1}" x2="{x2}" y1="{y}" y2="{y}"/>').format(
                x1=_LEFT, x2=WIDTH - _RIGHT, y=_TOP + _PLOT_H
            )
        )
        if not sum(totals):
            parts.append(
                Markup(
                    '<text class="chart-empty" x="{x}" y="{y}" text-anchor="middle">{empty}</text>'
                ).format(x=_LEFT + _PLOT_W / 2, y=_TOP + _PLOT_H / 2, empty=self.empty)
            )
        return Markup(
            '<svg role="img" viewBox="0 0 {w} {h}" aria-labelledby="{id}-title" '
            'aria-describedby="{id}-desc" xmlns="http://www.w3.org/2000/svg">{body}</svg>'
        ).format(w=WIDTH, h=HEIGHT, id=self.chart_id, body=Markup("").join(parts))

    def _axis(self) -> list[Markup]:
        """The labels under the bars; every n-th where all would crowd."""
        slot = _PLOT_W / len(self.ticks)
        longest = max(len(t) for t in self.ticks)
        fit = max(1, int(_PLOT_W // (longest * _CHAR_W + 10)))
        every = max(1, math.ceil(len(self.ticks) / fit))
        return [
            Markup('<text class="axis" x="{x:.1f}" y="{y}" text-anchor="middle">{t}</text>').format(
                x=_LEFT + slot * (i + 0.5), y=HEIGHT - _BOTTOM + 16, t=tick
            )
            for i, tick in enumerate(self.ticks)
            if i % every == 0
        ]

    def _bars(self, y_of: Callable[[float], float], *, side_by_side: bool) -> list[Markup]:
        parts: list[Markup] = []
        slot = _PLOT_W / len(self.ticks)
        gap = min(slot * 0.2, 8)
        inner = slot - gap
        totals = self.totals
        for i, tick in enumerate(self.ticks):
            left = _LEFT + slot * i + gap / 2
            if side_by_side:
                width = inner / len(self.series)
                for s, one in enumerate(self.series):
                    x, value = left + width * s, one.values[i]
                    parts.append(self._rect(s, x, width, y_of(value), y_of(0), tick, one, i))
                    parts.append(self._value(x + width / 2, y_of(value), value, width))
                continue
            bottom = 0
            for s, one in enumerate(self.series):
                value = one.values[i]
                parts.append(
                    self._rect(s, left, inner, y_of(bottom + value), y_of(bottom), tick, one, i)
                )
                bottom += value
            parts.append(self._value(left + inner / 2, y_of(totals[i]), totals[i], inner))
        return parts

    def _rect(
        self,
        s: int,
        x: float,
        width: float,
        top: float,
        bottom: float,
        tick: str,
        one: Series,
        i: int,
    ) -> Markup:
        value = one.values[i]
        if not value:
            return Markup("")
        return Markup(
            '<rect class="bar series-{s}" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" '
            'height="{h:.1f}"><title>{tooltip}</title></rect>'
        ).format(
            s=s,
            x=x,
            y=top,
            w=max(width, 1.0),
            h=max(bottom - top, 0.5),
            tooltip=f"{tick}: {one.name} {self.exact(value)}",
        )

    def _value(self, x: float, top: float, value: int, room: float) -> Markup:
        """The value above its bar, where it fits across the bar; else the table has it."""
        shown = self.short(value)
        if not value or len(shown) * _CHAR_W > room + 4:
            return Markup("")
        return Markup(
            '<text class="value" x="{x:.1f}" y="{y:.1f}" text-anchor="middle">{v}</text>'
        ).format(x=x, y=top - 4, v=shown)

    def table(self, label_heading: str) -> Markup:
        several = len(self.series) > 1
        total = ["Total"] if several and not self.unit else []  # shares do not add up
        heads = [label_heading, *(one.name for one in self.series), *total]
        head = Markup("").join(Markup('<th scope="col">{h}</th>').format(h=h) for h in heads)
        rows: list[Markup] = []
        for i, label in enumerate(self.labels):
            cells = [self.exact(one.values[i]) for one in self.series]
            if total:
                cells.append(self.exact(self.totals[i]))
            rows.append(
                Markup('<tr><th scope="row">{label}</th>{cells}</tr>').format(
                    label=label,
                    cells=Markup("").join(Markup("<td>{c}</td>").format(c=c) for c in cells),
                )
            )
        if not self.labels:
            rows.append(
                Markup('<tr><td colspan="{n}">{empty}</td></tr>').format(
                    n=len(heads), empty=self.empty
                )
            )
        return Markup(
            '<table id="{id}-table"><caption>{title}</caption><thead><tr>{head}</tr></thead>'
            "<tbody>{rows}</tbody></table>"
        ).format(id=self.chart_id, title=self.title, head=head, rows=Markup("").join(rows))


def _legend(series: Sequence[Series]) -> Markup:
    """The series' names with their colours, as text beside the picture (not inside it, so the
    picture's one accessible name stays short)."""
    items = Markup("").join(
        Markup(
            '<li><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true" '
            'xmlns="http://www.w3.org/2000/svg"><rect class="series-{s}" width="10" height="10"/>'
            "</svg>{name}</li>"
        ).format(s=s, name=one.name)
        for s, one in enumerate(series)
    )
    return Markup('<ul class="legend">{items}</ul>').format(items=items)
