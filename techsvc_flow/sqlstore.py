"""Deprecated: the SQL store moved to :mod:`techsvc_flow.sql`; import it from there.

Kept for one release: every public name of the old module is served from
:mod:`techsvc_flow.sql` with a :class:`DeprecationWarning` naming its new path.
"""

from __future__ import annotations

import warnings
from typing import Any

from . import sql

#: the public names of the old module, served by ``__getattr__``
_MOVED = (
    "MAX_KEY",
    "MIGRATIONS",
    "SCHEMA_REVISION",
    "PayloadTooLarge",
    "SqlStore",
    "SqlTables",
    "UnstorableValue",
    "UtcDateTime",
    "current_revision",
    "flow_tables",
    "sqlite_engine",
    "upgrade",
)
__all__ = list(_MOVED)  # star imports get them too

warnings.warn(
    "techsvc_flow.sqlstore moved to techsvc_flow.sql; import from there",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        warnings.warn(
            f"techsvc_flow.sqlstore.{name} moved to techsvc_flow.sql.{name}; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(sql, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
