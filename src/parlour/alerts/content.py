"""What an alert says, by e-mail and in the webhook event: the figure, its count today, the
reasons by count, and the baseline it jumped above. Only counts and the codes' own constants go
in (the details are bounded constants, `parlour.rollups`); never customer text, an end user's id
or a secret (T-106). The organisation's name is the one free text, its own, in the mail only."""

from __future__ import annotations

from parlour.alerts.models import TITLES, Alert
from parlour.alerts.rule import BASELINE_DAYS

EVENT = "security.alert"


def subject(alert: Alert) -> str:
    return f"Security alert: {TITLES[alert.figure].lower()} jumped to {alert.count} today"


def mail_body(alert: Alert, organisation: str, dashboard_url: str) -> str:
    base = alert.baseline
    lines = [
        f"Parlour noticed an unusual number of security events for {organisation}.",
        "",
        f"{TITLES[alert.figure]} ({alert.figure.value}): {alert.count} on {alert.day}"
        f" so far ({alert.time_zone}).",
        f"Over the previous {base.days} days the median was {base.median:g} a day"
        f" (median absolute deviation {base.mad:g}); more than {base.threshold:.1f} is unusual.",
    ]
    if any(alert.details):
        lines += ["", "By reason:"]
        lines += [f"  {detail or '(none)'}: {n}" for detail, n in _by_count(alert)]
    lines += [
        "",
        f"See the organisation's security figures: {dashboard_url}",
        "",
        f"You receive this as an owner or admin of the organisation. At most one alert per figure "
        f"a day is sent (the previous {BASELINE_DAYS} days are its baseline).",
    ]
    return "\n".join(lines) + "\n"


def event_data(alert: Alert) -> dict[str, object]:
    """The `data` of the `security.alert` webhook event (docs/alerts.md)."""
    base = alert.baseline
    return {
        "organisation_id": alert.tenant_id,
        "alert_id": alert.alert_id,
        "figure": alert.figure.value,
        "day": alert.day.isoformat(),
        "time_zone": alert.time_zone,
        "count": alert.count,
        "details": dict(_by_count(alert)),
        "baseline": {
            "days": base.days,
            "median": base.median,
            "mad": base.mad,
            "threshold": round(base.threshold, 2),
        },
        "detected_at": alert.at.isoformat(),
    }


def _by_count(alert: Alert) -> list[tuple[str, int]]:
    return sorted(alert.details.items(), key=lambda item: (-item[1], item[0]))
