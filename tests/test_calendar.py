"""The working-time calendar pinned to real dates.

The expected days off and make-up working days are copied from the State Council's
notices (国务院办公厅关于2024年/2025年/2026年部分节假日安排的通知: 国办发明电〔2023〕7号,
〔2024〕12号, 〔2025〕7号), not read from the ``holidays`` package, so that a wrong
package release fails here.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from techsvc_flow import Deadline, Duration, FlowError, WorkCalendar
from techsvc_flow.calendar import BusinessHours, Shift
from techsvc_flow.durations import (
    CalendarDays,
    CalendarMonths,
    ClockTime,
    WorkingDays,
    WorkingHours,
)
from techsvc_flow.errors import (
    BusinessHoursError,
    CalendarCoverageError,
    CalendarError,
    DurationError,
    NaiveDatetimeError,
    ProvisionalWarning,
    ScheduleError,
    UnknownCountryError,
)

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = "09:00-12:00,13:30-18:00"


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def at(text: str, tz: ZoneInfo = SH) -> dt.datetime:
    """A wall-clock time in ``tz``, e.g. ``at("2025-09-30 17:00")``."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz)


def days(first: str, last: str) -> set[dt.date]:
    start, end = d(first), d(last)
    return {start + dt.timedelta(days=i) for i in range((end - start).days + 1)}


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.china()


@pytest.fixture(scope="module")
def office() -> WorkCalendar:
    return WorkCalendar.china(business_hours=OFFICE)


# --- the official schedules 2024-2026 -------------------------------------------------------

MAKEUP_DAYS = {
    2024: ["02-04", "02-18", "04-07", "04-28", "05-11", "09-14", "09-29", "10-12"],
    2025: ["01-26", "02-08", "04-27", "09-28", "10-11"],
    2026: ["01-04", "02-14", "02-28", "05-09", "09-20", "10-10"],
}

# every 放假 period of the notices, weekend days included
DAYS_OFF = {
    2024: [
        ("01-01", "01-01"),  # 元旦
        ("02-10", "02-17"),  # 春节
        ("04-04", "04-06"),  # 清明节
        ("05-01", "05-05"),  # 劳动节
        ("06-08", "06-10"),  # 端午节, with the weekend
        ("09-15", "09-17"),  # 中秋节
        ("10-01", "10-07"),  # 国庆节
    ],
    2025: [
        ("01-01", "01-01"),
        ("01-28", "02-04"),
        ("04-04", "04-06"),
        ("05-01", "05-05"),
        ("05-31", "06-02"),
        ("10-01", "10-08"),  # 国庆节 and 中秋节 together
    ],
    2026: [
        ("01-01", "01-03"),
        ("02-15", "02-23"),
        ("04-04", "04-06"),
        ("05-01", "05-05"),
        ("06-19", "06-21"),
        ("09-25", "09-27"),
        ("10-01", "10-07"),
    ],
}


@pytest.mark.parametrize("year", sorted(MAKEUP_DAYS))
def test_every_makeup_day_is_a_working_weekend_day(cal: WorkCalendar, year: int) -> None:
    expected = {d(f"{year}-{md}") for md in MAKEUP_DAYS[year]}
    year_days = days(f"{year}-01-01", f"{year}-12-31")
    worked_weekend = {day for day in year_days if day.weekday() >= 5 and cal.is_working_day(day)}
    assert worked_weekend == expected


@pytest.mark.parametrize("year", sorted(DAYS_OFF))
def test_every_day_of_the_year_matches_the_notice(cal: WorkCalendar, year: int) -> None:
    off = set().union(*(days(f"{year}-{a}", f"{year}-{b}") for a, b in DAYS_OFF[year]))
    makeup = {d(f"{year}-{md}") for md in MAKEUP_DAYS[year]}
    for day in days(f"{year}-01-01", f"{year}-12-31"):
        expected = day in makeup or (day.weekday() < 5 and day not in off)
        assert cal.is_working_day(day) is expected, day


def test_weekday_days_off_2025(cal: WorkCalendar) -> None:
    off = sorted(day for day in days("2025-01-01", "2025-12-31") if day.weekday() < 5)
    off = [day for day in off if not cal.is_working_day(day)]
    assert [day.strftime("%m-%d") for day in off] == [
        "01-01",
        "01-28",
        "01-29",
        "01-30",
        "01-31",
        "02-03",
        "02-04",
        "04-04",
        "05-01",
        "05-02",
        "05-05",
        "06-02",
        "10-01",
        "10-02",
        "10-03",
        "10-06",
        "10-07",
        "10-08",
    ]


def test_new_years_eve_2024_is_not_a_statutory_day_off(cal: WorkCalendar) -> None:
    # the 2024 notice only *encourages* a day off on 除夕 (Fri 9 February)
    assert cal.is_working_day(d("2024-02-09"))


def test_is_working_day_of_an_instant_uses_the_local_date(cal: WorkCalendar) -> None:
    # 2025-09-30 20:00 UTC is already 1 October (a holiday) in Shanghai
    assert not cal.is_working_day(dt.datetime(2025, 9, 30, 20, 0, tzinfo=dt.UTC))
    assert cal.is_working_day(dt.datetime(2025, 9, 30, 15, 0, tzinfo=dt.UTC))


