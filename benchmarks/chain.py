"""Chain benchmark: what a keyed chain (HMAC-SHA256 under a :class:`ChainKey`) costs per
fire against the default unkeyed one (SHA-256), on a MemoryStore and on SQLite.

Each round starts ``--cases`` cases of an 8-state process and fires ``--fires`` triggers
over them (each fire: load the case, check, chain and seal one entry, commit); the best
of ``--repeat`` rounds is reported as fires per second, unkeyed and keyed side by side,
and the time ``verify_history`` takes per entry. Run: ``python -m benchmarks.chain``
(``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import tempfile
import time
from typing import Any

STATES = [f"s{i}" for i in range(8)]
EDGES = [(f"t{i}", STATES[i], STATES[i + 1]) for i in range(7)] + [("reset", "s7", "s0")]
NEXT = {src: trig for trig, src, _ in EDGES}
AT = dt.datetime(2025, 9, 30, 9, 0, tzinfo=dt.UTC)
SECRET = b"benchmark-key-0123456789abcdef!!"


def _round(store_kind: str, keyed: bool, cases: int, fires: int) -> tuple[float, float]:
    """Fires per second, and microseconds per entry verified."""
    from techsvc_flow import MemoryStore, ProcessDefinition, State, Transition, Workflow
    from techsvc_flow.case import ChainKey

    process = ProcessDefinition(
        name="bench",
        version=1,
        states=[State(s, initial=s == "s0") for s in STATES],
        transitions=[Transition(t, source=a, dest=b) for t, a, b in EDGES],
        require_final=False,
    )
    with tempfile.TemporaryDirectory(prefix="chain-bench-") as tmp:
        store: Any
        if store_kind == "memory":
            store = MemoryStore()
        else:
            from techsvc_flow.sql import SqlStore

            store = SqlStore(f"sqlite:///{tmp}/flow.db", engine_options={"synchronous": "OFF"})
        key = ChainKey(SECRET) if keyed else None
        wf = Workflow(store, processes=[process], dispatch="manual", chain_key=key)
        ids = [f"c{i}" for i in range(cases)]
        for cid in ids:
            wf.start("bench", case_id=cid, at=AT)
        load, fire = store.load, wf.fire
        start = time.perf_counter()
        for j in range(fires):
            cid = ids[j % cases]
            fire(cid, NEXT[load(cid).state], at=AT)
        rate = fires / (time.perf_counter() - start)
        start = time.perf_counter()
        entries = sum(wf.verify_history(cid).entries for cid in ids)
        verify_us = (time.perf_counter() - start) / entries * 1e6
        store.close()
    return rate, verify_us


def main(argv: list[str] | None = None) -> None:
    """Print fires/s unkeyed vs keyed, per store."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--fires", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.cases, args.fires, args.repeat = 20, 400, 1
    print(f"python {sys.version.split()[0]} on {platform.machine()}; best of {args.repeat}")
    print(f"{'store':8} {'unkeyed fires/s':>16} {'keyed fires/s':>14} {'µs/fire added':>14}"
          f" {'verify µs/entry unkeyed/keyed':>31}")  # fmt: skip
    for kind in ("memory", "sqlite"):
        fires = args.fires if kind == "memory" else max(args.fires // 5, 1)
        best: dict[bool, tuple[float, float]] = {}
        for _ in range(args.repeat):
            for keyed in (False, True):  # interleaved: drift hits both alike
                rate, verify = _round(kind, keyed, args.cases, fires)
                old = best.get(keyed)
                best[keyed] = (max(rate, old[0]), min(verify, old[1])) if old else (rate, verify)
        plain, keyed_ = best[False], best[True]
        cost = (1 / keyed_[0] - 1 / plain[0]) * 1e6
        print(
            f"{kind:8} {plain[0]:16,.0f} {keyed_[0]:14,.0f} {cost:+14.1f}"
            f" {plain[1]:15.1f} / {keyed_[1]:.1f}"
        )


if __name__ == "__main__":
    main()
