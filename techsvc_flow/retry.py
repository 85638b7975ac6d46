"""Deprecated: the retry helpers live in :mod:`techsvc_flow.engine.retry`."""

from ._moved import moved

__getattr__ = moved(__name__, "techsvc_flow.engine.retry", ["fire_with_retry", "retry_on_conflict"])
