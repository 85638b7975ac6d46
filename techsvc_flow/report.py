"""Deprecated: moved to :mod:`techsvc_flow.quality.render` (this shim goes in the next release)."""

from __future__ import annotations

import warnings
from typing import Any

from .quality import render as _new

warnings.warn(
    "techsvc_flow.report moved to techsvc_flow.quality.render; import it from there",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    value = getattr(_new, name)
    warnings.warn(
        f"techsvc_flow.report.{name} moved to techsvc_flow.quality.render.{name}; "
        "import it from there",
        DeprecationWarning,
        stacklevel=2,
    )
    return value
