"""A throw-away PostgreSQL server for the tests and the benchmark.

``initdb`` and ``pg_ctl`` (Debian's ``postgresql`` package) make a cluster in a
temporary directory, listening on a free loopback port and on a unix socket inside that
directory; when run as root the server runs as the unprivileged ``postgres`` user
(PostgreSQL refuses to run as root). It is stopped and deleted at exit.

Without the server binaries (or psycopg) the PostgreSQL tests skip with a message saying
how to enable them, except under ``CI=true``, where a skip would hide a gap: they fail.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["PostgresServer", "fresh_schema", "require", "shared"]

HOW = (
    "install the PostgreSQL server with `apt-get install postgresql` (Debian/Ubuntu; "
    "`.ci/run` does it) and psycopg with `pip install -e '.[dev]'`"
)

# a throw-away cluster: durability off, as a test or a benchmark run needs no crash safety
SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "60",
    "shared_buffers": "128MB",
}


def bindir() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl`` (newest version), if installed."""
    env = os.environ.get("PG_BINDIR")
    if env and (Path(env) / "initdb").exists():
        return Path(env)

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", path.parent.parent.name))

    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=version)
    if found:
        return found[-1].parent
    which = shutil.which("initdb")
    return Path(which).parent if which else None


def unavailable() -> str | None:
    """Why PostgreSQL tests cannot run here, or None."""
    if bindir() is None:
        return "the PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg driver is not installed"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """One throw-away cluster. ``start()`` it, use :attr:`url`, ``stop()`` it."""

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        found = bindir()
        if found is None:
            raise RuntimeError(f"PostgreSQL is not installed: {HOW}")
        self.bin = found
        self.settings = {**SETTINGS, **(settings or {})}
        self.root = Path(tempfile.mkdtemp(prefix="techsvc-flow-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.running = False
        self._user: dict[str, Any] = {}
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                account = pwd.getpwnam("nobody")
            self._user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.root.chmod(0o700)

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database, as the superuser ``flow``."""
        return f"postgresql+psycopg://flow@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            **self._user,
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}{log}"
            )

    def start(self) -> PostgresServer:
        """initdb, then start on a free port (a few tries if another process takes it)."""
        self._run(
            "initdb", "-D", str(self.data), "-U", "flow", "-A", "trust", "-E", "UTF8",
            "--no-locale", "--no-sync",
        )  # fmt: skip
        for attempt in range(3):
            self.port = _free_port()
            options = " ".join(
                [
                    f"-p {self.port}",
                    "-c listen_addresses=127.0.0.1",
                    f"-c unix_socket_directories='{self.root}'",
                    *(f"-c {key}={value}" for key, value in self.settings.items()),
                ]
            )
            try:
                self._run(
                    "pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w",
                    "-t", "60", "-o", options,
                )  # fmt: skip
            except RuntimeError:
                if attempt == 2:
                    raise
                continue
            self.running = True
            return self
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        if self.running:
            self.running = False
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
        shutil.rmtree(self.root, ignore_errors=True)


_shared: PostgresServer | None = None
_failed: BaseException | None = None


def shared() -> PostgresServer:
    """The session's server, started on first use and stopped at exit."""
    global _shared, _failed
    if _failed is not None:
        raise RuntimeError(f"the test PostgreSQL server did not start: {_failed}")
    if _shared is None:
        server = PostgresServer()
        try:
            server.start()
        except BaseException as exc:
            server.stop()
            _failed = exc
            raise
        atexit.register(server.stop)
        _shared = server
    return _shared


def require() -> PostgresServer:
    """:func:`shared`, or skip the test (fail it under ``CI=true``) when not installed."""
    import pytest

    reason = unavailable()
    if reason is not None:
        message = f"PostgreSQL tests not run: {reason}; to run them, {HOW}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: a skipped PostgreSQL test is a failure)")
        pytest.skip(message)
    return shared()


_engines: dict[str, Any] = {}


def engine(url: str) -> Any:
    """One pooled engine per URL for the whole session."""
    import sqlalchemy as sa

    if url not in _engines:
        _engines[url] = sa.create_engine(url, pool_size=4, max_overflow=8)
    return _engines[url]


@contextlib.contextmanager
def fresh_schema(server: PostgresServer) -> Iterator[str]:
    """A new empty schema on ``server``, dropped afterwards."""
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    eng = engine(server.url)
    with eng.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    try:
        yield name
    finally:
        with eng.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
