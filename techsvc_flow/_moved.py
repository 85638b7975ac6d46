"""Old import paths that keep working for one release, with a ``DeprecationWarning``.

A module that moved leaves a shim at its old path (attrs' way)::

    # techsvc_flow/workflow.py
    from ._moved import moved

    __getattr__ = moved(__name__, "techsvc_flow.engine", ["Workflow", "SlaState"])

Importing the shim warns once, naming the new module; every name taken from it warns
again, naming the new path of that name, and returns the object from there.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["moved", "warn_moved"]


def warn_moved(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` is now ``new`` (a module or a name)."""
    warnings.warn(
        f"{old} has moved to {new}; import it from there (the old path goes in the next release)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def moved(
    old_module: str,
    new_module: str,
    names: Iterable[str] | Mapping[str, str],
    *,
    warn_on_import: bool = True,
) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving ``names`` from their new home.

    Args:
        old_module: the shim's ``__name__``.
        new_module: where the names live now (the default for each name).
        names: the names served; a mapping gives a name its own new module.
        warn_on_import: also warn now, as the shim is imported.
    """
    homes = dict(names) if isinstance(names, Mapping) else dict.fromkeys(names, new_module)
    if warn_on_import:
        warn_moved(old_module, new_module, stacklevel=4)

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
        warn_moved(f"{old_module}.{name}", f"{home}.{name}")
        return getattr(importlib.import_module(home), name)

    return __getattr__
