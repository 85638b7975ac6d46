"""The errors of the SQL store: values it refuses to store, a schema it does not know.

The value errors are raised before anything is written, so a refused commit leaves the
database as it was.
"""

from __future__ import annotations

from ..errors import FlowError

__all__ = ["PayloadTooLarge", "SchemaTooNew", "UnstorableValue"]


class UnstorableValue(FlowError, ValueError):
    """A value cannot be stored as it is (refused before anything was written).

    Attributes:
        what: which value (e.g. ``case 'T-1' data``).
        problem: what is wrong with it.
    """

    def __init__(self, what: str, problem: str) -> None:
        self.what = what
        self.problem = problem
        super().__init__(f"{what} cannot be stored: {problem}")


class PayloadTooLarge(UnstorableValue):
    """A serialized value is larger than the store's ``max_payload``.

    Attributes:
        size: its size in bytes (UTF-8 JSON).
        limit: the store's limit in bytes.
    """

    def __init__(self, what: str, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            what,
            f"{size:,} bytes of JSON exceed the limit of {limit:,} bytes "
            "(keep large documents outside the case and store a reference; or raise "
            "SqlStore(max_payload=...))",
        )


class SchemaTooNew(FlowError, RuntimeError):
    """The database's tables were migrated by a newer version of this library.

    Neither read nor upgraded: this version does not know the revision's tables. Upgrade
    ``techsvc_flow`` where the database is used.

    Attributes:
        found: the revision the database is stamped with.
        known: the newest revision this library ships.
    """

    def __init__(self, found: str, known: str) -> None:
        self.found = found
        self.known = known
        super().__init__(
            f"the database schema is at revision {found!r}, which this version of "
            f"techsvc_flow does not know (its newest is {known!r}): upgrade techsvc_flow"
        )
