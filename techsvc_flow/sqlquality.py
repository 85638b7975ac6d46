"""Deprecated: the observation index moved to :mod:`techsvc_flow.sql`; import it from
there.

Kept for one release: every public name of the old module is served from
:mod:`techsvc_flow.sql` with a :class:`DeprecationWarning` naming its new path.
"""

from __future__ import annotations

import warnings
from typing import Any

from . import sql
from .sql import quality_index

#: the public names of the old module, served by ``__getattr__``
_MOVED = ("IndexOutOfDate", "ObservationIndex")
__all__ = list(_MOVED)  # star imports get them too

#: the other public names of the old module, and the module they live in now
_ELSEWHERE = {"RULES": quality_index, "fingerprint": quality_index}

warnings.warn(
    "techsvc_flow.sqlquality moved to techsvc_flow.sql; import from there",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    if name in _MOVED or name in _ELSEWHERE:
        home = _ELSEWHERE.get(name, sql)
        warnings.warn(
            f"techsvc_flow.sqlquality.{name} moved to {home.__name__}.{name}; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(home, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
