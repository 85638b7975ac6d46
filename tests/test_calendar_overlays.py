"""Organisation overlays stacked on the official schedule."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from techsvc_flow.calendar import Overlay, WorkCalendar
from techsvc_flow.errors import CalendarError, ScheduleError
from techsvc_flow.testing import strategies as tst

SH = ZoneInfo("Asia/Shanghai")
OFFICE = WorkCalendar.china(business_hours="09:00-12:00,13:30-18:00")


def test_closure_and_extra_days_stack_on_the_official_schedule() -> None:
    cal = OFFICE.with_overlay(name="acme", closed=["2025-12-24..2025-12-26"], open=["2025-10-04"])
    assert [cal.is_working_day(dt.date(2025, 12, d)) for d in (23, 24, 25, 26, 29)] == [
        True, False, False, False, True,
    ]  # fmt: skip
    assert cal.is_working_day(dt.date(2025, 10, 4))  # a Saturday inside National Day
    assert not OFFICE.is_working_day(dt.date(2025, 10, 4))
    # the official schedule underneath is kept: 调休 days still count
    assert cal.is_working_day(dt.date(2025, 10, 11))
    assert not cal.is_working_day(dt.date(2025, 10, 3))
    assert cal.add_working_days(dt.date(2025, 12, 23), 1) == dt.date(2025, 12, 29)


def test_a_later_notice_still_applies_under_an_overlay() -> None:
    cal = WorkCalendar.china(authoritative_until=dt.date(2025, 12, 31)).with_overlay(
        name="acme", closed=["2026-01-05"]
    )
    with_2026 = cal.with_schedule(2026, holidays=["2026-01-01", "2026-01-02"], workdays=[])
    assert not with_2026.is_working_day(dt.date(2026, 1, 2))  # the schedule
    assert not with_2026.is_working_day(dt.date(2026, 1, 5))  # the overlay
    assert with_2026.is_working_day(dt.date(2026, 1, 6))


def test_special_hours_on_one_date() -> None:
    eve = dt.date(2025, 1, 27)  # a Monday worked before 除夕 2025 (28 January)
    cal = OFFICE.with_overlay(name="acme", hours={eve: "09:00-12:00"})
    assert cal.end_of_day(eve).time() == dt.time(12, 0)
    start = dt.datetime(2025, 1, 27, 11, 0, tzinfo=SH)
    # 1 h left on the half day; 2025-01-28..02-04 off; then 1 h on Wednesday 5 February
    assert cal.add_working_time(start, dt.timedelta(hours=2)) == dt.datetime(
        2025, 2, 5, 10, 0, tzinfo=SH
    )
    assert OFFICE.add_working_time(start, dt.timedelta(hours=2)) == dt.datetime(
        2025, 1, 27, 14, 30, tzinfo=SH
    )
    assert cal.deadline(dt.datetime(2025, 1, 24, 10, 0, tzinfo=SH), "1wd").due == (
        dt.datetime(2025, 1, 26, 18, 0, tzinfo=SH)  # a worked Sunday, full hours
    )
    assert cal.deadline(dt.datetime(2025, 1, 26, 10, 0, tzinfo=SH), "1wd").due == (
        dt.datetime(2025, 1, 27, 12, 0, tzinfo=SH)
    )


def test_special_hours_on_a_calendar_without_business_hours() -> None:
    cal = WorkCalendar.china().with_overlay(name="eve", hours={"2025-01-27": "08:00-12:00"})
    start = dt.datetime(2025, 1, 27, 0, 0, tzinfo=SH)
    assert cal.next_working_instant(start) == dt.datetime(2025, 1, 27, 8, 0, tzinfo=SH)


def test_later_overlays_win_and_the_digest_changes() -> None:
    day = dt.date(2025, 12, 24)
    closed = OFFICE.with_overlay(name="a", closed=[day])
    reopened = closed.with_overlay(name="b", open=[day])
    assert not closed.is_working_day(day)
    assert reopened.is_working_day(day)
    assert [o.name for o in reopened.overlays] == ["a", "b"]
    assert closed.digest() != OFFICE.digest()
    # the digest is of the answers: reopening a working day gives the plain calendar's
    assert reopened.digest() == OFFICE.digest()
    half = OFFICE.with_overlay(name="c", hours={day: "09:00-12:00"})
    assert half.digest() != OFFICE.digest()
    # a calendar without overlays keeps its digest
    assert WorkCalendar.china().digest() == WorkCalendar.china(business_hours=None).digest()


def test_overlays_survive_other_changes() -> None:
    cal = OFFICE.with_overlay(name="a", closed=["2025-12-24"]).with_business_hours("09:00-17:00")
    assert not cal.is_working_day(dt.date(2025, 12, 24))
    assert cal.with_coverage("provisional").overlays == cal.overlays


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"closed": []}, "'name' must be a non-empty string"),
        ({"name": "acme", "close": []}, r"overlay 'acme': unknown key\(s\) 'close'"),
        ({"name": "acme", "closed": "2025-12-24"}, "overlay 'acme': closed: expected a list"),
        ({"name": "acme", "open": ["2025-12-24", "x"]}, r"overlay 'acme': open\[1\]: 'x' is not"),
        ({"name": "acme", "closed": ["2025-12-26..2025-12-24"]}, r"closed\[0\]: range .* ends"),
        (
            {"name": "acme", "hours": {"2025-01-27": "12:00-09:00"}},
            r"hours\['2025-01-27'\]: shift 12:00-09:00 ends before",
        ),
        ({"name": "acme", "hours": {"2025-01-27": ""}}, r"hours\['2025-01-27'\]: needs at least"),
        ({"name": "acme", "hours": {"27 Jan": "09:00-12:00"}}, r"hours\['27 Jan'\]: '27 Jan'"),
        ({"name": "acme", "hours": ["2025-01-27"]}, "hours: expected a mapping"),
        (
            {"name": "acme", "closed": ["2025-12-24"], "open": ["2025-12-24"]},
            "both closed and open",
        ),
    ],
)
def test_a_bad_overlay_names_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        OFFICE.with_overlay(data)


def test_with_overlay_takes_an_overlay_or_keywords() -> None:
    overlay = Overlay.parse({"name": "acme", "closed": ["2025-12-24"]})
    assert OFFICE.with_overlay(overlay).overlays == (overlay,)
    with pytest.raises(CalendarError, match="not both"):
        OFFICE.with_overlay(overlay, closed=["2025-12-25"])  # type: ignore[arg-type]
    with pytest.raises(CalendarError, match="expected Overlay"):
        WorkCalendar(lambda d: True, overlays=["acme"])  # type: ignore[list-item]


@settings(max_examples=40, deadline=None)
@given(data=st.data(), overlay=tst.overlays(start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31)))
def test_overlay_days_are_what_the_overlay_says(data: st.DataObject, overlay: Overlay) -> None:
    cal = OFFICE.with_overlay(overlay)
    for day, working in overlay.days().items():
        assert cal.is_working_day(day) is working
    day = data.draw(st.dates(dt.date(2025, 1, 1), dt.date(2025, 12, 31)))
    if day not in overlay.days():
        assert cal.is_working_day(day) is OFFICE.is_working_day(day)
    if day in overlay.hours and cal.is_working_day(day):
        assert (
            cal.end_of_day(day).hour * 60 + cal.end_of_day(day).minute
            == (overlay.hours[day][-1].end)
            or overlay.hours[day][-1].end == 24 * 60
        )
    # arithmetic agrees with counting
    n = data.draw(st.integers(1, 40))
    start = dt.date(2025, 1, 2)
    assert cal.working_days_between(start, cal.add_working_days(start, n)) == n
