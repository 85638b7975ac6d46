"""The cases a store has just read or written, as rows (private to :mod:`techsvc_flow.sql`).

A fire on a case the store remembers skips the read; see :meth:`SqlStore.cached`. The
rows are kept as read or written (the case's columns and its JSON body), so every case
handed out is decoded anew and the caller's changes to it never reach the cache.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["RecentCases"]


class RecentCases:
    """At most ``size`` case rows by case id; the least recently stored go first."""

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"cache_size must be 0 or more, not {size}")
        self.size = size
        self._rows: dict[str, tuple[Any, ...]] = {}
        self._lock = threading.Lock()

    def get(self, case_id: str) -> tuple[Any, ...] | None:
        return self._rows.get(case_id)

    def put(self, row: tuple[Any, ...]) -> None:
        """Remember ``row`` (its first column is the case id)."""
        if not self.size:
            return
        rows = self._rows
        with self._lock:
            rows.pop(row[0], None)  # stored again: last to go
            rows[row[0]] = row
            while len(rows) > self.size:
                del rows[next(iter(rows))]

    def forget(self, case_id: str) -> None:
        with self._lock:
            self._rows.pop(case_id, None)
