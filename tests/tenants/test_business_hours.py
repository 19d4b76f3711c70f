"""An organisation's business hours: the schedule read in its time zone, closed dates, the next
opening across a clock change, what a person may type, and the audited change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parlour.errors import InvalidInput
from parlour.services import Services
from parlour.tenants.business_hours import ALWAYS_OPEN, checked
from tests.support.seed import ACTOR

WEEKDAYS_9_TO_5 = [(day, "09:00", "17:00") for day in range(5)]


def test_the_schedule_is_read_in_the_organisations_time_zone() -> None:
    hours = checked(WEEKDAYS_9_TO_5, [], "within 4 hours")
    # Monday 2026-06-01, 07:30 UTC is 09:30 in Paris (summer time) and 08:30 in London.
    moment = datetime(2026, 6, 1, 7, 30, tzinfo=UTC)
    assert hours.is_open(moment, "Europe/Paris")
    assert not hours.is_open(moment, "Europe/London")
    # 17:00 closes: the end is not within the period.
    assert not hours.is_open(datetime(2026, 6, 1, 15, 0, tzinfo=UTC), "Europe/Paris")
    # Saturday.
    assert not hours.is_open(datetime(2026, 6, 6, 10, 0, tzinfo=UTC), "UTC")


def test_a_closed_date_closes_the_whole_local_day_and_the_next_opening_skips_it() -> None:
    hours = checked(WEEKDAYS_9_TO_5, ["2026-12-25"], "within a day")
    christmas_morning = datetime(2026, 12, 25, 10, 0, tzinfo=UTC)  # a Friday
    assert not hours.is_open(christmas_morning, "UTC")
    assert hours.next_opening(christmas_morning, "UTC") == datetime(2026, 12, 28, 9, 0, tzinfo=UTC)


def test_the_next_opening_across_a_clock_change_is_the_local_opening() -> None:
    hours = checked([(0, "09:00", "17:00")], [], "soon")
    # Saturday 2026-03-28 in New York; the clocks went forward on 2026-03-08, and London's go
    # forward on Sunday 2026-03-29: Monday 09:00 in London is then 08:00 UTC.
    saturday = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert hours.next_opening(saturday, "Europe/London") == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert hours.next_opening(saturday, "America/New_York") == datetime(
        2026, 3, 30, 13, 0, tzinfo=UTC
    )


def test_line_breaks_in_the_reply_time_are_spaces() -> None:
    assert checked([], [], "within\r\n4 hours").reply_time == "within 4 hours"


def test_hours_never_set_are_open_all_week_and_promise_no_opening() -> None:
    now = datetime(2026, 6, 6, 3, 0, tzinfo=UTC)
    assert ALWAYS_OPEN.is_open(now, "UTC")
    assert ALWAYS_OPEN.next_opening(now, "UTC") is None


@pytest.mark.parametrize(
    ("periods", "closed", "reply_time"),
    [
        ([(7, "09:00", "17:00")], [], "soon"),
        ([(0, "9:00", "17:00")], [], "soon"),
        ([(0, "09:00", "24:00")], [], "soon"),
        ([(0, "17:00", "09:00")], [], "soon"),
        ([(0, "09:00", "12:00"), (0, "11:00", "13:00")], [], "soon"),
        ([], ["25/12/2026"], "soon"),
        ([], [], ""),
        ([], [], "within\x004 hours"),
        ([], [], "within\u202e4 hours"),
        ([], [], "x" * 101),
    ],
)
def test_what_a_person_types_is_refused_with_the_reason(
    periods: list[tuple[int, str, str]], closed: list[str], reply_time: str
) -> None:
    with pytest.raises(InvalidInput):
        checked(periods, closed, reply_time)


async def test_setting_the_hours_is_audited_and_read_back(backend: Services) -> None:
    tenant = await backend.tenants.create("Hours Bank", actor=ACTOR)
    assert not (await backend.business_hours.get(tenant.tenant_id)).configured
    await backend.business_hours.set(
        tenant.tenant_id,
        [(0, "13:30", "17:00"), (0, "09:00", "12:30")],
        ["2026-12-25", "2026-12-24"],
        "  within   4 hours ",
        actor=ACTOR,
    )
    hours = await backend.business_hours.get(tenant.tenant_id)
    assert [(p.weekday, p.start.isoformat(), p.end.isoformat()) for p in hours.periods] == [
        (0, "09:00:00", "12:30:00"),
        (0, "13:30:00", "17:00:00"),
    ]
    assert len(hours.closed_dates) == 2
    assert hours.reply_time == "within 4 hours"
    (event,) = await backend.audit.recent(tenant.tenant_id, limit=1)
    assert event["action"] == "tenant.business_hours_set"
    assert event["data"] == {"periods": 2, "closed_dates": 2, "reply_time": "within 4 hours"}
