"""The command line: ``python -m techsvc_flow …`` (also the ``techsvc-flow`` script).

Exit codes: 0 success, 1 the work ran but found a problem (e.g. an indicator below its
threshold with ``--fail-below``), 2 bad input (one line on stderr, no traceback; a
database password in it is masked). A reader that stops early (``… | head -1``) ends the
command quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .calendar import WorkCalendar
from .errors import FlowError

if TYPE_CHECKING:
    from .engine import Workflow
    from .sql import SqlStore

__all__ = ["main"]

#: seconds of work after which a progress indicator appears on stderr
PROGRESS_AFTER = 2.0


class _UsageError(Exception):
    """Bad input found by a command (reported like argparse's errors, exit 2)."""


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo
    from .sql import SqlStore

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


@contextlib.contextmanager
def _progress(label: str) -> Iterator[None]:
    """Show ``label`` and the elapsed seconds on stderr once work takes a while."""
    done = threading.Event()
    started = time.monotonic()
    tty = sys.stderr.isatty()

    def show() -> None:
        if done.wait(PROGRESS_AFTER):
            return
        while True:
            seconds = time.monotonic() - started
            if tty:
                print(f"\rtechsvc-flow: {label}… {seconds:.0f} s", end="", file=sys.stderr)
            else:
                print(f"techsvc-flow: {label}… {seconds:.0f} s", file=sys.stderr)
            if done.wait(1.0 if tty else 10.0):
                break
        if tty:
            print("\r\033[K", end="", file=sys.stderr)

    thread = threading.Thread(target=show, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _store(url: str) -> SqlStore:
    """The existing store at ``url``; never creates one (a typo must not look empty)."""
    from .sql import open_store

    return open_store(url)


def _now(args: argparse.Namespace, cal: WorkCalendar) -> dt.datetime:
    if args.as_of is None:
        return dt.datetime.now(dt.UTC)
    try:
        instant = dt.datetime.fromisoformat(args.as_of)
    except ValueError as exc:
        raise _UsageError(f"--as-of {args.as_of!r} is not an ISO instant") from exc
    return instant if instant.tzinfo else instant.replace(tzinfo=cal.tz)


def _write(args: argparse.Namespace, content: str | bytes) -> None:
    if args.output:
        Path(args.output).write_bytes(content if isinstance(content, bytes) else content.encode())
        print(f"written: {args.output}", file=sys.stderr)
    elif isinstance(content, bytes):
        raise _UsageError("binary output (xlsx) needs --output FILE")
    else:
        print(content, end="" if content.endswith("\n") else "\n")


def _report(args: argparse.Namespace) -> int:
    from .quality import Period, report
    from .quality.render import render
    from .sql import ObservationIndex

    cal = WorkCalendar.china(coverage="provisional")
    period = Period.parse(args.period, tz=cal.tz)
    store = _store(args.db)
    try:
        index = not args.no_index
        if index and not ObservationIndex.available(store):
            index = False
            print(
                "techsvc-flow: note: this database predates the quality index; reading "
                f"every case instead (run 'techsvc-flow db upgrade {args.db}' for fast reports)",
                file=sys.stderr,
            )
        with _progress("computing indicators"):
            as_of = min(period.end, _now(args, cal))
            result = report(store, period, calendar=cal, as_of=as_of, index=index)
        _write(args, render(result, args.format, lang=args.lang))
    finally:
        store.close()
    failing = [r for r in result.results if r.passed is False]
    return 1 if failing and args.fail_below else 0


def _ledger(args: argparse.Namespace) -> int:
    from .quality.ledger import ledger

    cal = WorkCalendar.china(coverage="provisional")
    store = _store(args.db)
    try:
        with _progress("reading complaints"):
            rows = ledger(store, calendar=cal, as_of=_now(args, cal),
                          include_confidential=args.confidential)  # fmt: skip
            content = rows.export(args.format, lang=args.lang)
        _write(args, content)
    finally:
        store.close()
    return 0


def _recompute(args: argparse.Namespace) -> int:
    from . import processes
    from .engine import Workflow, recompute_deadlines

    cal = WorkCalendar.china(coverage="provisional")
    published = cal.with_schedule_file(args.schedule)
    store = _store(args.db)
    try:
        wf = Workflow(store, calendar=cal, dispatch="manual",
                      processes=[processes.builtin(name) for name in processes.ALL])  # fmt: skip
        with _progress("recomputing open deadlines"):
            done = recompute_deadlines(wf, published, at=_now(args, cal), source=args.schedule)
        print(done.to_text())
    finally:
        store.close()
    return 0


def _work_workflow(store: SqlStore, cal: WorkCalendar) -> Workflow:
    from . import processes
    from .engine import Workflow

    return Workflow(store, calendar=cal, dispatch="manual",
                    processes=[processes.builtin(name) for name in processes.ALL])  # fmt: skip


def _work_lines(rows: Sequence[Mapping[str, object]], cursor: str | None, fmt: str) -> str:
    """Work items or cases as text (one line each) or JSON (``items`` and ``next``)."""
    import json

    if fmt == "json":
        return json.dumps({"items": rows, "next": cursor}, ensure_ascii=False, indent=2)
    lines = [
        "  ".join(str(row.get(k) if row.get(k) is not None else "-")
                  for k in ("case", "process", "state", "assignee", "due_at", "late"))
        for row in rows
    ]  # fmt: skip
    if cursor:
        lines.append(f"(more: --after {cursor})")
    return "\n".join(lines) if lines else "(none)"


def _worklist(args: argparse.Namespace) -> int:
    from .case import Actor

    cal = WorkCalendar.china(coverage="provisional")
    store = _store(args.db)
    try:
        wf = _work_workflow(store, cal)
        now = _now(args, cal)
        page = wf.worklist(Actor(args.actor, args.role or ()), limit=args.limit,
                           after=args.after, at=now)  # fmt: skip
        rows = []
        for item in page:
            row: dict[str, object] = item.to_dict()
            row["late"] = "late" if item.breached else ("mine" if item.mine else "claimable")
            rows.append(row)
        _write(args, _work_lines(rows, page.next, args.format))
    finally:
        store.close()
    return 0


def _cases(args: argparse.Namespace) -> int:
    cal = WorkCalendar.china(coverage="provisional")
    store = _store(args.db)
    try:
        wf = _work_workflow(store, cal)
        now = _now(args, cal)
        filters: dict[str, object] = {}
        if args.process:
            filters["process"] = args.process
        if args.state:
            filters["states"] = tuple(args.state)
        if args.assignee:
            filters["assignee"] = args.assignee
        page = wf.query(overdue=args.overdue, due_within=args.due_within, limit=args.limit,
                        after=args.after, at=now, **filters)  # fmt: skip
        rows = []
        for case in page:
            a = case.assignment
            rows.append({
                "case": case.id, "process": case.process, "state": case.state,
                "assignee": None if a is None else a.assignee,
                "due_at": None if case.due_at is None else case.due_at.isoformat(),
                "late": case.due_at is not None and case.due_at < now,
            })  # fmt: skip
        _write(args, _work_lines(rows, page.next, args.format))
    finally:
        store.close()
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from .sql import upgrade

    upgrade(args.url, prefix=args.prefix, schema=args.schema)
    print(f"schema up to date: {_mask(args.url)}")
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

    report = commands.add_parser("report", help="the seven quality indicators over a period")
    report.add_argument("--db", required=True, help="database URL of the SQL store")
    report.add_argument("--period", required=True, help="2025, 2025-H2, 2025-Q4, 2025-10 or A..B")
    report.add_argument("--format", choices=("text", "json", "csv", "html"), default="text")
    report.add_argument("--lang", choices=("en", "zh"), default="en")
    report.add_argument("--output", help="write to FILE instead of stdout")
    report.add_argument("--as-of", default=None, help="evaluate as of this instant (default now)")
    report.add_argument(
        "--fail-below", action="store_true", help="exit 1 when an indicator is below threshold"
    )
    report.add_argument(
        "--no-index",
        action="store_true",
        help="read every case instead of the quality index kept in the database (writes "
        "nothing: for a read-only database)",
    )
    report.set_defaults(run=_report)

    ledger = commands.add_parser("ledger", help="the complaint ledger (投诉台账)")
    ledger.add_argument("--db", required=True, help="database URL of the SQL store")
    ledger.add_argument("--format", choices=("csv", "json", "xlsx"), default="csv")
    ledger.add_argument("--lang", choices=("en", "zh"), default="en", help="header language")
    ledger.add_argument("--output", help="write to FILE (required for xlsx)")
    ledger.add_argument("--as-of", default=None, help="evaluate as of this instant (default now)")
    ledger.add_argument(
        "--confidential", action="store_true", help="include confidential fields (保密)"
    )
    ledger.set_defaults(run=_ledger)

    recompute = commands.add_parser(
        "recompute", help="recompute open deadlines after loading a published holiday schedule"
    )
    recompute.add_argument("--db", required=True, help="database URL of the SQL store")
    recompute.add_argument("--schedule", required=True, help="JSON or TOML schedule file")
    recompute.add_argument("--as-of", default=None, help="recompute as of this instant")
    recompute.set_defaults(run=_recompute)

    for name, helptext in (
        ("worklist", "an actor's worklist: their cases, then the ones their roles may claim"),
        ("cases", "cases across the store: overdue, due soon, by state or assignee"),
    ):
        work = commands.add_parser(name, help=helptext)
        work.add_argument("--db", required=True, help="the SQL store's URL")
        if name == "worklist":
            work.add_argument("--actor", required=True, help="the person's id")
            work.add_argument("--role", action="append", help="a role they hold (repeatable)")
            work.set_defaults(run=_worklist)
        else:
            work.add_argument("--overdue", action="store_true", help="only overdue cases")
            work.add_argument("--due-within", help="only cases due within, e.g. 4wh")
            work.add_argument("--process", help="only cases of this process")
            work.add_argument("--state", action="append", help="only in this state (repeatable)")
            work.add_argument("--assignee", help="only cases assigned to this person")
            work.set_defaults(run=_cases)
        work.add_argument("--limit", type=int, default=50, help="page size (default 50)")
        work.add_argument("--after", help="the cursor a previous page printed")
        work.add_argument("--as-of", help="'now' as an ISO instant (default: now)")
        work.add_argument("--format", choices=("text", "json"), default="text")
        work.add_argument("--output", help="write to this file")

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
        code = int(args.run(args))
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except (
        _UsageError, FlowError, ValueError, LookupError, OSError, ImportError, ArithmeticError
    ) as exc:  # fmt: skip
        # ImportError: a missing optional driver (psycopg, openpyxl); OSError: files
        return _fail(exc)
    except Exception as exc:
        if type(exc).__module__.split(".")[0] in ("sqlalchemy", "psycopg", "alembic"):
            return _fail(exc)  # e.g. a bad database URL or an unreachable server
        raise


#: ``scheme://user:password@`` in a database URL
_PASSWORD = re.compile(r"(\w[\w+.-]*://[^:/@\s]*):[^@\s]*@")


def _mask(text: str) -> str:
    """``text`` with every database URL's password replaced by ``***``."""
    return _PASSWORD.sub(r"\1:***@", text)


def _fail(exc: BaseException) -> int:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    print(f"techsvc-flow: error: {_mask(message)}", file=sys.stderr)
    return 2


def _reader_gone() -> int:
    """The reader of stdout has gone (``| head``): stop quietly, as a pipe expects."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        # what is still buffered would fail again when Python flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
