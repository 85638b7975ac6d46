"""Deprecated: the observation index lives in :mod:`techsvc_flow.sql`."""

from ._moved import moved

__getattr__ = moved(
    __name__,
    "techsvc_flow.sql",
    {"ObservationIndex": "techsvc_flow.sql", "IndexOutOfDate": "techsvc_flow.sql",
     "RULES": "techsvc_flow.sql.quality_index", "fingerprint": "techsvc_flow.sql.quality_index"},
)  # fmt: skip
