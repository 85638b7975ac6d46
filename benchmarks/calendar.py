"""Calendar benchmark: techsvc_flow's working-time arithmetic beside its baselines.

Run from the repository root::

    python -m benchmarks.calendar             # full run (well under a minute)
    python -m benchmarks.calendar --quick     # smoke run: tiny repetitions
    python -m benchmarks.calendar --markdown  # print the table as Markdown

Every case runs in the same process, on the same inputs, ours and the baseline timed in
turns, round by round, and is reported as a ratio (baseline time / our time), so the
ratios hold across machines better than the absolute times. Before anything is timed,
both sides are run on the same inputs and their answers compared: a benchmark that
compares wrong answers is worthless, so a disagreement that is not explained (see
below) stops the run.

Baselines:

1. ``holidays.China().get_nth_working_day(date, n)`` — the same data our China
   calendar uses, stepped one day at a time; warmed up for every year it touches.
2. pandas ``CustomBusinessHour`` for a 4-working-hour deadline with business hours
   09:00-12:00 and 13:30-18:00. The usual Monday-Friday weekmask with the
   non-working weekdays as holidays cannot express 调休 make-up working days (a
   Saturday or Sunday worked), so it is measured in two forms: that conventional
   form (its differing answers are counted and each one is checked to be caused by a
   make-up day), and an exact form — a 7-day weekmask with *every* non-working day
   (weekends included) as a holiday — whose answers must all agree.
3. numpy ``busday_offset``, as a scalar call and vectorised over a 10,000-element
   array, in the same exact form (prebuilt ``busdaycalendar``). ``roll="backward"``
   is what matches "the start day is not counted" for a start on a day off: the
   conventional ``roll="forward"`` form is checked too and its differences counted.
4. Our own plain official calendar, against the same calendar with two organisation
   overlays stacked on it (a team's closure days, a region's extra working days and
   half days): the overlays must cost at most 1.2× and stay flat in n. The overlaid
   answers are checked against counting working days one at a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import random
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no stubs

from techsvc_flow import WorkCalendar
from techsvc_flow.errors import ProvisionalWarning

__all__ = ["Row", "Settings", "main", "run"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOURS = "09:00-12:00,13:30-18:00"
FOUR_HOURS = dt.timedelta(hours=4)
SEED = 20250930


@dataclass(frozen=True)
class Settings:
    """How much work each measurement does."""

    dates: int = 200  # start dates per working-day case
    far_dates: int = 50  # start dates for the 2500-working-day case (holidays: ~6 ms each)
    instants: int = 200  # start instants for the working-hour case
    array: int = 10_000  # elements in the vectorised case
    rounds: int = 15  # timed rounds per case, taken in turns; the best is reported
    slow_rounds: int = 3  # rounds for the slowest baseline (holidays at n = 2500)
    min_round: float = 0.01  # seconds: a round repeats its batch until it lasts this long


QUICK = Settings(
    dates=20, far_dates=5, instants=20, array=500, rounds=1, slow_rounds=1, min_round=0.0
)


@dataclass(frozen=True)
class Row:
    """One line of the table; ``ratio`` is baseline / ours."""

    case: str
    ours_us: float
    baseline_us: float
    target: str = "—"
    minimum: float | None = None  # the ratio must be at least this
    maximum: float | None = None  # the ratio must be at most this

    @property
    def ratio(self) -> float:
        return self.baseline_us / self.ours_us

    @property
    def met(self) -> bool | None:
        if self.minimum is None and self.maximum is None:
            return None
        low = self.minimum is None or self.ratio >= self.minimum
        high = self.maximum is None or self.ratio <= self.maximum
        return low and high


# --- inputs -------------------------------------------------------------------------


def spread_dates(rng: random.Random, first: dt.date, last: dt.date, count: int) -> list[dt.date]:
    """``count`` fixed pseudo-random dates from ``first`` to ``last`` inclusive."""
    span = (last - first).days
    return [first + dt.timedelta(days=rng.randint(0, span)) for _ in range(count)]


def spread_instants(
    rng: random.Random, first: dt.date, last: dt.date, count: int
) -> list[dt.datetime]:
    """Aware Asia/Shanghai instants at a random minute, plus the shift boundaries."""
    days = spread_dates(rng, first, last, count)
    instants = []
    for i, day in enumerate(days):
        if i < 4:  # a shift's start and end, on a working Monday
            minute = (9 * 60, 12 * 60, 13 * 60 + 30, 18 * 60)[i]
            day = dt.date(2025, 3, 3)
        else:
            minute = rng.randint(0, 24 * 60 - 1)
        instants.append(
            dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=SHANGHAI)
        )
    return instants


def days_off(cal: WorkCalendar, first: dt.date, last: dt.date) -> tuple[list[dt.date], ...]:
    """(every non-working day, the non-working weekdays, make-up weekend workdays)."""
    every, weekdays, makeup = [], [], []
    day = first
    while day <= last:
        working = cal.is_working_day(day)
        weekend = day.weekday() >= 5
        if not working:
            every.append(day)
            if not weekend:
                weekdays.append(day)
        elif weekend:
            makeup.append(day)
        day += dt.timedelta(days=1)
    return every, weekdays, makeup


# --- timing -------------------------------------------------------------------------


Batch = tuple[Callable[[], object], int]  # a function making some calls, and how many


def _loops(batch: Callable[[], object], min_round: float) -> int:
    """How many times ``batch`` must run for one round to last ``min_round`` seconds."""
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            batch()
        elapsed = time.perf_counter() - start
        if elapsed >= min_round:
            return loops
        loops = max(loops * 2, int(loops * min_round / max(elapsed, 1e-9)) + 1)


def per_call(batches: Sequence[Batch], rounds: int, min_round: float) -> list[float]:
    """The best time of one call, in µs, for each batch.

    Like ``timeit``: a batch repeats until a round lasts ``min_round`` seconds (or as
    long as one run of the slowest batch, so that every side's rounds are equally
    long and equally exposed to interruptions), the garbage collector is off while
    timing, and the best of ``rounds`` rounds is taken (the least disturbed one). The
    batches take turns round by round, so that a noisy spell on the machine hits both
    sides of a ratio alike. The loop that drives the calls is timed on both sides.
    """
    longest = 0.0
    for batch, _ in batches:
        start = time.perf_counter()
        batch()  # warm up caches and lazily compiled indexes
        longest = max(longest, time.perf_counter() - start)
    enabled = gc.isenabled()
    gc.disable()
    try:
        loops = [_loops(batch, max(min_round, longest)) for batch, _ in batches]
        best = [float("inf")] * len(batches)
        for _ in range(rounds):
            for k, (batch, _) in enumerate(batches):
                start = time.perf_counter()
                for _ in range(loops[k]):
                    batch()
                best[k] = min(best[k], time.perf_counter() - start)
    finally:
        if enabled:
            gc.enable()
    return [t / (n * calls) * 1e6 for t, n, (_, calls) in zip(best, loops, batches, strict=True)]


class CheckError(AssertionError):
    """Both sides were given the same inputs and answered differently."""


def check(ok: bool, message: str) -> None:
    """Raise (even under ``python -O``) when a comparison of answers fails."""
    if not ok:
        raise CheckError(message)


# --- the cases ----------------------------------------------------------------------


@dataclass
class Findings:
    """What the cases found besides the timings."""

    checks: list[str] = field(default_factory=list)  # answers that agreed
    notes: list[str] = field(default_factory=list)
    log: Callable[[str], None] = lambda text: print(text, file=sys.stderr)


def working_days(settings: Settings, rng: random.Random, found: Findings) -> list[Row]:
    """add_working_days vs holidays' get_nth_working_day, and flatness in n."""
    ours = WorkCalendar.china()
    theirs = holidays.country_holidays("CN", years=range(2000, 2028))  # = holidays.China, warm
    # inside the official horizon (2001..2026) for both: 250 wd reach about a year on,
    # 2500 wd about ten years, hence the earlier start dates for n = 2500
    near = spread_dates(rng, dt.date(2024, 1, 1), dt.date(2025, 10, 31), settings.dates)
    far = spread_dates(rng, dt.date(2001, 1, 1), dt.date(2010, 12, 31), settings.far_dates)
    rows = []
    timings: dict[int, float] = {}
    for n, starts in ((1, near), (7, near), (30, near), (250, near), (2500, far)):
        mine = [ours.add_working_days(d, n) for d in starts]
        other = [theirs.get_nth_working_day(d, n) for d in starts]
        for d, a, b in zip(starts, mine, other, strict=True):
            check(a == b, f"add_working_days({d}, {n}) = {a}, holidays says {b}")
        found.checks.append(
            f"add_working_days == holidays get_nth_working_day: {len(starts)} dates, n={n}"
        )

        def ours_batch(n: int = n, starts: list[dt.date] = starts) -> None:
            add = ours.add_working_days
            for d in starts:
                add(d, n)

        def theirs_batch(n: int = n, starts: list[dt.date] = starts) -> None:
            nth = theirs.get_nth_working_day
            for d in starts:
                nth(d, n)

        rounds = settings.slow_rounds if n >= 2500 else settings.rounds
        timings[n], baseline = per_call(
            [(ours_batch, len(starts)), (theirs_batch, len(starts))], rounds, settings.min_round
        )
        target, minimum = {7: ("≥ 10×", 10.0), 250: ("≥ 500×", 500.0)}.get(n, ("—", None))
        rows.append(Row(f"add {n} wd vs holidays", timings[n], baseline, target, minimum))
        found.log(f"  add {n} wd: ours {timings[n]:.2f} µs, holidays {baseline:.1f} µs")

    def one_batch() -> None:  # the n = 2500 start dates again, at n = 1
        add = ours.add_working_days
        for d in far:
            add(d, 1)

    def far_batch() -> None:
        add = ours.add_working_days
        for d in far:
            add(d, 2500)

    at_one, at_far = per_call(
        [(one_batch, len(far)), (far_batch, len(far))], settings.rounds, settings.min_round
    )
    # the slow baseline leaves few rounds for ours at n = 2500: these are more of the same
    rows[-1] = replace(rows[-1], ours_us=min(rows[-1].ours_us, at_far))
    rows.append(Row("flat in n: ours 2500 wd ÷ ours 1 wd", at_one, at_far, "≤ 1.5×", None, 1.5))
    found.notes.append(
        f"add N wd: {len(near)} start dates from 2024-01-01 to 2025-10-31 (n = 1 … 250) and "
        f"{len(far)} from 2001 to 2010 (n = 2500), so every answer stays inside the official "
        "horizon (2001-2026) of both libraries. The flat-in-n row times ours at n = 1 (ours "
        "column) and at n = 2500 (baseline column) on the same 2001-2010 start dates."
    )
    return rows