# --- working days ---------------------------------------------------------------------------


def test_design_example_national_day_2025(cal: WorkCalendar, office: WorkCalendar) -> None:
    received = at("2025-09-30 17:00")
    assert cal.add_working_days(received, 7) == d("2025-10-16")
    deadline = cal.deadline(received, "7wd")
    assert deadline == Deadline(received, WorkingDays(7), at("2025-10-17 00:00"), d("2025-10-16"))
    assert deadline.due.isoformat() == "2025-10-17T00:00:00+08:00"
    assert office.deadline(received, "7wd").due == at("2025-10-16 18:00")


def test_the_seven_working_days_one_by_one(cal: WorkCalendar) -> None:
    start = d("2025-09-30")
    walked = [cal.add_working_days(start, n) for n in range(1, 8)]
    # National Day 1-8 October off, Saturday 11 October worked
    assert [day.strftime("%m-%d") for day in walked] == [
        "10-09",
        "10-10",
        "10-11",
        "10-13",
        "10-14",
        "10-15",
        "10-16",
    ]


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2025-10-01", "2025-10-09"),  # holiday: rolls to the next working day
        ("2025-10-11", "2025-10-11"),  # a make-up Saturday is a working day itself
        ("2025-10-12", "2025-10-13"),  # an ordinary Sunday
        ("2025-09-30", "2025-09-30"),  # a working day stays
        ("2026-02-14", "2026-02-14"),  # make-up Saturday before Spring Festival 2026
        ("2026-02-15", "2026-02-24"),  # Spring Festival 2026
    ],
)
def test_zero_days_rolls_forward(cal: WorkCalendar, start: str, expected: str) -> None:
    assert cal.add_working_days(d(start), 0) == d(expected)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ("2025-10-09", -1, "2025-09-30"),
        ("2025-10-13", -1, "2025-10-11"),  # the make-up Saturday counts backwards too
        ("2025-10-13", -2, "2025-10-10"),
        ("2025-10-05", -1, "2025-09-30"),  # from a holiday
        ("2025-10-16", -7, "2025-09-30"),
        ("2025-02-05", -1, "2025-01-27"),  # Spring Festival 28 Jan - 4 Feb
        ("2025-01-27", -1, "2025-01-26"),  # Sunday 26 January was worked
    ],
)
def test_negative_days_count_back(cal: WorkCalendar, start: str, n: int, expected: str) -> None:
    assert cal.add_working_days(d(start), n) == d(expected)


def test_long_periods_cross_years(cal: WorkCalendar) -> None:
    # 2025 has 250 working days (365 - 104 weekend days - 13 days off on weekdays ... )
    year_2025 = cal.working_days_between(d("2024-12-31"), d("2025-12-31"))
    assert year_2025 == sum(cal.is_working_day(day) for day in days("2025-01-01", "2025-12-31"))
    assert cal.add_working_days(d("2024-12-31"), year_2025) == d("2025-12-31")
    assert cal.add_working_days(d("2025-12-31"), -year_2025) == d("2024-12-31")


def test_working_days_between_is_half_open(cal: WorkCalendar) -> None:
    assert cal.working_days_between(d("2025-09-30"), d("2025-10-16")) == 7
    assert cal.working_days_between(d("2025-10-16"), d("2025-09-30")) == -7
    assert cal.working_days_between(d("2025-09-30"), d("2025-09-30")) == 0
    assert cal.working_days_between(d("2025-09-29"), d("2025-09-30")) == 1  # end counted
    assert cal.working_days_between(d("2025-09-30"), d("2025-10-08")) == 0  # start not
    assert cal.working_days_between(d("2025-10-01"), d("2025-10-09")) == 1
    assert cal.working_days_between(d("2025-10-10"), d("2025-10-12")) == 1  # Sat worked
    assert cal.working_days_between(at("2025-09-30 23:00"), at("2025-10-16 01:00")) == 7


def test_n_must_be_an_int(cal: WorkCalendar) -> None:
    with pytest.raises(CalendarError, match="n must be an int"):
        cal.add_working_days(d("2025-01-02"), 1.5)  # type: ignore[arg-type]


# --- business hours and working time --------------------------------------------------------


def test_add_working_time_with_two_shifts(office: WorkCalendar) -> None:
    start = at("2025-09-30 11:00")
    hour = dt.timedelta(hours=1)
    assert office.add_working_time(start, hour) == at("2025-09-30 12:00")  # stays on the end
    assert office.add_working_time(start, hour + dt.timedelta(minutes=1)) == at("2025-09-30 13:31")
    assert office.add_working_time(start, 5.5 * hour) == at("2025-09-30 18:00")
    assert office.add_working_time(start, 6 * hour) == at("2025-10-09 09:30")
    assert office.add_working_time(at("2025-10-09 09:30"), -6 * hour) == at("2025-09-30 11:00")


def test_add_working_time_from_outside_business_hours(office: WorkCalendar) -> None:
    assert office.add_working_time(at("2025-09-30 12:30"), dt.timedelta(minutes=30)) == at(
        "2025-09-30 14:00"
    )
    assert office.add_working_time(at("2025-10-03 10:00"), dt.timedelta(hours=2)) == at(
        "2025-10-09 11:00"
    )
    # zero working time: the next working instant
    assert office.add_working_time(at("2025-10-03 10:00"), dt.timedelta(0)) == at(
        "2025-10-09 09:00"
    )


