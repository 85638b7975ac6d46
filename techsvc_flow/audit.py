"""Checking a case against its audit trail, and checkpoints of every case's head.

The hash chain (:mod:`techsvc_flow.case`) proves that the entries were not edited one by
one. Two more checks make it hold at the edges:

- :func:`case_problems`: the case as stored (its state, version, data, counts, SLA clocks,
  assignment, creation and last change, the process version it runs on) must be what
  its history says, so that a report reading the case reads what the chain covers.
- :func:`make_checkpoint` / :func:`checkpoint_problems`: the heads of all cases, exported
  and sealed (with the chain key when there is one), so that a history cut below or
  rewritten at or below a checkpointed entry is found later, even when the whole chain
  was recomputed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .case import Assignment, Case, ChainKey, HistoryEntry
from .errors import InvalidValue

__all__ = [
    "CHECKPOINT_FORMAT",
    "case_problems",
    "checkpoint_heads",
    "checkpoint_problems",
    "make_checkpoint",
]

#: The ``format`` of a checkpoint made by :func:`make_checkpoint`.
CHECKPOINT_FORMAT = "techsvc_flow.checkpoint/1"

_CLOCK_KINDS = {"sla.started": "start", "sla.paused": "pause", "sla.resumed": "resume",
                "sla.stopped": "stop"}  # fmt: skip
_MARK_KINDS = ("sla.warning", "sla.breach")


def case_problems(
    case: Case, entries: Sequence[HistoryEntry], definition_hash: str | None
) -> list[str]:
    """What in ``case`` disagrees with its history ``entries`` (an intact chain).

    Args:
        case: the case as stored.
        entries: its history, oldest first.
        definition_hash: the hash of the definition ``case.process`` and
            ``case.process_version`` name (``None``: not registered, so not checked).
    """
    if not entries:
        return ["case row: the case has no history"]
    problems: list[str] = []

    def check(column: str, stored: object, derived: object) -> None:
        if stored != derived:
            problems.append(f"case row: {column} is {stored!r}, its history says {derived!r}")

    check("seq", case.seq, entries[-1].seq)
    check("version", case.version, entries[-1].version)
    check("created_at", case.created_at, entries[0].at)
    moved = [e for e in entries if e.dest is not None]
    check("state", case.state, moved[-1].dest if moved else None)
    check("updated_at", case.updated_at, entries[-1].at)  # the instant of the last entry
    data: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for e in entries:
        if e.kind in ("start", "fire"):
            data.update(e.payload)
        if e.kind == "fire" and e.trigger is not None:
            counts[e.trigger] = counts.get(e.trigger, 0) + 1
    check("data", dict(case.data), data)
    check("counts", dict(case.counts), counts)
    check("assignment", case.assignment, _assignment(entries))
    for name, clock in case.clocks.items():
        events: list[tuple[str, dt.datetime]] = []
        fired: list[str] = []
        for e in entries:
            if e.payload.get("sla") != name:
                continue
            if e.kind == "sla.started":
                events, fired = [], []
            if e.kind in _CLOCK_KINDS:
                events.append((_CLOCK_KINDS[e.kind], e.at))
            elif e.kind in _MARK_KINDS:
                fired.append(str(e.payload.get("mark")))
        check(f"clocks[{name!r}].events", [(c.kind, c.at) for c in clock.events], events)
        check(f"clocks[{name!r}].fired", list(clock.fired), fired)
    if definition_hash is not None:
        for e in entries:
            if e.definition_hash != definition_hash:
                problems.append(
                    f"seq {e.seq}: recorded under another definition than the case's "
                    f"process {case.process!r} version {case.process_version}"
                )
                break
    return problems


def _assignment(entries: Sequence[HistoryEntry]) -> Assignment | None:
    """Who is to act, as the history says: a move to another state clears it, then sets
    it when the move's entry records the automatic assignment (``assigned``); a
    ``work.*`` entry that records an ``assignment`` sets it."""
    found: Assignment | None = None
    for e in entries:
        if e.dest is not None and e.dest != e.source:
            found = None
            if e.assigned is not None:
                found = Assignment.from_dict(e.assigned["assignment"])
        elif e.kind.startswith("work.") and "assignment" in e.payload:
            found = Assignment.from_dict(e.payload["assignment"])
    return found


def _checkpoint_text(at: str, key_id: str | None, cases: Mapping[str, Any]) -> bytes:
    content = {"format": CHECKPOINT_FORMAT, "at": at, "key_id": key_id, "cases": cases}
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass"
    )


def _checkpoint_seal(text: bytes, key: ChainKey | None) -> str:
    if key is None:
        return hashlib.sha256(text).hexdigest()
    return hmac.digest(key.secret, text, "sha256").hex()


def make_checkpoint(
    cases: Iterable[Case], at: dt.datetime, key: ChainKey | None = None
) -> dict[str, Any]:
    """A checkpoint of ``cases``' heads, taken at ``at``: a JSON-serialisable dict.

    ``cases`` maps each case id to ``{"seq", "head", "at"}`` (``at``: when the case last
    changed); ``seal`` is SHA-256 over the rest, or HMAC-SHA256 with ``key`` (whose id is
    recorded as ``key_id``). Keep it outside the database.
    """
    heads = {c.id: {"seq": c.seq, "head": c.head, "at": c.updated_at.isoformat()} for c in cases}
    key_id = None if key is None else key.id
    text = _checkpoint_text(at.isoformat(), key_id, heads)
    return {
        "format": CHECKPOINT_FORMAT,
        "at": at.isoformat(),
        "key_id": key_id,
        "cases": heads,
        "seal": _checkpoint_seal(text, key),
    }


def checkpoint_heads(
    checkpoint: Mapping[str, Any], keys: Mapping[str, ChainKey]
) -> dict[str, tuple[int, str]]:
    """The heads of a checkpoint made by :func:`make_checkpoint`, by case id, once its
    seal is checked.

    Raises:
        InvalidValue: it is not a checkpoint, its seal does not match (it was changed),
            or it was sealed with a key not in ``keys``.
    """
    try:
        if checkpoint.get("format") != CHECKPOINT_FORMAT:
            raise InvalidValue("checkpoint.format", f"must be {CHECKPOINT_FORMAT!r}")
        key_id = checkpoint["key_id"]
        key = None if key_id is None else keys.get(key_id)
        if key_id is not None and key is None:
            raise InvalidValue(
                "checkpoint.key_id", f"sealed with key {key_id!r}, which was not given"
            )
        cases = checkpoint["cases"]
        text = _checkpoint_text(checkpoint["at"], key_id, cases)
        if not hmac.compare_digest(_checkpoint_seal(text, key), str(checkpoint["seal"])):
            raise InvalidValue("checkpoint.seal", "does not match: the checkpoint was changed")
        return {case_id: (int(h["seq"]), str(h["head"])) for case_id, h in cases.items()}
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        if isinstance(exc, InvalidValue):
            raise
        raise InvalidValue("checkpoint", f"is not a checkpoint ({type(exc).__name__})") from exc


def checkpoint_problems(entries: Sequence[HistoryEntry], seq: int, head: str) -> list[str]:
    """What in ``entries`` contradicts a checkpoint that saw the case at ``seq``/``head``."""
    last = max((e.seq for e in entries), default=0)
    if last < seq:
        return [
            f"seq {seq}: the checkpoint saw {seq} entries, the history ends at seq {last} "
            "(cut below the checkpoint)"
        ]
    if not any(e.seq == seq and e.hash == head for e in entries):
        return [f"seq {seq}: not the entry the checkpoint saw (history rewritten at or below it)"]
    return []
