"""PostgreSQL claims of due timers and outbox rows find the picked rows by address.

``SqlStore.due_timers`` and ``pending`` lock the rows they pick (``FOR UPDATE SKIP
LOCKED``) and update them by ``ctid`` (a TID scan), not by joining the picked keys back
through the primary key (issue 17: 1,000 of 1,000,000 timers in ≤ 20 ms).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from techsvc_flow import ProcessDefinition, State, SteppedClock, Transition, Workflow
from techsvc_flow.notifications import Delivery
from techsvc_flow.sql import SqlStore

pytestmark = pytest.mark.postgres
T0 = dt.datetime(2025, 10, 9, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["flow_", "Odd_"])
def store(request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    import pg

    server = pg.require()
    with pg.fresh_schema(server) as schema:
        made = SqlStore(pg.engine(server.url), schema=schema, prefix=request.param)
        try:
            yield made
        finally:
            made.close()


def _plans(store: SqlStore, claim: Any) -> list[str]:
    """The plans of the UPDATE statements ``claim()`` runs (explained, then run)."""
    plans: list[str] = []

    def explain(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.startswith("UPDATE"):
            cursor.execute("EXPLAIN " + statement, params)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))

    sa.event.listen(store.engine, "before_cursor_execute", explain)
    try:
        claim()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", explain)
    return plans


def _timers(store: SqlStore, n: int) -> None:
    tm = store.tables.timers
    cases = store.tables.cases
    with store.engine.begin() as conn:
        for i in range(n):
            conn.execute(
                sa.insert(cases).values(
                    id=f"c{i}", process="p", process_version=1, state="s", version=1, seq=1,
                    head="0" * 64, created_at=T0, updated_at=T0, body="{}",
                )
            )  # fmt: skip
        conn.execute(
            sa.insert(tm),
            [
                {"case_id": f"c{i}", "sla": "reply", "mark": "breach", "due_at": at}
                for i, at in enumerate(T0 - dt.timedelta(seconds=s) for s in range(n))
            ],
        )  # fmt: skip


def _by_address(plan: str) -> None:
    """The update finds the locked picked rows by ``ctid`` (on a table this small the
    planner scans it rather than using a TID scan), with no join back by key."""
    assert "LockRows" in plan and "ctid = ANY" in plan, plan
    assert "Join" not in plan and "Nested Loop" not in plan, plan


def test_due_timers_claims_by_address(store: SqlStore) -> None:
    _timers(store, 5)
    got = store.due_timers(T0, 3)
    assert [t.case_id for t in got] == ["c4", "c3", "c2"]
    # the claim goes through the driver, its statement compiled once: explain that one
    sql, defaults = store.__dict__["_claim_sql"]
    params = defaults | {"now": T0, "limit": 3, "until": T0}
    with store.engine.connect() as conn:
        found = conn.exec_driver_sql("EXPLAIN " + sql, params).all()
    _by_address("\n".join(row[0] for row in found))
    # the claimed ones are leased; the next claimer (another worker) gets the rest
    other = SqlStore(
        store.engine, schema=store.tables.schema, prefix=store.tables.prefix, migrate=False
    )
    assert [t.case_id for t in other.due_timers(T0, 10)] == ["c1", "c0"]


def test_pending_claims_by_address(store: SqlStore) -> None:
    process = ProcessDefinition(
        name="p", version=1, states=[State("open", initial=True), State("done", final=True)],
        transitions=[Transition("close", source="open", dest="done")],
    )  # fmt: skip
    wf = Workflow(store, clock=SteppedClock(T0), processes=[process])
    for i in range(3):
        wf.start("p", case_id=f"c{i}")
    got: list[list[Delivery]] = []
    plans = _plans(store, lambda: got.append(store.pending(T0 + dt.timedelta(hours=1), 2)))
    assert [d.event.case_id for d in got[0]] == ["c0", "c0"]  # the first events, in order
    assert len(plans) == 1
    _by_address(plans[0])