def test_next_working_instant(office: WorkCalendar) -> None:
    assert office.next_working_instant(at("2025-09-30 11:59")) == at("2025-09-30 11:59")
    assert office.next_working_instant(at("2025-09-30 09:00")) == at("2025-09-30 09:00")
    assert office.next_working_instant(at("2025-09-30 12:00")) == at("2025-09-30 13:30")
    assert office.next_working_instant(at("2025-09-30 18:00")) == at("2025-10-09 09:00")
    assert office.next_working_instant(at("2025-10-10 18:00")) == at("2025-10-11 09:00")
    result = office.next_working_instant(dt.datetime(2025, 9, 30, 10, 0, tzinfo=dt.UTC))
    assert result == at("2025-10-09 09:00")
    assert result.tzinfo == SH


def test_working_time_between(office: WorkCalendar, cal: WorkCalendar) -> None:
    a, b = at("2025-09-30 11:00"), at("2025-10-09 10:00")
    assert office.working_time_between(a, b) == dt.timedelta(hours=6, minutes=30)
    assert office.working_time_between(b, a) == -dt.timedelta(hours=6, minutes=30)
    assert office.working_time_between(a, a) == dt.timedelta(0)
    assert office.working_time_between(at("2025-09-30 12:00"), at("2025-09-30 13:30")) == (
        dt.timedelta(0)
    )
    # without business hours a working day counts 24 hours
    assert cal.working_time_between(a, b) == dt.timedelta(hours=13 + 10)


def test_per_weekday_business_hours() -> None:
    hours = BusinessHours(OFFICE, weekdays={4: "09:00-12:00", 5: "10:00-11:00", 6: ""})
    cal = WorkCalendar.china(business_hours=hours)
    # Friday is a half day
    assert cal.deadline(at("2025-06-09 10:00"), "4wd").due == at("2025-06-13 12:00")
    assert cal.add_working_time(at("2025-06-13 10:00"), dt.timedelta(hours=5)) == at(
        "2025-06-16 12:00"
    )
    assert cal.next_working_instant(at("2025-06-13 12:00")) == at("2025-06-16 09:00")
    # make-up weekend days work the default shifts, whatever their weekday says
    assert cal.end_of_day(d("2025-10-11")) == at("2025-10-11 18:00")  # Saturday
    assert cal.end_of_day(d("2025-09-28")) == at("2025-09-28 18:00")  # Sunday
    assert cal.next_working_instant(at("2025-10-11 12:00")) == at("2025-10-11 13:30")
    assert hours.shifts_on(d("2025-06-13")) == (Shift(540, 720),)
    assert hours.shifts_on(d("2025-10-11"), makeup=True) == hours.default


def test_touching_shifts_are_one_span() -> None:
    cal = WorkCalendar.china(business_hours="09:00-12:00,12:00-18:00")
    assert cal.next_working_instant(at("2025-09-30 12:00")) == at("2025-09-30 12:00")
    assert cal.working_time_between(at("2025-09-30 09:00"), at("2025-09-30 18:00")) == (
        dt.timedelta(hours=9)
    )


def test_business_hours_values() -> None:
    pairs = BusinessHours([("09:00", "12:00"), (dt.time(13, 30), dt.time(18, 0))])
    assert pairs == BusinessHours(OFFICE)
    assert hash(pairs) == hash(BusinessHours(OFFICE))
    assert BusinessHours("13:30-18:00,09:00-12:00") == pairs  # order does not matter
    assert repr(BusinessHours("22:00-24:00")) == "BusinessHours('22:00-24:00')"
    assert str(Shift.parse("9:05-17:00")) == "09:05-17:00"


# --- durations and deadlines ----------------------------------------------------------------


def test_every_duration_kind(cal: WorkCalendar, office: WorkCalendar) -> None:
    received = at("2025-09-30 17:00")
    assert cal.deadline(received, "24h").due == at("2025-10-01 17:00")
    assert cal.deadline(received, "90min").due == at("2025-09-30 18:30")
    assert cal.deadline(received, ClockTime(dt.timedelta(hours=24))).due == at("2025-10-01 17:00")
    assert cal.deadline(received, "4wh").due == at("2025-09-30 21:00")
    assert office.deadline(received, "4wh").due == at("2025-10-09 12:00")
    assert office.deadline(received, "30wmin").due == at("2025-09-30 17:30")
    assert cal.deadline(received, "7wd").last_day == d("2025-10-16")
    assert cal.deadline(received, "10d").last_day == d("2025-10-10")
    assert cal.deadline(received, "1mo").last_day == d("2025-10-30")
    assert office.deadline(received, "1mo").due == at("2025-10-30 18:00")


