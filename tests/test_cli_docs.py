"""docs/cli.md runs: every ``$ techsvc-flow …`` line, in order, in an empty folder.

Each line's output (stdout, then stderr) must match the lines under it, ``...`` standing
for any text, as in a doctest. A fenced block ``json file=NAME`` is written to NAME first.
"""

from __future__ import annotations

import contextlib
import doctest
import re
import shlex
from pathlib import Path

import pytest

from techsvc_flow.cli import main

PAGE = Path(__file__).parent.parent / "docs" / "cli.md"
_BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def steps(text: str) -> list[tuple[str, str, str]]:
    """The page's steps in order: ``("file", name, content)`` or ``("run", line, expected)``."""
    found: list[tuple[str, str, str]] = []
    for kind, info, body in _BLOCK.findall(text):
        if "file=" in info:
            found.append(("file", info.split("file=")[1].strip(), body))
        elif kind == "console":
            for chunk in re.split(r"^\$ ", body, flags=re.MULTILINE)[1:]:
                line, _, expected = chunk.partition("\n")
                found.append(("run", line, expected))
    return found


def run(line: str, capsys: pytest.CaptureFixture[str]) -> str:
    words = shlex.split(line)
    assert words[0] == "techsvc-flow", line
    with contextlib.suppress(SystemExit):  # --version, --help
        main(words[1:])
    out, err = capsys.readouterr()
    return out + err


def test_every_command_is_documented() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for command in ("demo", "deadline", "diagram", "report", "ledger", "recompute", "db upgrade",
                    "calendar", "notify test"):  # fmt: skip
        assert f"\n## {command}\n" in text
        assert f"$ techsvc-flow {command}" in text


def test_the_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    checker = doctest.OutputChecker()
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    ran = 0
    for kind, what, content in steps(PAGE.read_text(encoding="utf-8")):
        if kind == "file":
            (tmp_path / what).write_text(content, encoding="utf-8")
            continue
        got = run(what, capsys)
        assert checker.check_output(content, got, flags), f"$ {what}\n{got}"
        ran += 1
    assert ran >= 14


def test_a_mismatch_is_caught() -> None:
    checker = doctest.OutputChecker()
    assert not checker.check_output("a\n...\nc\n", "a\nb\nd\n", doctest.ELLIPSIS)
