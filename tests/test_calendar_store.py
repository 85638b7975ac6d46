"""Calendar data kept in the store and used by every worker; the digest a case records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from quality_scenario import SH, actor

from techsvc_flow import MemoryStore, SteppedClock, Store, WorkCalendar, Workflow, processes
from techsvc_flow.calendar import CalendarLayer
from techsvc_flow.engine.recompute import recompute_deadlines
from techsvc_flow.errors import ScheduleError

NOTICES = Path(__file__).parent / "data" / "notices"
HANDLER = actor("li")
UNTIL_2025 = WorkCalendar.china(authoritative_until=dt.date(2025, 12, 31))


def workflow(store: Store, calendar: WorkCalendar = UNTIL_2025) -> Workflow:
    return Workflow(
        store,
        calendar=calendar,
        clock=SteppedClock(dt.datetime(2025, 12, 1, 9, 0, tzinfo=SH)),
        processes=[processes.complaint()],
    )


def test_the_store_keeps_calendar_data_once_in_order(store: Store) -> None:
    assert store.calendar_data("default") == []
    assert store.add_calendar_data("default", "notice", "text one")
    assert store.add_calendar_data("default", "overlay", '{"name": "a"}')
    assert not store.add_calendar_data("default", "notice", "text one")  # the same again
    assert store.add_calendar_data("east", "notice", "text one")
    assert store.calendar_data("default") == [("notice", "text one"), ("overlay", '{"name": "a"}')]
    assert store.calendar_data("east") == [("notice", "text one")]


def test_data_loaded_by_one_process_is_used_by_every_worker(store: Store) -> None:
    loader = workflow(store)
    notice = CalendarLayer.read(NOTICES / "2026.txt")
    assert notice.kind == "notice"
    overlay = CalendarLayer.of("overlay", {"name": "acme", "closed": ["2026-01-05"]})
    loaded = loader.add_calendar_data(notice).add_calendar_data(overlay)
    assert loaded.calendar.authoritative_until == dt.date(2026, 12, 31)
    assert not loaded.calendar.is_working_day(dt.date(2026, 1, 5))

    worker = workflow(store).with_stored_calendar()  # another process, the same database
    assert worker.calendar.digest() == loaded.calendar.digest()
    assert worker.calendar.digest() != UNTIL_2025.digest()
    # loading it again keeps it once
    loaded.add_calendar_data(notice)
    assert len(store.calendar_data("default")) == 2
    # another name is another calendar
    assert workflow(store).with_stored_calendar(name="east").calendar.digest() == (
        UNTIL_2025.digest()
    )


def test_data_that_does_not_load_is_not_kept(store: Store) -> None:
    bad = (NOTICES / "2026.txt").read_text(encoding="utf-8").replace("共9天", "共8天")
    with pytest.raises(ScheduleError, match="item 二"):
        workflow(store).add_calendar_data(CalendarLayer("notice", bad))
    assert store.calendar_data("default") == []


def test_layers_read_every_kind_of_file(tmp_path: Path) -> None:
    cn = Path(__file__).parent / "data" / "holiday-cn-2019.json"
    assert CalendarLayer.read(cn).kind == "holiday-cn"
    (tmp_path / "acme.toml").write_text('name = "acme"\nclosed = ["2025-12-24"]\n')
    assert CalendarLayer.read(tmp_path / "acme.toml").kind == "overlay"
    (tmp_path / "y.json").write_text('{"2026": {"holidays": ["2026-01-02"]}}')
    layer = CalendarLayer.read(tmp_path / "y.json")
    assert layer.kind == "schedules"
    assert layer.apply(UNTIL_2025).is_working_day(dt.date(2026, 1, 2)) is False
    with pytest.raises(ScheduleError, match="kind 'ical'"):
        CalendarLayer("ical", "")
    with pytest.raises(ScheduleError, match="overlay calendar data is not JSON"):
        CalendarLayer("overlay", "{").apply(UNTIL_2025)
    with pytest.raises(NotImplementedError, match="does not keep calendar data"):
        Store.add_calendar_data(MemoryStore(), "default", "notice", "x")


def test_a_case_records_the_digest_of_its_calendar_and_recompute_appends() -> None:
    wf = workflow(MemoryStore(), WorkCalendar.china(coverage="provisional"))
    received = dt.datetime(2025, 12, 22, 10, 0, tzinfo=SH)
    wf.start(
        "complaint",
        case_id="TS-1",
        data={"channel": "phone", "description": "late report", "complainant_name": "W"},
        at=received,
    )
    started = [e for e in wf.history("TS-1") if e.kind == "sla.started"]
    assert started
    for entry in started:
        due = dt.datetime.fromisoformat(entry.payload["due"])
        assert entry.payload["calendar"] == wf.calendar.digest_between(received, due)

    closed = wf.calendar.with_overlay(name="acme", closed=["2025-12-23..2025-12-31"])
    before = wf.history("TS-1")
    report = recompute_deadlines(wf, closed, at=received + dt.timedelta(minutes=1))
    after = wf.history("TS-1")
    assert after[: len(before)] == before  # appended to, never rewritten
    recomputed = [e for e in after[len(before) :] if e.kind == "sla.recomputed"]
    assert recomputed and len(recomputed) == len([c for c in report.changes if c.changed])
    for entry in recomputed:
        due = dt.datetime.fromisoformat(entry.payload["new_due"])
        assert entry.payload["calendar"] == closed.digest_between(received, due)
        assert entry.payload["calendar"] != wf.calendar.digest_between(received, due)
