"""``techsvc-flow calendar show / import / check``."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import pytest
from quality_scenario import SH

from techsvc_flow import SteppedClock, WorkCalendar, Workflow, processes
from techsvc_flow.cli import main
from techsvc_flow.errors import ProvisionalWarning
from techsvc_flow.sql import SqlStore

NOTICES = Path(__file__).parent / "data" / "notices"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'flow.db'}"
    SqlStore(url).close()
    return url


def test_show_lists_the_days_that_differ_from_an_ordinary_week(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "calendar", "show", "2025")
    assert code == 0
    assert "China calendar 2025: official data until" in out
    assert "2025-10-08 Wed  day off" in out
    assert "2025-10-11 Sat  working day (make-up)" in out
    assert "2025-10-13" not in out  # an ordinary Monday
    # 261 weekdays, 18 of them off, 5 weekend days worked
    assert out.rstrip().endswith("working days: 248")


def test_import_keeps_the_data_once_and_show_and_check_use_it(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    store = SqlStore(db)
    wf = Workflow(
        store,
        calendar=WorkCalendar.china(coverage="provisional"),
        clock=SteppedClock(dt.datetime(2026, 12, 28, 10, 0, tzinfo=SH)),
        processes=[processes.complaint()],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProvisionalWarning)
        data = {"channel": "phone", "description": "d", "complainant_name": "W"}
        wf.start("complaint", case_id="TS-1", data=data)
    store.close()
    code, out, _ = run(capsys, "calendar", "check", "--db", db, "--fail-past")
    assert code == 1
    assert "official data until: 2026-12-31" in out
    assert "past the horizon (provisional): 1" in out  # the 7-working-day feedback

    schedule = tmp_path / "cn-2027.json"
    schedule.write_text(json.dumps({"2027": {"holidays": ["2027-01-01"]}}), encoding="utf-8")
    code, out, _ = run(capsys, "calendar", "import", str(schedule), "--db", db)
    assert (code, "schedules") == (0, out.split()[0])
    assert "kept; official data until 2027-12-31" in out
    code, out, _ = run(capsys, "calendar", "import", str(schedule), "--db", db)
    assert "already kept" in out
    code, out, _ = run(capsys, "calendar", "check", "--db", db, "--fail-past")
    assert code == 0
    assert "official data until: 2027-12-31" in out
    assert "past the horizon (provisional): 0" in out
    code, out, _ = run(capsys, "calendar", "show", "2027", "--db", db)
    assert "official data until 2027-12-31" in out and "estimate" not in out
    assert "2027-01-01 Fri  day off" in out


def test_a_bad_notice_is_refused_and_not_kept(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    bad = tmp_path / "notice.txt"
    bad.write_text(
        (NOTICES / "2026.txt").read_text(encoding="utf-8").replace("共9天", "共8天"),
        encoding="utf-8",
    )
    code, _, err = run(capsys, "calendar", "import", str(bad), "--db", db)
    assert code == 2
    assert "item 二 (春节): says 8 days but its dates give 9" in err
    store = SqlStore(db)
    try:
        assert store.calendar_data("default") == []
    finally:
        store.close()
