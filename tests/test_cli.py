"""The command line on a real SQLite database holding a realistic quarter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from quality_scenario import build

from techsvc_flow import cli
from techsvc_flow.cli import main
from techsvc_flow.sql import SqlStore, upgrade

AS_OF = "2026-01-01T00:00+08:00"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli')}/flow.db"
    store = SqlStore(url)
    build(store)
    store.close()
    yield url


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_json_lists_the_seven_indicators(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "report", "--db", db, "--period", "2025-Q4", "--format", "json",
                       "--as-of", AS_OF)  # fmt: skip
    assert code == 0
    indicators = json.loads(out)["indicators"]
    assert len({r["code"] for r in indicators}) == len(indicators) >= 7
    for result in indicators:
        assert result["period"] == "2025-Q4"
        assert 0 <= result["numerator"] <= result["denominator"]
    assert sum(r["denominator"] for r in indicators) > 0


def test_report_text_and_fail_below(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "--db", db, "--period", "2025-Q4", "--as-of", AS_OF)
    assert code == 0 and "2025-Q4" in out
    code, _, _ = run(capsys, "report", "--db", db, "--period", "2025-Q4", "--as-of", AS_OF,
                     "--fail-below")  # fmt: skip
    assert code == 1  # the scenario's quarter misses some thresholds


def test_report_from_the_index_equals_reading_every_case(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", "--db", db, "--period", "2025-Q4", "--format", "json", "--as-of", AS_OF]
    code, indexed, _ = run(capsys, *args)
    assert code == 0
    code, read, err = run(capsys, *args, "--no-index")
    assert code == 0 and err == ""
    assert json.loads(indexed) == json.loads(read)
    # a database made before the index existed (schema 0002): read case by case, with a
    # note on stderr saying how to upgrade, and the same figures
    old = tmp_path / "old.db"
    url = f"sqlite:///{old}"
    upgrade(url, revision="0002")
    store = SqlStore(url, migrate=False)
    build(store)
    store.close()
    code, out, err = run(capsys, "report", "--db", url, "--period", "2025-Q4", "--format",
                         "json", "--as-of", AS_OF)  # fmt: skip
    assert code == 0 and "predates the quality index" in err and "db upgrade" in err
    assert json.loads(out) == json.loads(read)
    assert run(capsys, "db", "upgrade", url)[0] == 0
    code, out, err = run(capsys, *[url if a == db else a for a in args])
    assert code == 0 and err == "" and json.loads(out) == json.loads(read)


def test_report_html_to_a_file(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "q4.html"
    code, out, err = run(capsys, "report", "--db", db, "--period", "2025-Q4", "--format", "html",
                         "--as-of", AS_OF, "--output", str(target))  # fmt: skip
    assert code == 0 and out == "" and "written" in err
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page


def test_ledger_formats(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ledger", "--db", db, "--as-of", AS_OF, "--lang", "zh")
    assert code == 0
    header, *rows = out.strip().splitlines()
    assert "投诉" in header or "受理" in header
    assert len(rows) == 21  # every complaint of the scenario, one row each
    assert "138" not in out  # no complainant contact without --confidential
    code, out, _ = run(capsys, "ledger", "--db", db, "--as-of", AS_OF, "--format", "json")
    assert (
        code == 0
        and len(json.loads(out)["rows"] if isinstance(json.loads(out), dict) else json.loads(out))
        == 21
    )
    code, _, err = run(capsys, "ledger", "--db", db, "--format", "xlsx")
    assert code == 2 and "needs --output" in err
    target = tmp_path / "ledger.xlsx"
    code, _, _ = run(capsys, "ledger", "--db", db, "--format", "xlsx", "--output", str(target))
    assert code == 0 and target.read_bytes()[:2] == b"PK"


def test_recompute_with_a_schedule_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    assert main(["db", "upgrade", url]) == 0
    schedule = tmp_path / "2027.json"
    schedule.write_text(json.dumps({"2027": {"holidays": ["2027-01-01"], "workdays": []}}))
    code, out, _ = run(capsys, "recompute", "--db", url, "--schedule", str(schedule),
                       "--as-of", AS_OF)  # fmt: skip
    assert code == 0 and out.strip()


def test_diagram(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diagram", "complaint", "--lang", "zh")
    assert code == 0 and "stateDiagram-v2" in out and "已受理" in out
    code, out, _ = run(capsys, "diagram", "complaint", "--format", "dot")
    assert code == 0 and out.startswith("digraph")
    code, _, err = run(capsys, "diagram", "no_such_process")
    assert code == 2 and "unknown process 'no_such_process'" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["report", "--db", "sqlite:////nonexistent/x.db", "--period", "2025-Q4"],
            "no database file",
        ),
        (["report", "--db", "postgresql+nodriver://x/y", "--period", "2025-Q4"], "nodriver"),
        (["ledger", "--db", "sqlite://"], "run 'techsvc-flow db upgrade URL'"),
    ],
)
def test_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err


def test_bad_period(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "report", "--db", db, "--period", "last quarter")
    assert code == 2 and "last quarter" in err


def test_progress_indicator_on_stderr(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "PROGRESS_AFTER", 0.0)
    code, _, err = run(capsys, "report", "--db", db, "--period", "2025-Q4", "--as-of", AS_OF)
    assert code == 0
    assert "techsvc-flow: computing indicators… " in err


def test_diagram_as_svg(capsys: pytest.CaptureFixture[str]) -> None:
    import os
    import shutil

    if shutil.which("dot") is None:
        message = "Graphviz's dot is missing: apt-get install graphviz"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    code, out, _ = run(capsys, "diagram", "complaint", "--format", "svg", "--lang", "zh")
    assert code == 0
    assert out.lstrip().startswith("<?xml") and "<svg" in out and "已受理" in out
