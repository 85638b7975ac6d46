"""The calendar and quality benchmarks run, and check their answers against the baselines.

Only that it runs: performance is never asserted in tests (see docs/performance.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_calendar_benchmark_quick_run() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.calendar", "--quick", "--markdown"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    agreed = [line for line in result.stdout.splitlines() if line.startswith("answers agree:")]
    # each baseline was run on the same inputs as ours, and gave the same answers
    assert any("holidays get_nth_working_day" in line and "n=7" in line for line in agreed)
    assert any("holidays get_nth_working_day" in line and "n=2500" in line for line in agreed)
    assert any("pandas CustomBusinessHour" in line for line in agreed)
    assert any("numpy busday_offset" in line for line in agreed)
    assert "| case | ours (µs/call) | baseline (µs/call) |" in result.stdout
    assert "targets met:" in result.stdout


@pytest.mark.postgres
def test_quality_benchmark_quick_run_on_sql() -> None:
    """``benchmarks/quality.py`` on SQLite (and PostgreSQL when installed): the bulk-written
    rows match what the store writes, and every path gives the same figures."""
    import pg

    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.quality", "--quick", "--markdown", "--sql-only",
         "--postgres"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| database | cases | report (s) | with late-case lists (s) |" in result.stdout
    assert "| SQLite | 1,000 |" in result.stdout
    if pg.unavailable() is None:
        assert "| PostgreSQL | 1,000 |" in result.stdout
    else:
        assert "PostgreSQL rows left out" in result.stdout


def test_receivers_benchmark_quick_run() -> None:
    """A hanging webhook is measured beside none; the table has both sides per store."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.receivers", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for store in ("memory", "sqlite"):
        assert f"| {store} | none |" in result.stdout
        assert f"| {store} | hanging webhook |" in result.stdout
        assert f"| {store} | ratio of medians (hanging / none) |" in result.stdout


def test_work_benchmark_quick_run() -> None:
    """``benchmarks/work.py``: worklist and overdue pages beside load-and-filter (which
    gives the same page), and the fire ratio, on SQLite."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.work", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for what in ("worklist page", "overdue page", "due within 4wh page", "baseline"):
        assert f"| sqlite | 2,000 | {what}" in result.stdout
    assert "| memory |" in result.stdout and "x |" in result.stdout


def test_engine_benchmark_quick_run() -> None:
    """``benchmarks/engine.py``: the three implementations side by side, flatness up to
    ``--cases`` live cases and memory per case at that size."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.engine", "--quick", "--markdown"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| transitions, one Machine per case " in result.stdout
    assert "≥ 5×" in result.stdout and "≥ 10×" in result.stdout
    assert "|    2,000 cases |" in result.stdout
    assert "memory per live case (2,000 cases" in result.stdout
