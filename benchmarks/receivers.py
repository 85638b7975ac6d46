"""Receiver benchmark: a hanging webhook must not slow down ``start`` + ``fire``.

For each store (MemoryStore, SQLite file), one case is started and fired per round,
with no subscription, then with a ``Webhook`` to a loopback port that accepts
connections and never answers. Prints the median and p95 of ``start`` + ``fire`` per
side and their ratio (target: 1 within noise). Before 0.2 a webhook was called inside
``start``/``fire`` right after the commit, so each round took the webhook's timeout once
per event; now remote receivers are delivered by ``dispatch()`` only.

Run: ``python -m benchmarks.receivers`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import socket
import statistics
import tempfile
import time
from collections.abc import Iterator

from techsvc_flow import (
    Actor,
    MemoryStore,
    ProcessDefinition,
    State,
    SteppedClock,
    Store,
    Transition,
    WorkCalendar,
    Workflow,
)
from techsvc_flow.notifications import Webhook

AT = dt.datetime(2025, 9, 30, 9, 0, tzinfo=dt.UTC)
ANN = Actor("ann", {"agent"})
PROCESS = ProcessDefinition(
    name="ticket",
    version=1,
    states=[State("open", initial=True), State("done", final=True)],
    transitions=[Transition("close", source="open", dest="done", roles=("agent",))],
)


@contextlib.contextmanager
def _store(kind: str) -> Iterator[Store]:
    if kind == "memory":
        yield MemoryStore()
        return
    from techsvc_flow.sql import SqlStore

    with tempfile.TemporaryDirectory(prefix="techsvc-bench-") as tmp:
        store = SqlStore(f"sqlite:///{tmp}/flow.db")
        try:
            yield store
        finally:
            store.close()


def _rounds(store: Store, url: str | None, n: int, tag: str) -> list[float]:
    """Seconds per ``start`` + ``fire`` over ``n`` new cases."""
    wf = Workflow(store, calendar=WorkCalendar.china(), clock=SteppedClock(AT), processes=[PROCESS])
    if url is not None:
        wf.on("*", Webhook(url, secret="bench-secret", timeout=2.0), name="hanging")
    out = []
    for i in range(n):
        began = time.perf_counter()
        wf.start("ticket", case_id=f"{tag}-{i}")
        wf.fire(f"{tag}-{i}", "close", actor=ANN)
        out.append(time.perf_counter() - began)
    return out


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a few rounds only")
    args = parser.parse_args(argv)
    n = 40 if args.quick else 400
    for proxy in ("http_proxy", "https_proxy", "all_proxy"):  # loopback, directly
        os.environ.pop(proxy, None)
        os.environ.pop(proxy.upper(), None)
    print(f"start + fire, {n} cases per side, ms")
    print("| store | receivers | median | p95 |")
    print("| --- | --- | ---: | ---: |")
    with socket.create_server(("127.0.0.1", 0), backlog=512) as hanging:
        url = f"http://127.0.0.1:{hanging.getsockname()[1]}/hook"
        for kind in ("memory", "sqlite"):
            results = {}
            for side, target in (("none", None), ("hanging webhook", url)):
                with _store(kind) as store:
                    _rounds(store, target, max(n // 10, 5), "warm")  # warm-up
                    results[side] = _rounds(store, target, n, "case")
            for side, times in results.items():
                print(
                    f"| {kind} | {side} | {statistics.median(times) * 1e3:.3f}"
                    f" | {_p95(times) * 1e3:.3f} |"
                )
            ratio = statistics.median(results["hanging webhook"]) / statistics.median(
                results["none"]
            )
            print(f"| {kind} | ratio of medians (hanging / none) | {ratio:.2f} | |")


if __name__ == "__main__":
    main()
