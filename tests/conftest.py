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
