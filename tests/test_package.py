"""The package as users meet it: what importing it costs, what it exports, its CLI."""

from __future__ import annotations

import subprocess
import sys
import types
import warnings

import pytest

import techsvc_flow
from techsvc_flow.cli import main
from techsvc_flow.errors import ProvisionalWarning


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=False, timeout=120
    )


@pytest.mark.parametrize("module", ["techsvc_flow", "techsvc_flow.testing"])
def test_import_pulls_in_no_optional_dependency(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "loaded = sorted({name.split('.')[0] for name in sys.modules})\n"
        "print(' '.join(loaded))\n"
    )
    result = _python("-c", code)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "techsvc_flow" in loaded  # the probe itself works
    assert not loaded & {"sqlalchemy", "hypothesis", "pandas", "numpy"}


def test_the_strategies_module_is_where_hypothesis_is_imported() -> None:
    result = _python(
        "-c", "import sys, techsvc_flow.testing.strategies; print('hypothesis' in sys.modules)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_all_names_exist() -> None:
    missing = [name for name in techsvc_flow.__all__ if not hasattr(techsvc_flow, name)]
    assert missing == []
    assert len(set(techsvc_flow.__all__)) == len(techsvc_flow.__all__)


def test_every_public_attribute_is_in_all() -> None:
    public = {
        name
        for name, value in vars(techsvc_flow).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public - set(techsvc_flow.__all__) == set()
    assert set(techsvc_flow.__all__) - public == set()


def test_star_import_gives_all() -> None:
    namespace: dict[str, object] = {}
    exec("from techsvc_flow import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(techsvc_flow.__all__)


def test_version() -> None:
    from importlib.metadata import version

    assert techsvc_flow.__version__ == version("techsvc_flow")


@pytest.mark.parametrize(
    "module", ["calendar", "durations", "errors", "clock", "testing.strategies"]
)
def test_module_all_names_exist(module: str) -> None:
    imported = __import__(f"techsvc_flow.{module}", fromlist=["__all__"])
    assert [name for name in imported.__all__ if not hasattr(imported, name)] == []


# --- the command line -----------------------------------------------------------------------


def test_python_m_demo() -> None:
    result = _python("-m", "techsvc_flow", "demo")
    assert result.returncode == 0, result.stderr
    assert "09-30 Tue 17:00  TS-2025-001" in result.stdout
    assert "every hash chain intact: yes" in result.stdout


def test_python_m_deadline() -> None:
    result = _python("-m", "techsvc_flow", "deadline", "2025-09-30T17:00", "7wd")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2025-10-17T00:00:00+08:00  last day 2025-10-16\n"


def test_python_m_bad_input() -> None:
    result = _python("-m", "techsvc_flow", "deadline", "2025-09-30T17:00", "7days")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("techsvc-flow: error: bad duration '7days'")
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["2025-09-30T17:00", "7wd"], "2025-10-17T00:00:00+08:00  last day 2025-10-16"),
        (["2025-09-30T17:00+08:00", "24h"], "2025-10-01T17:00:00+08:00"),
        (
            ["2025-09-30T17:00", "4wh", "--hours", "09:00-12:00,13:30-18:00"],
            "2025-10-09T12:00:00+08:00",
        ),
        (["2026-12-28T10:00", "5wd", "--coverage", "provisional"], "(provisional)"),
    ],
)
def test_cli_deadline(capsys: pytest.CaptureFixture[str], args: list[str], expected: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProvisionalWarning)
        assert main(["deadline", *args]) == 0
    assert expected in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["2025-09-30T17:00", "7days"], "bad duration '7days'"),
        (["yesterday", "7wd"], "yesterday"),
        (["2025-09-30T17:00", "7wd", "--hours", "18:00-09:00"], "ends before it starts"),
        (["2026-12-28T10:00", "5wd"], "no official holiday schedule for 2027"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["deadline", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("techsvc-flow: error:")
    assert message in lines[0]


# --- old import paths: one more release, with a DeprecationWarning naming the new one ----

#: (old module, name, new module): every old path the docs, README or CHANGELOG showed
MOVED = [
    ("techsvc_flow", "BusinessHours", "techsvc_flow.calendar"),
    ("techsvc_flow", "Webhook", "techsvc_flow.notifications"),
    ("techsvc_flow", "ProvisionalWarning", "techsvc_flow.errors"),
    ("techsvc_flow", "verify_chain", "techsvc_flow.case"),
    ("techsvc_flow", "WorkingDays", "techsvc_flow.durations"),
    ("techsvc_flow", "SlaState", "techsvc_flow.engine"),
    ("techsvc_flow", "to_mermaid", "techsvc_flow.diagrams"),
    ("techsvc_flow.workflow", "Workflow", "techsvc_flow.engine"),
    ("techsvc_flow.recompute", "recompute_deadlines", "techsvc_flow.engine.recompute"),
    ("techsvc_flow.retry", "fire_with_retry", "techsvc_flow.engine.retry"),
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED)
def test_an_old_import_path_works_and_warns(old: str, name: str, new: str) -> None:
    import importlib

    with pytest.warns(DeprecationWarning) as caught:
        module = importlib.import_module(old)
        value = getattr(module, name)
    assert value is getattr(importlib.import_module(new), name)
    assert any(f"{new}.{name}" in str(w.message) for w in caught), [str(w.message) for w in caught]


@pytest.mark.parametrize("old", sorted({old for old, _, _ in MOVED} - {"techsvc_flow"}))
def test_importing_an_old_module_warns_in_a_fresh_interpreter(old: str) -> None:
    code = f"import warnings; warnings.simplefilter('error', DeprecationWarning)\nimport {old}\n"
    result = _python("-c", code)
    assert result.returncode == 1
    assert "DeprecationWarning" in result.stderr and "has moved to" in result.stderr


def test_an_unknown_name_of_a_shim_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        techsvc_flow.no_such_name  # noqa: B018


def test_a_half_written_store_cannot_be_made() -> None:
    from techsvc_flow import Store

    class HalfWritten(Store):
        def load(self, case_id: str) -> techsvc_flow.Case:
            raise NotImplementedError

    with pytest.raises(TypeError, match="abstract") as caught:
        HalfWritten()  # type: ignore[abstract]
    assert "commit" in str(caught.value) and "load" not in str(caught.value).split("methods")[1]
