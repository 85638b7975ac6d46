"""Engine benchmark: load a case + fire a trigger + write the audit entry, in memory.

Side by side in one run, on the same 8-state process:

- techsvc_flow: ``Workflow.fire`` on a ``MemoryStore`` (the case is loaded from the
  store; the history entry is hash-chained; outbox events are written);
- ``transitions`` with one ``Machine`` per case (the usual way to run many objects:
  build the machine for the loaded object, fire, store the state and an audit row);
- python-statemachine: one ``StateMachine`` instance per loaded case.

Then memory per live case, and the cost of a fire as the number of cases grows (1,000,
10,000, 100,000 and ``--cases`` live cases). Run: ``python -m benchmarks.engine``
(100,000 cases at most, a few minutes), ``python -m benchmarks.engine --cases 1000000``
(flat to and memory at 1,000,000 live cases: about 20 minutes, about 10 GB), ``--quick``
for a smoke run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

STATES = [f"s{i}" for i in range(8)]
EDGES = [(f"t{i}", STATES[i], STATES[i + 1]) for i in range(7)] + [("reset", "s7", "s0")]
NEXT = {src: trig for trig, src, _ in EDGES}
AT = dt.datetime(2025, 9, 30, 9, 0, tzinfo=dt.UTC)


def _ours(n_cases: int) -> tuple[Callable[[int], None], Any]:
    from techsvc_flow import (
        MemoryStore,
        ProcessDefinition,
        State,
        SteppedClock,
        Transition,
        WorkCalendar,
        Workflow,
    )

    process = ProcessDefinition(
        name="bench",
        version=1,
        states=[State(s, initial=s == "s0") for s in STATES],
        transitions=[Transition(t, source=a, dest=b) for t, a, b in EDGES],
        require_final=False,
    )
    store = MemoryStore()
    wf = Workflow(store, calendar=WorkCalendar.china(), clock=SteppedClock(AT), processes=[process])
    for i in range(n_cases):
        wf.start("bench", case_id=f"c{i}", at=AT)
    ids = [f"c{i}" for i in range(n_cases)]

    def run(k: int) -> None:
        load, fire = store.load, wf.fire
        for j in range(k):
            cid = ids[j % n_cases]
            fire(cid, NEXT[load(cid).state], at=AT)

    return run, wf


def _transitions(n_cases: int) -> Callable[[int], None]:
    from transitions import Machine

    rows = {f"c{i}": "s0" for i in range(n_cases)}
    ids = list(rows)
    audit: list[tuple[str, str, str, str, dt.datetime]] = []
    spec = [{"trigger": t, "source": a, "dest": b} for t, a, b in EDGES]

    class Obj:
        state: str

    def run(k: int) -> None:
        for j in range(k):
            cid = ids[j % n_cases]
            obj = Obj()
            Machine(model=obj, states=STATES, transitions=spec, initial=rows[cid],
                    auto_transitions=False)  # fmt: skip
            source = obj.state
            trigger = NEXT[source]
            obj.trigger(trigger)  # type: ignore[attr-defined]
            rows[cid] = obj.state
            audit.append((cid, trigger, source, obj.state, AT))

    return run


def _statemachine(n_cases: int) -> Callable[[int], None]:
    from statemachine import State, StateMachine

    attrs: dict[str, Any] = {s: State(initial=s == "s0") for s in STATES}
    for t, a, b in EDGES:
        attrs[t] = attrs[a].to(attrs[b])
    machine_cls = type("Bench", (StateMachine,), attrs)
    rows = {f"c{i}": "s0" for i in range(n_cases)}
    ids = list(rows)
    audit: list[tuple[str, str, str, str, dt.datetime]] = []

    class Obj:
        def __init__(self, state: str) -> None:
            self.state = state

    def run(k: int) -> None:
        for j in range(k):
            cid = ids[j % n_cases]
            obj = Obj(rows[cid])
            sm = machine_cls(model=obj, start_value=obj.state)
            source = obj.state
            trigger = NEXT[source]
            sm.send(trigger)
            rows[cid] = obj.state
            audit.append((cid, trigger, source, obj.state, AT))

    return run


def _time(run: Callable[[int], None], k: int, rounds: int) -> float:
    """Best-of-rounds seconds per operation."""
    run(max(k // 10, 1))  # warm up
    best = []
    for _ in range(rounds):
        gc.collect()
        t0 = time.perf_counter()
        run(k)
        best.append((time.perf_counter() - t0) / k)
    return min(best)


def _memory_per_case(n_cases: int) -> tuple[float, float]:
    """Bytes per live case: (right after start + one fire, after the outbox is drained)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    run, wf = _ours(n_cases)
    run(n_cases)
    gc.collect()
    loaded = tracemalloc.get_traced_memory()[0] - before
    wf.on("*", lambda event: None, name="sink")
    while wf.dispatch(AT, limit=10_000):
        pass
    gc.collect()
    drained = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return loaded / n_cases, drained / n_cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--cases", type=int, default=100_000, help="live cases of the largest size measured"
    )
    args = parser.parse_args(argv)
    k, rounds, n_cases, mem_cases = (200, 1, 200, 2_000) if args.quick else (
        20_000, 5, 10_000, args.cases)  # fmt: skip
    k_slow = max(k // 10, 50)

    print(f"machine: {platform.platform()}, {platform.processor() or 'cpu'}, "
          f"python {sys.version.split()[0]}")  # fmt: skip
    names = ("techsvc_flow", "transitions", "python-statemachine")
    print("versions: " + ", ".join(f"{p} {version(p)}" for p in names))

    ours_run, _ = _ours(n_cases)
    ours = _time(ours_run, k, rounds)
    trans = _time(_transitions(n_cases), k_slow, rounds)
    psm = _time(_statemachine(n_cases), k_slow, rounds)
    rows = [
        ("techsvc_flow Workflow.fire (MemoryStore)", ours, None, ""),
        ("transitions, one Machine per case", trans, trans / ours, "≥ 5×"),
        ("python-statemachine, one instance per case", psm, psm / ours, "≥ 10×"),
    ]
    bar = "|" if args.markdown else " "
    print(f"\nload + fire + audit entry, {n_cases:,} live cases, best of {rounds}:")
    if args.markdown:
        print("| implementation | µs / fire | ours is faster by | target | met |")
        print("|---|---|---|---|---|")
    for name, sec, ratio, target in rows:
        ratio_text = f"{ratio:.1f}×" if ratio else "—"
        met = "" if ratio is None else ("yes" if ratio >= float(target[2:-1]) else "NO")
        print(f"{bar} {name:<44}{bar} {sec * 1e6:8.1f} {bar} {ratio_text:>7} {bar} "
              f"{target or '—':>6} {bar} {met or '—':>3} {bar}".strip())  # fmt: skip

    print("\nfire cost as the number of live cases grows:")
    sizes = [1_000, 10_000, 100_000] if not args.quick else [100, 1_000]
    sizes = sorted({*sizes, mem_cases})
    costs = []
    for size in sizes:
        run, _ = _ours(size)
        costs.append(_time(run, k, max(rounds // 2, 1)))
        print(f"{bar} {size:>8,} cases {bar} {costs[-1] * 1e6:8.1f} µs / fire {bar}".strip())
    spread = max(costs) / min(costs)
    print(f"largest / smallest: {spread:.2f} (flat means close to 1)")

    loaded, drained = _memory_per_case(mem_cases)
    print(f"\nmemory per live case ({mem_cases:,} cases, each started and fired once):")
    print(f"{bar} with undelivered outbox rows {bar} {loaded:8.0f} B {bar}".strip())
    print(f"{bar} outbox delivered             {bar} {drained:8.0f} B {bar} target ≤ 2048 B "
          f"{bar} {'yes' if drained <= 2048 else 'NO'} {bar}".strip())  # fmt: skip
    print(f"median check: {statistics.median(costs) * 1e6:.1f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
