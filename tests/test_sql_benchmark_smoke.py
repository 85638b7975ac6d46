"""The SQL benchmark runs, and both of its sides write what they claim.

Only that it runs (on SQLite, tiny counts): performance is never asserted in tests (see
docs/performance.md for the measured table).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_sql_benchmark_quick_run() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.sql", "--quick", "--sqlite-only", "--fires", "20"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| database | workers | ours (fires/s) | baseline (fires/s) |" in result.stdout
    assert "| SQLite | 4 |" in result.stdout
    assert "| SQLite | 100,000 |" in result.stdout
    assert "targets met:" in result.stdout
