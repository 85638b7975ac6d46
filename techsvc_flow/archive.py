"""Deprecated: the case archive lives in :mod:`techsvc_flow.quality.archive`."""

from ._moved import moved

_NEW = "techsvc_flow.quality.archive"
__getattr__ = moved(
    __name__,
    _NEW,
    {"ARCHIVE_FORMAT": _NEW, "WITHHELD": _NEW, "archive": _NEW, "archive_json": _NEW,
     "ENGAGEMENTS": "techsvc_flow.quality"},
)  # fmt: skip
