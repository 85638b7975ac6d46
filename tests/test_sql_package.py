"""The layout of :mod:`techsvc_flow.sql`: its public API, the old paths that still work
with a warning, and who may import SQLAlchemy."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import techsvc_flow.sql as sql

PACKAGE = Path(sql.__file__).resolve().parent


def test_all_is_the_public_api() -> None:
    assert [name for name in sql.__all__ if not hasattr(sql, name)] == []
    assert len(set(sql.__all__)) == len(sql.__all__)
    public = {
        name
        for name, value in vars(sql).items()
        if not name.startswith("_") and not isinstance(value, type(sql)) and name != "annotations"
    }
    assert public == set(sql.__all__)


@pytest.mark.parametrize(
    ("old", "name", "new"),
    [
        ("techsvc_flow.sqlstore", "SqlStore", "techsvc_flow.sql.SqlStore"),
        ("techsvc_flow.sqlstore", "upgrade", "techsvc_flow.sql.upgrade"),
        ("techsvc_flow.sqlstore", "PayloadTooLarge", "techsvc_flow.sql.PayloadTooLarge"),
        ("techsvc_flow.sqlquality", "ObservationIndex", "techsvc_flow.sql.ObservationIndex"),
        (
            "techsvc_flow.sqlquality",
            "fingerprint",
            "techsvc_flow.sql.quality_index.fingerprint",
        ),
    ],
)
def test_old_paths_warn_and_work(old: str, name: str, new: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # tested below
        module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        value = getattr(module, name)
    home, _, attribute = new.rpartition(".")
    assert value is getattr(importlib.import_module(home), attribute)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # private names were never public: no shim
        assert not hasattr(module, "_loads")


@pytest.mark.parametrize("old", ["techsvc_flow.sqlstore", "techsvc_flow.sqlquality"])
def test_importing_an_old_module_warns(old: str) -> None:
    code = (
        "import warnings; warnings.simplefilter('error')\n"
        f"try:\n    import {old}\nexcept DeprecationWarning as w:\n    print(w)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "moved to techsvc_flow.sql" in result.stdout


def _imports(path: Path) -> set[str]:
    """The modules ``path`` imports (relative ones resolved against techsvc_flow.sql)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = "techsvc_flow.sql" if node.level == 1 else "techsvc_flow"
            module = node.module or ""
            found.add(module if node.level == 0 else f"{base}.{module}".rstrip("."))
    return found


def test_the_observation_index_does_not_import_the_store() -> None:
    imported = _imports(PACKAGE / "quality_index.py")
    assert "techsvc_flow.sql.store" not in imported
    assert "techsvc_flow.store" not in imported


def test_the_command_line_does_not_import_sqlalchemy() -> None:
    imported = _imports(PACKAGE.parent / "cli.py")
    assert not {name for name in imported if name.split(".")[0] in ("sqlalchemy", "alembic")}