@pytest.mark.parametrize(
    ("start", "duration", "last_day"),
    [
        ("2025-09-25 10:00", "10d", "2025-10-09"),  # 5 October is a holiday: art. 203
        ("2025-09-26 10:00", "1d", "2025-09-28"),  # Saturday 27th off, Sunday 28th worked
        ("2025-10-03 10:00", "1d", "2025-10-09"),
        ("2025-09-01 10:00", "1mo", "2025-10-09"),  # 1 October is a holiday
        ("2025-01-31 10:00", "1mo", "2025-02-28"),  # no 31 February: the month's end
        ("2024-01-31 10:00", "1mo", "2024-02-29"),  # leap year
        ("2026-01-31 10:00", "1mo", "2026-02-28"),  # Sat 28 Feb 2026 is a make-up day
        ("2025-12-31 10:00", "1mo", "2026-02-02"),  # Sat 31 Jan 2026 -> Monday
        ("2025-03-31 10:00", "2mo", "2025-06-03"),  # Sat 31 May starts 端午节 (to 2 June)
        ("2025-03-30 10:00", "2mo", "2025-05-30"),  # a Friday: not moved
    ],
)
def test_calendar_periods_roll_to_the_next_working_day(
    cal: WorkCalendar, start: str, duration: str, last_day: str
) -> None:
    deadline = cal.deadline(at(start), duration)
    assert deadline.last_day == d(last_day)
    assert deadline.due == at(f"{last_day} 00:00") + dt.timedelta(days=1)


def test_calendar_periods_end_on_working_days_with_business_hours(office: WorkCalendar) -> None:
    deadline = office.deadline(at("2025-09-25 10:00"), "10d")
    assert (deadline.last_day, deadline.due) == (d("2025-10-09"), at("2025-10-09 18:00"))


def test_day_periods_start_from_the_local_date(cal: WorkCalendar) -> None:
    # 20:00 UTC on 29 September is 04:00 on 30 September in Shanghai
    start = dt.datetime(2025, 9, 29, 20, 0, tzinfo=dt.UTC)
    deadline = cal.deadline(start, "1wd")
    assert deadline.last_day == d("2025-10-09")
    assert deadline.start == at("2025-09-30 04:00")
    assert deadline.start.tzinfo == SH
    assert deadline.due.tzinfo == SH


def test_zero_and_negative_day_periods(cal: WorkCalendar) -> None:
    assert cal.deadline(at("2025-09-30 17:00"), "0wd").due == at("2025-10-01 00:00")
    assert cal.deadline(at("2025-10-01 17:00"), "0wd").last_day == d("2025-10-09")
    assert cal.deadline(at("2025-10-09 17:00"), "-1wd").last_day == d("2025-09-30")


def test_a_working_hour_period_ending_at_midnight_ends_that_day(cal: WorkCalendar) -> None:
    deadline = cal.deadline(at("2025-09-30 00:00"), "24wh")
    assert deadline.due == at("2025-10-01 00:00")
    assert deadline.last_day == d("2025-09-30")  # not 1 October, a holiday


def test_deadline_helpers(cal: WorkCalendar) -> None:
    deadline = cal.deadline(at("2025-09-30 17:00"), "24h")
    assert deadline.remaining(at("2025-10-01 16:00")) == dt.timedelta(hours=1)
    assert not deadline.is_overdue(at("2025-10-01 17:00"))
    assert deadline.is_overdue(at("2025-10-01 17:01"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", ClockTime(dt.timedelta(hours=24))),
        ("30min", ClockTime(dt.timedelta(minutes=30))),
        ("45s", ClockTime(dt.timedelta(seconds=45))),
        ("4wh", WorkingHours(dt.timedelta(hours=4))),
        ("1.5wh", WorkingHours(dt.timedelta(minutes=90))),
        ("90wmin", WorkingHours(dt.timedelta(minutes=90))),
        ("7wd", WorkingDays(7)),
        (" 7 wd ", WorkingDays(7)),
        ("10d", CalendarDays(10)),
        ("1mo", CalendarMonths(1)),
    ],
)
def test_duration_text(text: str, expected: Duration) -> None:
    assert Duration.parse(text) == expected
    assert Duration.parse(str(expected)) == expected


def test_duration_text_form_is_exact() -> None:
    assert str(ClockTime(dt.timedelta(hours=24))) == "24h"
    assert str(ClockTime(dt.timedelta(minutes=90))) == "90min"
    assert str(ClockTime(dt.timedelta(seconds=1))) == "1s"
    assert str(ClockTime(dt.timedelta(seconds=0.25))) == "0.25s"
    assert str(WorkingHours(dt.timedelta(minutes=90))) == "90wmin"
    odd = WorkingHours(dt.timedelta(seconds=1))
    assert Duration.parse(str(odd)) == odd


# --- the horizon ----------------------------------------------------------------------------


def test_the_horizon_is_the_last_published_schedule(cal: WorkCalendar) -> None:
    assert cal.authoritative_until == d("2026-12-31")
    assert cal.authoritative_from == d("2001-01-01")
    assert cal.coverage == "raise"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.add_working_days(d("2026-12-28"), 5),
        lambda c: c.is_working_day(d("2027-01-04")),
        lambda c: c.working_days_between(d("2026-12-01"), d("2027-01-05")),
        lambda c: c.deadline(at("2026-12-30 10:00"), "7wd"),
        lambda c: c.add_working_time(at("2026-12-31 10:00"), dt.timedelta(hours=24)),
        lambda c: c.next_working_instant(at("2027-01-01 00:00")),
    ],
    ids=["add", "is_working_day", "between", "deadline", "add_time", "next_instant"],
)
def test_past_the_horizon_raises_naming_the_year(cal: WorkCalendar, call: object) -> None:
    with pytest.raises(CalendarCoverageError, match="2027") as info:
        call(cal)  # type: ignore[operator]
    assert info.value.year == 2027
    assert info.value.authoritative_until == d("2026-12-31")


