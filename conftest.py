"""Collection settings for the whole tree (the fixtures live in tests/conftest.py).

The deprecation shims at the old import paths warn when imported, and the test-suite makes
that warning an error; they hold no doctest, so doctest collection leaves them alone.
"""

collect_ignore = [
    f"techsvc_flow/{name}.py"
    for name in ("workflow", "recompute", "retry", "sqlstore", "sqlquality", "ledger",
                 "archive", "report")
]  # fmt: skip