def working_hours(settings: Settings, rng: random.Random, found: Findings) -> list[Row]:
    """A 4-working-hour deadline vs pandas CustomBusinessHour."""
    ours = WorkCalendar.china(business_hours=HOURS)
    instants = spread_instants(rng, dt.date(2024, 1, 1), dt.date(2026, 11, 30), settings.instants)
    every, weekdays, makeup = days_off(ours, dt.date(2023, 1, 1), dt.date(2026, 12, 31))
    shifts = {"start": ["09:00", "13:30"], "end": ["12:00", "18:00"]}
    exact = pd.offsets.CustomBusinessHour(
        n=4, weekmask="Mon Tue Wed Thu Fri Sat Sun", holidays=every, **shifts
    )
    usual = pd.offsets.CustomBusinessHour(
        n=4, weekmask="Mon Tue Wed Thu Fri", holidays=weekdays, **shifts
    )
    walls = [pd.Timestamp(i.replace(tzinfo=None)) for i in instants]  # naive local wall time

    mine = [ours.add_working_time(i, FOUR_HOURS) for i in instants]
    dues = [ours.deadline(i, "4wh").due for i in instants]
    for i, a, b, w in zip(instants, mine, dues, walls, strict=True):
        expected = (w + exact).to_pydatetime()
        check(a == b, f"add_working_time and deadline disagree from {i}: {a} vs {b}")
        check(
            a.replace(tzinfo=None) == expected,
            f"4wh from {i}: ours {a}, pandas CustomBusinessHour (exact form) {expected}",
        )
    found.checks.append(
        "add_working_time(t, 4h) == deadline(t, '4wh').due == pandas CustomBusinessHour "
        f"(exact form): {len(instants)} instants"
    )
    makeup_days = set(makeup)
    differ = 0
    for i, a, w in zip(instants, mine, walls, strict=True):
        other = (w + usual).to_pydatetime()
        if a.replace(tzinfo=None) != other:
            differ += 1
            window = range(i.date().toordinal(), max(a.date(), other.date()).toordinal() + 1)
            check(
                any(dt.date.fromordinal(o) in makeup_days for o in window),
                f"4wh from {i}: ours {a}, pandas Mon-Fri form {other}, and no make-up day",
            )

    def ours_batch() -> None:
        add = ours.add_working_time
        for i in instants:
            add(i, FOUR_HOURS)

    def deadline_batch() -> None:
        deadline = ours.deadline
        for i in instants:
            deadline(i, "4wh")

    def exact_batch() -> None:
        for w in walls:
            w + exact

    def usual_batch() -> None:
        for w in walls:
            w + usual

    count, rounds, least = len(instants), settings.rounds, settings.min_round
    batches = [ours_batch, deadline_batch, exact_batch, usual_batch]
    t_add, t_deadline, t_exact, t_usual = per_call([(b, count) for b in batches], rounds, least)
    found.log(f"  4wh: ours {t_add:.2f} / {t_deadline:.2f} µs, pandas {t_exact:.1f} µs")
    found.notes.append(
        f"4wh: {count} instants (Asia/Shanghai, random minute, 2024-2026, plus the four shift "
        "boundaries), business hours 09:00-12:00,13:30-18:00; pandas gets the naive local wall "
        "time. pandas CustomBusinessHour cannot express a make-up working day (调休): the "
        "exact form lists every day off, weekends included, as a holiday under a 7-day "
        "weekmask, and agrees on every answer; the usual Mon-Fri form (holidays = the "
        f"non-working weekdays) got {differ} of {count} answers wrong, each one across a "
        "make-up day."
    )
    return [
        Row("4wh add_working_time vs pandas CBH (exact)", t_add, t_exact, "≥ 50×", 50.0),
        Row("4wh deadline(t, '4wh') vs pandas CBH (exact)", t_deadline, t_exact, "≥ 50×", 50.0),
        Row("4wh add_working_time vs pandas CBH (Mon-Fri)", t_add, t_usual, "≥ 50×", 50.0),
    ]