def test_before_the_first_schedule_raises(cal: WorkCalendar) -> None:
    with pytest.raises(CalendarCoverageError) as info:
        cal.is_working_day(d("2000-12-29"))
    assert info.value.year == 2000


def test_up_to_the_horizon_does_not_raise(cal: WorkCalendar) -> None:
    assert cal.add_working_days(d("2026-12-28"), 3) == d("2026-12-31")
    assert cal.deadline(at("2026-12-28 10:00"), "3wd").due == at("2027-01-01 00:00")
    # working time that ends at 24:00 on the last day needs no data of 2027
    assert cal.add_working_time(at("2026-12-31 01:00"), dt.timedelta(hours=23)) == at(
        "2027-01-01 00:00"
    )
    deadline = cal.deadline(at("2026-12-31 01:00"), "23wh")
    assert (deadline.last_day, deadline.provisional) == (d("2026-12-31"), False)
    assert cal.working_time_between(at("2026-12-31 00:00"), at("2027-01-01 00:00")) == (
        dt.timedelta(hours=24)
    )


def test_provisional_coverage_warns_and_marks() -> None:
    cal = WorkCalendar.china(coverage="provisional")
    with pytest.warns(ProvisionalWarning, match="provisional"):
        deadline = cal.deadline(at("2026-12-28 10:00"), "5wd")
    assert deadline.provisional
    assert deadline.last_day == d("2027-01-05")  # estimate: 1 January off, no make-up days
    with pytest.warns(ProvisionalWarning, match="2027"):
        assert cal.add_working_days(d("2026-12-28"), 5) == d("2027-01-05")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inside = cal.deadline(at("2026-12-28 10:00"), "3wd")
    assert not inside.provisional
    assert WorkCalendar.china().with_coverage("provisional").coverage == "provisional"


def test_bad_coverage_is_refused() -> None:
    with pytest.raises(CalendarError, match="coverage"):
        WorkCalendar.china(coverage="maybe")  # type: ignore[arg-type]


# --- loading a newly published schedule -----------------------------------------------------

# A hypothetical 2027 schedule (the real one is published about November 2026).
SPRING_2027 = ["2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11"]
HOLIDAYS_2027 = ["2027-01-01", *SPRING_2027, "2027-02-12", "2027-10-01", "2027-10-04"]
WORKDAYS_2027 = ["2027-02-20", "2027-10-09"]


def test_with_schedule_moves_the_horizon(cal: WorkCalendar) -> None:
    cal27 = cal.with_schedule(2027, holidays=HOLIDAYS_2027, workdays=WORKDAYS_2027)
    assert cal27.authoritative_until == d("2027-12-31")
    assert cal.authoritative_until == d("2026-12-31")  # the original is unchanged
    assert cal27.is_working_day(d("2027-02-20"))  # a Saturday made a working day
    assert not cal27.is_working_day(d("2027-02-12"))
    assert cal27.add_working_days(d("2027-02-04"), 1) == d("2027-02-15")
    assert not cal27.deadline(at("2026-12-28 10:00"), "5wd").provisional
    with pytest.raises(CalendarCoverageError, match="2028") as info:
        cal27.add_working_days(d("2027-12-28"), 5)
    assert info.value.authoritative_until == d("2027-12-31")


