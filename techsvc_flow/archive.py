"""Deprecated: moved to :mod:`techsvc_flow.quality.archive` (this shim goes in the next release)."""

from __future__ import annotations

import warnings
from typing import Any

from .quality import archive as _new

warnings.warn(
    "techsvc_flow.archive moved to techsvc_flow.quality.archive; import it from there",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    value = getattr(_new, name)
    warnings.warn(
        f"techsvc_flow.archive.{name} moved to techsvc_flow.quality.archive.{name}; "
        "import it from there",
        DeprecationWarning,
        stacklevel=2,
    )
    return value
