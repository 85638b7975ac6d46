"""Issue 15: the indicators read the standards' definitions (first pass, due-date periods)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from techsvc_flow import WorkCalendar
from techsvc_flow.facts import CaseFacts
from techsvc_flow.processes.service_engagement import PROFILE
from techsvc_flow.quality import Period, observe

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar.china(coverage="provisional")
Q4 = Period.parse("2025-Q4", tz=SH)
Q1 = Period.parse("2026-Q1", tz=SH)


def at(month: int, day: int, year: int = 2025) -> dt.datetime:
    return dt.datetime(year, month, day, 10, 0, tzinfo=SH)


def facts(counts: dict[str, int], entered: dict[str, dt.datetime], **data: Any) -> CaseFacts:
    return CaseFacts(
        id="E1",
        process="service_engagement",
        process_version=1,
        state="return_visited",
        data=data,
        counts=counts,
        created_at=at(10, 1),
        updated_at=max(entered.values()),
        entered={"request_received": at(10, 1), **entered},
        clocks={},
    )


def seen(f: CaseFacts, code: str, as_of: dt.datetime) -> list[tuple[dt.datetime, bool | None]]:
    return [(o.at, o.hit) for o in observe([f], calendar=CAL, as_of=as_of) if o.indicator == code]


def test_a_dispute_settled_is_not_a_first_pass() -> None:
    settled = facts(
        {"deliver": 1, "escalate_dispute": 1, "settle_dispute": 1},
        {"delivered": at(11, 3), "disputed": at(11, 5), "after_sales": at(11, 10)},
    )
    assert seen(settled, "first_pass_acceptance_rate", at(12, 1)) == [(at(11, 10), False)]


def test_disputed_reworked_redelivered_and_accepted_is_not_a_first_pass() -> None:
    counts = {"deliver": 1, "escalate_dispute": 1, "grant_extra_rework": 1, "redeliver": 1}
    reworked = facts(
        {**counts, "accept_delivery": 1},
        {
            "delivered": at(11, 3),
            "disputed": at(11, 5),
            "rework": at(11, 6),
            "after_sales": at(11, 20),
        },
    )
    assert seen(reworked, "first_pass_acceptance_rate", at(12, 1)) == [(at(11, 20), False)]
    # rework rounds are the entries into rework, whichever step led there
    assert PROFILE.rework_rounds(reworked.counts) == 1
    assert PROFILE.rework_rounds({"raise_objection": 2, "grant_extra_rework": 1}) == 3


def test_accepted_at_the_first_delivery_is_a_first_pass() -> None:
    clean = facts({"deliver": 1, "accept_delivery": 1}, {"after_sales": at(11, 10)})
    assert seen(clean, "first_pass_acceptance_rate", at(12, 1)) == [(at(11, 10), True)]


def test_lateness_counts_in_the_period_of_the_due_date() -> None:
    due = dt.date(2025, 12, 19)
    before = facts({}, {"implementing": at(11, 1)}, delivery_due=due)
    delivered = {"implementing": at(11, 1), "delivered": at(1, 12, 2026)}
    after = facts({"deliver": 1}, delivered, delivery_due=due)
    day = dt.datetime(2025, 12, 19, tzinfo=SH)
    # the Q4 report run at the end of Q4 and re-run after the January delivery
    assert seen(before, "on_time_delivery_rate", Q4.end) == [(day, False)]
    assert seen(after, "on_time_delivery_rate", Q4.end) == [(day, False)]
    assert seen(after, "on_time_delivery_rate", Q1.end) == [(day, False)]
    assert day in Q4 and day not in Q1


def test_a_delivery_after_as_of_is_not_seen_yet() -> None:
    # due on the last day of the quarter, delivered two days later: undecided at the
    # quarter's end, whenever the quarter is re-run
    delivered = {"implementing": at(11, 1), "delivered": at(1, 2, 2026)}
    f = facts({"deliver": 1}, delivered, delivery_due=dt.date(2025, 12, 31))
    assert seen(f, "on_time_delivery_rate", Q4.end) == []
    assert seen(f, "on_time_delivery_rate", Q1.end) == [
        (dt.datetime(2025, 12, 31, tzinfo=SH), False)
    ]
