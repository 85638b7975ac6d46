"""The audit trail catches what it claims to: edited columns, corrupt rows, forgeries
(a recomputed chain, a cut tail, entries appended through the store), time running
backwards; with a keyed chain and checkpoints (issue 11, items 5, 8, 9, 10)."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Iterator, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
import sqlalchemy as sa

from conftest import STORE_FACTORIES
from techsvc_flow import (
    Field,
    MemoryStore,
    ProcessDefinition,
    Sla,
    State,
    Store,
    Transition,
    Workflow,
)
from techsvc_flow.case import GENESIS, Case, ChainKey, HistoryEntry, _chain, verify_chain
from techsvc_flow.errors import ConfigurationError, InvalidValue
from techsvc_flow.sql import SqlStore

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2025, 10, 9, 9, 0, tzinfo=SHANGHAI)
H = dt.timedelta(hours=1)
KEY = ChainKey(b"k" * 32, id="2026-a")
OLD_KEY = ChainKey(b"o" * 32, id="2025-z")

TICKET = ProcessDefinition(
    name="ticket",
    version=1,
    states=[State("open", initial=True), State("doing"), State("done"), State("gone", final=True)],
    transitions=[
        Transition("take", source="open", dest="doing"),
        Transition("drop", source="done", dest="gone"),
        Transition("close", source="doing", dest="done", accepts=("result",)),
        Transition("note", source="open", dest="open", accepts=("text",)),
        Transition("note", source="doing", dest="doing", accepts=("text",)),
        Transition("note", source="done", dest="done", accepts=("text",)),
    ],
    fields=[Field("title", "str"), Field("text", "str"), Field("result", "str")],
    slas=[Sla("fix", "8h", start_states="open", stop_states="done")],
)


@pytest.fixture(params=["memory", "sqlite"])
def any_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    with STORE_FACTORIES[request.param]() as made:
        yield made


@pytest.fixture(params=["sqlite", "postgres"])
def sql(request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    with STORE_FACTORIES[request.param]() as made:
        assert isinstance(made, SqlStore)
        yield made


def workflow(store: Store, key: Any = None) -> Workflow:
    return Workflow(store, processes=[TICKET], chain_key=key)


def run(wf: Workflow, case_id: str = "T-1") -> list[Case]:
    """A case with a start, a note, a take and a close; the case after each step."""
    return [
        wf.start("ticket", case_id=case_id, data={"title": "printer"}, at=T0),
        wf.fire(case_id, "note", payload={"text": "called"}, at=T0 + H),
        wf.fire(case_id, "take", actor="ann", at=T0 + 2 * H),
        wf.fire(case_id, "close", payload={"result": "fixed"}, at=T0 + 3 * H),
    ]


def rewrite(store: Store, case: Case, entries: Sequence[HistoryEntry]) -> None:
    """What a forger with database access does: replace the history and the case row."""
    if isinstance(store, MemoryStore):
        slot = store._slots[case.id]
        slot.entries, slot.case = list(entries), case
        return
    assert isinstance(store, SqlStore)
    writes = store._prepare(case, entries, [], [], None)
    t = store.tables
    with store.writing() as conn:
        conn.execute(sa.delete(t.history).where(t.history.c.case_id == case.id))
        conn.execute(store._ins_history, writes.entries)
        row = {k: v for k, v in writes.case.items() if k != "id"}
        conn.execute(sa.update(t.cases).where(t.cases.c.id == case.id).values(row))


def rechained(entries: Sequence[HistoryEntry], key: ChainKey | None = None) -> list[HistoryEntry]:
    out, _, _ = _chain(GENESIS, 0, entries, key)
    return out


# --- 8: every column a report or query reads is checked against the chain -----------------

HISTORY_EDITS = {
    "at": "at = '2025-10-01 01:00:00.000000'",
    "dest": "dest = 'done'",
    "at_offset": "at_offset = 0",
    "kind": "kind = 'start'",
    "version": "version = 9",
    "hash": "hash = '" + "f" * 64 + "'",
}


@pytest.mark.parametrize("column", list(HISTORY_EDITS))
def test_an_edited_history_column_is_reported(sql: SqlStore, column: str) -> None:
    wf = workflow(sql)
    run(wf)
    assert wf.verify_history("T-1")
    edit = HISTORY_EDITS[column]
    if column == "at" and sql.dialect == "postgresql":
        edit = "at = TIMESTAMPTZ '2025-10-01 01:00:00+00'"
    table = sql.tables.history.fullname
    with sql.writing() as conn:
        conn.exec_driver_sql(f"UPDATE {table} SET {edit} WHERE case_id = 'T-1' AND seq = 3")
    check = wf.verify_history("T-1")
    assert not check
    assert any(p.startswith(f"seq 3: {column} column is ") for p in check.problems), check


CASE_EDITS = {
    "state": ("state = 'open'", "case row: state is 'open'"),
    "version": ("version = 2", "case row: version is 2"),
    "seq": ("seq = 5", "case row: seq is 5"),
    "head": ("head = '" + "0" * 64 + "'", "the last entry is not the case's latest"),
    "process_version": ("process_version = 2", "process 'ticket' version 2 is not registered"),
    "process": ("process = 'other'", "process 'other' version 1 is not registered"),
    "created_at": ("created_at = {instant}", "case row: created_at column"),
    "updated_at": ("updated_at = {instant}", "case row: updated_at column"),
}


@pytest.mark.parametrize("column", list(CASE_EDITS))
def test_an_edited_case_column_is_reported(sql: SqlStore, column: str) -> None:
    wf = workflow(sql)
    run(wf)
    edit, problem = CASE_EDITS[column]
    instant = "'2025-10-01 01:00:00.000000'"
    if sql.dialect == "postgresql":
        instant = "TIMESTAMPTZ '2025-10-01 01:00:00+00'"
    with sql.writing() as conn:
        conn.exec_driver_sql(
            f"UPDATE {sql.tables.cases.fullname} SET {edit.format(instant=instant)} "
            "WHERE id = 'T-1'"
        )
    check = wf.verify_history("T-1")
    assert not check
    assert any(problem in p for p in check.problems), check


def test_case_data_counts_and_clocks_are_checked_against_the_history(any_store: Store) -> None:
    wf = workflow(any_store)
    case = run(wf)[-1]
    assert wf.verify_history("T-1")
    clock = case.clocks["fix"]
    forgeries = {
        "data": attrs.evolve(case, data={**case.data, "result": "refunded"}),
        "counts": attrs.evolve(case, counts={**case.counts, "take": 2}),
        "clocks['fix'].events": attrs.evolve(
            case, clocks={"fix": attrs.evolve(clock, events=clock.events[:1])}
        ),
        "clocks['fix'].fired": attrs.evolve(
            case, clocks={"fix": attrs.evolve(clock, fired=("breach",))}
        ),
    }
    entries = wf.history("T-1")
    for name, forged in forgeries.items():
        rewrite(any_store, forged, entries)
        check = wf.verify_history("T-1")
        assert any(p.startswith(f"case row: {name} is ") for p in check.problems), check
    rewrite(any_store, case, entries)
    assert wf.verify_history("T-1")


def test_the_definition_of_the_entries_must_be_the_cases(any_store: Store) -> None:
    other = attrs.evolve(TICKET, name="other")
    wf = Workflow(any_store, processes=[TICKET, other])
    case = run(wf)[-1]
    rewrite(any_store, attrs.evolve(case, process="other"), wf.history("T-1"))
    check = wf.verify_history("T-1")
    assert (
        "seq 1: recorded under another definition than the case's process 'other'"
        in (check.problems[0])
    )


# --- 9: a corrupt row is a finding, never a crash -----------------------------------------

CORRUPT = {
    "body = 'not json'": "seq 2: unreadable row (JSONDecodeError",
    "body = '{\"kind\": 1}'": "seq 2: unreadable row (TypeError",
    "body = '[1, 2]'": "seq 2: unreadable row (TypeError",
    "at = 'yesterday'": "seq 2: unreadable row (ValueError",
}


@pytest.mark.parametrize("edit", list(CORRUPT))
def test_a_corrupt_history_row_is_reported_not_raised(edit: str) -> None:
    with STORE_FACTORIES["sqlite"]() as store:
        assert isinstance(store, SqlStore)
        wf = workflow(store)
        run(wf)
        with store.writing() as conn:
            conn.exec_driver_sql(f"UPDATE flow_history SET {edit} WHERE seq = 2")
        check = wf.verify_history("T-1")
    assert not check
    assert check.problems[0].startswith(CORRUPT[edit]), check
    assert check.entries == 5  # of 6: the unreadable one is left out


def test_a_corrupt_case_row_is_reported_not_raised(sql: SqlStore) -> None:
    wf = workflow(sql)
    run(wf)
    with sql.writing() as conn:
        conn.exec_driver_sql(f"UPDATE {sql.tables.cases.fullname} SET body = '{{'")
    check = wf.verify_history("T-1")
    assert not check
    assert len(check.problems) == 1, check
    assert check.problems[0].startswith("case row: unreadable (JSONDecodeError"), check


def test_verify_chain_reports_malformed_entries() -> None:
    wf = workflow(MemoryStore())
    run(wf)
    entries: list[Any] = wf.history("T-1")
    entries[1] = attrs.evolve(entries[1], at="yesterday")
    check = verify_chain(entries)
    assert "seq 2: unreadable entry (AttributeError" in check.problems[0]


# --- 4: time order ---------------------------------------------------------------------------


def test_an_entry_dated_before_its_predecessor_is_flagged(any_store: Store) -> None:
    wf = workflow(any_store)
    case = run(wf)[-1]
    entries = wf.history("T-1")
    # a forger recomputes the unkeyed chain after back-dating the take
    forged = [attrs.evolve(e, at=T0 - H) if e.trigger == "take" else e for e in entries]
    forged = rechained(forged)
    rewrite(any_store, attrs.evolve(case, head=forged[-1].hash), forged)
    check = wf.verify_history("T-1")
    assert not check
    take = next(e.seq for e in forged if e.trigger == "take")
    assert check.problems[0] == (
        f"seq {take}: dated 2025-10-09T08:00:00+08:00, before the entry before it "
        "(2025-10-09T10:00:00+08:00)"
    )


# --- 10: forgeries -------------------------------------------------------------------------


def test_a_recomputed_unkeyed_chain_passes_a_keyed_one_does_not(any_store: Store) -> None:
    keyed = workflow(any_store, KEY)
    case = run(keyed)[-1]
    assert keyed.verify_history("T-1")
    assert {e.key_id for e in keyed.history("T-1")} == {"2026-a"}
    entries = keyed.history("T-1")
    refunded = {"result": "refunded"}
    edited = [attrs.evolve(e, payload=refunded) if e.trigger == "close" else e for e in entries]
    case = attrs.evolve(case, data={**case.data, **refunded})
    # without the key, the forger can only recompute an unkeyed chain ...
    forged = [attrs.evolve(e, key_id=None) for e in rechained(edited)]
    rewrite(any_store, attrs.evolve(case, head=forged[-1].hash), forged)
    assert workflow(any_store).verify_history("T-1")  # what an unkeyed chain cannot see
    check = keyed.verify_history("T-1")
    assert not check
    assert check.problems[0] == "seq 1: sealed without a key (expected key '2026-a')"
    # ... or seal with a key of their own
    forged = rechained(edited, ChainKey(b"m" * 32, id="2026-a"))
    rewrite(any_store, attrs.evolve(case, head=forged[-1].hash), forged)
    assert keyed.verify_history("T-1").problems[0] == (
        "seq 1: content was changed after it was recorded"
    )
    mine = ChainKey(b"m" * 32)
    forged = rechained(edited, mine)
    rewrite(any_store, attrs.evolve(case, head=forged[-1].hash), forged)
    assert keyed.verify_history("T-1").problems[0] == (
        f"seq 1: sealed with key {mine.id!r}, which cannot be checked (given '2026-a')"
    )


def test_a_keyed_chain_needs_the_key_to_verify(any_store: Store) -> None:
    run(workflow(any_store, KEY))
    check = workflow(any_store).verify_history("T-1")
    assert check.problems[0] == (
        "seq 1: sealed with key '2026-a', which cannot be checked (no key was given)"
    )
    # rotation: seal with the new key, verify old entries with the old one
    run(workflow(any_store, OLD_KEY), "T-2")
    rotated = workflow(any_store, [KEY, OLD_KEY])
    assert rotated.chain_key is KEY
    rotated.fire("T-2", "note", at=T0 + 5 * H)
    assert rotated.verify_history("T-1") and rotated.verify_history("T-2")
    assert [e.key_id for e in rotated.history("T-2")][-2:] == ["2025-z", "2026-a"]


def test_an_unkeyed_chain_stays_byte_compatible(any_store: Store) -> None:
    wf = workflow(any_store)
    run(wf)
    entry = wf.history("T-1")[0]
    assert entry.key_id is None and "key_id" not in entry.content()
    assert entry.hash == entry.computed_hash() == attrs.evolve(entry, hash="").sealed().hash


@pytest.mark.parametrize(
    "secret", [b"short", "a str secret", [], [b"x" * 32]], ids=["short", "str", "empty", "bytes"]
)
def test_a_bad_chain_key_is_refused(secret: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"ChainKey.secret|Workflow.chain_key"):
        Workflow(chain_key=secret)


def test_a_cut_tail_with_a_fixed_head_is_caught_by_a_checkpoint(any_store: Store) -> None:
    wf = workflow(any_store, KEY)
    steps = run(wf)
    checkpoint = wf.checkpoint(at=T0 + 4 * H)
    assert json.loads(json.dumps(checkpoint)) == checkpoint
    assert checkpoint["cases"]["T-1"]["seq"] == steps[-1].seq
    assert wf.verify_checkpoint(checkpoint)
    # the forger drops the close and puts back the case row as it was before it
    before = steps[-2]
    rewrite(any_store, before, wf.history("T-1")[: before.seq])
    assert wf.verify_history("T-1")  # the chain alone cannot see a clean cut
    check = wf.verify_history("T-1", checkpoint=checkpoint)
    assert check.problems == (
        f"seq {steps[-1].seq}: the checkpoint saw {steps[-1].seq} entries, the history ends "
        f"at seq {before.seq} (cut below the checkpoint)",
    )
    assert wf.verify_checkpoint(checkpoint).problems == tuple(
        f"case 'T-1': {p}" for p in check.problems
    )


def test_a_rewrite_at_or_below_a_checkpoint_is_caught(any_store: Store) -> None:
    wf = workflow(any_store)  # even unkeyed: the checkpoint is kept outside the database
    case = run(wf)[-1]
    run(wf, "T-2")
    checkpoint = wf.checkpoint(at=T0 + 4 * H)
    edited = [attrs.evolve(e, actor="mallory") if e.seq == 1 else e for e in wf.history("T-1")]
    forged = rechained(edited)
    rewrite(any_store, attrs.evolve(case, head=forged[-1].hash), forged)
    assert wf.verify_history("T-1")
    check = wf.verify_checkpoint(checkpoint)
    assert check.problems == (
        f"case 'T-1': seq {case.seq}: not the entry the checkpoint saw (history rewritten at "
        "or below it)",
    )
    # entries after the checkpoint are not its concern
    wf.fire("T-2", "note", at=T0 + 5 * H)
    assert wf.verify_history("T-2", checkpoint=checkpoint)


def test_a_deleted_case_and_a_changed_checkpoint_are_caught(any_store: Store) -> None:
    wf = workflow(any_store, KEY)
    run(wf)
    checkpoint = wf.checkpoint(at=T0 + 4 * H)
    changed = json.loads(json.dumps(checkpoint))
    changed["cases"]["T-1"]["seq"] = 2
    with pytest.raises(InvalidValue, match=r"checkpoint\.seal: does not match"):
        wf.verify_checkpoint(changed)
    with pytest.raises(InvalidValue, match="sealed with key '2026-a', which was not given"):
        workflow(any_store).verify_checkpoint(checkpoint)
    with pytest.raises(InvalidValue, match=r"checkpoint\.format"):
        wf.verify_checkpoint({"cases": {}})
    run(wf, "T-2")
    checkpoint = wf.checkpoint(at=T0 + 4 * H)
    if isinstance(any_store, MemoryStore):
        del any_store._slots["T-2"]
    else:
        assert isinstance(any_store, SqlStore)
        t = any_store.tables
        with any_store.writing() as conn:
            conn.execute(sa.delete(t.history).where(t.history.c.case_id == "T-2"))
            conn.execute(sa.delete(t.cases).where(t.cases.c.id == "T-2"))
    assert wf.verify_checkpoint(checkpoint).problems == (
        "case 'T-2': in the checkpoint, gone from the store",
    )


def test_a_keyed_checkpoint_vouches_for_an_unkeyed_past(any_store: Store) -> None:
    run(workflow(any_store))  # before the key was set up
    keyed = workflow(any_store, KEY)
    assert keyed.verify_history("T-1").problems[0].startswith("seq 1: sealed without a key")
    checkpoint = keyed.checkpoint(at=T0 + 4 * H)
    assert keyed.verify_history("T-1", checkpoint=checkpoint)
    keyed.fire("T-1", "note", at=T0 + 5 * H)
    assert keyed.verify_history("T-1", checkpoint=checkpoint)
    assert keyed.verify_checkpoint(checkpoint)
    # an unkeyed checkpoint vouches for nothing: anyone can make one
    unkeyed = workflow(any_store).checkpoint(at=T0 + 6 * H)
    assert not keyed.verify_history("T-1", checkpoint=unkeyed)


# --- 10: no write path that skips the chain -------------------------------------------------


def test_the_store_refuses_entries_that_do_not_continue_its_chain(any_store: Store) -> None:
    wf = workflow(any_store)
    case = run(wf)[1]
    head_case = any_store.load("T-1")
    note = HistoryEntry(
        "T-1", 0, "fire", T0 + 5 * H, "eve", "note", "done", "done", {"text": "forged"},
        TICKET.hash, head_case.version, "",
    )  # fmt: skip

    def attempt(prev: str, seq: int, stored_seq: int = head_case.seq) -> None:
        entries, head, last = _chain(prev, seq, [note])
        forged = attrs.evolve(head_case, seq=last, head=head)
        any_store.commit(forged, stored_seq, entries, [], [])

    with pytest.raises(InvalidValue, match=r"entries\[0\]\.prev: does not continue case 'T-1'"):
        attempt(case.head, head_case.seq)  # linked to an older entry
    with pytest.raises(InvalidValue, match=r"entries\[0\]\.seq: is 9: the chain continues at"):
        attempt(head_case.head, 8)
    entries, head, last = _chain(head_case.head, head_case.seq, [note])
    with pytest.raises(InvalidValue, match=r"case.seq, case.head: case 'T-1' must end where"):
        any_store.commit(attrs.evolve(head_case, seq=last), head_case.seq, entries, [], [])
    orphan, head, _ = _chain("f" * 64, 0, [attrs.evolve(note, case_id="T-3")])
    with pytest.raises(InvalidValue, match=r"does not start the chain|not the stored head"):
        any_store.create(attrs.evolve(head_case, id="T-3", seq=1, head=head), orphan, [], [])
    assert any_store.load("T-1") == head_case
    assert len(any_store.history("T-1")) == head_case.seq
    with pytest.raises(KeyError):
        any_store.load("T-3")
    # well linked it is stored (without the key, a store can check no more), but the
    # case row no longer agrees with its history
    attempt(head_case.head, head_case.seq)
    check = wf.verify_history("T-1")
    assert check.problems[-1] == (
        "case row: counts is {'note': 1, 'take': 1, 'close': 1}, its history says "
        "{'note': 2, 'take': 1, 'close': 1}"
    )


def test_appending_without_the_key_is_caught(any_store: Store) -> None:
    wf = workflow(any_store, KEY)
    run(wf)
    stored = any_store.load("T-1")
    note = HistoryEntry(
        "T-1", 0, "fire", T0 + 5 * H, "eve", "note", "done", "done", {"text": "forged"},
        TICKET.hash, stored.version, "",
    )  # fmt: skip
    entries, head, last = _chain(stored.head, stored.seq, [note])
    any_store.commit(attrs.evolve(stored, seq=last, head=head), stored.seq, entries, [], [])
    check = wf.verify_history("T-1")
    assert check.problems == (f"seq {last}: sealed without a key (expected key '2026-a')",)


def test_case_chain_is_deprecated() -> None:
    import techsvc_flow.case as case_module

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        helper = case_module.chain
    assert helper is _chain
    assert "techsvc_flow.case.chain is deprecated" in str(caught[-1].message)
    with pytest.raises(AttributeError):
        _ = case_module.nothing_here


@pytest.mark.slow
def test_chain_benchmark_quick_run() -> None:
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.chain", "--quick"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[2:]]
    assert [row[0] for row in rows] == ["memory", "sqlite"]