def test_a_schedule_changes_results_against_the_estimate() -> None:
    estimate = WorkCalendar.china(coverage="provisional")
    published = estimate.with_schedule(2027, holidays=HOLIDAYS_2027, workdays=WORKDAYS_2027)
    with pytest.warns(ProvisionalWarning):
        assert estimate.add_working_days(d("2027-02-04"), 1) == d("2027-02-11")
        assert not estimate.is_working_day(d("2027-02-20"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert published.add_working_days(d("2027-02-04"), 1) == d("2027-02-15")
        assert published.is_working_day(d("2027-02-20"))


def test_with_schedule_accepts_dates_and_replaces_a_published_year(cal: WorkCalendar) -> None:
    changed = cal.with_schedule(2025, holidays=[dt.date(2025, 10, 1)], workdays=[])
    assert changed.is_working_day(d("2025-10-08"))
    assert changed.authoritative_until == d("2026-12-31")


def test_schedule_file_json(cal: WorkCalendar, tmp_path: Path) -> None:
    path = tmp_path / "cn-2027.json"
    schedule = {
        "2027": {
            "source": "国办发明电〔2026〕…号 (hypothetical)",
            "holidays": ["2027-01-01", "2027-02-05..2027-02-12", "2027-10-01", "2027-10-04"],
            "workdays": WORKDAYS_2027,
        }
    }
    path.write_text(json.dumps(schedule, ensure_ascii=False), encoding="utf-8")
    cal27 = cal.with_schedule_file(path)
    expected = cal.with_schedule(2027, holidays=HOLIDAYS_2027, workdays=WORKDAYS_2027)
    assert cal27.authoritative_until == d("2027-12-31")
    for day in days("2027-01-01", "2027-12-31"):
        assert cal27.is_working_day(day) == expected.is_working_day(day), day


def test_schedule_file_toml(cal: WorkCalendar, tmp_path: Path) -> None:
    path = tmp_path / "cn.toml"
    path.write_text(
        """
        [2027]
        holidays = [2027-01-01, "2027-02-05..2027-02-12", "2027-10-01", "2027-10-04"]
        workdays = ["2027-02-20", 2027-10-09]

        [2028]
        holidays = ["2028-01-03"]
        """,
        encoding="utf-8",
    )
    loaded = cal.with_schedule_file(str(path))
    assert loaded.authoritative_until == d("2028-12-31")
    assert loaded.add_working_days(d("2027-02-04"), 1) == d("2027-02-15")
    assert loaded.is_working_day(d("2027-10-09"))
    assert not loaded.is_working_day(d("2028-01-03"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"2027": {"holidays": ["2027-01-01"], "extra": 1}}', "'extra'"),
        ('{"2027": {"workdays": []}}', r"\[2027\] lacks 'holidays'"),
        ('{"next": {"holidays": []}}', "key 'next' is not a year"),
        ('{"2027": {"holidays": ["2027-02-30"]}}', "holidays: '2027-02-30' is not a date"),
        ('{"2027": {"holidays": ["2029-01-01"]}}', "2027 holidays: 2029-01-01 is not in 2027"),
        ('{"2027": {"holidays": "2027-01-01"}}', r"\[2027\]\.holidays: expected a list"),
        ('{"2027": {"holidays": ["2027-02-12..2027-02-05"]}}', "ends before it starts"),
        ('{"2027": {"holidays": ["2027-02-x..2027-02-05"]}}', "bad range"),
        ('{"2027": {"holidays": [], "workdays": [7]}}', r"\[2027\]\.workdays: 7 is not a date"),
        (
            '{"2027": {"holidays": ["2027-01-02"], "workdays": ["2027-01-02"]}}',
            "2027-01-02 is listed as a holiday and as a workday",
        ),
        ('{"2027": [1, 2]}', r"\[2027\] must have 'holidays'"),
        ("{}", "expected a table of years"),
        ('{"2027": ', "cannot read schedule"),
    ],
)
def test_bad_schedule_files_name_the_fault(
    cal: WorkCalendar, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "schedule.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ScheduleError, match=message) as info:
        cal.with_schedule_file(path)
    assert str(path) in str(info.value)


def test_bad_toml_and_missing_files(cal: WorkCalendar, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[2027\nholidays = [", encoding="utf-8")
    with pytest.raises(ScheduleError, match=r"bad\.toml: cannot read schedule"):
        cal.with_schedule_file(bad)
    with pytest.raises(ScheduleError, match="cannot read schedule"):
        cal.with_schedule_file(tmp_path / "missing.json")


def test_with_schedule_refuses_bad_years(cal: WorkCalendar) -> None:
    with pytest.raises(ScheduleError, match="year 99999"):
        cal.with_schedule(99999, holidays=[])


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.add_working_days(dt.datetime(2025, 9, 30, 17, 0), 7),
        lambda c: c.is_working_day(dt.datetime(2025, 9, 30, 17, 0)),
        lambda c: c.working_days_between(d("2025-09-30"), dt.datetime(2025, 10, 9)),
        lambda c: c.deadline(dt.datetime(2025, 9, 30, 17, 0), "7wd"),
        lambda c: c.add_working_time(dt.datetime(2025, 9, 30, 17, 0), dt.timedelta(hours=1)),
        lambda c: c.next_working_instant(dt.datetime(2025, 9, 30, 17, 0)),
        lambda c: c.working_time_between(at("2025-09-30 17:00"), dt.datetime(2025, 10, 9)),
    ],
)
def test_naive_datetimes_are_refused(office: WorkCalendar, call: object) -> None:
    with pytest.raises(NaiveDatetimeError, match="naive: pass an aware datetime") as info:
        call(office)  # type: ignore[operator]
    assert isinstance(info.value.value, dt.datetime)


def test_unknown_country() -> None:
    with pytest.raises(UnknownCountryError, match="'XX'") as info:
        WorkCalendar.country("XX", tz="UTC")
    assert info.value.country == "XX"
    with pytest.raises(LookupError, match="subdivision 'ZZ'"):
        WorkCalendar.country("DE", "ZZ", tz="Europe/Berlin")


def test_unknown_time_zone() -> None:
    with pytest.raises(CalendarError, match="unknown time zone 'Asia/Peking'"):
        WorkCalendar.china(tz="Asia/Peking")
    with pytest.raises(ValueError, match="unknown time zone"):
        WorkCalendar.weekly(tz="Nowhere")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("7 days", "expected a number and one of the units"),
        ("wd", "expected a number"),
        ("", "expected a number"),
        ("7", "expected a number"),
        ("1.5wd", "'wd' must be a whole number"),
        ("2.5mo", "'mo' must be a whole number"),
        ("1e3h", "expected a number"),
    ],
)
def test_malformed_durations(cal: WorkCalendar, text: str, message: str) -> None:
    with pytest.raises(DurationError, match=message) as info:
        Duration.parse(text)
    assert info.value.text == text
    with pytest.raises(DurationError):
        cal.deadline(at("2025-09-30 17:00"), text)


def test_duration_values_are_checked() -> None:
    with pytest.raises(DurationError, match="expected a string"):
        Duration.parse(7)  # type: ignore[arg-type]
    with pytest.raises(DurationError, match="days must be an int"):
        WorkingDays(1.5)  # type: ignore[arg-type]
    with pytest.raises(DurationError, match="delta must be a timedelta"):
        ClockTime(3600)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("09:00-12:00,11:00-18:00", "shifts 09:00-12:00 and 11:00-18:00 overlap"),
        ("18:00-09:00", "shift 18:00-09:00 ends before it starts"),
        ("09:00-09:00", "ends before it starts"),
        ("9-18", "bad time '9': expected 'HH:MM'"),
        ("09:00-25:00", "bad time '25:00'"),
        ("09:60-12:00", "bad time '09:60'"),
        ("24:30-24:45", "bad time '24:30'"),
        ("09:00", "bad shift '09:00'"),
        ("09:00-10:00-11:00", "bad shift"),
        ("", "at least one shift"),
    ],
)
def test_bad_business_hours(hours: str, message: str) -> None:
    with pytest.raises(BusinessHoursError, match=message):
        BusinessHours(hours)
    with pytest.raises(BusinessHoursError):
        WorkCalendar.china(business_hours=hours)


