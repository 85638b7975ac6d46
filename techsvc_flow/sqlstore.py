"""Deprecated: the SQL store lives in :mod:`techsvc_flow.sql`."""

from ._moved import moved

__getattr__ = moved(
    __name__,
    "techsvc_flow.sql",
    [
        "MAX_KEY",
        "PayloadTooLarge",
        "SCHEMA_REVISION",
        "SqlStore",
        "SqlTables",
        "UnstorableValue",
        "UtcDateTime",
        "current_revision",
        "flow_tables",
        "sqlite_engine",
        "upgrade",
    ],
)
