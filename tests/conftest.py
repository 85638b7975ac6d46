"""Shared fixtures.

``store`` is parametrised over every store implementation, so one store test-suite
runs against each of them. A store joins the suite by adding a factory to
``STORE_FACTORIES`` (a context manager yielding a fresh, empty store).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

import pytest

from techsvc_flow import MemoryStore, SteppedClock, Store, WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


@contextlib.contextmanager
def _memory() -> Iterator[Store]:
    yield MemoryStore()


StoreFactory = Callable[[], contextlib.AbstractContextManager[Store]]
STORE_FACTORIES: dict[str, StoreFactory] = {"memory": _memory}


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