def two_overlays(cal: WorkCalendar) -> WorkCalendar:
    """``cal`` with a team's closures and a region's extra days and half days."""
    closures = [f"{y}-12-24..{y}-12-31" for y in range(2001, 2027)]
    half_days = {f"{y}-02-0{d}": "09:00-12:00" for y in range(2001, 2027) for d in (1, 2)}
    return cal.with_overlay(name="team", closed=closures).with_overlay(
        name="region", open=[f"{y}-07-04" for y in range(2001, 2027)], hours=half_days
    )


def overlays(settings: Settings, rng: random.Random, found: Findings) -> list[Row]:
    """The official calendar with two overlays against the plain official calendar."""
    plain = WorkCalendar.china(business_hours=HOURS)
    ours = two_overlays(plain)
    near = spread_dates(rng, dt.date(2024, 1, 1), dt.date(2025, 10, 31), settings.dates)
    far = spread_dates(rng, dt.date(2001, 1, 1), dt.date(2010, 12, 31), settings.far_dates * 4)
    instants = spread_instants(rng, dt.date(2024, 1, 1), dt.date(2026, 11, 30), settings.instants)

    def stepped(day: dt.date, n: int) -> dt.date:
        while n:
            day += dt.timedelta(days=1)
            n -= ours.is_working_day(day)
        return day

    for d in near[:50]:
        check(ours.add_working_days(d, 7) == stepped(d, 7), f"overlay add 7 wd from {d}")
    differ = sum(ours.add_working_days(d, 7) != plain.add_working_days(d, 7) for d in near)
    found.checks.append(
        f"add_working_days with two overlays == counting day by day: {min(50, len(near))} "
        f"dates, n=7 ({differ} of {len(near)} answers differ from the plain calendar's)"
    )

    def batch(cal: WorkCalendar, starts: list[dt.date], n: int) -> Callable[[], None]:
        def run() -> None:
            add = cal.add_working_days
            for d in starts:
                add(d, n)

        return run

    def hours_batch(cal: WorkCalendar) -> Callable[[], None]:
        def run() -> None:
            deadline = cal.deadline
            for i in instants:
                deadline(i, "4wh")

        return run

    rounds, least = settings.rounds, settings.min_round
    rows = []
    for label, starts, n in (("7 wd", near, 7), ("2500 wd", far, 2500)):
        t_ours, t_plain = per_call(
            [(batch(ours, starts, n), len(starts)), (batch(plain, starts, n), len(starts))],
            rounds,
            least,
        )
        rows.append(Row(f"{label}: two overlays vs plain", t_ours, t_plain, "≤ 1.2×", 1 / 1.2))
    t_ours, t_plain = per_call(
        [(hours_batch(ours), len(instants)), (hours_batch(plain), len(instants))], rounds, least
    )
    rows.append(Row("4wh deadline: two overlays vs plain", t_ours, t_plain, "≤ 1.2×", 1 / 1.2))
    at_one, at_far = per_call(
        [(batch(ours, far, 1), len(far)), (batch(ours, far, 2500), len(far))], rounds, least
    )
    rows.append(Row("flat in n with overlays: 2500 wd ÷ 1 wd", at_one, at_far, "≤ 1.5×", None, 1.5))
    found.log(f"  overlays: 7 wd {rows[0].ours_us:.2f} µs vs plain {rows[0].baseline_us:.2f} µs")
    found.notes.append(
        "overlays: China with business hours 09:00-12:00,13:30-18:00, plus a team overlay "
        "(24-31 December closed, 2001-2026) and a region overlay (4 July worked, half days "
        "on 1-2 February); the ratio column is plain / overlaid, so at least 0.83 means the "
        "overlays cost at most 1.2×."
    )
    return rows


