"""Deprecated: the recomputation of deadlines lives in :mod:`techsvc_flow.engine.recompute`."""

from ._moved import moved

__getattr__ = moved(
    __name__,
    "techsvc_flow.engine.recompute",
    ["DeadlineChange", "RecomputeReport", "recompute_deadlines", "KIND"],
)