def test_bad_weekday_business_hours() -> None:
    with pytest.raises(BusinessHoursError, match="weekday 7"):
        BusinessHours(OFFICE, weekdays={7: "09:00-12:00"})
    with pytest.raises(BusinessHoursError, match=r"on weekday 4: shifts .* overlap"):
        BusinessHours(OFFICE, weekdays={4: "09:00-12:00,10:00-11:00"})


def test_bad_weekmask() -> None:
    with pytest.raises(CalendarError, match="weekmask '11111'"):
        WorkCalendar.weekly("11111")


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (CalendarError, ValueError),
        (NaiveDatetimeError, ValueError),
        (UnknownCountryError, LookupError),
        (UnknownCountryError, ValueError),
        (BusinessHoursError, ValueError),
        (ScheduleError, ValueError),
        (DurationError, ValueError),
        (CalendarCoverageError, LookupError),
    ],
)
def test_errors_subclass_flowerror_and_a_builtin(
    error: type[Exception], builtin: type[Exception]
) -> None:
    assert issubclass(error, FlowError)
    assert issubclass(error, builtin)


def test_provisional_warning_is_a_user_warning() -> None:
    assert issubclass(ProvisionalWarning, UserWarning)
    assert not issubclass(ProvisionalWarning, FlowError)


# --- other countries and zones --------------------------------------------------------------


@pytest.fixture(scope="module")
def germany() -> WorkCalendar:
    return WorkCalendar.country("DE", tz="Europe/Berlin", business_hours="09:00-17:00")


def test_germany_across_the_spring_dst_change(germany: WorkCalendar) -> None:
    friday = at("2025-03-28 13:00", BERLIN)
    monday = germany.add_working_time(friday, dt.timedelta(hours=8))
    assert monday == at("2025-03-31 13:00", BERLIN)
    assert monday.utcoffset() == dt.timedelta(hours=2)  # summer time
    # the night of the 30th is an hour short (subtract in UTC: same-zone subtraction
    # in Python is wall-clock subtraction)
    assert monday.astimezone(dt.UTC) - friday.astimezone(dt.UTC) == dt.timedelta(hours=71)
    assert germany.working_time_between(friday, monday) == dt.timedelta(hours=8)
    assert germany.deadline(friday, "1wd").due == at("2025-03-31 17:00", BERLIN)
    # clock time is exact elapsed time across the change
    saturday = at("2025-03-29 12:00", BERLIN)
    assert germany.deadline(saturday, "24h").due == at("2025-03-30 13:00", BERLIN)


def test_germany_across_the_autumn_dst_change() -> None:
    always = WorkCalendar.weekly("1111111", tz="Europe/Berlin")
    sunday, monday = at("2025-10-26 00:00", BERLIN), at("2025-10-27 00:00", BERLIN)
    assert always.working_time_between(sunday, monday) == dt.timedelta(hours=25)
    assert always.add_working_time(sunday, dt.timedelta(hours=25)) == monday


@pytest.mark.parametrize(
    ("hours", "worked", "four_hours_later"),
    [
        # 02:30 does not exist on 30 March: the first shift ends when the clock jumps
        # to 03:00, where the second starts; nothing is counted twice
        ("01:30-02:30,03:00-04:00", dt.timedelta(hours=1, minutes=30), "2025-04-01 02:00"),
        # a shift wholly inside the skipped hour does not happen that day
        ("02:30-03:00,09:00-10:00", dt.timedelta(hours=1), "2025-04-01 10:00"),
    ],
)
def test_shifts_in_the_skipped_hour_of_a_dst_change(
    hours: str, worked: dt.timedelta, four_hours_later: str
) -> None:
    always = WorkCalendar.weekly("1111111", tz="Europe/Berlin", business_hours=hours)
    sunday = at("2025-03-30 00:00", BERLIN)
    assert always.working_time_between(sunday, at("2025-03-31 00:00", BERLIN)) == worked
    # and the days after it are counted as usual
    start = at("2025-03-29 12:00", BERLIN)
    later = always.add_working_time(start, dt.timedelta(hours=4))
    assert later == at(four_hours_later, BERLIN)
    assert always.working_time_between(start, later) == dt.timedelta(hours=4)