def vectorised(settings: Settings, rng: random.Random, found: Findings) -> list[Row]:
    """add 7 working days: numpy busday_offset, scalar and over an array."""
    ours = WorkCalendar.china()
    n = 7
    starts = spread_dates(rng, dt.date(2001, 1, 15), dt.date(2026, 11, 30), settings.array)
    every, weekdays, _ = days_off(ours, dt.date(2001, 1, 1), dt.date(2026, 12, 31))
    exact = np.busdaycalendar(weekmask="1111111", holidays=np.array(every, dtype="datetime64[D]"))
    usual = np.busdaycalendar(
        weekmask="1111100", holidays=np.array(weekdays, dtype="datetime64[D]")
    )
    array = np.array(starts, dtype="datetime64[D]")
    scalars = list(array)  # numpy's own scalars, so numpy is not charged for converting

    mine = np.array([ours.add_working_days(d, n) for d in starts], dtype="datetime64[D]")
    theirs = np.busday_offset(array, n, roll="backward", busdaycal=exact)
    check(bool((mine == theirs).all()), "numpy busday_offset (exact form) disagrees")
    one = [np.busday_offset(s, n, roll="backward", busdaycal=exact) for s in scalars]
    check(bool((np.array(one) == mine).all()), "numpy scalar busday_offset disagrees")
    found.checks.append(
        f"add_working_days == numpy busday_offset (exact form), array and scalar: "
        f"{len(starts)} dates, n={n}"
    )
    backward = int((np.busday_offset(array, n, roll="backward", busdaycal=usual) != mine).sum())
    forward = int((np.busday_offset(array, n, roll="forward", busdaycal=usual) != mine).sum())

    def ours_batch() -> None:
        add = ours.add_working_days
        for d in starts:
            add(d, n)

    def scalar_batch() -> None:
        offset = np.busday_offset
        for s in scalars:
            offset(s, n, roll="backward", busdaycal=exact)

    def array_batch() -> None:
        np.busday_offset(array, n, roll="backward", busdaycal=exact)

    count, rounds, least = len(starts), settings.rounds, settings.min_round
    batches = [ours_batch, scalar_batch, array_batch]
    t_ours, t_scalar, t_array = per_call([(b, count) for b in batches], rounds, least)
    found.log(f"  numpy: ours {t_ours:.2f} µs, scalar {t_scalar:.2f} µs, array {t_array:.4f} µs")
    found.notes.append(
        f"numpy: {count} start dates 2001-2026, n = 7; ours is a Python loop of scalar calls "
        "over the same dates. numpy busday_offset cannot express make-up days either: with "
        "weekmask='1111100' and the non-working weekdays as holidays, "
        f"{backward} of {count} answers differ with roll='backward' (make-up days) and "
        f"{forward} with roll='forward' (which also counts a start on a day off as day 0 "
        "instead of not counting the start day). The exact form is timed: weekmask="
        "'1111111', every day off a holiday, roll='backward', a prebuilt busdaycalendar "
        "(passing holidays= on each call would rebuild it every time)."
    )
    return [
        Row("7 wd scalar vs numpy busday_offset scalar", t_ours, t_scalar),
        Row("7 wd Python loop vs numpy busday_offset array, per element", t_ours, t_array),
    ]


