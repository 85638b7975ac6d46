"""Who acts next: assignment rules and operations, worklists and cross-case queries.

The query tests run against every store (``store`` fixture: memory, SQLite,
PostgreSQL) and compare each answer with what the reference semantics
(:func:`techsvc_flow.query.matches` over every case) say.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from techsvc_flow import (
    Actor,
    Field,
    GuardFailed,
    ProcessDefinition,
    Sla,
    State,
    SteppedClock,
    Store,
    Transition,
    WorkCalendar,
    Workflow,
)
from techsvc_flow.case import Assignment
from techsvc_flow.definition import Assign
from techsvc_flow.errors import (
    ConfigurationError,
    DefinitionError,
    InvalidValue,
    OutOfOrder,
    PermissionDenied,
)
from techsvc_flow.query import CaseQuery, matches, sort_key

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2025, 9, 30, 9, 0, tzinfo=SHANGHAI)  # a Tuesday, 09:00
CALENDAR = WorkCalendar.china(coverage="provisional")

ANN = Actor("ann", {"agent"})
BOB = Actor("bob", {"agent"})
LEAD = Actor("lee", {"lead"})
CLIENT = Actor("cli", {"client"})

TICKET = ProcessDefinition(
    name="ticket",
    version=1,
    states=[
        State("open", initial=True, assign=Assign(roles=("agent",), managers=("lead",))),
        State("fixing", assign=Assign(field="owner", roles=("agent",), managers=("lead",))),
        State("waiting", assign=Assign(roles=("agent", "senior"))),
        State("routed", assign=Assign(call="round_robin", roles=("agent",))),
        State("done", final=True),
    ],
    transitions=[
        Transition("fix", source="open", dest="fixing", accepts=("owner",)),
        Transition("wait", source=("open", "fixing"), dest="waiting"),
        Transition("route", source="open", dest="routed"),
        Transition("note", source="open", dest="open", accepts=("note",)),
        Transition("close", source="*", dest="done"),
    ],
    fields=[Field("owner", "str"), Field("note", "str")],
    slas=[
        Sla("respond", "4wh", start_states=("open",), stop_states=("done",),
            pause_states=("waiting",)),
    ],
)  # fmt: skip


def make_wf(store: Store | None = None, at: dt.datetime = T0) -> Workflow:
    return Workflow(store, calendar=CALENDAR, clock=SteppedClock(at), processes=[TICKET])


@pytest.fixture
def wf() -> Workflow:
    return make_wf()


# --- assignment rules ---------------------------------------------------------------


def test_entering_a_state_applies_its_rule_and_records_it(wf: Workflow) -> None:
    case = wf.start("ticket", case_id="T-1")
    assert case.assignment == Assignment(None, ("agent",))
    start = wf.history("T-1")[0]  # the move's own entry records the automatic assignment
    assert start.kind == "start"
    assert start.assigned == {"assignment": Assignment(None, ("agent",)).to_dict(), "rule": "roles"}
    assert "work.assign" not in [e.kind for e in wf.history("T-1")]
    case = wf.fire("T-1", "fix", payload={"owner": "eve"})
    assert case.assignment == Assignment("eve", ("agent",))
    case = wf.fire("T-1", "close")
    assert case.assignment is None  # leaving clears it; done names nobody
    assert wf.verify_history("T-1")


def test_the_automatic_assignment_is_sealed_in_the_move_and_emits_its_event(
    store: Store,
) -> None:
    wf = make_wf(store)
    seen: list[Any] = []
    wf.on("work.*", seen.append)
    wf.start("ticket", case_id="T-1")
    wf.fire("T-1", "fix", payload={"owner": "eve"})
    entries = wf.history("T-1")
    assert [e.kind for e in entries] == ["start", "sla.started", "fire"]
    fire = entries[-1]
    assert fire.assigned == {"assignment": {"assignee": "eve", "roles": ["agent"],
                                            "delegate": None}, "rule": "field"}  # fmt: skip
    assert fire.content()["assigned"] == fire.assigned  # sealed, and stored with the entry
    assert "assigned" not in entries[1].content()
    assert wf.verify_history("T-1")
    # one work.assign event per automatic assignment, by the system, as before
    assert [(e.type, e.payload["actor"], e.payload["rule"]) for e in seen] == [
        ("work.assign", None, "roles"), ("work.assign", None, "field")]  # fmt: skip
    assert seen[-1].payload["assignment"]["assignee"] == "eve"
    assert seen[-1].id.startswith(fire.hash[:32])
    assert [i.case.id for i in wf.worklist(Actor("eve"), at=T0)] == ["T-1"]
    # the seal covers it: another assignee does not verify
    forged = attrs.evolve(fire, assigned={**fire.assigned, "rule": "call"})
    assert forged.computed_hash() != fire.hash
    assert attrs.evolve(fire, assigned=None).computed_hash() != fire.hash


def test_a_history_with_separate_work_assign_entries_still_verifies() -> None:
    from techsvc_flow.audit import case_problems
    from techsvc_flow.engine._unit import Draft, write

    wf = make_wf()
    definition = wf._machine("ticket").definition
    # the format before the automatic assignment moved into the move's entry
    case = wf.start("ticket", case_id="T-1")
    old = [e for e in wf.history("T-1")]
    assert old[0].assigned is not None
    before = case
    assigned = {"assignment": {"assignee": "eve", "roles": ["agent"], "delegate": None},
                "rule": "field"}  # fmt: skip
    moved = attrs.evolve(before, state="fixing", version=2,
                         assignment=Assignment("eve", ("agent",)))  # fmt: skip
    drafts = [Draft("fire", None, "fix", "open", "fixing", {"owner": "eve"}),
              Draft("work.assign", None, None, "fixing", None, assigned)]  # fmt: skip
    moved = attrs.evolve(moved, data={"owner": "eve"}, counts={"fix": 1})
    written = write(wf.store, CALENDAR, definition, before, moved, drafts, T0)
    entries = wf.history("T-1")
    assert [e.kind for e in entries][-2:] == ["fire", "work.assign"]
    assert entries[-1].assigned is None and "assigned" not in entries[-1].content()
    assert wf.verify_history("T-1")
    assert case_problems(written.case, entries, definition.hash) == []
    assert [e.type for e in written.events][-1] == "work.assign"
    # and the audit derives the assignment from either form
    assert case_problems(attrs.evolve(written.case, assignment=None), entries, None) == [
        "case row: assignment is None, its history says "
        "Assignment(assignee='eve', roles=('agent',), delegate=None)"
    ]


def test_the_archive_exports_the_automatic_assignment() -> None:
    from techsvc_flow.quality.archive import archive

    wf = make_wf()
    wf.start("ticket", case_id="T-1")
    exported = archive(wf, "T-1")
    first = exported["history"][0]
    assert first["kind"] == "start"
    assert first["assigned"] == {
        "assignment": {"assignee": None, "roles": ["agent"], "delegate": None},
        "rule": "roles",
    }
    assert "assigned" not in exported["history"][1]


def test_a_self_transition_keeps_the_assignee(wf: Workflow) -> None:
    wf.start("ticket", case_id="T-1")
    wf.claim("T-1", actor=ANN)
    assert wf.fire("T-1", "note", payload={"note": "x"}).assignment == Assignment("ann", ("agent",))


def test_an_assigner_function_picks_the_person(wf: Workflow) -> None:
    seen: list[tuple[str, tuple[str, ...]]] = []

    def round_robin(case: Any, roles: tuple[str, ...]) -> str:
        seen.append((case.id, roles))
        return "bob"

    wf.assigner("round_robin", round_robin)
    wf.start("ticket", case_id="T-1")
    assert wf.fire("T-1", "route").assignment == Assignment("bob", ("agent",))
    assert seen == [("T-1", ("agent",))]


def test_an_unregistered_assigner_is_a_clear_error(wf: Workflow) -> None:
    wf.start("ticket", case_id="T-1")
    with pytest.raises(ConfigurationError, match="round_robin"):
        wf.fire("T-1", "route")
    assert wf.store.load("T-1").state == "open"  # nothing half-written


def test_a_rule_naming_nobody_or_an_unknown_field_is_refused() -> None:
    with pytest.raises(DefinitionError, match=r"states\[0\]\.assign"):
        attrs.evolve(TICKET, states=[State("open", initial=True, assign=Assign())])
    with pytest.raises(DefinitionError, match="unknown field 'boss'"):
        attrs.evolve(TICKET, states=[State("open", initial=True, assign=Assign(field="boss"))])
    with pytest.raises(DefinitionError, match="'owner' is confidential"):
        attrs.evolve(TICKET, fields=[Field("owner", "str", confidential=True), Field("note")])


def test_the_rule_is_part_of_the_definition_and_its_dict_form() -> None:
    again = ProcessDefinition.from_dict(TICKET.to_dict())
    assert again.state_map["fixing"].assign == Assign(
        roles=("agent",), field="owner", managers=("lead",)
    )
    assert again.hash == TICKET.hash
    plain = attrs.evolve(TICKET, states=[attrs.evolve(s, assign=None) for s in TICKET.states])
    assert plain.hash != TICKET.hash
    assert "assign" not in plain.to_dict()["states"][0]  # old definitions keep their hash


# --- operations -----------------------------------------------------------------------


def test_claim_reassign_delegate_urge_comment_are_history_and_events(wf: Workflow) -> None:
    events: list[Any] = []
    wf.on("work.*", events.append)
    wf.start("ticket", case_id="T-1")
    case = wf.claim("T-1", actor=ANN)
    assert case.assignment == Assignment("ann", ("agent",)) and case.version == 1
    case = wf.reassign("T-1", "bob", actor=ANN, reason="on leave")
    assert case.assignment == Assignment("bob", ("agent",))
    case = wf.delegate("T-1", "cy", actor=BOB)
    assert case.assignment == Assignment("bob", ("agent",), "cy")
    wf.urge("T-1", actor=CLIENT, text="please hurry")
    wf.comment("T-1", "called the client", actor=BOB)
    case = wf.unclaim("T-1", actor=BOB)
    assert case.assignment == Assignment(None, ("agent",))
    assert case.version == 1  # not state changes
    assert [e.type for e in events] == [
        "work.assign", "work.claim", "work.reassign", "work.delegate", "work.urge",
        "work.comment", "work.unclaim",
    ]  # fmt: skip
    urge = events[4].payload
    assert urge["to"] == ["bob"] and urge["actor"] == "cli" and urge["text"] == "please hurry"
    assert events[2].payload["reason"] == "on leave" and events[2].payload["from"] == "ann"
    assert wf.verify_history("T-1")


def test_claiming_a_claimed_case_is_refused_with_the_reason(wf: Workflow) -> None:
    wf.start("ticket", case_id="T-1")
    wf.claim("T-1", actor=ANN)
    with pytest.raises(GuardFailed) as caught:
        wf.claim("T-1", actor=BOB)
    assert [r.code for r in caught.value.reasons] == ["already_claimed"]
    assert "'ann'" in str(caught.value)
    assert wf.store.load("T-1").assignment == Assignment("ann", ("agent",))


def test_roles_are_respected(wf: Workflow) -> None:
    wf.start("ticket", case_id="T-1")
    with pytest.raises(PermissionDenied) as caught:
        wf.claim("T-1", actor=CLIENT)
    assert caught.value.roles == ("agent",)
    with pytest.raises(PermissionDenied):
        wf.assign("T-1", "bob", actor=ANN)  # only a manager assigns
    assert wf.assign("T-1", "bob", actor=LEAD).assignment == Assignment("bob", ("agent",))
    why = wf.why_not_work("T-1", "reassign", actor=ANN, to="ann")
    assert [r.code for r in why] == ["role_required", "reason_required"]
    # a manager reassigns someone else's case, with a reason
    case = wf.reassign("T-1", "ann", actor=LEAD, reason="bob is ill")
    assert case.assignment is not None and case.assignment.assignee == "ann"
    assert wf.why_not_work("T-1", "reassign", actor=ANN, to="ann", reason="x")[0].code == (
        "same_assignee"
    )


def test_refusals_of_each_operation(wf: Workflow) -> None:
    wf.start("ticket", case_id="T-1")
    codes = {
        op: [r.code for r in wf.why_not_work("T-1", op, actor=ANN)]
        for op in ("unclaim", "delegate", "comment", "fly")
    }
    assert codes == {
        "unclaim": ["not_claimed"],
        "delegate": ["assignee_required", "not_claimed"],
        "comment": ["text_required"],
        "fly": ["unknown_operation"],
    }
    assert wf.why_not_work("T-1", "claim", actor=None)[0].code == "actor_required"
    wf.fire("T-1", "close")
    assert [r.code for r in wf.why_not_work("T-1", "claim", actor=ANN)] == ["case_finished"]
    wf.comment("T-1", "closed after a call", actor=ANN)  # a comment is always allowed


def test_a_work_operation_dated_before_the_last_entry_is_out_of_order(wf: Workflow) -> None:
    wf.start("ticket", case_id="T-1")
    with pytest.raises(OutOfOrder):
        wf.claim("T-1", actor=ANN, at=T0 - dt.timedelta(minutes=1))
    assert wf.claim("T-1", actor=ANN, at=T0 + dt.timedelta(minutes=1)).updated_at > T0


def test_verify_history_finds_an_assignment_the_history_does_not_say(wf: Workflow) -> None:
    wf.start("ticket", case_id="T-1")
    wf.claim("T-1", actor=ANN)
    store = wf.store
    slot = store._slots["T-1"]  # type: ignore[attr-defined]
    slot.case = attrs.evolve(slot.case, assignment=Assignment("mallory", ("agent",)))
    check = wf.verify_history("T-1")
    assert not check
    assert any("assignment" in p and "mallory" in p for p in check.problems)


# --- worklists and queries, on every store ------------------------------------------------


def populate(wf: Workflow) -> None:
    """Twelve tickets started an hour apart: claimed, delegated, unclaimed, paused,
    closed, of two owners."""
    for i in range(12):
        at = T0 + dt.timedelta(hours=i % 6, minutes=i)
        wf.start("ticket", case_id=f"T-{i:02}", at=at)
    at = T0 + dt.timedelta(hours=7)
    wf.claim("T-00", actor=ANN, at=at)
    wf.claim("T-03", actor=ANN, at=at)
    wf.claim("T-04", actor=BOB, at=at)
    wf.delegate("T-04", "ann", actor=BOB, at=at)
    wf.fire("T-05", "wait", at=at)  # paused, candidates agent and senior
    wf.fire("T-06", "close", at=at)
    wf.fire("T-07", "fix", payload={"owner": "bob"}, at=at)


NOW = T0 + dt.timedelta(hours=8)


def reference(wf: Workflow, q: CaseQuery) -> list[str]:
    cases = [c for c in wf.store.cases() if matches(c, q)]
    return [c.id for c in sorted(cases, key=lambda c: sort_key(c, q.order))]


def all_pages(wf: Workflow, limit: int, **filters: Any) -> list[str]:
    out: list[str] = []
    after = None
    while True:
        page = wf.query(limit=limit, after=after, at=NOW, **filters)
        out += [c.id for c in page]
        if page.next is None:
            return out
        after = page.next


QUERIES: list[dict[str, Any]] = [
    {},
    {"process": "ticket", "states": ("open",)},
    {"assignee": "ann"},
    {"roles": ("agent",)},
    {"roles": ("senior", "agent")},
    {"unclaimed": False},
    {"overdue": True},
    {"due_within": "2wh"},
    {"paused": True},
    {"running": False},
    {"order": "updated"},
    {"created_from": T0 + dt.timedelta(hours=2), "created_until": T0 + dt.timedelta(hours=4)},
    {"updated_from": T0 + dt.timedelta(hours=7)},
    {"overdue": True, "roles": ("agent",), "order": "updated"},
]


def as_query(wf: Workflow, filters: dict[str, Any]) -> CaseQuery:
    filters = dict(filters)
    if filters.pop("overdue", False):
        filters["overdue_at"] = NOW
    within = filters.pop("due_within", None)
    if within is not None:
        filters["due_by"] = CALENDAR.deadline(NOW, within).due
    return CaseQuery(**filters)


@pytest.mark.parametrize("filters", QUERIES, ids=[str(sorted(q)) for q in QUERIES])
def test_every_store_answers_queries_as_the_reference_does(
    store: Store, filters: dict[str, Any]
) -> None:
    wf = make_wf(store)
    populate(wf)
    expected = reference(wf, as_query(wf, filters))
    assert all_pages(wf, 50, **filters) == expected
    assert all_pages(wf, 2, **filters) == expected  # keyset pages add up to the same


def test_the_answers_themselves(store: Store) -> None:
    wf = make_wf(store)
    populate(wf)
    # respond: 4 working hours; at 17:00 the cases started before 13:00 are late,
    # earliest due first (T-05 is paused, T-06 closed)
    assert all_pages(wf, 50, overdue=True) == ["T-00", "T-01", "T-07", "T-02", "T-08",
                                               "T-03", "T-09"]  # fmt: skip
    assert sorted(all_pages(wf, 50, assignee="ann")) == ["T-00", "T-03", "T-04"]
    assert all_pages(wf, 50, paused=True) == ["T-05"]
    assert all_pages(wf, 50, running=False) == ["T-05", "T-06"]
    assert wf.counts("state", at=NOW) == {"open": 9, "waiting": 1, "done": 1, "fixing": 1}
    assert wf.counts("assignee", at=NOW) == {"ann": 2, "bob": 2, None: 8}
    assert wf.counts("role", at=NOW) == {"agent": 7, "senior": 1, None: 5}
    assert wf.counts("role", overdue=True, at=NOW) == {"agent": 4, None: 3}


def test_worklist_mine_first_then_claimable_each_by_due(store: Store) -> None:
    wf = make_wf(store)
    populate(wf)
    page = wf.worklist(ANN, at=NOW, limit=100)
    mine = [i.case.id for i in page if i.mine]
    claimable = [i.case.id for i in page if not i.mine]
    assert [i.mine for i in page] == [True] * len(mine) + [False] * len(claimable)
    assert mine == reference(wf, CaseQuery(assignee="ann"))
    assert claimable == reference(wf, CaseQuery(roles=("agent",), unclaimed=True))
    first = page.items[0]
    assert first.case.id == "T-00" and first.breached and first.remaining is not None
    assert first.remaining < dt.timedelta(0) and first.due_at == first.case.due_at
    assert first.to_dict()["assignee"] == "ann"
    # pages of 3 add up to the whole list
    ids, after = [], None
    while True:
        part = wf.worklist(ANN, at=NOW, limit=3, after=after)
        ids += [i.case.id for i in part]
        if part.next is None:
            break
        after = part.next
    assert ids == mine + claimable
    # a client's desk is empty; the candidates of a paused case see it too
    assert not wf.worklist(CLIENT, at=NOW).items
    senior = [i.case.id for i in wf.worklist(Actor("sam", {"senior"}), at=NOW)]
    assert senior == ["T-05"]


def test_bad_cursors_limits_and_filters_are_clear(wf: Workflow) -> None:
    wf.start("ticket", case_id="T-1")
    with pytest.raises(InvalidValue, match="after"):
        wf.query(after="not-a-cursor")
    with pytest.raises(InvalidValue, match="limit"):
        wf.query(limit=0)
    with pytest.raises(InvalidValue, match="query"):
        wf.query(colour="red")
    with pytest.raises(InvalidValue, match="order"):
        wf.query(order="random")
    with pytest.raises(InvalidValue, match="by"):
        wf.counts("colour")
    with pytest.raises(InvalidValue, match="due_within"):
        wf.query(due_within="soon")
    worklist_cursor = wf.worklist(ANN, limit=1).next
    assert worklist_cursor is None


# --- SQL: migration backfill and concurrent claims -------------------------------------


def test_the_migration_backfills_existing_cases(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from techsvc_flow.sql import SqlStore
    from techsvc_flow.sql.schema import SCHEMA_REVISION, current_revision, upgrade_engine

    url = f"sqlite:///{tmp_path}/old.db"
    store = SqlStore(url)
    wf = make_wf(store)
    wf.start("ticket", case_id="T-1")
    wf.claim("T-1", actor=ANN)
    wf.start("ticket", case_id="T-2")
    # back to revision 0006, as an existing database would be
    t = store.tables
    with store.engine.begin() as conn:
        for table in ("case_fields", "indexed_fields", "work"):
            conn.execute(sa.text(f"DROP TABLE {t.prefix}{table}"))
        conn.execute(sa.text(f"ALTER TABLE {t.prefix}cases DROP COLUMN index_sig"))
        for index in ("cases_due_at", "cases_updated_at"):
            conn.execute(sa.text(f"DROP INDEX ix_{t.prefix}{index}"))
        for column in ("assignee", "due_at", "paused"):
            conn.execute(sa.text(f"ALTER TABLE {t.prefix}cases DROP COLUMN {column}"))
        conn.execute(sa.text(f"UPDATE {t.version_table} SET version_num = '0006'"))
    store.close()
    store = SqlStore(url, migrate=False)
    upgrade_engine(store.engine, store.tables)
    with store.engine.connect() as conn:
        assert current_revision(conn, store.tables) == SCHEMA_REVISION
    wf = make_wf(store)
    assert [c.id for c in wf.query(assignee="ann")] == ["T-1"]
    assert [i.case.id for i in wf.worklist(BOB)] == ["T-2"]
    late = T0 + dt.timedelta(days=3)
    assert [c.id for c in wf.query(overdue=True, at=late)] == ["T-1", "T-2"]
    store.close()


def _revisions() -> list[str]:
    from techsvc_flow.sql.schema import MIGRATIONS

    names = sorted(p.name for p in (MIGRATIONS / "versions").glob("v*.py"))
    return [n[1:5] for n in names]


FORK = multiprocessing.get_context("fork")


@pytest.fixture
def postgres() -> Iterator[tuple[str, str]]:
    import pg

    server = pg.require()
    with pg.fresh_schema(server) as schema:
        yield server.url, schema


def _claim_worker(n: int, url: str, schema: str, out: Path, barrier: Any) -> None:
    from techsvc_flow.sql import SqlStore

    store = SqlStore(url, schema=schema, migrate=False)  # its own connections
    wf = make_wf(store)
    barrier.wait(30)
    try:
        wf.claim("T-1", actor=Actor(f"agent{n}", {"agent"}))
        result = "won"
    except GuardFailed as exc:
        result = ",".join(r.code for r in exc.reasons)
    store.close()
    out.joinpath(f"{n}.json").write_text(json.dumps(result))


def test_concurrent_claims_from_several_processes_one_wins(
    postgres: tuple[str, str], tmp_path: Path
) -> None:
    from techsvc_flow.sql import SqlStore

    url, schema = postgres
    store = SqlStore(url, schema=schema)
    wf = make_wf(store)
    wf.start("ticket", case_id="T-1")
    barrier = FORK.Barrier(6)
    workers = [
        FORK.Process(target=_claim_worker, args=(n, url, schema, tmp_path, barrier))
        for n in range(6)
    ]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 120
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    for worker in workers:
        if worker.is_alive():
            worker.kill()
    assert [w.exitcode for w in workers] == [0] * 6
    results = [json.loads(tmp_path.joinpath(f"{n}.json").read_text()) for n in range(6)]
    assert results.count("won") == 1
    assert sorted(set(results) - {"won"}) == ["already_claimed"]
    winner = f"agent{results.index('won')}"
    case = store.load("T-1")
    assert case.assignment == Assignment(winner, ("agent",))
    assert [e.kind for e in store.history("T-1")].count("work.claim") == 1
    assert wf.verify_history("T-1")
    store.close()


def test_a_store_on_older_tables_still_writes_and_answers_by_reading(tmp_path: Path) -> None:
    from techsvc_flow.sql import SqlStore, upgrade
    from techsvc_flow.sql.schema import SCHEMA_REVISION

    url = f"sqlite:///{tmp_path}/older.db"
    upgrade(url, revision=[r for r in _revisions() if r != SCHEMA_REVISION][-1])
    store = SqlStore(url, migrate=False)
    wf = make_wf(store)
    wf.start("ticket", case_id="T-1")
    wf.claim("T-1", actor=ANN)
    wf.start("ticket", case_id="T-2")
    assert [c.id for c in wf.query(assignee="ann")] == ["T-1"]
    assert [(i.case.id, i.mine) for i in wf.worklist(ANN)] == [("T-1", True), ("T-2", False)]
    assert wf.counts("assignee") == {"ann": 1, None: 1}
    store.close()
