"""Shared fixtures.

``store`` is parametrised over every store implementation, so one store test-suite
runs against each of them. A store joins the suite by adding a factory to
``STORE_FACTORIES`` (a context manager yielding a fresh, empty store).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

import pytest

from techsvc_flow import MemoryStore, SteppedClock, Store, WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


@contextlib.contextmanager
def _memory() -> Iterator[Store]:
    yield MemoryStore()


@contextlib.contextmanager
def _sqlite() -> Iterator[Store]:
    from techsvc_flow.sql import SqlStore

    with tempfile.TemporaryDirectory(prefix="techsvc-flow-") as tmp:
        made = SqlStore(f"sqlite:///{tmp}/flow.db", engine_options={"synchronous": "OFF"})
        try:
            yield made
        finally:
            made.close()


@contextlib.contextmanager
def _postgres() -> Iterator[Store]:
    import pg  # tests/pg.py: the throw-away PostgreSQL server

    from techsvc_flow.sql import SqlStore

    server = pg.require()
    with pg.fresh_schema(server) as schema:
        made = SqlStore(pg.engine(server.url), schema=schema)
        try:
            yield made
        finally:
            made.close()


StoreFactory = Callable[[], contextlib.AbstractContextManager[Store]]
STORE_FACTORIES: dict[str, StoreFactory] = {
    "memory": _memory,
    "sqlite": _sqlite,
    "postgres": _postgres,
}


@pytest.fixture(params=list(STORE_FACTORIES))
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    with STORE_FACTORIES[request.param]() as made:
        yield made


@pytest.fixture(scope="session")
def china() -> WorkCalendar:
    return WorkCalendar.china(coverage="provisional")


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock(dt.datetime(2025, 9, 30, 17, 0, tzinfo=SHANGHAI))


# --- markers: `pytest -m "not slow"` is the fast inner loop; CI runs everything ----------

#: modules whose every test is slow (load, benchmarks' smoke runs)
SLOW_MODULES = frozenset(
    {"test_sql_load.py", "test_benchmarks_smoke.py", "test_sql_benchmark_smoke.py"}
)
#: modules whose every test drives headless Chromium
BROWSER_MODULES = frozenset({"test_report_html.py"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = {str(v) for v in callspec.params.values()} if callspec else set()
        fixtures = set(getattr(item, "fixturenames", ()))
        if "postgres" in params or "postgres" in fixtures:
            item.add_marker(pytest.mark.postgres)
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
        if item.path.name in BROWSER_MODULES:
            item.add_marker(pytest.mark.browser)
