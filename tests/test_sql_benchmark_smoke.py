"""The SQL benchmark runs, and both of its sides write what they claim.

Only that it runs (tiny counts): performance is never asserted in tests (see
docs/performance.md for the measured tables).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from benchmarks._sqlbench import (
    WARM_FIRES,
    Backend,
    baseline_tables,
    check_fires,
    fires_per_second,
)
from techsvc_flow.sql import SqlStore

ROOT = Path(__file__).resolve().parent.parent


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.sql", "--quick", "--fires", "20", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_sql_benchmark_quick_run() -> None:
    result = _bench("--sqlite-only")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| ours (fires/s) | baseline (fires/s) | ours/baseline fires/s |" in result.stdout
    assert "| SQLite | fsync off | — | 4 |" in result.stdout
    assert "| SQLite | 100,000 |" in result.stdout
    # 1 and 4 workers, 20 fires + the warm-up fires each
    assert f"SQLite: rows checked: {5 * (20 + WARM_FIRES)} fires on each side" in result.stdout
    assert "targets met:" in result.stdout


@pytest.mark.postgres
def test_sql_benchmark_quick_run_on_postgres_through_the_proxy() -> None:
    import pg

    if pg.unavailable() is not None:
        pg.require()  # skips (fails under CI=true)
    result = _bench("--no-timers")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| PostgreSQL | fsync off | — | 4 |" in result.stdout
    assert "| PostgreSQL | fsync off | 1 ms each way (proxy) | 1 |" in result.stdout
    assert "| PostgreSQL | fsync off | 1 ms each way (proxy) | 4 |" in result.stdout
    # 1 and 4 workers, straight and through the proxy, each 20 fires + the warm-up
    # fires, and 5 cases fired twice + the warm-up fires per side
    made = 2 * 5 * (20 + WARM_FIRES) + 10 + WARM_FIRES
    assert f"PostgreSQL: rows checked: {made} fires on each side" in result.stdout
    for side in ("baseline", "ours"):
        line = next(
            x for x in result.stdout.splitlines() if x.startswith(f"| PostgreSQL | {side} |")
        )
        cold, warm = (float(x) for x in line.split("|")[3:5])
        assert cold >= 1 and warm >= 1  # every fire goes to the server at least once


def test_short_rows_fail_loudly(tmp_path: Path) -> None:
    backend = Backend("SQLite", f"sqlite:///{tmp_path}/bench.db", durable=False)
    engine = backend.engine()
    SqlStore(engine)
    baseline_tables(metadata := sa.MetaData())
    metadata.create_all(engine)
    engine.dispose()
    for side in ("ours", "baseline"):
        fires_per_second(backend, side, workers=1, fires=4)
    made = 4 + WARM_FIRES  # 4 fires and the warm-up fires each
    check_fires(backend, {"ours": made, "baseline": made})
    with pytest.raises(AssertionError, match=f"fires made: ours {made + 1}, baseline {made};"):
        check_fires(backend, {"ours": made + 1, "baseline": made})
