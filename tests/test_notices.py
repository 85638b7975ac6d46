"""State Council notices and holiday-cn files, checked day by day against `holidays`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from techsvc_flow.calendar import WorkCalendar
from techsvc_flow.calendar.notices import parse_notice
from techsvc_flow.errors import ScheduleError

DATA = Path(__file__).parent / "data"
NOTICES = DATA / "notices"


def text(name: str) -> str:
    return (NOTICES / name).read_text(encoding="utf-8")


def year_days(year: int) -> list[dt.date]:
    first = dt.date(year, 1, 1)
    return [first + dt.timedelta(days=i) for i in range((dt.date(year + 1, 1, 1) - first).days)]


def disagreements(cal: WorkCalendar, year: int) -> list[dt.date]:
    official = WorkCalendar.china()
    return [d for d in year_days(year) if cal.is_working_day(d) != official.is_working_day(d)]


# a plain Monday-Friday calendar knows no holiday: everything comes from the notice
PLAIN = WorkCalendar.weekly("1111100", tz="Asia/Shanghai")


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_a_real_notice_matches_the_holidays_package_day_by_day(year: int) -> None:
    cal = PLAIN.with_notice(text(f"{year}.txt"))
    assert disagreements(cal, year) == []
    assert not cal.is_working_day(dt.date(year, 10, 1))
    # without the notice the plain calendar disagrees: the check can fail
    assert disagreements(PLAIN, year)


def test_2019_needs_the_labour_day_amendment() -> None:
    original = PLAIN.with_notice(text("2019.txt"))
    assert disagreements(original, 2019) == [
        dt.date(2019, 4, 28),
        dt.date(2019, 5, 2),
        dt.date(2019, 5, 3),
        dt.date(2019, 5, 5),
    ]
    amended = original.with_notice(text("2019-labour-day.txt"))
    assert disagreements(amended, 2019) == []


def test_the_amendment_also_applies_to_the_built_in_data() -> None:
    official = WorkCalendar.china()
    assert official.with_notice(text("2019-labour-day.txt")).digest() == official.digest()


def test_an_amendment_resets_the_festivals_earlier_days_only() -> None:
    original = PLAIN.with_notice(text("2019.txt")).with_notice(text("2019-labour-day.txt"))
    shorter = "国务院办公厅关于调整2019年劳动节假期安排的通知\n一、5月1日（星期三）放假。"
    cal = original.with_notice(shorter)
    # the amended festival's days are back to an ordinary week: only 1 May is off
    assert [cal.is_working_day(dt.date(2019, 5, d)) for d in range(1, 6)] == [
        False, True, True, False, False,
    ]  # fmt: skip
    assert cal.is_working_day(dt.date(2019, 4, 28)) is False  # a Sunday again
    # every other festival is kept
    assert not cal.is_working_day(dt.date(2019, 10, 7))
    assert cal.is_working_day(dt.date(2019, 10, 12))


def test_the_previous_december_of_a_new_year_notice_is_set() -> None:
    cal = PLAIN.with_notice(text("2019.txt"))
    assert cal.is_working_day(dt.date(2018, 12, 29))  # a Saturday worked
    assert not cal.is_working_day(dt.date(2018, 12, 31))  # a Monday off
    assert PLAIN.is_working_day(dt.date(2018, 12, 31))


def test_a_december_range_without_years_starts_in_the_previous_year() -> None:
    notice = parse_notice(
        "关于2019年部分节假日安排的通知\n一、元旦：12月30日（周日）至1月1日（周二）放假。"
    )
    assert notice.items[0].off == (
        dt.date(2018, 12, 30),
        dt.date(2018, 12, 31),
        dt.date(2019, 1, 1),
    )


def test_half_width_punctuation_and_either_weekday_form() -> None:
    full = text("2025.txt")
    half = full.translate(str.maketrans("（），：；", "(),:;")).replace("周", "星期")
    assert half != full
    assert parse_notice(half) == parse_notice(full)


def test_a_one_day_holiday_without_make_up_days() -> None:
    item = parse_notice(text("2025.txt")).items[0]
    assert (item.name, item.off, item.on) == ("元旦", (dt.date(2025, 1, 1),), ())


def test_the_rest_day_the_2024_notice_only_encourages_is_not_a_day_off() -> None:
    cal = PLAIN.with_notice(text("2024.txt"))
    assert cal.is_working_day(dt.date(2024, 2, 9))  # 除夕 2024: "鼓励…休息", not 放假


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("1月28日（农历除夕、周二）", "1月28日（农历除夕、周三）"),
            r"item 二 \(春节\): 1月28日 .* not 周三",
        ),
        (
            ("共8天。1月26日", "共9天。1月26日"),
            r"item 二 \(春节\): says 9 days but its dates give 8",
        ),
        (("放假1天", "放假2天"), r"item 一 \(元旦\): says 2 days but its dates give 1"),
        (("4月27日（周日）上班", "4月27日（周六）上班"), r"item 四 \(劳动节\): .* not 周六"),
    ],
)
def test_a_notice_that_contradicts_itself_is_refused_naming_the_item(
    change: tuple[str, str], message: str
) -> None:
    original = text("2025.txt")
    bad = original.replace(*change)
    assert bad != original
    with pytest.raises(ScheduleError, match=message):
        PLAIN.with_notice(bad)


def test_notices_without_a_year_or_items_are_refused() -> None:
    with pytest.raises(ScheduleError, match="no year found"):
        parse_notice("一、元旦：1月1日放假。")
    assert parse_notice("一、元旦：1月1日放假。", year=2031).items[0].off == (dt.date(2031, 1, 1),)
    with pytest.raises(ScheduleError, match="no numbered item"):
        parse_notice("国务院办公厅关于2027年部分节假日安排的通知\n另行通知。")
    with pytest.raises(ScheduleError, match="is not a date"):
        parse_notice("关于2027年部分节假日安排的通知\n一、春节：2月30日放假。")


def test_a_notice_moves_the_horizon() -> None:
    official = WorkCalendar.china(authoritative_until=dt.date(2025, 12, 31))
    assert official.with_notice(text("2026.txt")).authoritative_until == dt.date(2026, 12, 31)


def test_holiday_cn_file_matches_the_holidays_package() -> None:
    path = DATA / "holiday-cn-2019.json"
    cal = PLAIN.with_holiday_cn(path)
    assert disagreements(cal, 2019) == []
    assert cal.is_working_day(dt.date(2018, 12, 29))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert PLAIN.with_holiday_cn(data).digest() == cal.digest()
    # the notices and the holiday-cn file give the same calendar
    both = PLAIN.with_notice(text("2019.txt")).with_notice(text("2019-labour-day.txt"))
    assert both.digest(2018, 2020) == cal.digest(2018, 2020)


def test_holiday_cn_empty_days_is_not_yet_published() -> None:
    empty = {"year": 2027, "papers": [], "days": []}
    with pytest.raises(ScheduleError, match="2027 schedule is not published yet"):
        WorkCalendar.china().with_holiday_cn(empty)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected an object"),
        ({"year": "2027", "days": []}, "'year' must be a year"),
        ({"year": 2027, "days": [{"date": "2027-01-01"}]}, r"days\[0\]\.isOffDay"),
        ({"year": 2027, "days": [{"date": "2027-13-01", "isOffDay": True}]}, "is not a date"),
        ({"year": 2027, "days": [{"date": "2030-01-01", "isOffDay": True}]}, "not in 2027"),
    ],
)
def test_holiday_cn_bad_data_names_the_key(data: object, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        WorkCalendar.china().with_holiday_cn(data)  # type: ignore[arg-type]


def test_with_schedule_accepts_the_cross_year_days_of_a_notice() -> None:
    cal = PLAIN.with_schedule(
        2019, holidays=["2018-12-30", "2018-12-31", "2019-01-01"], workdays=["2018-12-29"]
    )
    assert not cal.is_working_day(dt.date(2018, 12, 31))
    assert cal.is_working_day(dt.date(2018, 12, 29))
    with pytest.raises(ScheduleError, match="not in 2019 or a year next to it"):
        PLAIN.with_schedule(2019, holidays=["2017-12-31"])


# --- any notice written the way the State Council writes them reads back ---------------

_NAMES = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")
_NUMBERS = "一二三四五六七"
_WEEK = "一二三四五六日"


@st.composite
def written_notices(draw: st.DrawFn) -> tuple[str, int, list[tuple[list[dt.date], list[dt.date]]]]:
    """A notice's text in one of the ways they are written, and the days it sets."""
    year = draw(st.integers(2030, 2045))
    half = draw(st.booleans())
    week = draw(st.sampled_from(["周", "星期"]))
    lp, rp, colon, comma = ("(", ")", ":", ",") if half else ("（", "）", "：", "，")

    def day_text(day: dt.date, month_known: int | None, year_shown: bool) -> str:
        shown = f"{day.year}年" if year_shown else ""
        month = "" if month_known == day.month and not year_shown else f"{day.month}月"
        return f"{shown}{month}{day.day}日{lp}{week}{_WEEK[day.weekday()]}{rp}"

    count = draw(st.integers(1, 7))
    lines, expected = [f"国务院办公厅关于{year}年部分节假日安排的通知"], []
    for i in range(count):
        start = draw(st.dates(dt.date(year, 1, 1), dt.date(year, 12, 20)))
        if i == 0 and draw(st.booleans()):
            start = draw(st.dates(dt.date(year - 1, 12, 26), dt.date(year - 1, 12, 31)))
        length = draw(st.integers(1, 9))
        off = [start + dt.timedelta(days=k) for k in range(length)]
        cross = off[0].year != year or off[-1].year != year  # the year is written then
        text = day_text(off[0], None, cross)
        if length > 1:
            text += "至" + day_text(off[-1], off[0].month, cross)
        text += f"放假调休{comma}共{length}天。"
        weekend = [
            off[0] - dt.timedelta(days=k)
            for k in range(1, 8)
            if (off[0] - dt.timedelta(days=k)).weekday() >= 5
        ]
        on = sorted(draw(st.lists(st.sampled_from(weekend), max_size=2, unique=True)))
        if on:
            text += "、".join(day_text(d, None, d.year != year) for d in on) + "上班。"
        lines.append(f"{_NUMBERS[i]}、{_NAMES[i]}{colon}{text}")
        expected.append((off, on))
    return "\n".join(lines), year, expected


@settings(max_examples=150, deadline=None)
@given(written=written_notices())
def test_any_written_notice_reads_back(
    written: tuple[str, int, list[tuple[list[dt.date], list[dt.date]]]],
) -> None:
    text, year, expected = written
    notice = parse_notice(text)
    assert notice.year == year and not notice.amends
    assert [(list(i.off), list(i.on)) for i in notice.items] == expected
