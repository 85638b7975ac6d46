"""SLA policies: goals chosen by case data, deadlines from case dates, escalation ladders."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from techsvc_flow import (
    Field,
    MemoryStore,
    ProcessDefinition,
    Sla,
    State,
    SteppedClock,
    Store,
    Transition,
    WorkCalendar,
    Workflow,
)
from techsvc_flow.definition import Goal, Level
from techsvc_flow.durations import ClockTime, Duration, WorkingHours
from techsvc_flow.errors import DefinitionError
from techsvc_flow.sla import SlaClock

SHANGHAI = ZoneInfo("Asia/Shanghai")
H = dt.timedelta(hours=1)
US = dt.timedelta(microseconds=1)
T0 = dt.datetime(2025, 11, 3, 10, 0, tzinfo=SHANGHAI)  # a Monday
CAL = WorkCalendar.china(coverage="provisional")

FIELDS = [
    Field("severity", "str", choices=("low", "high", "critical")),
    Field("kind", "str"),
    Field("promised", "date"),
    Field("promised_at", "datetime"),
    Field("note", "str"),
]
STATES = [State("open", initial=True), State("escalated"), State("done", final=True)]
TRANSITIONS = [
    Transition(
        "update", source="open", dest="open", accepts=("severity", "kind", "promised", "note")
    ),
    Transition("escalate", source="open", dest="escalated"),
    Transition("close", source=("open", "escalated"), dest="done"),
]


def process(*slas: Sla, transitions: list[Transition] | None = None) -> ProcessDefinition:
    return ProcessDefinition(
        name="desk",
        version=1,
        states=STATES,
        transitions=transitions or TRANSITIONS,
        fields=FIELDS,
        slas=list(slas),
    )


RESPONSE = Sla(
    "response",
    "5wd",
    start_states="open",
    stop_states="done",
    warn_at=(),
    goals=[
        Goal("urgent", "4h", when={"severity": ("high", "critical")}),
        Goal("key_account", "2wd", when={"kind": "key"}),
    ],
)
DELIVERY = Sla(
    "delivery", "20wd", start_states="open", stop_states="done", warn_at=(0.5,),
    due_field="promised",
)  # fmt: skip
LADDER = Sla(
    "reply",
    "10h",
    start_states="open",
    stop_states=("done",),
    warn_at=(),
    ladder=[
        Level("handler", share=0.5, notify="handler"),
        Level("lead", before="1h", notify=("team_lead",)),
        Level("escalate", share=1.0, notify="team_lead", trigger="escalate"),
        Level("director", after="2h", notify="director", every="1h", repeat=2),
    ],
)


def workflow(store: Store | None = None, *slas: Sla) -> Workflow:
    return Workflow(
        store if store is not None else MemoryStore(),
        calendar=CAL,
        clock=SteppedClock(T0),
        processes=[process(*slas)],
    )


def entries(wf: Workflow, case_id: str, kind: str) -> list[dict[str, Any]]:
    return [dict(e.payload) for e in wf.history(case_id) if e.kind == kind]


# --- goals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "goal", "duration"),
    [
        ({"severity": "high"}, "urgent", "4h"),
        ({"severity": "critical", "kind": "key"}, "urgent", "4h"),  # first match wins
        ({"severity": "low", "kind": "key"}, "key_account", "2wd"),
        ({"severity": "low"}, "default", "5wd"),
        ({}, "default", "5wd"),
    ],
)
def test_the_first_matching_goal_sets_the_limit_and_is_recorded(
    data: dict[str, Any], goal: str, duration: str
) -> None:
    wf = workflow(None, RESPONSE)
    case = wf.start("desk", data=data, case_id="C-1")
    assert (case.clocks["response"].goal, str(case.clocks["response"].duration)) == (
        goal,
        duration,
    )
    started = entries(wf, "C-1", "sla.started")
    assert [(p["goal"], p["duration"]) for p in started] == [(goal, duration)]
    due = CAL.deadline(T0, duration).due
    assert wf.deadlines("C-1")[0].due == due


def test_a_changed_field_re_evaluates_and_elapsed_time_carries_over() -> None:
    wf = workflow(None, RESPONSE)
    wf.start("desk", data={"severity": "low"}, case_id="C-1")
    wf.fire("C-1", "update", payload={"note": "x"}, at=T0 + H)  # a field no goal reads
    wf.fire("C-1", "update", payload={"severity": "low"}, at=T0 + H)  # the same value
    assert entries(wf, "C-1", "sla.goal_changed") == []
    case = wf.fire("C-1", "update", payload={"severity": "high"}, at=T0 + 2 * H)
    clock = case.clocks["response"]
    assert (clock.goal, str(clock.duration)) == ("urgent", "4h")
    # two hours ran under the old goal; they count against the new one: due at 14:00
    assert clock.due(CAL) == T0 + 4 * H
    assert clock.events[0].at == T0  # the clock was not restarted
    [changed] = entries(wf, "C-1", "sla.goal_changed")
    assert changed["goal"] == "urgent"
    assert changed["duration"] == "4h"
    assert changed["due"] == (T0 + 4 * H).isoformat()


def test_a_new_goal_already_exceeded_breaches_at_the_next_tick() -> None:
    wf = workflow(None, RESPONSE)
    wf.start("desk", data={"severity": "low"}, case_id="C-1")
    wf.fire("C-1", "update", payload={"severity": "high"}, at=T0 + 5 * H)
    raised = wf.tick(T0 + 5 * H + US)
    assert [(e.type, e.payload["reached_at"]) for e in raised] == [
        ("sla.breach", (T0 + 4 * H).isoformat())
    ]


def test_goals_are_kept_by_every_store(store: Store) -> None:
    wf = workflow(store, RESPONSE)
    wf.start("desk", data={"severity": "low"}, case_id="C-1")
    wf.fire("C-1", "update", payload={"kind": "key"}, at=T0 + H)
    clock = store.load("C-1").clocks["response"]
    assert (clock.goal, str(clock.duration)) == ("key_account", "2wd")
    assert [t.due_at for t in store.due_timers(T0 + 1000 * H, 10)] == [
        CAL.deadline(T0, "2wd").due + US
    ]


# --- deadlines from case dates ------------------------------------------------------------


def test_a_date_field_is_due_at_the_end_of_that_working_day() -> None:
    office = CAL.with_business_hours("09:00-12:00,13:30-18:00")
    wf = Workflow(MemoryStore(), calendar=office, clock=SteppedClock(T0),
                  processes=[process(DELIVERY)])  # fmt: skip
    case = wf.start("desk", data={"promised": dt.date(2025, 11, 7)}, case_id="C-1")
    clock = case.clocks["delivery"]
    assert clock.goal == "promised"
    assert clock.due(office) == dt.datetime(2025, 11, 7, 18, 0, tzinfo=SHANGHAI)
    # the warning at half the time left, then the breach strictly after 18:00 on Friday
    half = T0 + (clock.due(office) - T0) / 2
    assert [e.type for e in wf.tick(half - US)] == []
    assert [e.payload["mark"] for e in wf.tick(half)] == ["warning:50%"]
    assert [e.type for e in wf.tick(clock.due(office))] == []
    assert [e.type for e in wf.tick(clock.due(office) + US)] == ["sla.breach"]


def test_a_datetime_field_is_the_due_instant_and_unset_means_the_default() -> None:
    sla = Sla("promise", "3wd", start_states="open", stop_states="done",
              due_field="promised_at")  # fmt: skip
    wf = workflow(None, sla)
    promised = dt.datetime(2025, 11, 4, 15, 30, tzinfo=SHANGHAI)
    case = wf.start("desk", data={"promised_at": promised}, case_id="C-1")
    assert case.clocks["promise"].due(CAL) == promised
    other = wf.start("desk", data={}, case_id="C-2")
    assert other.clocks["promise"].goal == "default"
    assert other.clocks["promise"].due(CAL) == CAL.deadline(T0, "3wd").due


def test_a_moved_date_moves_the_deadline_and_is_recorded() -> None:
    wf = workflow(None, DELIVERY)
    wf.start("desk", data={"promised": dt.date(2025, 11, 7)}, case_id="C-1")
    case = wf.fire("C-1", "update", payload={"promised": dt.date(2025, 11, 14)}, at=T0 + H)
    assert case.clocks["delivery"].due(CAL) == CAL.end_of_day(dt.date(2025, 11, 14))
    [changed] = entries(wf, "C-1", "sla.goal_changed")
    assert changed["due"] == CAL.end_of_day(dt.date(2025, 11, 14)).isoformat()


# --- escalation ladders -------------------------------------------------------------------


def test_a_ladder_raises_each_level_once_in_time_order_and_fires_its_trigger() -> None:
    wf = workflow(None, LADDER)
    wf.start("desk", case_id="C-1")
    due = T0 + 10 * H
    seen: list[tuple[str, str, list[str], dt.datetime]] = []
    for now in (T0 + 5 * H - US, T0 + 5 * H, due - H - US, due - H, due, due + US):
        seen += [(e.type, e.payload["mark"], e.payload.get("notify"), now) for e in wf.tick(now)]
    assert seen == [
        ("sla.escalation", "level:handler", ["handler"], T0 + 5 * H),
        ("sla.escalation", "level:lead", ["team_lead"], due - H),
        # the level at the limit is late only strictly after it, like the breach
        ("sla.breach", "breach", None, due + US),
        ("sla.escalation", "level:escalate", ["team_lead"], due + US),
    ]
    # its trigger was fired by the system in the same write
    [fired] = [e for e in wf.history("C-1") if e.kind == "fire"]
    assert (fired.trigger, fired.actor, fired.dest) == ("escalate", "system", "escalated")
    assert wf.get("C-1").state == "escalated"


def test_reminders_repeat_every_interval_while_breached_bounded() -> None:
    wf = workflow(None, LADDER)
    wf.start("desk", case_id="C-1")
    due = T0 + 10 * H
    marks = [e.payload["mark"] for e in wf.tick(due + 100 * H)]  # a tick long after
    assert marks == [
        "level:handler",
        "level:lead",
        "breach",
        "level:escalate",
        "level:director",
        "level:director#1",
        "level:director#2",
    ]
    reached = {e.payload["mark"]: e.payload["reached_at"] for e in wf.history("C-1")
               if e.kind == "sla.escalation"}  # fmt: skip
    assert reached["level:director"] == (due + 2 * H).isoformat()
    assert reached["level:director#2"] == (due + 4 * H).isoformat()
    assert wf.tick(due + 1000 * H) == []  # bounded: nothing more
    assert wf.store.due_timers(due + 1000 * H, 10) == []


def test_a_stopped_clock_stops_the_ladder() -> None:
    wf = workflow(None, LADDER)
    wf.start("desk", case_id="C-1")
    assert [e.payload["mark"] for e in wf.tick(T0 + 6 * H)] == ["level:handler"]
    wf.fire("C-1", "close", at=T0 + 6 * H)
    assert wf.tick(T0 + 100 * H) == []
    kinds = [e.kind for e in wf.history("C-1")]
    assert kinds.count("sla.escalation") == 1  # the handler's level, at 5 h


def test_a_refused_level_trigger_opens_an_incident() -> None:
    sla = Sla("reply", "10h", start_states="open", stop_states="done", warn_at=(),
              ladder=[Level("boss", share=0.5, trigger="escalate")])  # fmt: skip
    refusing = [
        Transition("update", source="open", dest="open", accepts=("note",)),
        Transition("escalate", source="escalated", dest="escalated"),
        Transition("close", source=("open", "escalated"), dest="done"),
        Transition("raise", source="open", dest="escalated"),
    ]
    wf = Workflow(MemoryStore(), calendar=CAL, clock=SteppedClock(T0),
                  processes=[process(sla, transitions=refusing)])  # fmt: skip
    wf.start("desk", case_id="C-1")
    raised = wf.tick(T0 + 5 * H)
    assert [e.payload["mark"] for e in raised] == ["level:boss"]
    [incident] = wf.incidents()
    assert (incident.sla, incident.trigger) == ("reply", "escalate")
    assert wf.get("C-1").state == "open"


def test_warn_at_and_the_breach_keep_working_beside_a_ladder() -> None:
    sla = Sla("reply", "10h", start_states="open", stop_states="done", warn_at=(0.6,),
              ladder=[Level("half", share=0.5)])  # fmt: skip
    wf = workflow(None, sla)
    wf.start("desk", case_id="C-1")
    raised = wf.tick(T0 + 11 * H)
    assert [(e.type, e.payload["mark"]) for e in raised] == [
        ("sla.escalation", "level:half"),
        ("sla.warning", "warning:60%"),
        ("sla.breach", "breach"),
    ]


def test_next_due_without_a_ladder_is_the_old_next_mark() -> None:
    clock = SlaClock("x", "10h").start(T0)
    assert clock.next_due(CAL, (0.5,)) == ("warning:50%", T0 + 5 * H, T0 + 5 * H)
    done = clock.fire("warning:50%")
    assert done.next_due(CAL, (0.5,)) == ("breach", T0 + 10 * H, T0 + 10 * H + US)
    assert done.next_mark(CAL, (0.5,)) == ("breach", T0 + 10 * H)


# --- definition-time validation -----------------------------------------------------------


def _sla(**options: Any) -> Sla:
    return Sla("s", "5wd", start_states="open", **options)


@pytest.mark.parametrize(
    ("sla", "path", "text"),
    [
        (_sla(goals=[Goal("a", "1wd")]), "slas[0].goals[0].when", "needs a condition"),
        (_sla(goals=[Goal("a", "1wd", when={"nope": 1})]), "slas[0].goals[0].when.nope",
         "unknown field"),
        (_sla(goals=[Goal("a", "1wd", when={"severity": "medium"})]),
         "slas[0].goals[0].when.severity", "choices"),
        (_sla(goals=[Goal("default", "1wd", when={"kind": "x"})]), "slas[0].goals[0].name",
         "unique"),
        (_sla(goals=[Goal("a", "-1wd", when={"kind": "x"})]), "slas[0].goals[0].duration",
         "negative"),
        (_sla(due_field="note"), "slas[0].due_field", "not a date"),
        (_sla(due_field="promised", pause_states="escalated"), "slas[0].pause_states",
         "cannot pause"),
        (_sla(ladder=[Level("a")]), "slas[0].ladder[0]", "exactly one"),
        (_sla(ladder=[Level("a", share=0.5, after="1h")]), "slas[0].ladder[0]", "exactly one"),
        (_sla(ladder=[Level("a", share=0.0)]), "slas[0].ladder[0].share", "above 0"),
        (_sla(ladder=[Level("a", before="1wd")]), "slas[0].ladder[0].before", "working hours"),
        (_sla(ladder=[Level("a", share=0.5, trigger="nope")]), "slas[0].ladder[0].trigger",
         "unknown trigger"),
        (_sla(ladder=[Level("a", share=0.5), Level("a", share=0.6)]), "slas[0].ladder[1].name",
         "unique"),
        (_sla(ladder=[Level("a", share=0.5, every="1h")]), "slas[0].ladder[0].every",
         "both"),
        (_sla(ladder=[Level("a", share=0.5, repeat=2)]), "slas[0].ladder[0].every", "both"),
        (_sla(ladder=[Level("a", share=0.5, every="0h", repeat=2)]),
         "slas[0].ladder[0].every", "positive"),
        (_sla(ladder=[Level("a", share=0.5, notify=("",))]), "slas[0].ladder[0].notify[0]",
         "role"),
    ],
)  # fmt: skip
def test_bad_policies_are_refused_with_their_key_path(sla: Sla, path: str, text: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        process(sla)
    assert caught.value.path == path
    assert text in str(caught.value)


def test_policies_survive_the_dict_form() -> None:
    p = process(RESPONSE, DELIVERY, LADDER)
    back = ProcessDefinition.from_dict(json.loads(p.to_json()))
    assert back == p
    assert back.sla_map["response"].goals == RESPONSE.goals
    assert back.sla_map["reply"].ladder == LADDER.ladder


@pytest.mark.parametrize(
    ("key", "value", "path"),
    [
        ("when", 1, "slas[0].ladder[0].when"),
        ("every", "often", "slas[0].ladder[0].every"),
        ("after", "2 days", "slas[0].ladder[0].after"),
    ],
)
def test_the_dict_form_names_a_bad_key_in_a_ladder(key: str, value: object, path: str) -> None:
    data = process(LADDER).to_dict()
    data["slas"][0]["ladder"][0][key] = value
    with pytest.raises(DefinitionError) as caught:
        ProcessDefinition.from_dict(data)
    assert caught.value.path == path


def test_a_due_field_that_is_not_a_name_is_refused() -> None:
    with pytest.raises(DefinitionError) as caught:
        process(_sla(due_field=["promised"]))  # type: ignore[arg-type]
    assert caught.value.path == "slas[0].due_field"


# --- every level once across workers (PostgreSQL) ---------------------------------------

FORK = multiprocessing.get_context("fork")
CASES = 12
LADDER_MARKS = [
    "level:handler", "level:lead", "level:escalate", "level:director",
    "level:director#1", "level:director#2",
]  # fmt: skip


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    import pg

    server = pg.require()
    with pg.fresh_schema(server) as schema:
        yield server.url, schema


def _ladder_worker(n: int, url: str, schema: str, out: Path, barrier: Any) -> None:
    from techsvc_flow.sql import SqlStore

    store = SqlStore(url, schema=schema, migrate=False, engine_options={"pool_size": 2})
    wf = workflow(store, LADDER)
    raised: list[tuple[str, str]] = []
    barrier.wait(30)
    idle = 0
    while idle < 3:
        events = wf.tick(T0 + 100 * H, limit=3)
        raised += [(e.case_id, e.payload["mark"]) for e in events if e.type == "sla.escalation"]
        idle = idle + 1 if not events else 0
    store.close()
    out.joinpath(f"{n}.json").write_text(json.dumps(raised))


def test_four_workers_raise_every_level_exactly_once(
    pg_schema: tuple[str, str], tmp_path: Path
) -> None:
    from techsvc_flow.sql import SqlStore

    url, schema = pg_schema
    store = SqlStore(url, schema=schema)
    wf = workflow(store, LADDER)
    for c in range(CASES):
        wf.start("desk", case_id=f"L-{c}")
    barrier = FORK.Barrier(4)
    workers = [
        FORK.Process(target=_ladder_worker, args=(n, url, schema, tmp_path, barrier))
        for n in range(4)
    ]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 90
    for w in workers:
        w.join(max(0.0, deadline - time.monotonic()))
    assert [w.exitcode for w in workers] == [0] * 4
    raised = [tuple(r) for n in range(4) for r in json.loads((tmp_path / f"{n}.json").read_text())]
    assert sorted(raised) == sorted((f"L-{c}", m) for c in range(CASES) for m in LADDER_MARKS)
    for c in range(CASES):
        kinds = [e.kind for e in store.history(f"L-{c}")]
        assert kinds.count("sla.escalation") == len(LADDER_MARKS)
        assert kinds.count("fire") == 1  # the escalate trigger, once
    store.close()


# --- properties (the strategies of techsvc_flow.testing) ---------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from techsvc_flow.testing import strategies as tst  # noqa: E402

SEVERITIES = ("low", "high", "critical")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(goals=tst.goals("severity", SEVERITIES), severity=st.sampled_from(SEVERITIES))
def test_any_goal_list_is_valid_and_the_first_match_wins(
    goals: tuple[Goal, ...], severity: str
) -> None:
    sla = Sla("s", "5wd", start_states="open", stop_states="done", goals=goals)
    wf = workflow(None, sla)
    clock = wf.start("desk", data={"severity": severity}).clocks["s"]
    matching = [
        g for g in goals
        if g.when["severity"] == severity
        or (isinstance(g.when["severity"], tuple) and severity in g.when["severity"])
    ]  # fmt: skip
    expected = matching[0] if matching else Goal("default", "5wd", when={"x": 1})
    assert (clock.goal, clock.duration) == (expected.name, expected.duration)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ladder=tst.ladders(),
    limit=tst.durations([ClockTime, WorkingHours], max_time=dt.timedelta(hours=30)),
    steps=st.lists(st.integers(0, 200), max_size=5),
)
def test_any_ladder_raises_every_mark_once_in_time_order(
    ladder: tuple[Level, ...], limit: Duration, steps: list[int]
) -> None:
    sla = Sla("s", limit, start_states="open", stop_states="done", warn_at=(), ladder=ladder)
    wf = workflow(None, sla)
    wf.start("desk", case_id="C-1")
    for hours in sorted(steps):
        wf.tick(T0 + hours * H)
    wf.tick(T0 + 2000 * H)
    raised = [e.payload for e in wf.history("C-1") if e.kind in ("sla.escalation", "sla.breach")]
    wanted = ["breach"] + [
        f"level:{lv.name}" + (f"#{k}" if k else "") for lv in ladder for k in range(lv.repeat + 1)
    ]
    assert sorted(p["mark"] for p in raised) == sorted(wanted)
    reached = [dt.datetime.fromisoformat(p["reached_at"]) for p in raised]
    assert reached == sorted(reached)
    assert wf.store.due_timers(T0 + 5000 * H, 10) == []


def test_the_demo_shows_a_goal_from_severity_and_a_delivery_warning() -> None:
    import io

    from techsvc_flow.demo import run_demo

    out = io.StringIO()
    run_demo(lang="en", out=out)
    lines = out.getvalue().splitlines()
    assert any("TS-2025-001" in line and "goal Feedback high 5wd" in line for line in lines)
    warning = next(line for line in lines if "warning Delivery date 75%" in line)
    deliver = next(line for line in lines if " deliver " in line)
    assert lines.index(warning) < lines.index(deliver)  # warned before it passed
    assert "Delivery date 12-05 Fri 18:00" in warning


def test_on_time_delivery_reads_the_delivery_clock() -> None:
    from techsvc_flow.facts import CaseFacts
    from techsvc_flow.quality.observe import observe
    from techsvc_flow.sla import ClockEvent

    start = dt.datetime(2025, 11, 3, 9, tzinfo=SHANGHAI)
    due = dt.datetime(2025, 11, 7, 18, tzinfo=SHANGHAI)  # set in an office calendar
    delivered = dt.datetime(2025, 11, 7, 20, tzinfo=SHANGHAI)
    clock = SlaClock(
        "delivery",
        ClockTime(due - start),
        [ClockEvent("start", start), ClockEvent("stop", delivered)],
        goal="delivery_due",
    )

    def facts(clocks: dict[str, SlaClock]) -> CaseFacts:
        return CaseFacts(
            "E-1", "service_engagement", 1, "delivered", {"delivery_due": dt.date(2025, 11, 7)},
            {}, start, delivered, {"implementing": start, "delivered": delivered}, clocks,
        )  # fmt: skip

    def hits(f: CaseFacts) -> list[bool | None]:
        found = observe([f], calendar=CAL, as_of=delivered + 1000 * H)
        return [o.hit for o in found if o.indicator == "on_time_delivery_rate"]

    # the clock ran out at 18:00: late, although the day (24:00 in CAL) had not ended
    assert hits(facts({"delivery": clock})) == [False]
    assert hits(facts({})) == [True]  # without the clock: the date alone


# --- a goal's calendar -------------------------------------------------------------------


def test_a_goal_counts_in_its_named_calendar() -> None:
    always = WorkCalendar.weekly("1111111", tz="Asia/Shanghai")
    sla = Sla("response", "2wd", start_states="open", stop_states="done", warn_at=(),
              goals=[Goal("critical", "24h", when={"severity": "critical"}),
                     Goal("round_the_clock", "8wh", when={"severity": "high"},
                          calendar="7x24")])  # fmt: skip
    wf = Workflow(MemoryStore(), calendar=CAL, clock=SteppedClock(T0),
                  processes=[process(sla)], calendars={"7x24": always})  # fmt: skip
    friday = dt.datetime(2025, 11, 7, 20, tzinfo=SHANGHAI)
    case = wf.start("desk", data={"severity": "high"}, case_id="C-1", at=friday)
    assert case.clocks["response"].calendar == "7x24"
    [started] = entries(wf, "C-1", "sla.started")
    assert started["calendar_name"] == "7x24"
    # 8 working hours in a calendar without a weekend: Saturday 04:00, not Monday
    assert wf.deadlines("C-1", at=friday)[0].due == friday + 8 * H
    [timer] = wf.store.due_timers(friday + 100 * H, 10)
    assert timer.due_at == friday + 8 * H + US
    assert [e.type for e in wf.tick(friday + 8 * H + US)] == ["sla.breach"]
    assert wf.store.load("C-1").clocks["response"].calendar == "7x24"


def test_a_goal_calendar_the_workflow_lacks_is_refused_on_registering() -> None:
    from techsvc_flow.errors import ConfigurationError

    sla = Sla("response", "2wd", start_states="open", goals=[
        Goal("x", "8wh", when={"severity": "high"}, calendar="7x24")])  # fmt: skip
    with pytest.raises(ConfigurationError, match="7x24"):
        Workflow(MemoryStore(), calendar=CAL, processes=[process(sla)])
    with pytest.raises(DefinitionError) as caught:
        process(Sla("r", "2wd", start_states="open", goals=[
            Goal("x", "8wh", when={"severity": "high"}, calendar="7 x 24")]))  # fmt: skip
    assert caught.value.path == "slas[0].goals[0].calendar"


# --- a recurring date: the next milestone ---------------------------------------------------


MILESTONE = Sla(
    "milestone", "20wd", start_triggers="update", stop_triggers="update", stop_states="done",
    warn_at=(), due_field="promised", due_required=True,
)  # fmt: skip


def test_a_required_date_starts_the_clock_only_when_the_step_sets_it() -> None:
    wf = Workflow(MemoryStore(), calendar=CAL, clock=SteppedClock(T0),
                  processes=[process(MILESTONE)])  # fmt: skip
    wf.start("desk", case_id="M-1", at=T0)
    wf.fire("M-1", "update", payload={"note": "no date yet"}, at=T0 + H)
    assert "milestone" not in wf.get("M-1").clocks  # no date: no clock, no default limit
    wf.fire("M-1", "update", payload={"promised": dt.date(2025, 11, 7)}, at=T0 + 2 * H)
    (first,) = wf.deadlines("M-1")
    assert (first.status, first.due) == ("running", CAL.end_of_day(dt.date(2025, 11, 7)))
    # the milestone is met and the next one's date given: a fresh clock for that date
    wf.fire("M-1", "update", payload={"promised": dt.date(2025, 11, 21)}, at=T0 + 3 * H)
    (second,) = wf.deadlines("M-1")
    assert (second.status, second.due) == ("running", CAL.end_of_day(dt.date(2025, 11, 21)))
    kinds = [e.kind for e in wf.history("M-1") if e.kind.startswith("sla.")]
    assert kinds == ["sla.started", "sla.stopped", "sla.started"]  # no goal change noise
    # a step that gives no new date (the last milestone) stops it and starts nothing
    wf.fire("M-1", "update", payload={"note": "last milestone"}, at=T0 + 4 * H)
    (after,) = wf.deadlines("M-1")
    assert after.status == "stopped" and not after.breached
    # it breaches like every other clock while it runs
    wf.fire("M-1", "update", payload={"promised": dt.date(2025, 11, 24)}, at=T0 + 5 * H)
    raised = wf.tick(CAL.end_of_day(dt.date(2025, 11, 24)) + dt.timedelta(microseconds=1))
    assert [e.type for e in raised] == ["sla.breach"]


def test_a_cleared_date_stops_the_clock() -> None:
    sla = Sla("milestone", "20wd", start_triggers="update", stop_states="done", warn_at=(),
              due_field="promised", due_required=True)  # fmt: skip
    wf = Workflow(MemoryStore(), calendar=CAL, clock=SteppedClock(T0), processes=[process(sla)])
    wf.start("desk", case_id="M-2", at=T0)
    wf.fire("M-2", "update", payload={"promised": dt.date(2025, 11, 7)}, at=T0 + H)
    wf.fire("M-2", "update", payload={"promised": None}, at=T0 + 2 * H)
    assert wf.deadlines("M-2")[0].status == "stopped"


def test_due_required_needs_a_due_field_and_a_bool() -> None:
    with pytest.raises(DefinitionError, match=r"slas\[0\]\.due_required"):
        process(Sla("x", "1wd", start_states="open", due_required=True))
    with pytest.raises(DefinitionError, match=r"slas\[0\]\.due_required"):
        process(Sla("x", "1wd", start_states="open", due_field="promised",
                    due_required="yes"))  # type: ignore[arg-type]  # fmt: skip
    kept = process(MILESTONE)
    assert ProcessDefinition.from_dict(kept.to_dict()).slas[0].due_required is True


def test_the_engagement_templates_warn_before_each_milestone_date() -> None:
    from techsvc_flow import processes

    for name in ("service_engagement", "innovation_service"):
        definition = processes.builtin(name)
        sla = definition.sla_map["milestone"]
        assert (sla.due_field, sla.due_required) == ("next_milestone_due", True)
        assert set(sla.start_triggers) == {"sign_contract", "submit_milestone"}
        accepts = {t.trigger: set(t.accepts) for t in definition.transitions}
        assert "next_milestone_due" in accepts["sign_contract"]
        assert "next_milestone_due" in accepts["submit_milestone"]
