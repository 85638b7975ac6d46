"""Deprecated: the complaint ledger lives in :mod:`techsvc_flow.quality.ledger`."""

from ._moved import moved

__getattr__ = moved(
    __name__,
    "techsvc_flow.quality.ledger",
    [
        "CLOSURES",
        "COLUMNS",
        "CONFIDENTIAL_COLUMNS",
        "Column",
        "EXTERNAL",
        "Ledger",
        "LedgerRow",
        "NOT_ACCEPTED",
        "SATISFACTION",
        "UPHELD",
        "column",
        "ledger",
    ],
)
