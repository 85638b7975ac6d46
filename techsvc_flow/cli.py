"""The command line: ``python -m techsvc_flow …`` (also the ``techsvc-flow`` script).

Exit codes: 0 success, 1 the work ran but found a problem (e.g. an indicator below its
threshold with ``--fail-below``), 2 bad input (one line on stderr, no traceback; a
database password in it is masked). A reader that stops early (``… | head -1``) ends the
command quietly.

Every command that reads a calendar takes the same calendar options (``--hours``,
``--coverage``) and every command that reads a database the same database options
(``--db`` as a URL or a plain SQLite file path, ``--prefix``, ``--schema``): see
:func:`_calendar_options` and :func:`_database_options`. ``docs/cli.md`` shows each command.
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
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .calendar import WorkCalendar
from .confidentiality import LEVELS
from .errors import CalendarCoverageError, FlowError, ProvisionalWarning

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
        url = _url(args.db) if args.db else f"sqlite:///{Path(folder) / 'demo.db'}"
        store = SqlStore(url)
        try:
            run_demo(lang=args.lang, store=store, out=sys.stdout)
        finally:
            store.close()
    return 0


def _deadline(args: argparse.Namespace) -> int:
    cal = _calendar(args)
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
    from . import processes
    from .diagrams import to_dot, to_mermaid, to_svg

    if args.case is not None:
        return _case_diagram(args)
    if args.process is None:
        raise _UsageError("name a built-in process, or a case with --case ID --db URL")
    if args.process not in processes.ALL:
        known = ", ".join(processes.ALL)
        raise _UsageError(f"unknown process {args.process!r}; built-in: {known}")
    process = processes.builtin(args.process)
    if args.format == "mermaid":
        print(to_mermaid(process, lang=args.lang, short=args.short))
        return 0
    dot = to_dot(process, lang=args.lang)
    print(dot if args.format == "dot" else to_svg(dot), end="" if args.format == "svg" else "\n")
    return 0


def _case_diagram(args: argparse.Namespace) -> int:
    """``diagram --case ID --db URL``: one case drawn live (``Workflow.diagram``)."""
    from . import processes
    from .engine import Workflow

    if args.process is not None:
        raise _UsageError("give a process name or --case ID, not both")
    if args.db is None:
        raise _UsageError("--case needs --db URL (the database that holds the case)")
    cal = _calendar(args)
    store = _database(args)
    try:
        wf = Workflow(store, calendar=cal, dispatch="manual",
                      processes=[processes.builtin(name) for name in processes.ALL])  # fmt: skip
        text = wf.diagram(args.case, format=args.format, lang=args.lang, at=_now(args, cal),
                          short=args.short)  # fmt: skip
    finally:
        store.close()
    print(text, end="" if args.format == "svg" else "\n")
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


def _url(text: str) -> str:
    """``text`` as a database URL: a plain file path (no ``scheme://``) is a SQLite file.

    >>> _url("sqlite:///flow.db"), _url("postgresql+psycopg://u@h/db")
    ('sqlite:///flow.db', 'postgresql+psycopg://u@h/db')
    >>> _url("/var/lib/flow.db")
    'sqlite:////var/lib/flow.db'
    """
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().absolute()}"


def _store(url: str, *, prefix: str = "flow_", schema: str | None = None) -> SqlStore:
    """The existing store at ``url``; never creates one (a typo must not look empty)."""
    from .sql import open_store

    return open_store(_url(url), prefix=prefix, schema=schema)


def _database(args: argparse.Namespace) -> SqlStore:
    """The existing store named by the database options (:func:`_database_options`)."""
    return _store(args.db, prefix=args.prefix, schema=args.schema)


def _calendar(args: argparse.Namespace) -> WorkCalendar:
    """The Chinese working calendar named by the calendar options (:func:`_calendar_options`)."""
    return WorkCalendar.china(business_hours=args.hours, coverage=args.coverage)


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

    cal = _calendar(args)
    period = Period.parse(args.period, tz=cal.tz)
    store = _database(args)
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

    cal = _calendar(args)
    store = _database(args)
    try:
        with _progress("reading complaints"):
            rows = ledger(store, calendar=cal, as_of=_now(args, cal),
                          include_confidential=args.confidential,
                          clearance=args.clearance)  # fmt: skip
            content = rows.export(args.format, lang=args.lang)
        _write(args, content)
    finally:
        store.close()
    return 0


def _recompute(args: argparse.Namespace) -> int:
    from . import processes
    from .engine import Workflow, recompute_deadlines

    cal = _calendar(args)
    published = cal.with_schedule_file(args.schedule)
    store = _database(args)
    try:
        wf = Workflow(store, calendar=cal, dispatch="manual",
                      processes=[processes.builtin(name) for name in processes.ALL])  # fmt: skip
        with _progress("recomputing open deadlines"):
            done = recompute_deadlines(wf, published, at=_now(args, cal), source=args.schedule)
        print(done.to_text(tz=cal.tz), end="")
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
        filters: dict[str, Any] = {}
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

    upgrade(_url(args.url), prefix=args.prefix, schema=args.schema)
    print(f"schema up to date: {_mask(args.url)}")
    return 0


def _calendar_options(parser: argparse.ArgumentParser, *, coverage: str = "raise") -> None:
    """Add the options of a command that reads the Chinese working calendar.

    ``--hours`` (business hours; default the whole day) and ``--coverage`` (past the
    official holiday schedules: fail, or estimate and mark provisional); read them back
    with :func:`_calendar`.
    """
    group = parser.add_argument_group("working calendar")
    group.add_argument(
        "--hours",
        default=None,
        metavar="RANGES",
        help="business hours, e.g. 09:00-12:00,13:30-18:00 (default: the whole working day)",
    )
    group.add_argument(
        "--coverage",
        choices=("raise", "provisional"),
        default=coverage,
        help="past the official holiday schedules: fail, or estimate and mark provisional "
        f"(default {coverage})",
    )


def _database_options(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """Add the options of a command that reads the SQL store.

    ``--db`` (a SQLAlchemy URL or a plain SQLite file path), ``--prefix`` and ``--schema``
    (as given to ``db upgrade``); open the store with :func:`_database`.
    """
    group = parser.add_argument_group("database")
    group.add_argument(
        "--db",
        required=required,
        metavar="URL",
        help="database URL (sqlite:///flow.db, postgresql+psycopg://…) or a SQLite file path",
    )
    group.add_argument("--prefix", default="flow_", help="table name prefix (default flow_)")
    group.add_argument("--schema", default=None, help="database schema (PostgreSQL)")


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
    examples: Sequence[str],
) -> argparse.ArgumentParser:
    """A sub-command whose ``--help`` shows a description and examples."""
    epilog = "examples:\n" + "\n".join(f"  techsvc-flow {line}" for line in examples)
    return commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


# --- calendar show / import / check -------------------------------------------------

_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _stored_calendar(store: SqlStore | None, name: str) -> WorkCalendar:
    """China (estimated past the horizon) plus the calendar data kept in ``store``."""
    from .calendar import CalendarLayer

    cal = WorkCalendar.china(coverage="provisional")
    for kind, body in store.calendar_data(name) if store is not None else ():
        cal = CalendarLayer(kind, body).apply(cal)
    return cal


def _calendar_show(args: argparse.Namespace) -> int:
    import warnings

    from .errors import ProvisionalWarning

    store = _store(args.db) if args.db else None
    try:
        cal = _stored_calendar(store, args.name)
    finally:
        if store is not None:
            store.close()
    year = args.year
    if not 1901 <= year <= 2299:
        raise _UsageError(f"year {year}: expected 1901..2299")
    until = cal.authoritative_until
    official = until is None or dt.date(year, 12, 31) <= until
    print(f"{cal.name} calendar {year}: official data until {until}"
          + ("" if official else f" ({year} is a rule-based estimate)"))  # fmt: skip
    working = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProvisionalWarning)
        day = dt.date(year, 1, 1)
        while day.year == year:
            is_working = cal.is_working_day(day)
            working += is_working
            usual = day.weekday() < 5
            if is_working != usual:
                what = "working day (make-up)" if is_working else "day off"
                print(f"{day.isoformat()} {_WEEKDAY_NAMES[day.weekday()]}  {what}")
            day += dt.timedelta(days=1)
    print(f"working days: {working}")
    return 0


def _calendar_import(args: argparse.Namespace) -> int:
    from .calendar import CalendarLayer

    layer = CalendarLayer.read(args.file)
    store = _store(args.db)
    try:
        layer.apply(_stored_calendar(store, args.name))  # refused before anything is kept
        kept = store.add_calendar_data(args.name, layer.kind, layer.body)
        cal = _stored_calendar(store, args.name)
    finally:
        store.close()
    state = "kept" if kept else "already kept"
    print(f"{layer.kind} {args.file}: {state}; official data until {cal.authoritative_until}")
    return 0


def _calendar_check(args: argparse.Namespace) -> int:
    import warnings

    from .errors import ProvisionalWarning

    store = _store(args.db)
    try:
        cal = _stored_calendar(store, args.name)
        until = cal.authoritative_until
        crossing = total = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ProvisionalWarning)
            for case in store.cases():
                for clock in case.clocks.values():
                    if clock.status not in ("running", "paused"):
                        continue
                    total += 1
                    due = clock.due(cal) if clock.status == "running" else None
                    if due is not None and until is not None:
                        crossing += due.astimezone(cal.tz).date() > until
    finally:
        store.close()
    print(f"official data until: {until}")
    print(f"open deadlines: {total}; past the horizon (provisional): {crossing}")
    return 1 if crossing and args.fail_past else 0


def _add_calendar_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    calendar = commands.add_parser("calendar", help="the holiday calendar: show, import, check")
    actions = calendar.add_subparsers(dest="calendar_command", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="the days off and make-up working days of YEAR")
    show.add_argument("year", type=int, help="e.g. 2026")
    show.add_argument("--db", default=None, help="include the calendar data kept in this store")
    imported = actions.add_parser(
        "import", help="keep a notice (text), holiday-cn JSON, schedules or an overlay in --db"
    )
    imported.add_argument("file", help="a notice's text, a .json or .toml file")
    imported.add_argument("--db", required=True, help="database URL of the SQL store")
    check = actions.add_parser(
        "check", help="the official horizon and how many open deadlines cross it"
    )
    check.add_argument("--db", required=True, help="database URL of the SQL store")
    check.add_argument(
        "--fail-past", action="store_true", help="exit 1 when an open deadline is past it"
    )
    for action, run in ((show, _calendar_show), (imported, _calendar_import),
                        (check, _calendar_check)):  # fmt: skip
        action.add_argument("--name", default="default", help="the calendar's name in the store")
        action.set_defaults(run=run)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``techsvc-flow``."""
    parser = argparse.ArgumentParser(
        prog="techsvc-flow",
        description="Processes of Chinese technology-service standards, in Chinese working time.",
        epilog="Each command has its own --help with examples; docs/cli.md shows them all.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = _command(
        commands,
        "demo",
        "run a service engagement and two complaints across National Day 2025",
        "Runs one service engagement through its six stages and two complaints (one "
        "answered across the National Day holiday, one escalated on an SLA breach) on an "
        "embedded SQLite store with a stepped clock, and prints the timeline.",
        ["demo", "demo --lang zh", "demo --db demo.db"],
    )
    demo.add_argument(
        "--lang", choices=("en", "zh"), default="en", help="labels in English or 中文"
    )
    demo.add_argument(
        "--db", default=None, metavar="URL", help="database URL or SQLite file path "
        "(default: a temporary SQLite file)"
    )  # fmt: skip
    demo.set_defaults(run=_demo)

    deadline = _command(
        commands,
        "deadline",
        "compute a deadline in Chinese working time",
        "Prints the instant a duration started at START falls due, in Chinese working time "
        "(statutory holidays and make-up working days), and the last day allowed.",
        [
            "deadline 2025-09-30T17:00 5wd",
            "deadline 2025-09-30T17:00 24wh --hours 09:00-12:00,13:30-18:00",
            "deadline 2026-12-30T10:00 10wd --coverage provisional",
        ],
    )
    deadline.add_argument(
        "start", help="ISO instant; without an offset it is read as Asia/Shanghai"
    )
    deadline.add_argument("duration", help="e.g. 24h, 7wd, 4wh, 10d, 1mo")
    _calendar_options(deadline)
    deadline.set_defaults(run=_deadline)

    diagram = _command(
        commands,
        "diagram",
        "draw a built-in process, or one case live",
        "Prints a built-in process as a Mermaid state diagram, Graphviz DOT, or SVG "
        "(SVG needs Graphviz's dot). With --case ID and --db, draws that case live: its "
        "current state highlighted, the steps it took numbered, its running clocks with "
        "their due instants (local time) and the time left.",
        [
            "diagram complaint",
            "diagram service_engagement --format svg --lang zh > se.svg",
            "diagram --db flow.db --case TS-2025-002 --format svg > case.svg",
        ],
    )
    diagram.add_argument("process", nargs="?", help="e.g. complaint, service_engagement")
    diagram.add_argument("--case", default=None, metavar="ID", help="draw this case live")
    diagram.add_argument("--format", choices=("mermaid", "dot", "svg"), default="mermaid")
    diagram.add_argument("--lang", choices=("en", "zh"), default="en")
    diagram.add_argument(
        "--short",
        action="store_true",
        help="Mermaid: edges labelled with their trigger only, SLA notes with their limit",
    )
    diagram.add_argument(
        "--as-of", default=None, help="with --case: time left as of this instant (default now)"
    )
    _database_options(diagram, required=False)
    _calendar_options(diagram, coverage="provisional")
    diagram.set_defaults(run=_diagram)

    report = _command(
        commands,
        "report",
        "the seven quality indicators over a period",
        "Computes the quality indicators (response, timeliness, satisfaction, …) of the "
        "cases in a SQL store over a period, with their thresholds, as text, JSON, CSV or "
        "an HTML page.",
        [
            "report --db flow.db --period 2025-Q4",
            "report --db flow.db --period 2025 --format html --lang zh --output q.html",
            "report --db postgresql+psycopg://u@h/crm --prefix crm_ --period 2025-10 --fail-below",
        ],
    )
    _database_options(report)
    report.add_argument("--period", required=True, help="2025, 2025-H2, 2025-Q4, 2025-10 or A..B")
    report.add_argument("--format", choices=("text", "json", "csv", "html"), default="text")
    report.add_argument(
        "--lang",
        choices=("en", "zh", "both"),
        default="en",
        help="English, 中文, or (html only) both side by side",
    )
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
    _calendar_options(report, coverage="provisional")
    report.set_defaults(run=_report)

    ledger = _command(
        commands,
        "ledger",
        "the complaint ledger (投诉台账)",
        "Lists every complaint in a SQL store, one row each (received, category, state, "
        "deadlines, outcome), as CSV, JSON or an Excel workbook; confidential fields only "
        "with --confidential.",
        [
            "ledger --db flow.db",
            "ledger --db flow.db --lang zh --hours 09:00-12:00,13:30-18:00",
            "ledger --db flow.db --format xlsx --output ledger.xlsx",
        ],
    )
    _database_options(ledger)
    ledger.add_argument("--format", choices=("csv", "json", "xlsx"), default="csv")
    ledger.add_argument("--lang", choices=("en", "zh"), default="en", help="header language")
    ledger.add_argument("--output", help="write to FILE (required for xlsx)")
    ledger.add_argument("--as-of", default=None, help="evaluate as of this instant (default now)")
    ledger.add_argument(
        "--confidential", action="store_true", help="include confidential fields (保密)"
    )
    ledger.add_argument(
        "--clearance",
        choices=LEVELS,
        default=None,
        help="the reader's clearance: values classified above it are replaced by a marker",
    )
    _calendar_options(ledger, coverage="provisional")
    ledger.set_defaults(run=_ledger)

    recompute = _command(
        commands,
        "recompute",
        "recompute open deadlines after loading a published holiday schedule",
        "Loads a holiday schedule published by the State Council (JSON or TOML), recomputes "
        "the deadlines of every open case in a SQL store with it, records the moves in each "
        "case's history, and prints the deadlines that moved (in local time).",
        ["recompute --db flow.db --schedule 2027.json"],
    )
    _database_options(recompute)
    recompute.add_argument("--schedule", required=True, help="JSON or TOML schedule file")
    recompute.add_argument("--as-of", default=None, help="recompute as of this instant")
    _calendar_options(recompute, coverage="provisional")
    recompute.set_defaults(run=_recompute)

    _add_calendar_commands(commands)
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
    upgrade = _command(
        db_commands,
        "upgrade",
        "create or upgrade the tables at URL",
        "Creates the tables of the SQL store at URL, or upgrades them to this version.",
        ["db upgrade flow.db", "db upgrade postgresql+psycopg://u@h/crm --prefix crm_"],
    )
    upgrade.add_argument("url", help="e.g. sqlite:///flow.db, flow.db or postgresql+psycopg://…")
    upgrade.add_argument("--prefix", default="flow_", help="table name prefix (default flow_)")
    upgrade.add_argument("--schema", default=None, help="database schema (PostgreSQL)")
    upgrade.set_defaults(run=_db_upgrade)
    _notify(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 problem found, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ProvisionalWarning)
            code = int(args.run(args))
        if any(issubclass(w.category, ProvisionalWarning) for w in caught):
            print(
                "techsvc-flow: note: some dates lie past the official holiday schedules; "
                "they are estimates (provisional)",
                file=sys.stderr,
            )
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except CalendarCoverageError as exc:
        return _fail(
            f"no official holiday schedule for {exc.year} (official data ends "
            f"{exc.authoritative_until}): pass --coverage provisional for an estimate "
            "marked provisional"
        )
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


def _notify(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``notify test``: send a test message through one channel."""
    notify = commands.add_parser("notify", help="notification channels")
    actions = notify.add_subparsers(dest="notify_command", required=True, metavar="ACTION")
    test = actions.add_parser("test", help="send a test message through one channel")
    test.add_argument("--channel", required=True, choices=["wecom", "dingtalk", "feishu"])
    test.add_argument("--url", required=True, help="the robot's webhook URL (holds its key)")
    test.add_argument("--secret", default=None, help="the signing secret (DingTalk, Feishu)")
    test.add_argument("--lang", default="zh", choices=["zh", "en"])

    def run(args: argparse.Namespace) -> int:
        from .channels import DingTalk, Feishu, Messages, WeCom
        from .clock import SystemClock
        from .notifications import DeliveryFailed, Event

        kinds = {"wecom": WeCom, "dingtalk": DingTalk, "feishu": Feishu}
        secret = {} if args.channel == "wecom" else {"secret": args.secret}
        robot = kinds[args.channel](args.url, messages=Messages(lang=args.lang), **secret)
        now = SystemClock().now()
        event = Event(
            "test-" + now.strftime("%Y%m%d%H%M%S"),
            "notify.test",
            "TEST",
            "test",
            now,
            {"state": "test"},
        )
        try:
            robot.send(event)
        except DeliveryFailed as exc:
            print(f"techsvc-flow: {robot!r} refused the test message: {exc}", file=sys.stderr)
            return 1
        print(f"sent a test message to {robot!r}")
        return 0

    test.set_defaults(run=run)


def _fail(exc: BaseException | str) -> int:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    print(f"techsvc-flow: error: {_mask(message)}", file=sys.stderr)
    return 2


def _reader_gone() -> int:
    """The reader of stdout has gone (``| head``): stop quietly, as a pipe expects."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        # what is still buffered would fail again when Python flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
