"""Every way of making a quality report gives the same report on the same cases.

The paths: facts handed over in bulk (what a store's own ``facts`` does), the base
class's ``Store.facts`` (``cases()`` + one ``history()`` per case) on a ``MemoryStore``
and on a ``SqlStore``, ``SqlStore.facts`` (``index=False``), and the store's observation
index (``index=True``), first built, then up to date, then after some cases changed.
The cases are the quality benchmark's synthetic year (``benchmarks/quality.py``), a few
hundred of them, on SQLite; the benchmark only re-checks the figures at scale.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from techsvc_flow import Store, WorkCalendar
from techsvc_flow.errors import ProvisionalWarning
from techsvc_flow.quality import DEFAULT_CONFIG, Period, QualityReport, report
from techsvc_flow.sql import SqlStore

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the benchmarks package sits beside the tests
    sys.path.insert(0, str(ROOT))

from benchmarks.quality import (  # noqa: E402
    SH,
    _default,
    _facts_store,
    _forget,
    _memory_store,
)

N = 300
YEAR = Period.parse("2025", tz=SH)
AS_OF = dt.datetime(2026, 3, 1, tzinfo=SH)

pytestmark = pytest.mark.filterwarnings("ignore", category=ProvisionalWarning)


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar.china(coverage="provisional")


def run(store: Store, calendar: WorkCalendar, *, index: bool = True) -> QualityReport:
    return report(store, YEAR, calendar=calendar, as_of=AS_OF, index=index)


def everything(rep: QualityReport) -> dict[str, Any]:
    """The whole report: figures, months, case lists and the late cases in order."""
    out = rep.to_dict(cases=True)
    out["late"] = [(o.indicator, o.case_id, o.at.isoformat(), o.hit) for o in rep.late]
    return out


@pytest.fixture(scope="module")
def bulk(calendar: WorkCalendar) -> QualityReport:
    """The report from facts handed over in bulk: what the others must agree with."""
    return run(_facts_store(N), calendar)


@pytest.fixture(scope="module")
def sql(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStore]:
    """The same cases written through a ``SqlStore``'s own ``create`` on SQLite."""
    path = tmp_path_factory.mktemp("agree") / "flow.db"
    store = SqlStore(f"sqlite:///{path}", engine_options={"synchronous": "OFF"})
    memory = _memory_store(N)
    for case in memory.cases():
        store.create(case, memory.history(case.id), [], [])
    yield store
    store.close()


def test_the_synthetic_year_counts_every_indicator_it_feeds(bulk: QualityReport) -> None:
    fed = {r.code: r.denominator for r in bulk.results}
    for code in (
        "customer_satisfaction",
        "response_timeliness",
        "complaint_timeliness",
        "on_time_delivery_rate",
        "first_pass_acceptance_rate",
        "return_visit_rate",
    ):
        assert fed[code] > 0, code
    assert bulk.late and len(bulk.months) == 12


def test_the_default_store_facts_agree_with_bulk_facts(
    bulk: QualityReport, calendar: WorkCalendar
) -> None:
    assert everything(run(_memory_store(N), calendar)) == everything(bulk)


def test_sql_facts_agree_with_memory(
    sql: SqlStore, bulk: QualityReport, calendar: WorkCalendar
) -> None:
    assert everything(run(sql, calendar, index=False)) == everything(bulk)


def test_the_default_store_facts_over_sql_agree(
    sql: SqlStore, bulk: QualityReport, calendar: WorkCalendar
) -> None:
    assert everything(run(_default(sql), calendar, index=False)) == everything(bulk)


def test_the_index_agrees_built_up_to_date_and_after_changes(
    sql: SqlStore, bulk: QualityReport, calendar: WorkCalendar
) -> None:
    kept = sql.quality_index(calendar, DEFAULT_CONFIG)
    assert kept is not None
    assert kept.refresh() == N  # the first refresh observes every case
    assert everything(run(sql, calendar)) == everything(bulk)
    assert kept.refresh() == 0  # up to date: nothing to observe again
    assert everything(run(sql, calendar)) == everything(bulk)
    changed = _forget(sql, 100)  # as if every 100th case had changed
    assert changed == N // 100
    assert everything(run(sql, calendar)) == everything(bulk)  # refreshed inside
    assert kept.refresh() == 0