def test_germany_holidays(germany: WorkCalendar) -> None:
    assert germany.authoritative_until is None
    assert not germany.is_working_day(d("2025-04-18"))  # Good Friday
    assert not germany.is_working_day(d("2025-04-21"))  # Easter Monday
    assert not germany.is_working_day(d("2025-10-03"))  # German Unity Day
    assert germany.add_working_time(at("2025-04-17 16:00", BERLIN), dt.timedelta(hours=2)) == at(
        "2025-04-22 10:00", BERLIN
    )
    # far from today: no horizon, no error
    assert germany.add_working_days(d("2031-12-19"), 5) == d("2031-12-30")  # Christmas
    assert germany.add_working_days(d("2031-12-30"), 2) == d("2032-01-02")  # New Year


def test_a_subdivision_has_its_own_holidays() -> None:
    bavaria = WorkCalendar.country("DE", "BY", tz="Europe/Berlin")
    berlin = WorkCalendar.country("DE", "BE", tz="Europe/Berlin")
    assert not bavaria.is_working_day(d("2025-01-06"))  # Epiphany in Bavaria only
    assert berlin.is_working_day(d("2025-01-06"))
    assert "DE-BY" in repr(bavaria)


def test_a_country_calendar_with_a_horizon() -> None:
    cal = WorkCalendar.country("DE", tz="Europe/Berlin", authoritative_until=d("2025-12-31"))
    with pytest.raises(CalendarCoverageError, match="2026"):
        cal.add_working_days(d("2025-12-30"), 3)


def test_weekly_calendar() -> None:
    cal = WorkCalendar.weekly("1111110", tz="Asia/Shanghai", holidays=[d("2025-01-06")])
    assert cal.add_working_days(d("2025-01-03"), 1) == d("2025-01-04")  # Saturday
    assert cal.add_working_days(d("2025-01-04"), 1) == d("2025-01-07")  # Sunday, holiday
    assert cal.authoritative_until is None


def test_china_in_another_zone() -> None:
    # a Shanghai office's rules, with results given in UTC
    cal = WorkCalendar.china(tz="UTC", business_hours="01:00-10:00")
    due = cal.deadline(dt.datetime(2025, 9, 30, 9, 0, tzinfo=dt.UTC), "2wh").due
    assert due == dt.datetime(2025, 10, 9, 2, 0, tzinfo=dt.UTC)


def test_calendars_are_values() -> None:
    cal = WorkCalendar.china()
    office = cal.with_business_hours(OFFICE)
    assert cal.business_hours is None
    assert office.business_hours == BusinessHours(OFFICE)
    assert office.with_business_hours(None).business_hours is None
    assert "business_hours=BusinessHours('09:00-12:00,13:30-18:00')" in repr(office)
    assert "authoritative_until=2026-12-31" in repr(cal)


def test_calendar_without_working_time_says_so() -> None:
    closed = WorkCalendar.weekly(
        "1111100", business_hours=BusinessHours("09:00-17:00", weekdays=dict.fromkeys(range(5), ""))
    )
    start = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
    with pytest.raises(CalendarError, match="no working time within ten years"):
        closed.next_working_instant(start)
    with pytest.raises(CalendarError, match="no working time within ten years"):
        closed.add_working_time(start, dt.timedelta(hours=1))


def test_working_days_between_needs_no_data_for_the_uncounted_start_day() -> None:
    cal = WorkCalendar.china()
    # (2000-12-31, 2001-01-05]: only 2001 days are counted, and 2001 is covered
    assert cal.working_days_between(dt.date(2000, 12, 31), dt.date(2001, 1, 5)) >= 1
    with pytest.raises(CalendarCoverageError):
        cal.working_days_between(dt.date(2000, 12, 30), dt.date(2001, 1, 5))


def test_china_horizon_can_be_pinned_earlier_but_not_later() -> None:
    pinned = WorkCalendar.china(authoritative_until=dt.date(2025, 12, 31))
    assert pinned.authoritative_until == dt.date(2025, 12, 31)
    with pytest.raises(CalendarCoverageError, match="2026"):
        pinned.add_working_days(dt.date(2025, 12, 30), 3)
    with pytest.raises(CalendarError, match="past the last official schedule"):
        WorkCalendar.china(authoritative_until=dt.date(2999, 12, 31))


def test_the_calendar_package_exports_its_public_names() -> None:
    import types

    import techsvc_flow.calendar as package

    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert (
        public
        == set(package.__all__)
        == {
            "BusinessHours",
            "CalendarLayer",
            "Coverage",
            "Overlay",
            "Shift",
            "WorkCalendar",
        }
    )


def test_a_name_moved_to_a_submodule_still_resolves_with_a_warning() -> None:
    import techsvc_flow.calendar
    from techsvc_flow.calendar.hours import ShiftsLike

    with pytest.warns(DeprecationWarning, match=r"techsvc_flow\.calendar\.hours\.ShiftsLike"):
        assert techsvc_flow.calendar.ShiftsLike is ShiftsLike
    with pytest.raises(AttributeError):
        techsvc_flow.calendar.nothing_here  # noqa: B018
