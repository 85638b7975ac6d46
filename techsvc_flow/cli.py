"""The command line: ``python -m techsvc_flow …`` (also the ``techsvc-flow`` script).

Exit codes: 0 success, 1 the work ran but found a problem (e.g. an indicator below its
threshold with ``--fail-below``), 2 bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .calendar import WorkCalendar
from .errors import FlowError

__all__ = ["main"]


class _UsageError(Exception):
    """Bad input found by a command (reported like argparse's errors, exit 2)."""


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo
    from .sqlstore import SqlStore

    with tempfile.TemporaryDirectory(prefix="techsvc-flow-demo-") as folder:
        url = args.db or f"sqlite:///{Path(folder) / 'demo.db'}"
        store = SqlStore(url)
        try:
            print(f"store: {store!r}")
            run_demo(lang=args.lang, store=store, out=sys.stdout)
        finally:
            store.close()
    return 0


def _deadline(args: argparse.Namespace) -> int:
    cal = WorkCalendar.china(business_hours=args.hours, coverage=args.coverage)
    try:
        start = dt.datetime.fromisoformat(args.start)
    except ValueError as exc:
        raise _UsageError(f"start {args.start!r} is not an ISO instant (2025-09-30T17:00)") from exc
    if start.tzinfo is None:
        start = start.replace(tzinfo=cal.tz)
    deadline = cal.deadline(start, args.duration)
    flag = " (provisional)" if deadline.provisional else ""
    print(f"{deadline.due.isoformat()}  last day {deadline.last_day}{flag}")
    return 0


def _diagram(args: argparse.Namespace) -> int:
    import shutil
    import subprocess

    from . import processes
    from .diagrams import to_dot, to_mermaid

    if args.process not in processes.ALL:
        known = ", ".join(processes.ALL)
        raise _UsageError(f"unknown process {args.process!r}; built-in: {known}")
    process = processes.builtin(args.process)
    if args.format == "mermaid":
        print(to_mermaid(process, lang=args.lang))
        return 0
    dot = to_dot(process, lang=args.lang)
    if args.format == "dot":
        print(dot)
        return 0
    binary = shutil.which("dot")
    if binary is None:
        raise _UsageError("--format svg needs Graphviz's 'dot' (apt-get install graphviz)")
    svg = subprocess.run([binary, "-Tsvg"], input=dot, capture_output=True, text=True, check=True)
    print(svg.stdout, end="")
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from .sqlstore import upgrade

    upgrade(args.url, prefix=args.prefix, schema=args.schema)
    print(f"schema up to date: {args.url}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``techsvc-flow``."""
    parser = argparse.ArgumentParser(
        prog="techsvc-flow",
        description="Processes of Chinese technology-service standards, in Chinese working time.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run a service engagement and two complaints across National Day 2025",
        description="Runs one service engagement through its six stages and two complaints "
        "(one answered across the National Day holiday, one escalated on an SLA breach) on "
        "an embedded SQLite store with a stepped clock, and prints the timeline.",
    )
    demo.add_argument(
        "--lang", choices=("en", "zh"), default="en", help="labels in English or 中文"
    )
    demo.add_argument("--db", default=None, help="database URL (default: a temporary SQLite file)")
    demo.set_defaults(run=_demo)

    deadline = commands.add_parser("deadline", help="compute a deadline in Chinese working time")
    deadline.add_argument(
        "start", help="ISO instant; without an offset it is read as Asia/Shanghai"
    )
    deadline.add_argument("duration", help="e.g. 24h, 7wd, 4wh, 10d, 1mo")
    deadline.add_argument(
        "--hours", default=None, help="business hours, e.g. 09:00-12:00,13:30-18:00"
    )
    deadline.add_argument(
        "--coverage",
        choices=("raise", "provisional"),
        default="raise",
        help="past the official holiday schedules: fail, or estimate and mark provisional",
    )
    deadline.set_defaults(run=_deadline)

    diagram = commands.add_parser("diagram", help="draw a built-in process")
    diagram.add_argument("process", help="e.g. complaint, service_engagement")
    diagram.add_argument("--format", choices=("mermaid", "dot", "svg"), default="mermaid")
    diagram.add_argument("--lang", choices=("en", "zh"), default="en")
    diagram.set_defaults(run=_diagram)

    db = commands.add_parser("db", help="manage the SQL store's schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="create or upgrade the tables at URL")
    upgrade.add_argument("url", help="e.g. sqlite:///flow.db or postgresql+psycopg://…")
    upgrade.add_argument("--prefix", default="flow_", help="table name prefix (default flow_)")
    upgrade.add_argument("--schema", default=None, help="database schema (PostgreSQL)")
    upgrade.set_defaults(run=_db_upgrade)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 problem found, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (_UsageError, FlowError, ValueError, LookupError, OSError) as exc:
        return _fail(exc)
    except Exception as exc:
        if type(exc).__module__.split(".")[0] in ("sqlalchemy", "psycopg"):
            return _fail(exc)  # e.g. a bad database URL or an unreachable server
        raise


def _fail(exc: BaseException) -> int:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    print(f"techsvc-flow: error: {message}", file=sys.stderr)
    return 2