# --- report -------------------------------------------------------------------------


def machine() -> list[str]:
    """Where and with what the benchmark ran."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = ", ".join(
        f"{name} {version(name)}" for name in ("techsvc_flow", "holidays", "pandas", "numpy")
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return [
        f"machine: {platform.platform()}; {cpu}; {os.cpu_count()} CPUs; load average {load}",
        f"python: {platform.python_implementation()} {platform.python_version()}",
        f"versions: {versions}",
    ]


def _fmt_us(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def _fmt_ratio(value: float) -> str:
    return f"{value:,.0f}×" if value >= 100 else f"{value:.2f}×"


def table(rows: Sequence[Row], *, markdown: bool) -> str:
    """The rows as a Markdown table or as aligned text."""
    header = ["case", "ours (µs/call)", "baseline (µs/call)", "ratio (baseline/ours)"]
    header += ["target", "met?"]
    met = {True: "yes", False: "NO", None: "—"}
    body = [
        [
            r.case,
            _fmt_us(r.ours_us),
            _fmt_us(r.baseline_us),
            _fmt_ratio(r.ratio),
            r.target,
            met[r.met],
        ]
        for r in rows
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |"]
        lines.append("| " + " | ".join(["---"] + ["---:"] * 3 + ["---", "---"]) + " |")
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    right = {1, 2, 3}

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, body)])


def run(settings: Settings, *, markdown: bool = False, out: Callable[[str], None] = print) -> int:
    """Run every case and print the report; returns the number of targets not met."""
    started = time.perf_counter()
    for line in machine():
        out(line)
    out("")
    rng = random.Random(SEED)
    found = Findings()
    found.log("working days vs holidays ...")
    rows = working_days(settings, rng, found)
    found.log("working hours vs pandas ...")
    rows += working_hours(settings, rng, found)
    found.log("vectorised baseline (numpy) ...")
    rows += vectorised(settings, rng, found)
    found.log("two overlays vs the plain official calendar ...")
    rows += overlays(settings, rng, found)

    for text in found.checks:
        out(f"answers agree: {text}")
    out("")
    out(table(rows, markdown=markdown))
    out("")
    for note in found.notes:
        out(f"- {note}")
    missed = [r.case for r in rows if r.met is False]
    targets = [r for r in rows if r.met is not None]
    out(
        f"- targets met: {len(targets) - len(missed)} of {len(targets)}"
        + (f"; not met: {'; '.join(missed)}" if missed else "")
    )
    out(
        f"- timing: per call, best of {settings.rounds} rounds (holidays at 2500 wd: "
        f"{settings.slow_rounds}) of at least {settings.min_round} s each, gc off; "
        f"whole run {time.perf_counter() - started:.0f} s"
    )
    return len(missed)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point: ``python -m benchmarks.calendar [--quick] [--markdown]``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.calendar",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny repetitions")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        # every input lies inside the official horizon: a provisional answer would be a bug
        warnings.simplefilter("error", ProvisionalWarning)
        run(QUICK if args.quick else Settings(), markdown=args.markdown)
    return 0  # targets are reported, not enforced: a slow machine is not a failure


if __name__ == "__main__":
    sys.exit(main())
