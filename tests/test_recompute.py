"""Recomputing open deadlines when the next year's holiday schedule is published: the
deadlines move, the report says by how much and which marks change, history is appended
to (never rewritten), the timers follow the new calendar."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator, Sequence

import pytest
from quality_scenario import SH, actor

from techsvc_flow import (
    ConcurrentUpdate,
    Event,
    HistoryEntry,
    MemoryStore,
    SteppedClock,
    Store,
    WorkCalendar,
    Workflow,
    processes,
)
from techsvc_flow.case import Case
from techsvc_flow.engine.recompute import RecomputeReport, recompute_deadlines
from techsvc_flow.errors import OutOfOrder, ProvisionalWarning
from techsvc_flow.notifications import Event as OutboxEvent
from techsvc_flow.sla import Timer

HANDLER = actor("li")


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():  # deadlines into 2027 are estimates: that is the point
        warnings.simplefilter("ignore", ProvisionalWarning)
        yield


def t(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2027) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SH)


@pytest.fixture(scope="module")
def provisional() -> WorkCalendar:
    # pinned: the test does not depend on how far the installed holidays package reaches
    return WorkCalendar.china(coverage="provisional", authoritative_until=dt.date(2026, 12, 31))


@pytest.fixture(scope="module")
def published(provisional: WorkCalendar) -> WorkCalendar:
    # a made-up 2027 New Year schedule: Monday 01-04 a bridge day, Saturday 01-09 worked
    return provisional.with_schedule(
        2027, holidays=["2027-01-01", "2027-01-04"], workdays=["2027-01-09"]
    )


def workflow(calendar: WorkCalendar, store: Store | None = None) -> Workflow:
    return Workflow(
        store if store is not None else MemoryStore(),
        calendar=calendar,
        clock=SteppedClock(t(12, 1, year=2026)),
        processes=[processes.complaint(pause_feedback=True)],
    )


def receive(wf: Workflow, case_id: str, received: dt.datetime) -> None:
    wf.start(
        "complaint",
        case_id=case_id,
        data={"channel": "phone", "description": "late report", "complainant_name": "W"},
        at=received,
    )
    wf.fire(
        case_id,
        "acknowledge",
        actor=HANDLER,
        payload={"acknowledgement_via": "phone"},
        at=received + dt.timedelta(hours=2),
    )


def test_a_newly_published_schedule_moves_the_feedback_deadline(
    provisional: WorkCalendar, published: WorkCalendar
) -> None:
    wf = workflow(provisional)
    seen: list[Event] = []
    wf.on("sla.recomputed", seen.append)
    # received Thu 2026-12-24 10:00: 7 working days end Tue 2027-01-05 — an estimate
    receive(wf, "TS-1", t(12, 24, 10, year=2026))
    (feedback,) = [s for s in wf.deadlines("TS-1", at=t(1, 4, 12)) if s.name == "feedback"]
    assert feedback.due == t(1, 6) and feedback.provisional
    wf.tick(t(1, 4, 3))  # the 50 % and 75 % warnings are raised on the old reckoning
    before = wf.history("TS-1")

    report = recompute_deadlines(wf, published, at=t(1, 4, 12))

    (change,) = report.changes  # the one open clock
    assert (change.case_id, change.sla, change.status) == ("TS-1", "feedback", "running")
    assert (change.old_due, change.new_due) == (t(1, 6), t(1, 7))
    assert change.delta == dt.timedelta(days=1) and change.moved
    assert (change.old_provisional, change.new_provisional) == (True, False)
    # the 75 % warning (01-04 02:30) would now fall on 01-05 02:30: no longer due
    assert change.now_due == () and change.no_longer_due == ("warning:75%",)
    assert report.appended == ("TS-1",)
    assert "TS-1 feedback: 2027-01-06T00:00:00+08:00 -> 2027-01-07T00:00:00+08:00 (+1 day)" in (
        report.to_text()
    )
    assert "now official" in report.to_text()
    assert report.to_dict()["changes"][0]["delta_seconds"] == 86_400

    # history: appended to, never rewritten
    after = wf.history("TS-1")
    assert after[: len(before)] == before
    (entry,) = after[len(before) :]
    assert entry.kind == "sla.recomputed" and entry.at == t(1, 4, 12)
    assert entry.payload["sla"] == "feedback" and entry.payload["delta"] == "+1 day"
    assert entry.payload["old_due"] == "2027-01-06T00:00:00+08:00"
    assert entry.payload["new_due"] == "2027-01-07T00:00:00+08:00"
    assert entry.payload["no_longer_due"] == ["warning:75%"]
    assert wf.verify_history("TS-1")
    assert wf.get("TS-1").version == 2  # the case's state and data are untouched

    # the timer now waits for the new due; the workflow to use is the one returned
    timers = wf.store.due_timers(t(12, 31), 10)
    late = t(1, 7) + dt.timedelta(microseconds=1)  # late is strictly after the due instant
    assert timers == [Timer("TS-1", "feedback", "breach", late)]
    new = report.workflow
    assert new.calendar is published and wf.calendar is provisional
    (feedback,) = [s for s in new.deadlines("TS-1", at=t(1, 4, 12)) if s.name == "feedback"]
    assert feedback.due == t(1, 7) and not feedback.provisional
    assert new.tick(t(1, 6, 12)) == []  # no breach on 01-06 any more
    assert new.tick(t(1, 7)) == []  # due at 01-07 00:00: not late at that instant
    assert [e.type for e in new.tick(late)] == ["sla.breach"]

    # the change went out as an event right after its commit (dispatch after commit)
    assert [e.payload["new_due"] for e in seen if e.type == "sla.recomputed"] == [
        "2027-01-07T00:00:00+08:00"
    ]
    # with the keys every event has: who (nobody: the system) and the case's version
    (recomputed,) = seen
    assert (recomputed.payload["actor"], recomputed.payload["version"]) == (None, 2)


def test_recomputing_again_changes_nothing(
    provisional: WorkCalendar, published: WorkCalendar
) -> None:
    wf = workflow(provisional)
    receive(wf, "TS-1", t(12, 24, 10, year=2026))
    first = recompute_deadlines(wf, published, at=t(1, 4, 12))
    seq = first.workflow.get("TS-1").seq
    again = recompute_deadlines(first.workflow, published, at=t(1, 4, 13))
    assert again.appended == () and again.moved == ()
    assert len(again.changes) == 1 and not again.changes[0].changed
    assert first.workflow.get("TS-1").seq == seq


def test_a_deadline_coming_earlier_makes_a_warning_due(provisional: WorkCalendar) -> None:
    # a schedule that works Saturday 01-02: the period ends a day earlier
    earlier = provisional.with_schedule(2027, holidays=["2027-01-01"], workdays=["2027-01-02"])
    wf = workflow(provisional)
    receive(wf, "TS-2", t(12, 28, 10, year=2026))
    report = recompute_deadlines(wf, earlier, at=t(1, 5, 12))
    (change,) = report.changes
    assert (change.old_due, change.new_due) == (t(1, 8), t(1, 7))
    assert change.delta == -dt.timedelta(days=1)
    assert change.now_due == ("warning:75%",)  # 01-06 02:30 before, 01-05 02:30 now
    assert "(-1 day)" in report.to_text() and "now due: warning:75%" in report.to_text()
    raised = report.workflow.tick(t(1, 5, 12))
    assert [(e.type, e.payload["mark"]) for e in raised] == [
        ("sla.warning", "warning:50%"),
        ("sla.warning", "warning:75%"),
    ]


def test_a_paused_clock_is_compared_as_if_resumed_now(
    provisional: WorkCalendar, published: WorkCalendar
) -> None:
    wf = workflow(provisional)
    receive(wf, "TS-3", t(12, 24, 10, year=2026))
    for trigger, payload in (
        ("assess", {"severity": "low", "priority": "p3", "category": "fees"}),
        ("start_investigation", {"investigator": "zh"}),
        ("request_info", {"info_question": "which invoice?"}),
    ):
        wf.fire("TS-3", trigger, actor=HANDLER, payload=payload, at=t(12, 28, 10, year=2026))
    assert wf.get("TS-3").clocks["feedback"].status == "paused"
    report = recompute_deadlines(wf, published, at=t(12, 30, 9, year=2026))
    feedback = next(c for c in report.changes if c.sla == "feedback")
    assert feedback.status == "paused"
    assert feedback.delta == dt.timedelta(days=1)
    silence = next(c for c in report.changes if c.sla == "complainant_silence")
    # 15 working days span both 01-04 (now off) and 01-09 (now worked): the same end,
    # but no longer an estimate
    assert silence.status == "running" and not silence.moved
    assert silence.changed and not silence.new_provisional
    assert report.appended == ("TS-3",)


def test_only_open_clocks_and_chosen_processes(
    provisional: WorkCalendar, published: WorkCalendar
) -> None:
    wf = workflow(provisional)
    receive(wf, "TS-1", t(12, 24, 10, year=2026))
    report = recompute_deadlines(wf, published, at=t(1, 4, 12), processes=["incubation"])
    assert report.changes == () and report.appended == ()
    wf.clock.set(t(12, 25, year=2026))  # type: ignore[attr-defined]
    report = recompute_deadlines(wf, published)  # "now" from the workflow's clock
    assert report.at == t(12, 25, year=2026)
    assert [c.sla for c in report.changes] == ["feedback"]  # acknowledge stopped


class _Flaky(MemoryStore):
    """A store where another worker wins the first commit of a case."""

    def __init__(self) -> None:
        super().__init__()
        self.lose = 0

    def commit(
        self,
        case: Case,
        expected_seq: int,
        entries: Sequence[HistoryEntry],
        timers: Sequence[Timer],
        events: Sequence[OutboxEvent],
        idempotency_key: str | None = None,
    ) -> None:
        if self.lose and any(e.kind == "sla.recomputed" for e in entries):
            self.lose -= 1
            raise ConcurrentUpdate(case.id, expected_seq, expected_seq + 1)
        super().commit(case, expected_seq, entries, timers, events, idempotency_key)


def test_a_conflict_is_retried(provisional: WorkCalendar, published: WorkCalendar) -> None:
    store = _Flaky()
    wf = workflow(provisional, store)
    receive(wf, "TS-1", t(12, 24, 10, year=2026))
    store.lose = 2
    report = recompute_deadlines(wf, published, at=t(1, 4, 12))
    assert report.appended == ("TS-1",)
    assert [e.kind for e in wf.history("TS-1")].count("sla.recomputed") == 1
    store.lose = 10
    with pytest.raises(ConcurrentUpdate):
        recompute_deadlines(wf, published.with_schedule(2027, holidays=[]), at=t(1, 4, 13))


def test_every_store(store: Store, provisional: WorkCalendar, published: WorkCalendar) -> None:
    wf = workflow(provisional, store)
    receive(wf, "TS-1", t(12, 24, 10, year=2026))
    report: RecomputeReport = recompute_deadlines(wf, published, at=t(1, 4, 12))
    assert [c.delta for c in report.moved] == [dt.timedelta(days=1)]
    assert wf.history("TS-1")[-1].kind == "sla.recomputed"
    assert wf.verify_history("TS-1")
    assert store.due_timers(t(1, 7), 10) == [
        Timer("TS-1", "feedback", "warning:50%", t(12, 30, 5, year=2026))
    ]


def test_cases_of_unregistered_processes_are_skipped(
    provisional: WorkCalendar, published: WorkCalendar
) -> None:
    store = MemoryStore()
    receive(workflow(provisional, store), "TS-1", t(12, 24, 10, year=2026))
    bare = Workflow(store, calendar=provisional, processes=[processes.incubation()])
    report = recompute_deadlines(bare, published, at=t(1, 4, 12))
    assert report.skipped == ("TS-1",) and report.changes == ()
    assert "1 skipped (process not registered)" in report.to_text()
    assert store.history("TS-1")[-1].kind != "sla.recomputed"


def test_a_recomputation_dated_before_a_case_s_last_entry_writes_nothing(
    provisional: WorkCalendar, published: WorkCalendar
) -> None:
    wf = workflow(provisional)
    receive(wf, "TS-1", t(12, 24, 10, year=2026))
    receive(wf, "TS-2", t(12, 28, 10, year=2026))  # acknowledged 12-28 12:00
    before = {case_id: wf.history(case_id) for case_id in ("TS-1", "TS-2")}
    with pytest.raises(OutOfOrder) as caught:
        recompute_deadlines(wf, published, at=t(12, 27, year=2026))
    assert caught.value.case_id == "TS-2"
    assert caught.value.last == t(12, 28, 12, year=2026)
    assert {case_id: wf.history(case_id) for case_id in before} == before  # not even TS-1
