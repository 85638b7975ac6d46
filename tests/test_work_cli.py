"""The command line's ``worklist`` and ``cases`` commands, on a demo database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from techsvc_flow.cli import main


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("work") / "demo.db"
    url = f"sqlite:///{path}"
    assert main(["demo", "--db", url]) == 0
    return url


def test_worklist_text_and_json(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    args = ["worklist", "--db", db, "--actor", "li", "--role", "handler",
            "--as-of", "2025-10-30T10:00:00+08:00"]  # fmt: skip
    assert main(args) == 0
    assert capsys.readouterr().out.split() == [
        "TS-2025-002", "complaint", "investigating", "-", "2025-10-29T18:00:00+08:00", "late",
    ]  # fmt: skip
    assert main([*args, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["next"] is None
    assert [(i["case"], i["mine"], i["breached"]) for i in out["items"]] == [
        ("TS-2025-002", False, True)
    ]
    assert main(["worklist", "--db", db, "--actor", "li"]) == 0
    assert capsys.readouterr().out.strip() == "(none)"


def test_cases_overdue(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    base = ["cases", "--db", db, "--as-of", "2025-10-30T10:00:00+08:00"]
    assert main([*base, "--overdue", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(i["case"], i["late"]) for i in out["items"]] == [("TS-2025-002", True)]
    assert main([*base, "--state", "closed", "--limit", "1"]) == 0
    assert capsys.readouterr().out.split()[:3] == ["TS-2025-001", "complaint", "closed"]


def test_bad_input_is_one_line(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["cases", "--db", db, "--after", "nonsense"]) == 2
    assert "after" in capsys.readouterr().err
    assert main(["cases", "--db", db, "--due-within", "soon"]) == 2
    assert "due_within" in capsys.readouterr().err
    assert main(["worklist", "--db", f"sqlite:///{tmp_path}/none.db", "--actor", "x"]) == 2
