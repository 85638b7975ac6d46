"""A throw-away PostgreSQL server for the SQL benchmarks (the test-suite's ``tests/pg.py``)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def start(settings: Mapping[str, str]) -> Any:
    """A started server with these ``postgresql.conf`` settings, or, when PostgreSQL is not
    installed, the reason as text (with what to install)."""
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    try:
        from tests import pg
    finally:
        sys.path.remove(str(root))
    reason = pg.unavailable()
    if reason is not None:
        return f"{reason} (apt-get install postgresql; pip install 'psycopg[binary]')"
    return pg.PostgresServer(dict(settings)).start()
