"""Deprecated: moved to :mod:`techsvc_flow.quality.ledger` (this shim goes in the next release)."""

from __future__ import annotations

import warnings
from typing import Any

from .quality import ledger as _new

warnings.warn(
    "techsvc_flow.ledger moved to techsvc_flow.quality.ledger; import it from there",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    value = getattr(_new, name)
    warnings.warn(
        f"techsvc_flow.ledger.{name} moved to techsvc_flow.quality.ledger.{name}; "
        "import it from there",
        DeprecationWarning,
        stacklevel=2,
    )
    return value
