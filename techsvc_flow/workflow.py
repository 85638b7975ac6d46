"""Deprecated: :class:`Workflow` lives in :mod:`techsvc_flow.engine` (and at the root)."""

from ._moved import moved

__getattr__ = moved(
    __name__,
    "techsvc_flow.engine",
    {"Workflow": "techsvc_flow.engine", "SlaState": "techsvc_flow.engine",
     "case_timers": "techsvc_flow.engine"},
)  # fmt: skip
