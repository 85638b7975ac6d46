"""The quality package: its public API, and the old import paths that still work for one
release (each with a DeprecationWarning naming the new path)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types
import warnings

import pytest

import techsvc_flow.quality as quality

MODULES = (
    "period",
    "indicators",
    "config",
    "observe",
    "tally",
    "report",
    "improvement",
    "ledger",
    "archive",
    "render",
)


def test_the_package_exports_what_its_all_says() -> None:
    public = {
        name
        for name, value in vars(quality).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in ("annotations", "TYPE_CHECKING", "Any", "dt", "warnings")
    }
    assert public == set(quality.__all__)


@pytest.mark.parametrize("name", MODULES)
def test_each_module_says_what_it_is_and_exports_its_all(name: str) -> None:
    module = importlib.import_module(f"techsvc_flow.quality.{name}")
    assert module.__doc__ and module.__doc__.strip()
    for exported in module.__all__:
        assert getattr(module, exported).__doc__ or not callable(getattr(module, exported))


def test_the_public_names_of_the_index_contract() -> None:
    from techsvc_flow.quality.config import WHEN_COUNTED
    from techsvc_flow.quality.observe import Calc, windows_of
    from techsvc_flow.quality.tally import Tally, bits_tags, tag_bits, tally_result

    assert {"thresholds", "satisfaction_basis"} == WHEN_COUNTED
    assert bits_tags(tag_bits(frozenset({"feedback_late"}))) == {"feedback_late"}
    for made in (Calc, windows_of, Tally, tally_result):
        assert made.__doc__


def test_engagement_profile_is_the_templates_profile() -> None:
    from techsvc_flow.processes.profile import QualityProfile

    assert quality.EngagementProfile is QualityProfile
    assert quality.EngagementProfile().objection == "raise_objection"


def test_moved_names_warn_and_still_work() -> None:
    from techsvc_flow.quality.indicators import TSO

    with pytest.warns(DeprecationWarning, match=r"techsvc_flow\.quality\.indicators\.TSO"):
        assert quality.TSO == TSO  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        quality.no_such_name  # type: ignore[attr-defined]  # noqa: B018


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        ("ledger", "quality.ledger", "ledger"),
        ("archive", "quality.archive", "archive"),
        ("report", "quality.render", "render"),
    ],
)
def test_the_old_modules_are_shims(old: str, new: str, name: str) -> None:
    code = (
        "import warnings\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        f"    import techsvc_flow.{old} as old\n"
        "print([str(x.message) for x in w if x.category is DeprecationWarning])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert f"techsvc_flow.{old} has moved to techsvc_flow.{new}" in out.stdout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        shim = importlib.import_module(f"techsvc_flow.{old}")
    moved = importlib.import_module(f"techsvc_flow.{new}")
    with pytest.warns(DeprecationWarning, match=rf"techsvc_flow\.{new}\.{name}; import it"):
        assert getattr(shim, name) is getattr(moved, name)
