"""Issue 11, "Bad input": every bad input is refused with a clear ``FlowError`` subclass
naming the field or key path, and nothing is written."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import pg
import pytest

from techsvc_flow import (
    Duration,
    Field,
    Guard,
    MemoryStore,
    ProcessDefinition,
    State,
    SteppedClock,
    Store,
    Transition,
    WorkCalendar,
    Workflow,
)
from techsvc_flow.cli import main
from techsvc_flow.durations import MAX_DAYS, ClockTime
from techsvc_flow.errors import (
    CalendarError,
    CaseExists,
    DefinitionError,
    DurationError,
    InvalidValue,
    NaiveDatetimeError,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2025, 9, 30, 17, 0, tzinfo=SHANGHAI)
H = dt.timedelta(hours=1)
CALENDAR = WorkCalendar.china(coverage="provisional")

TICKET = ProcessDefinition(
    name="ticket",
    version=1,
    states=[State("open", initial=True), State("done", final=True)],
    transitions=[
        Transition("note", source="open", dest="open", accepts=("info", "pin")),
        Transition("close", source="open", dest="done"),
    ],
    fields=[Field("info", "any"), Field("pin", "any", confidential=True)],
)


def workflow(store: Store | None = None, **options: Any) -> Workflow:
    return Workflow(store, calendar=CALENDAR, clock=SteppedClock(T0), processes=[TICKET], **options)


def written(store: Store) -> tuple[int, int, int]:
    """(cases, history entries, outbox events) in ``store``."""
    cases = list(store.cases())
    entries = sum(len(store.history(c.id)) for c in cases)
    return len(cases), entries, len(store.pending(T0 + 1000 * H, 10_000))


# --- 1. a duplicate start is CaseExists, on every store ---------------------------------


def test_duplicate_start_raises_case_exists_and_writes_nothing(store: Store) -> None:
    wf = workflow(store)
    first = wf.start("ticket", case_id="T-1", at=T0)
    before = written(store)
    with pytest.raises(CaseExists, match="'T-1' exists already") as info:
        wf.start("ticket", case_id="T-1", at=T0 + H)
    assert info.value.case_id == "T-1"
    assert written(store) == before
    assert store.load("T-1") == first


def _start_same_id(n: int, url: str, schema: str | None, out: Path) -> None:
    from techsvc_flow.sql import SqlStore

    store = SqlStore(url, schema=schema, migrate=False, engine_options={"pool_size": 1})
    try:
        workflow(store).start("ticket", case_id="SAME", at=T0, data={"info": n})
        result = "won"
    except CaseExists:
        result = "exists"
    finally:
        store.close()
    out.joinpath(f"{n}").write_text(result)


def test_eight_processes_start_the_same_id_one_wins(tmp_path: Path) -> None:
    from techsvc_flow.sql import SqlStore

    server = pg.require()
    with pg.fresh_schema(server) as schema:
        SqlStore(server.url, schema=schema).close()
        fork = multiprocessing.get_context("fork")
        workers = [
            fork.Process(target=_start_same_id, args=(n, server.url, schema, tmp_path))
            for n in range(8)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert [w.exitcode for w in workers] == [0] * 8
        results = sorted(p.read_text() for p in tmp_path.iterdir())
        assert results == ["exists"] * 7 + ["won"]
        store = SqlStore(server.url, schema=schema, migrate=False)
        try:
            assert [c.id for c in store.cases()] == ["SAME"]
            assert len(store.history("SAME")) == 1
        finally:
            store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/flow.db", None
        return
    server = pg.require()
    with pg.fresh_schema(server) as schema:
        yield server.url, schema


def test_duplicate_start_in_the_hosts_transaction_leaves_it_usable(
    sql_url: tuple[str, str | None],
) -> None:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from techsvc_flow.sql import SqlStore

    url, schema = sql_url
    store = SqlStore(url, schema=schema)
    try:
        wf = workflow(store)
        wf.start("ticket", case_id="T-1", at=T0)
        with Session(store.engine) as session, session.begin():
            bound = wf.with_store(store.bind(session))
            bound.start("ticket", case_id="T-2", at=T0)
            with pytest.raises(CaseExists):
                bound.start("ticket", case_id="T-1", at=T0)
            # the host's transaction goes on: its own statements and ours still work
            assert session.execute(sa.text("SELECT 1")).scalar() == 1
            bound.start("ticket", case_id="T-3", at=T0)
        assert sorted(c.id for c in store.cases()) == ["T-1", "T-2", "T-3"]
        assert len(store.history("T-1")) == 1
    finally:
        store.close()


# --- 2. case ids -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case_id", "problem"),
    [
        ("", "must not be empty"),
        ("\ud800", "lone surrogate"),
        ("T\n1", "control characters"),
        ("T\x00", "control characters"),
        ("T\u2028", "line breaks"),
        ("T" * 256, "256 characters long; at most 255"),
        (42, "must be a str, not int"),
    ],
)
def test_bad_case_ids_are_refused_before_anything_is_written(
    store: Store, case_id: Any, problem: str
) -> None:
    wf = workflow(store)
    with pytest.raises(InvalidValue, match=f"^case_id: .*{problem}") as info:
        wf.start("ticket", case_id=case_id, at=T0)
    assert info.value.path == "case_id"
    assert written(store) == (0, 0, 0)


def test_the_longest_id_and_any_printable_text_are_kept(store: Store) -> None:
    wf = workflow(store)
    for case_id in ("T" * 255, "投诉 2025/001 · ü"):
        assert wf.start("ticket", case_id=case_id, at=T0).id == case_id
        assert store.load(case_id).id == case_id


# --- 3. payload and data values ------------------------------------------------------------


class _Secret:
    def __repr__(self) -> str:
        return "TOP-SECRET-4711"


def _deep(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("payload", "path", "problem"),
    [
        ({"info": b"TOP-SECRET-4711"}, "payload.info", "a bytes cannot be stored"),
        ({"pin": _Secret()}, "payload.pin", "a _Secret cannot be stored"),
        ({"info": dt.time(9, 30)}, "payload.info", "a time cannot be stored"),
        ({"info": dt.timedelta(hours=1)}, "payload.info", "a timedelta cannot be stored"),
        (
            {"info": {"items": [{}, {}, {}, {"price": float("nan")}]}},
            "payload.info.items[3].price",
            "must be finite",
        ),
        ({"info": [float("inf")]}, "payload.info[0]", "must be finite"),
        ({"info": -float("inf")}, "payload.info", "must be finite"),
        ({"info": Decimal("NaN")}, "payload.info", "must be finite"),
        ({"info": {1: "x"}}, "payload.info", "keys must be str"),
        ({"info": MappingProxyType({"a": 1})}, "payload.info", "a mappingproxy cannot be"),
        ({"info": "\udcff TOP-SECRET-4711"}, "payload.info", "lone surrogate"),
        ({"info": _deep(600)}, "payload.info" + "[0]" * 64, "nested more than 64 levels"),
    ],
)
def test_values_no_store_can_keep_are_refused_naming_the_key_path(
    store: Store, payload: dict[str, Any], path: str, problem: str
) -> None:
    wf = workflow(store)
    wf.start("ticket", case_id="T-1", at=T0)
    before = written(store)
    with pytest.raises(InvalidValue) as info:
        wf.fire("T-1", "note", payload=payload, at=T0 + H)
    assert info.value.path == path
    assert problem in info.value.problem
    assert "TOP-SECRET-4711" not in str(info.value)  # never the value itself
    assert written(store) == before
    with pytest.raises(InvalidValue) as info:
        wf.start("ticket", case_id="T-2", at=T0, data=payload)
    assert info.value.path == "data" + path.removeprefix("payload")
    assert written(store) == before


def test_an_integer_too_long_for_json_text_is_refused(store: Store) -> None:
    wf = workflow(store)
    wf.start("ticket", case_id="T-1", at=T0)
    with pytest.raises(InvalidValue, match=r"^payload\.info: .*more than 14000 bits"):
        wf.fire("T-1", "note", payload={"info": 10**5000}, at=T0 + H)
    assert len(store.history("T-1")) == 1


def test_every_value_kind_the_store_keeps_is_accepted(store: Store) -> None:
    value = {
        "text": "中文",
        "n": 10**100,
        "x": 1.5,
        "d": Decimal("1.10"),
        "flag": True,
        "none": None,
        "day": dt.date(2025, 10, 1),
        "at": T0,
        "list": [1, [2, [3]]],
        "tuple": (1, 2),
        "nested": _deep(63),
    }
    wf = workflow(store)
    wf.start("ticket", case_id="T-1", at=T0)
    case = wf.fire("T-1", "note", payload={"info": value}, at=T0 + H)
    assert store.load("T-1").data["info"]["d"] == Decimal("1.10")
    assert case.data["info"]["nested"] == _deep(63)
    assert wf.verify_history("T-1")


# --- 6. the clock ---------------------------------------------------------------------------


class _NaiveClock:
    def now(self) -> dt.datetime:
        return dt.datetime(2025, 9, 30, 17, 0)


def test_a_clock_returning_naive_datetimes_is_refused() -> None:
    store = MemoryStore()
    wf = Workflow(store, calendar=CALENDAR, clock=_NaiveClock(), processes=[TICKET])
    with pytest.raises(NaiveDatetimeError, match=r"_NaiveClock\.now\(\)"):
        wf.start("ticket", case_id="T-1")
    assert written(store) == (0, 0, 0)


# --- 4. durations and dates ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["9999999999999999h", "99999999wd", "1000000000d", "1201mo", "1" + "0" * 5000 + "d"]
)
def test_durations_past_the_supported_range_are_refused(text: str) -> None:
    with pytest.raises(DurationError, match="out of the supported range") as info:
        Duration.parse(text)
    assert "36525 days" in str(info.value) or "1200 months" in str(info.value)


def test_the_widest_durations_are_kept() -> None:
    assert str(Duration.parse("36525wd")) == "36525wd"
    assert str(Duration.parse("876600h")) == "876600h"
    assert str(Duration.parse("1200mo")) == "1200mo"
    with pytest.raises(DurationError, match="out of the supported range"):
        ClockTime(dt.timedelta(days=MAX_DAYS + 1))


@pytest.mark.parametrize("text", ["24h", "1d", "1mo", "1wh", "1wd"])
def test_deadlines_past_the_year_9999_are_a_calendar_error(text: str) -> None:
    start = dt.datetime(9999, 12, 31, 17, 0, tzinfo=SHANGHAI)
    with pytest.raises(CalendarError, match="supported range"):
        CALENDAR.deadline(start, text)
    with pytest.raises(CalendarError, match="supported range"):
        CALENDAR.add_working_time(T0, dt.timedelta(days=10**8))


# --- 5. definitions ------------------------------------------------------------------------


def _definition(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "ticket",
        "version": 1,
        "fields": [{"name": "kind", "choices": ["a", "b"]}],
        "states": [{"name": "open", "initial": True}, {"name": "done", "final": True}],
        "transitions": [{"trigger": "close", "source": "open", "dest": "done", "roles": ["agent"]}],
        "slas": [{"name": "reply", "duration": "24h", "start_states": ["open"]}],
    }
    for path, value in changes.items():
        key, index, attr = path.split(".")
        data[key][int(index)][attr] = value
    return data


@pytest.mark.parametrize(
    ("changes", "path", "problem"),
    [
        ({"states.1.final": "false"}, "states[1].final", "expected true or false"),
        ({"states.0.initial": 1}, "states[0].initial", "expected true or false"),
        ({"fields.0.confidential": "no"}, "fields.kind.confidential", "expected true or false"),
        ({"transitions.0.roles": ""}, "transitions[0].roles[0]", "is not a role name"),
        ({"transitions.0.roles": ["agent", " "]}, "transitions[0].roles[1]", "not a role name"),
        ({"fields.0.choices": "abc"}, "fields.kind.choices", "expected a list of values"),
        ({"slas.0.name": ""}, "slas[0].name", "must not be empty"),
        ({"slas.0.name": "x" * 300}, "slas[0].name", "at most 255"),
        ({"slas.0.name": "a\nb"}, "slas[0].name", "control characters"),
        ({"slas.0.duration": "1000000000wd"}, "slas[0].duration", "supported range"),
        ({"slas.0.duration": "3661wd"}, "slas[0].duration", "longest SLA (3660 days)"),
        ({"slas.0.duration": "121mo"}, "slas[0].duration", "longest SLA (3660 days)"),
        (
            {"transitions.0.guards": [
                {"code": "once", "kind": "max_count", "trigger": "clsoe", "limit": 1}
            ]},
            "transitions[0].guards[0].trigger",
            "unknown trigger 'clsoe'",
        ),
    ],
)  # fmt: skip
def test_bad_definitions_are_refused_naming_the_path(
    changes: dict[str, Any], path: str, problem: str
) -> None:
    with pytest.raises(DefinitionError) as info:
        ProcessDefinition.from_dict(_definition(**changes))
    assert info.value.path == path
    assert problem in info.value.problem


def test_definitions_built_in_code_are_checked_alike() -> None:
    with pytest.raises(DefinitionError, match=r"^states\[1\]\.final: "):
        ProcessDefinition(
            name="t",
            version=1,
            states=[State("open", initial=True), State("done", final="false")],  # type: ignore[arg-type]
            transitions=[Transition("close", source="open", dest="done")],
        )
    with pytest.raises(DefinitionError, match=r"^transitions\[0\]\.guards\[0\]\.trigger: "):
        ProcessDefinition(
            name="t",
            version=1,
            states=[State("open", initial=True), State("done", final=True)],
            transitions=[
                Transition(
                    "close", source="open", dest="done", guards=[Guard.max_count("x", "nope", 1)]
                )
            ],
        )
    sane = ProcessDefinition.from_dict(_definition(**{"slas.0.duration": "3660wd"}))
    assert str(sane.slas[0].duration) == "3660wd"


# --- 7. a schema newer than the library ---------------------------------------------------------


@pytest.fixture
def too_new(tmp_path: Path) -> str:
    import sqlalchemy as sa

    from techsvc_flow.sql import SqlStore

    url = f"sqlite:///{tmp_path}/flow.db"
    store = SqlStore(url)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE flow_alembic_version SET version_num = '9999'"))
    store.close()
    return url


def test_a_database_migrated_by_a_newer_library_is_refused(too_new: str) -> None:
    from techsvc_flow.sql import SchemaTooNew, SqlStore, open_store, upgrade
    from techsvc_flow.sql.schema import head_revision

    head = head_revision()
    for call in (lambda: SqlStore(too_new), lambda: open_store(too_new), lambda: upgrade(too_new)):
        with pytest.raises(SchemaTooNew) as info:
            call()
        assert (info.value.found, info.value.known) == ("9999", head)
        assert "'9999'" in str(info.value) and f"{head!r}" in str(info.value)
    SqlStore(too_new, migrate=False).close()  # without migrate, reading is the caller's risk


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--period", "2025", "--db"],
        ["ledger", "--db"],
        ["db", "upgrade"],
    ],
)
def test_the_cli_refuses_a_too_new_database_in_one_line(
    too_new: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*args, too_new]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "'9999'" in err and "upgrade techsvc_flow" in err


# --- 8. the command line never prints a traceback ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["report", "--period", "2025", "--db", "oracle://ann:s3cret@db/flow"], "oracle"),
        (["db", "upgrade", "nosuchdialect://ann:s3cret@db/flow"], "nosuchdialect"),
        (["ledger", "--db", "postgresql+psycopg://ann:s3cret@db/flow"], "pip install"),
        (["deadline", "2025-09-30T17:00", "9999999999999999h"], "supported range"),
        (["deadline", "9999-12-31T17:00", "24h"], "supported range"),
    ],
)
def test_bad_input_on_the_command_line_is_one_line(
    args: list[str],
    expected: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the driver were not installed
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("techsvc-flow: error: ") and err.count("\n") == 1
    assert expected in err
    assert "s3cret" not in err


def test_a_missing_excel_library_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from techsvc_flow.sql import SqlStore

    url = f"sqlite:///{tmp_path}/flow.db"
    SqlStore(url).close()
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    code = main(["ledger", "--db", url, "--format", "xlsx", "--output", str(tmp_path / "l.xlsx")])
    assert code == 2
    assert "openpyxl" in capsys.readouterr().err


def test_the_password_is_masked_where_the_cli_prints_a_url(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import techsvc_flow.sql

    monkeypatch.setattr(techsvc_flow.sql, "upgrade", lambda *args, **kwargs: None)
    assert main(["db", "upgrade", "postgresql+psycopg://ann:s3cret@db/flow"]) == 0
    assert capsys.readouterr().out == "schema up to date: postgresql+psycopg://ann:***@db/flow\n"


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    import subprocess

    command = [sys.executable, "-m", "techsvc_flow", "diagram", "complaint", "--format", "dot"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head -1` having read its line and gone
    err = proc.stderr.read()
    assert proc.wait(60) == 0
    assert err == b""


def test_the_demo_runs_twice_on_the_same_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/demo.db"
    assert main(["demo", "--db", url]) == 0
    first = capsys.readouterr().out
    assert main(["demo", "--db", url]) == 0
    second = capsys.readouterr().out
    assert " ENG-2025-017 " in first and "ENG-2025-017-2" in second
    assert "every hash chain intact: yes" in second
