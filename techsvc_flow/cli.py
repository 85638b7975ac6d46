"""The command line: ``python -m techsvc_flow …`` (also the ``techsvc-flow`` script)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

from .calendar import WorkCalendar
from .errors import FlowError

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    cal = WorkCalendar.china(business_hours=args.hours)
    tz = ZoneInfo("Asia/Shanghai")
    received = dt.datetime(2025, 9, 30, 17, 0, tzinfo=tz)
    print(f"calendar: {cal!r}")
    print(f"complaint received {received:%a %Y-%m-%d %H:%M} (Asia/Shanghai)")
    for text, what in (("24h", "acknowledge"), ("7wd", "feed back"), ("4wh", "call back")):
        deadline = cal.deadline(received, text)
        print(f"  {what:<12} within {text:<4} -> due {deadline.due:%a %Y-%m-%d %H:%M}")
    return 0


def _deadline(args: argparse.Namespace) -> int:
    cal = WorkCalendar.china(business_hours=args.hours, coverage=args.coverage)
    start = dt.datetime.fromisoformat(args.start)
    if start.tzinfo is None:
        start = start.replace(tzinfo=cal.tz)
    deadline = cal.deadline(start, args.duration)
    flag = " (provisional)" if deadline.provisional else ""
    print(f"{deadline.due.isoformat()}  last day {deadline.last_day}{flag}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="techsvc-flow",
        description="Processes of Chinese technology-service standards, in Chinese working time.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="show deadlines of a complaint across National Day 2025"
    )
    demo.add_argument("--hours", default=None, help="business hours, e.g. 09:00-12:00,13:30-18:00")
    demo.set_defaults(run=_demo)
    deadline = commands.add_parser("deadline", help="compute a deadline in Chinese working time")
    deadline.add_argument("start", help="ISO instant; without offset it is read as Asia/Shanghai")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (FlowError, ValueError) as exc:
        print(f"techsvc-flow: error: {exc}", file=sys.stderr)
        return 2
