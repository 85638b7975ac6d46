"""The SQL store beyond the common store suite: exact round trips, hostile and oversize
input, host transactions, claims between workers, the outbox, migrations, the retry
helper. Every test runs on SQLite and on a real PostgreSQL server (see ``pg.py``)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from delegating import Delegating
from sqlalchemy.orm import Session

from techsvc_flow import (
    Case,
    CaseNotFound,
    ConcurrentUpdate,
    Event,
    Field,
    FlowError,
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
from techsvc_flow.case import verify_chain
from techsvc_flow.engine.retry import fire_with_retry, retry_on_conflict
from techsvc_flow.errors import CaseExists, InvalidValue
from techsvc_flow.sql import (
    SCHEMA_REVISION,
    PayloadTooLarge,
    SqlStore,
    UnstorableValue,
    current_revision,
    flow_tables,
    upgrade,
)

ROOT = Path(__file__).resolve().parent.parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2025, 9, 30, 17, 0, tzinfo=SHANGHAI)
H = dt.timedelta(hours=1)

TICKET = ProcessDefinition(
    name="ticket",
    version=1,
    states=[State("open", initial=True), State("waiting"), State("done", final=True)],
    transitions=[
        Transition("note", source="open", dest="open", accepts=("text", "extra", "blob")),
        Transition("wait", source="open", dest="waiting"),
        Transition("resume", source="waiting", dest="open"),
        Transition("close", source=("open", "waiting"), dest="done", accepts=("fee",)),
        Transition("escalate", source="open", dest="open"),
    ],
    fields=[
        Field("title", "str"),
        Field("fee", "decimal"),
        Field("visit", "date"),
        Field("seen", "datetime"),
        Field("text", "str"),
        Field("extra", "any"),
        Field("blob", "str"),
    ],
    slas=[Sla("reply", "24h", start_states=("open",), stop_states=("done",), warn_at=(0.5,))],
)


@dataclass
class Database:
    """One empty database (SQLite file, or a PostgreSQL schema) and its stores."""

    kind: str
    url: str
    schema: str | None
    stores: list[SqlStore] = field(default_factory=list)

    def engine(self) -> Any:
        return pg.engine(self.url) if self.kind == "postgres" else self.url

    def store(self, **options: Any) -> SqlStore:
        if self.kind == "sqlite":
            options.setdefault("engine_options", {"synchronous": "OFF"})
        made = SqlStore(self.engine(), schema=self.schema, **options)
        self.stores.append(made)
        return made


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        made = Database("sqlite", f"sqlite:///{tmp_path}/flow.db", None)
        yield made
    else:
        server = pg.require()
        with pg.fresh_schema(server) as schema:
            made = Database("postgres", server.url, schema)
            yield made
    for store in made.stores:
        store.close()


def workflow(store: Store, **options: Any) -> Workflow:
    return Workflow(
        store,
        calendar=WorkCalendar.china(coverage="provisional"),
        clock=SteppedClock(T0),
        processes=[TICKET],
        **options,
    )


def counts(store: SqlStore) -> dict[str, int]:
    t = store.tables
    with store.engine.connect() as conn:
        return {
            table.name.removeprefix(t.prefix): conn.execute(
                sa.select(sa.func.count()).select_from(table)
            ).scalar_one()
            for table in (t.cases, t.history, t.timers, t.outbox, t.idempotency)
        }


# --- the core does not need SQLAlchemy -------------------------------------------------


def test_import_techsvc_flow_does_not_import_sqlalchemy() -> None:
    code = "import sys, techsvc_flow; assert 'sqlalchemy' not in sys.modules, 'imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- exact round trips ---------------------------------------------------------------------


def scenario(wf: Workflow) -> None:
    """The same moves, on any store."""
    wf.start(
        "ticket",
        case_id="T-1",
        actor="客服-王",
        at=T0,
        data={
            "title": "设备故障投诉：'引号' \"双引号\" \\反斜杠",
            "fee": Decimal("1280.50"),
            "visit": dt.date(2025, 10, 9),
            "seen": dt.datetime(2025, 9, 30, 16, 59, 59, 123456, tzinfo=SHANGHAI),
        },
    )
    wf.fire(
        "T-1", "note", payload={"text": "国庆假期后处理 🎉", "extra": {"n": [1, 2.5]}}, at=T0 + H
    )
    wf.fire("T-1", "wait", at=T0 + 2 * H)
    wf.fire("T-1", "resume", at=T0 + 3 * H)
    wf.fire("T-1", "close", payload={"fee": Decimal("0.10")}, at=T0 + 4 * H)


def test_everything_round_trips_exactly_as_in_memory(db: Database) -> None:
    mem, sql = workflow(MemoryStore()), workflow(db.store())
    scenario(mem)
    scenario(sql)
    case, stored = mem.get("T-1"), sql.get("T-1")
    assert stored == case
    assert stored.data["fee"] == Decimal("0.10") and str(stored.data["fee"]) == "0.10"
    assert str(sql.get("T-1").data["seen"]) == "2025-09-30 16:59:59.123456+08:00"
    assert stored.created_at.isoformat() == "2025-09-30T17:00:00+08:00"  # offset kept
    assert sql.history("T-1") == mem.history("T-1")
    assert verify_chain(sql.history("T-1"), head=stored.head)
    fires = [e for e in sql.history("T-1") if e.kind == "fire"]
    assert fires[0].payload == {"text": "国庆假期后处理 🎉", "extra": {"n": [1, 2.5]}}


def test_instants_are_stored_in_utc(db: Database) -> None:
    store = db.store()
    wf = workflow(store)
    wf.start("ticket", case_id="T-1", at=T0)
    t = store.tables
    with store.engine.connect() as conn:
        raw = conn.execute(
            sa.text(f"SELECT due_at FROM {t.timers.fullname}")  # raw: no type processing
        ).scalar_one()
    due = T0 + 12 * H  # the 50 % warning of a 24 h clock
    if db.kind == "sqlite":
        assert raw == "2025-09-30 21:00:00.000000"  # 05:00 on 1 October in Shanghai
    else:
        assert raw == due and raw.utcoffset() is not None
    (timer,) = store.due_timers(due, 10)
    assert timer.due_at == due and timer.due_at.utcoffset() == dt.timedelta(0)
    assert store.due_timers(due - dt.timedelta(microseconds=1), 10) == []


HOSTILE = [
    "'; DROP TABLE flow_cases; --",
    'Robert"); DELETE FROM flow_history; --',
    "back\\slash \\u0000 \\n",
    "nul\x00inside",
    "line\nbreak\r\ttab\u2028\u2029",
    "עברית RTL \u202e override",
    "e\u0301 combining, ﬁ ligature, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢, 🇨🇳 flag, 👩‍👩‍👧 family",
    "中文：投诉、反馈、回访",
    '{"$date": "not a date"}',
    "x" * 200_000,
]


def test_hostile_input_is_stored_and_read_back_intact(db: Database) -> None:
    store = db.store()
    wf = workflow(store)
    case_id = 'O\'Brien "quoted" ; -- 中文 🎉'
    forged = {"$date": "not a date", "nested": {"$decimal": "oops"}}
    wf.start("ticket", case_id=case_id, at=T0, data={"title": HOSTILE[0]})
    for n, text in enumerate(HOSTILE, start=1):
        wf.fire(case_id, "note", payload={"text": text}, at=T0 + n * H)
    wf.fire(case_id, "note", payload={"extra": forged}, at=T0 + 20 * H)
    wf.fire(case_id, "note", payload={"extra": {"$map": [["a", 1]]}}, at=T0 + 21 * H)
    case = store.load(case_id)
    assert case.data["title"] == HOSTILE[0]
    assert case.data["extra"] == {"$map": [["a", 1]]}
    history = store.history(case_id)
    fires = [e for e in history if e.kind == "fire"]
    assert [e.payload["text"] for e in fires[: len(HOSTILE)]] == HOSTILE
    assert fires[-2].payload["extra"] == forged
    assert verify_chain(history, head=case.head)
    assert [c.id for c in store.cases()] == [case_id]
    events = store.pending(T0 + 30 * H, 100)
    assert any(d.event.payload.get("payload", {}).get("extra") == forged for d in events)


def test_oversize_payload_refused_before_any_write(db: Database) -> None:
    store = db.store(max_payload=64 * 1024)
    wf = workflow(store)
    with pytest.raises(PayloadTooLarge) as caught:
        wf.start("ticket", case_id="T-big", at=T0, data={"title": "x" * 70_000})
    assert isinstance(caught.value, FlowError) and isinstance(caught.value, ValueError)
    assert caught.value.limit == 64 * 1024 and caught.value.size > 70_000
    assert "exceed the limit of 65,536 bytes" in str(caught.value)
    assert counts(store) == dict.fromkeys(counts(store), 0)

    wf.start("ticket", case_id="T-1", at=T0)
    before, case = counts(store), store.load("T-1")
    chinese = "投" * 22_000  # 66,000 bytes of UTF-8 in 22,000 characters
    with pytest.raises(PayloadTooLarge):
        wf.fire("T-1", "note", payload={"blob": chinese}, at=T0 + H)
    assert counts(store) == before and store.load("T-1") == case
    wf.fire("T-1", "note", payload={"blob": "投" * 10_000}, at=T0 + H)  # under the limit


def test_default_limit_is_one_mebibyte(db: Database) -> None:
    wf = workflow(db.store())
    wf.start("ticket", case_id="T-1", at=T0, data={"title": "x" * 1_000_000})
    with pytest.raises(PayloadTooLarge, match="1,048,576 bytes"):
        wf.fire("T-1", "note", payload={"blob": "x" * (1 << 20)}, at=T0 + H)


def test_unstorable_values_refused_with_a_clear_error(db: Database) -> None:
    store = db.store()
    wf = workflow(store)
    with pytest.raises(InvalidValue, match="at most 255"):  # the workflow checks first
        wf.start("ticket", case_id="T" * 256, at=T0)
    with pytest.raises(InvalidValue, match="control"):
        wf.start("ticket", case_id="T\x00", at=T0)
    case = wf.start("ticket", case_id="T-1", at=T0)
    with pytest.raises(UnstorableValue, match="longer than 255"):  # the store still does
        store.create(attrs.evolve(case, id="T" * 256), [], [], [])
    with pytest.raises(UnstorableValue, match="NUL"):
        store.create(attrs.evolve(case, id="T\x00"), [], [], [])
    with pytest.raises(UnstorableValue, match="not valid Unicode"):
        store.create(
            attrs.evolve(case, id="T-2", data={"title": "lone \ud800 surrogate"}), [], [], []
        )
    assert counts(store)["cases"] == 1


def test_without_postgresql_the_tests_skip_but_fail_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pg, "unavailable", lambda: "the server binaries are not installed")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        pg.require()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        pg.require()


def test_sqlite_file_runs_in_wal_mode(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/flow.db")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


def test_a_host_engine_made_without_our_settings_works_too(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/host.db")  # sqlite3's legacy mode
    store = SqlStore(engine)
    wf = workflow(store)
    wf.start("ticket", case_id="T-1", at=T0)
    wf.fire("T-1", "note", payload={"text": "hi"}, at=T0 + H)
    assert [e.payload["mark"] for e in wf.tick(T0 + 30 * H)] == ["warning:50%", "breach"]
    assert verify_chain(store.history("T-1"), head=store.load("T-1").head)
    store.close()
    engine.dispose()


def test_naive_instants_refused_before_any_write(db: Database) -> None:
    store = db.store()
    case = workflow(store).start("ticket", case_id="T-1", at=T0)
    naive = attrs.evolve(case, id="T-2", created_at=T0.replace(tzinfo=None))
    with pytest.raises(UnstorableValue, match="aware"):
        store.create(naive, [], [], [])
    assert counts(store)["cases"] == 1


# --- optimistic concurrency and the retry helper ------------------------------------------


def test_stale_commit_raises_concurrent_update(db: Database) -> None:
    store = db.store()
    wf = workflow(store)
    case = wf.start("ticket", case_id="T-1", at=T0)
    wf.fire("T-1", "note", payload={"text": "first"}, at=T0 + H)
    moved = attrs.evolve(case, seq=case.seq + 1, version=2)
    with pytest.raises(ConcurrentUpdate) as caught:
        store.commit(moved, case.seq, [], [], [])
    assert (caught.value.expected, caught.value.actual) == (case.seq, case.seq + 1)
    with pytest.raises(CaseNotFound):
        store.commit(attrs.evolve(case, id="nope"), 0, [], [], [])
    with pytest.raises(CaseExists):
        store.create(case, [], [], [])
    with pytest.raises(ConcurrentUpdate):
        wf.fire("T-1", "note", expected_version=1, at=T0 + 2 * H)


class Racing(Delegating):
    """A store through which another writer fires on the case just before our commit."""

    def __init__(self, inner: Store, rival: Workflow, times: int) -> None:
        super().__init__(inner)
        self.rival, self.times = rival, times

    def commit(self, case: Case, expected_seq: int, *args: Any, **kwargs: Any) -> None:
        if self.times > 0:
            self.times -= 1
            self.rival.fire(case.id, "note", payload={"text": "rival"}, at=case.updated_at)
        self.inner.commit(case, expected_seq, *args, **kwargs)


def test_retry_helper_completes_a_fire_that_lost_the_race(db: Database) -> None:
    store = db.store()
    rival = workflow(store)
    rival.start("ticket", case_id="T-1", at=T0)
    ours = rival.with_store(Racing(store, rival, times=1))
    with pytest.raises(ConcurrentUpdate):
        ours.fire("T-1", "note", payload={"text": "ours"}, at=T0 + H)
    ours = rival.with_store(Racing(store, rival, times=2))
    case = fire_with_retry(ours, "T-1", "note", payload={"text": "ours"}, at=T0 + H, pause=0)
    texts = [e.payload.get("text") for e in store.history("T-1") if e.kind == "fire"]
    assert texts == ["rival", "rival", "rival", "ours"] and case.version == 5
    assert verify_chain(store.history("T-1"), head=store.load("T-1").head)
    # bounded: a fire that always loses ends in the conflict
    ours = rival.with_store(Racing(store, rival, times=10))
    with pytest.raises(ConcurrentUpdate):
        fire_with_retry(ours, "T-1", "note", at=T0 + 2 * H, attempts=3, pause=0)
    # a pinned version is the caller's view of the case: not retried
    ours = rival.with_store(Racing(store, rival, times=1))
    version = store.load("T-1").version
    with pytest.raises(ConcurrentUpdate):
        fire_with_retry(ours, "T-1", "note", at=T0 + 3 * H, expected_version=version)
    # re-checked on each attempt: a fire the rival made invalid is refused, not retried
    calls: list[int] = []

    def always_conflicts() -> None:
        calls.append(1)
        raise ConcurrentUpdate("T-1", 1, 2)

    with pytest.raises(ConcurrentUpdate):
        retry_on_conflict(always_conflicts, attempts=4, pause=0)
    assert len(calls) == 4


def test_idempotency_key_survives_in_the_database(db: Database) -> None:
    store = db.store()
    wf = workflow(store)
    wf.start("ticket", case_id="T-1", at=T0)
    first = wf.fire("T-1", "note", payload={"text": "once"}, at=T0 + H, idempotency_key="req-1")
    again = workflow(db.store()).fire(
        "T-1", "note", payload={"text": "once"}, at=T0 + H, idempotency_key="req-1"
    )
    assert again == first and len(store.history("T-1")) == 3  # start, sla.started, note
    assert store.idempotent("T-1", "req-2") is None
    with pytest.raises(CaseNotFound):
        store.idempotent("nope", "req-1")


# --- the host's own transaction ---------------------------------------------------------


def test_host_transaction_commits_or_rolls_back_with_ours(db: Database) -> None:
    metadata = sa.MetaData()
    notes = sa.Table(
        "crm_notes",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("text", sa.Text),
        schema=db.schema,
    )
    store = db.store(metadata=metadata)
    assert store.tables.cases.name in {t.name for t in metadata.tables.values()}
    metadata.create_all(store.engine, tables=[notes])
    received: list[Event] = []
    wf = workflow(store)
    wf.on("*", received.append, name="crm")

    with store.engine.connect() as conn:
        in_tx = wf.with_store(store.bind(conn))
        assert in_tx.store.commits_itself is False
        in_tx.start("ticket", case_id="T-1", at=T0)
        conn.execute(notes.insert().values(text="our own row"))
        assert in_tx.get("T-1").state == "open"  # visible inside the transaction
        conn.rollback()
    with pytest.raises(CaseNotFound):
        store.load("T-1")
    assert counts(store) == dict.fromkeys(counts(store), 0) and received == []

    with Session(store.engine) as session:
        in_tx = wf.with_store(store.bind(session))
        in_tx.start("ticket", case_id="T-1", at=T0)
        in_tx.fire("T-1", "note", payload={"text": "hi"}, at=T0 + H)
        session.execute(notes.insert().values(text="our own row"))
        assert received == []  # nothing leaves before the host commits
        session.commit()
    assert store.load("T-1").version == 2
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(notes.c.text)).scalars().all() == ["our own row"]
    assert wf.dispatch(T0 + H) == len(received) > 0
    assert {e.type for e in received} >= {"case.started", "case.transition", "sla.started"}


# --- timers and the outbox -------------------------------------------------------------


def test_claimed_timers_are_not_handed_to_another_worker(db: Database) -> None:
    one, two = db.store(), db.store()
    workflow(one).start("ticket", case_id="T-1", at=T0)
    due = T0 + 12 * H
    (timer,) = one.due_timers(due, 10)
    assert two.due_timers(due, 10) == []  # claimed by the first worker
    assert one.due_timers(due, 10) == [timer]  # the claimer may ask again
    assert two.due_timers(due + one.lease, 10) == [timer]  # the lease ran out


def test_tick_on_two_workers_raises_each_mark_once(db: Database) -> None:
    one, two = workflow(db.store()), workflow(db.store())
    for n in range(5):
        one.start("ticket", case_id=f"T-{n}", at=T0)
    later = T0 + 30 * H
    raised = one.tick(later) + two.tick(later) + one.tick(later)
    assert sorted((e.case_id, e.payload["mark"]) for e in raised) == sorted(
        (f"T-{n}", mark) for n in range(5) for mark in ("warning:50%", "breach")
    )
    for n in range(5):
        kinds = [e.kind for e in one.history(f"T-{n}")]
        assert (kinds.count("sla.warning"), kinds.count("sla.breach")) == (1, 1)


def test_outbox_retries_with_backoff_then_dead_letter_and_replay(db: Database) -> None:
    store = db.store()
    wf = workflow(store, max_attempts=2, retry_base=dt.timedelta(minutes=1))
    seen: list[str] = []
    failing = True

    def receiver(event: Event) -> None:
        seen.append(event.id)
        if failing:
            raise ConnectionError("receiver down")

    wf.on("case.transition", receiver, name="crm")
    wf.start("ticket", case_id="T-1", at=T0)
    wf.fire("T-1", "note", payload={"text": "hello"}, at=T0)  # delivered inline: fails
    assert wf.dispatch(T0 + dt.timedelta(seconds=59)) == 0 and len(seen) == 1  # backing off
    assert wf.dispatch(T0 + dt.timedelta(minutes=1)) == 0 and len(seen) == 2
    (dead,) = wf.dead_letters()
    assert dead.status == "dead" and dead.attempts == 2
    assert dead.last_error == "crm: ConnectionError: receiver down"
    assert dead.event.payload["payload"] == {"text": "hello"}
    failing = False
    assert wf.replay(dead.event.id, at=T0 + 2 * H).status == "delivered"
    assert wf.dead_letters() == [] and len(set(seen)) == 1 and len(seen) == 3  # stable id
    with pytest.raises(KeyError):
        store.requeue("no-such-event", T0)


# --- tables and migrations ------------------------------------------------------------


def test_upgrade_creates_the_schema_the_models_describe(db: Database) -> None:
    url = db.url
    upgrade(url, schema=db.schema)
    upgrade(url, schema=db.schema)  # again: nothing to do
    tables = flow_tables(prefix="flow_", schema=db.schema)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert current_revision(conn, tables) == SCHEMA_REVISION
            ours = set(tables.metadata.tables)

            def include_name(name: str | None, type_: str, _parents: Any) -> bool:
                if type_ == "table":
                    return (f"{db.schema}.{name}" if db.schema else name) in ours
                return True

            context = MigrationContext.configure(
                conn,
                opts={
                    "include_name": include_name,
                    "include_schemas": db.schema is not None,
                    "compare_type": True,
                    "compare_server_default": True,
                },
            )
            assert compare_metadata(context, tables.metadata) == []
            inspector = sa.inspect(conn)
            names = set(inspector.get_table_names(schema=db.schema))
            assert names >= {"flow_cases", "flow_history", "flow_timers", "flow_outbox"}
            assert "flow_alembic_version" in names and "alembic_version" not in names
            indexes = {
                table: {tuple(ix["column_names"]) for ix in inspector.get_indexes(table, db.schema)}
                for table in ("flow_cases", "flow_timers", "flow_outbox")
            }
            assert ("process", "state") in indexes["flow_cases"]
            assert ("due_at", "case_id", "sla") in indexes["flow_timers"]
            assert ("status", "n") in indexes["flow_outbox"]
            pk = inspector.get_pk_constraint("flow_history", db.schema)
            assert pk["constrained_columns"] == ["case_id", "seq"]
    finally:
        engine.dispose()
    # a store on the upgraded database starts without migrating again
    store = db.store()
    workflow(store).start("ticket", case_id="T-1", at=T0)


def test_prefixes_keep_stores_apart(db: Database) -> None:
    a, b = db.store(prefix="flow_"), db.store(prefix="crm_flow_")
    workflow(a).start("ticket", case_id="T-1", at=T0)
    assert [c.id for c in a.cases()] == ["T-1"] and list(b.cases()) == []
    assert b.tables.version_table == "crm_flow_alembic_version"


def test_cases_are_read_a_page_at_a_time(db: Database) -> None:
    store = db.store()
    store.page_size = 3
    wf = workflow(store)
    for n in range(8):
        wf.start("ticket", case_id=f"T-{n}", at=T0)
    wf.fire("T-3", "close", at=T0 + H)
    assert [c.id for c in store.cases()] == [f"T-{n}" for n in range(8)]
    assert [c.id for c in store.cases(process="ticket", state="done")] == ["T-3"]
    assert len(list(store.cases(state="open"))) == 7 and list(store.cases(process="x")) == []
