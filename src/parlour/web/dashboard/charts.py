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

# The drawing's own units; it scales to the width of its figure (dashboard.css).
WIDTH = 720
HEIGHT = 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 12, 30, 34
_PLOT_W = WIDTH - _LEFT - _RIGHT
_PLOT_H = HEIGHT - _TOP - _BOTTOM
_CHAR_W = 6.6  # the width of a character of the charts' 11-unit labels, about
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
    empty: str = "Nothing in this period.",
) -> Markup:
    """One bar per label (a day, an hour of the day), its value written on it where it fits.
    `ticks` are shorter forms of the labels for the axis (the table shows `labels`)."""
    return series_chart(
        chart_id,
        title,
        labels,
        [Series(value_heading, values)],
        label_heading=label_heading,
        ticks=ticks,
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
    single = len(series) == 1
    stacked = stacked and not single
    totals = [sum(one.values[i] for one in series) for i in range(len(labels))]
    summary = _summary(title, labels, series, totals, empty)
    drawing = _svg(chart_id, title, summary, ticks, series, totals, stacked=stacked, empty=empty)
    table = _table(chart_id, title, label_heading, labels, series, totals, empty)
    legend = Markup("") if single else _legend(series)
    return Markup(
        '<figure class="chart" id="{id}" aria-labelledby="{id}-caption">'
        '<figcaption id="{id}-caption">{title}</figcaption>'
        "{legend}{drawing}"
        '<details class="chart-table"><summary>The figures as a table</summary>{table}</details>'
        "</figure>"
    ).format(id=chart_id, title=title, legend=legend, drawing=drawing, table=table)


def _summary(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    totals: Sequence[int],
    empty: str,
) -> str:
    """What the picture says, in a sentence: the SVG's description."""
    whole = sum(totals)
    if not whole:
        return f"{title}: {empty}"
    peak = max(range(len(totals)), key=lambda i: totals[i])
    parts = (
        ""
        if len(series) == 1
        else " ("
        + ", ".join(f"{one.name} {figure_number(sum(one.values))}" for one in series)
        + ")"
    )
    return (
        f"{title}: {figure_number(whole)} in all{parts}; "
        f"the most, {figure_number(totals[peak])}, at {labels[peak]}."
    )


def _nice_top(largest: int) -> tuple[int, int]:
    """The axis's top and its step: 1, 2 or 5 times a power of ten, four steps or so."""
    if largest <= 0:
        return 4, 1
    rough = largest / 4
    power = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    step = max(1, int(step))
    return step * math.ceil(largest / step), step


def _svg(
    chart_id: str,
    title: str,
    summary: str,
    ticks: Sequence[str],
    series: Sequence[Series],
    totals: Sequence[int],
    *,
    stacked: bool,
    empty: str,
) -> Markup:
    n = len(ticks)
    tallest = (
        max(totals, default=0)
        if stacked or len(series) == 1
        else max((max(one.values, default=0) for one in series), default=0)
    )
    top, step = _nice_top(tallest)
    parts: list[Markup] = [
        Markup(
            '<title id="{id}-title">{title}</title><desc id="{id}-desc">{summary}</desc>'
        ).format(id=chart_id, title=title, summary=summary)
    ]

    def y_of(value: float) -> float:
        return _TOP + _PLOT_H - value / top * _PLOT_H

    for level in range(0, top + 1, step):
        y = y_of(level)
        parts.append(
            Markup(
                '<line class="grid" x1="{x1}" x2="{x2}" y1="{y:.1f}" y2="{y:.1f}"/>'
                '<text class="axis" x="{tx}" y="{ty:.1f}" text-anchor="end">{label}</text>'
            ).format(x1=_LEFT, x2=WIDTH - _RIGHT, y=y, tx=_LEFT - 6, ty=y + 4, label=compact(level))
        )
    if n:
        slot = _PLOT_W / n
        every = max(1, math.ceil(n / max(1, int(_PLOT_W // (_longest(ticks) * _CHAR_W + 10)))))
        for i, tick in enumerate(ticks):
            if i % every == 0:
                parts.append(
                    Markup(
                        '<text class="axis" x="{x:.1f}" y="{y}" text-anchor="middle">{t}</text>'
                    ).format(x=_LEFT + slot * (i + 0.5), y=HEIGHT - _BOTTOM + 16, t=tick)
                )
        parts.extend(_bars(ticks, series, totals, slot, y_of, stacked=stacked))
    parts.append(
        Markup('<line class="baseline" x1="{x1}" x2="{x2}" y1="{y}" y2="{y}"/>').format(
            x1=_LEFT, x2=WIDTH - _RIGHT, y=_TOP + _PLOT_H
        )
    )
    if not sum(totals):
        parts.append(
            Markup(
                '<text class="chart-empty" x="{x}" y="{y}" text-anchor="middle">{empty}</text>'
            ).format(x=_LEFT + _PLOT_W / 2, y=_TOP + _PLOT_H / 2, empty=empty)
        )
    return Markup(
        '<svg role="img" viewBox="0 0 {w} {h}" aria-labelledby="{id}-title" '
        'aria-describedby="{id}-desc" xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    ).format(w=WIDTH, h=HEIGHT, id=chart_id, body=Markup("").join(parts))


def _bars(
    ticks: Sequence[str],
    series: Sequence[Series],
    totals: Sequence[int],
    slot: float,
    y_of: Callable[[float], float],
    *,
    stacked: bool,
) -> list[Markup]:
    parts: list[Markup] = []
    base = _TOP + _PLOT_H
    gap = min(slot * 0.2, 8)
    for i, tick in enumerate(ticks):
        left = _LEFT + slot * i + gap / 2
        inner = slot - gap
        if stacked or len(series) == 1:
            bottom = 0
            for s, one in enumerate(series):
                value = one.values[i]
                if value:
                    parts.append(
                        _rect(
                            s,
                            left,
                            y_of(bottom + value),
                            inner,
                            y_of(bottom),
                            f"{tick}: {one.name} {figure_number(value)}",
                        )
                    )
                bottom += value
            parts.append(_value_label(left + inner / 2, y_of(totals[i]), totals[i], inner))
        else:
            width = inner / len(series)
            for s, one in enumerate(series):
                value = one.values[i]
                x = left + width * s
                if value:
                    parts.append(
                        _rect(
                            s,
                            x,
                            y_of(value),
                            width,
                            base,
                            f"{tick}: {one.name} {figure_number(value)}",
                        )
                    )
                parts.append(_value_label(x + width / 2, y_of(value), value, width))
    return parts


def _rect(s: int, x: float, top: float, width: float, bottom: float, tooltip: str) -> Markup:
    return Markup(
        '<rect class="bar series-{s}" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}">'
        "<title>{tooltip}</title></rect>"
    ).format(s=s, x=x, y=top, w=max(width, 1.0), h=max(bottom - top, 0.5), tooltip=tooltip)


def _value_label(x: float, top: float, value: int, room: float) -> Markup:
    """The value above its bar, where it fits across the bar; else the table has it."""
    shown = compact(value)
    if not value or len(shown) * _CHAR_W > room + 4:
        return Markup("")
    return Markup(
        '<text class="value" x="{x:.1f}" y="{y:.1f}" text-anchor="middle">{v}</text>'
    ).format(x=x, y=top - 4, v=shown)


def _longest(texts: Sequence[str]) -> int:
    return max((len(t) for t in texts), default=1)


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


def _table(
    chart_id: str,
    title: str,
    label_heading: str,
    labels: Sequence[str],
    series: Sequence[Series],
    totals: Sequence[int],
    empty: str,
) -> Markup:
    several = len(series) > 1
    heads = [label_heading, *(one.name for one in series)] + (["Total"] if several else [])
    head = Markup("").join(Markup('<th scope="col">{h}</th>').format(h=h) for h in heads)
    rows: list[Markup] = []
    for i, label in enumerate(labels):
        cells = [figure_number(one.values[i]) for one in series]
        if several:
            cells.append(figure_number(totals[i]))
        rows.append(
            Markup('<tr><th scope="row">{label}</th>{cells}</tr>').format(
                label=label,
                cells=Markup("").join(Markup("<td>{c}</td>").format(c=c) for c in cells),
            )
        )
    if not labels:
        rows.append(
            Markup('<tr><td colspan="{n}">{empty}</td></tr>').format(n=len(heads), empty=empty)
        )
    return Markup(
        '<table id="{id}-table"><caption>{title}</caption><thead><tr>{head}</tr></thead>'
        "<tbody>{rows}</tbody></table>"
    ).format(id=chart_id, title=title, head=head, rows=Markup("").join(rows))
