"""The command line on a real SQLite database holding a realistic quarter."""

from __future__ import annotations

import json
import warnings
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


def test_db_is_a_url_or_a_plain_sqlite_path_with_prefix_and_schema_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "db", "upgrade", "crm.db", "--prefix", "crm_")[0] == 0
    assert (tmp_path / "crm.db").exists()
    code, out, err = run(capsys, "ledger", "--db", "crm.db")
    assert code == 2 and "no techsvc_flow tables" in err
    for db in ("crm.db", str(tmp_path / "crm.db"), f"sqlite:///{tmp_path / 'crm.db'}"):
        code, out, err = run(capsys, "ledger", "--db", db, "--prefix", "crm_")
        assert code == 0 and err == "" and out.startswith("Complaint no.,")
        code, out, err = run(capsys, "report", "--db", db, "--prefix", "crm_", "--period", "2025")
        assert code == 0 and out.startswith("Quality indicators 2025")


def test_business_hours_reach_the_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(tmp_path / "demo.db")
    assert main(["demo", "--db", path]) == 0
    capsys.readouterr()
    args = ["ledger", "--db", path, "--as-of", "2025-12-31T18:00"]
    _, whole_day, _ = run(capsys, *args)
    _, office, _ = run(capsys, *args, "--hours", "09:00-12:00,13:30-18:00")
    assert "2025-10-15T00:00:00+08:00" in whole_day.splitlines()[1]  # 5wd: severity high
    assert "2025-10-14T18:00:00+08:00" in office.splitlines()[1]  # as the demo said


def test_past_the_horizon_the_cli_speaks_its_own_words(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "deadline", "2026-12-30T10:00", "10wd")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "techsvc-flow: error: no official holiday schedule for 2027 (official data ends "
        "2026-12-31): pass --coverage provisional for an estimate marked provisional"
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning escaping the CLI would fail here
        code, out, err = run(capsys, "deadline", "2026-12-30T10:00", "10wd", "--coverage",
                             "provisional")  # fmt: skip
    assert code == 0 and out.strip().endswith("(provisional)")
    assert len(err.splitlines()) == 1 and "Warning" not in err and ".py" not in err


def test_recompute_prints_local_time_to_the_minute(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    assert main(["db", "upgrade", url]) == 0
    capsys.readouterr()
    schedule = tmp_path / "2027.json"
    schedule.write_text(json.dumps({"2027": {"holidays": ["2027-01-01"], "workdays": []}}))
    code, out, _ = run(capsys, "recompute", "--db", url, "--schedule", str(schedule),
                       "--as-of", "2025-12-31T02:00:00.123456+00:00")  # fmt: skip
    assert code == 0
    assert out.startswith("recomputed at 2025-12-31 10:00+08:00: ")


def test_version_and_every_help_has_a_description_and_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from techsvc_flow import __version__

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"techsvc-flow {__version__}"
    commands = ["demo", "deadline", "diagram", "report", "ledger", "recompute", "db upgrade"]
    for command in commands:
        with pytest.raises(SystemExit):
            main([*command.split(), "--help"])
        text = capsys.readouterr().out
        _usage, description, *_ = text.split("\n\n")
        assert len(description.split()) >= 8, command
        assert f"examples:\n  techsvc-flow {command}" in text, command


def test_diagram_of_one_case_live(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "demo.db")
    assert main(["demo", "--db", path]) == 0
    capsys.readouterr()
    args = ["diagram", "--db", path, "--case", "TS-2025-002", "--as-of", "2025-10-30T10:00"]
    code, out, _ = run(capsys, *args, "--hours", "09:00-12:00,13:30-18:00")
    assert code == 0
    assert "    class investigating current" in out
    start = "start_investigation (Start investigation) [handler, quality_manager]"
    assert f"{start} (guards#58; investigator_conflict) · step 3" in out
    note = out.split("note right of investigating\n")[1].splitlines()[0].strip()
    assert note == "SLA Feedback: due 2025-10-29 18:00, overdue by 1h working"
    code, out, _ = run(capsys, *args, "--format", "dot", "--lang", "zh")
    assert code == 0 and '"investigating" [label="调查中"' in out and "第 3 步" in out
    assert run(capsys, "diagram", "--case", "TS-2025-002")[:1] == (2,)
    code, _, err = run(capsys, "diagram", "complaint", "--case", "X", "--db", path)
    assert code == 2 and "not both" in err
    code, _, err = run(capsys, "diagram", "--db", path, "--case", "NOPE")
    assert (code, err) == (2, "techsvc-flow: error: no case with id 'NOPE'\n")
