"""Cases and their history (the audit trail, 可追溯).

A :class:`Case` is an immutable record; firing a trigger returns a new one. Every
start, fire, refusal, SLA event and timer firing is a :class:`HistoryEntry`. Entries are
hash-chained: each carries the hash of the one before, so an edited or deleted entry
is detected by :func:`verify_chain`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ._codec import canonical
from .incident import Incident
from .sla import SlaClock

__all__ = ["Actor", "Case", "ChainCheck", "HistoryEntry", "verify_chain"]

GENESIS = "0" * 64


def _roles(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):
        return frozenset((values,))
    return frozenset(values)


@attrs.frozen
class Actor:
    """Who fires a trigger: an id and the roles they hold."""

    id: str
    roles: frozenset[str] = attrs.field(factory=frozenset, converter=_roles)

    def __str__(self) -> str:
        return self.id


@attrs.frozen
class Case:
    """One running (or finished) process instance.

    Attributes:
        id: the case id.
        process, process_version: the definition the case runs on.
        state: the current state.
        data: the case data (fields collected so far).
        version: counts accepted changes; use it as ``expected_version``.
        seq: the number of history entries (refusals included).
        head: the hash of the last history entry.
        created_at: when the case was started.
        updated_at: the instant of its last history entry (a later write may not be
            dated before it).
        entered_at: when the case entered its current state.
        counts: how many times each trigger has been fired.
        clocks: the SLA clocks, by SLA name.
        incidents: the open incidents of the case (automatic triggers owed).
    """

    id: str
    process: str
    process_version: int
    state: str
    data: Mapping[str, Any]
    version: int
    seq: int
    head: str
    created_at: dt.datetime
    updated_at: dt.datetime
    entered_at: dt.datetime
    counts: Mapping[str, int] = attrs.field(factory=dict)
    clocks: Mapping[str, SlaClock] = attrs.field(factory=dict)
    incidents: tuple[Incident, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of the case (instants and decimals kept as objects); the key
        ``incidents`` only when there are open incidents."""
        out: dict[str, Any] = {
            "id": self.id,
            "process": self.process,
            "process_version": self.process_version,
            "state": self.state,
            "data": dict(self.data),
            "version": self.version,
            "seq": self.seq,
            "head": self.head,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "entered_at": self.entered_at,
            "counts": dict(self.counts),
            "clocks": {
                name: {
                    "duration": str(c.duration),
                    "events": [[e.kind, e.at] for e in c.events],
                    "fired": list(c.fired),
                }
                for name, c in self.clocks.items()
            },
        }
        if self.incidents:
            out["incidents"] = [i.to_dict() for i in self.incidents]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Case:
        """Read back :meth:`to_dict`."""
        from .sla import ClockEvent

        clocks = {
            name: SlaClock(
                name,
                c["duration"],
                [ClockEvent(kind, at) for kind, at in c["events"]],
                tuple(c["fired"]),
            )
            for name, c in data["clocks"].items()
        }
        return cls(
            id=data["id"],
            process=data["process"],
            process_version=data["process_version"],
            state=data["state"],
            data=dict(data["data"]),
            version=data["version"],
            seq=data["seq"],
            head=data["head"],
            created_at=data["created_at"],
            updated_at=data["updated_at"],
            entered_at=data["entered_at"],
            counts=dict(data["counts"]),
            clocks=clocks,
            incidents=tuple(Incident.from_dict(i) for i in data.get("incidents", ())),
        )


@attrs.frozen
class HistoryEntry:
    """One entry of a case's audit trail.

    Attributes:
        case_id: the case.
        seq: position in the chain, from 1.
        kind: ``start``, ``fire``, ``refused``, ``sla.started``, ``sla.paused``,
            ``sla.resumed``, ``sla.stopped``, ``sla.warning`` or ``sla.breach``.
        at: when it happened.
        actor: who did it (``None`` for the system).
        trigger: the trigger fired (or attempted).
        source, dest: the states before and after.
        payload: what came with it (for refusals: the reasons).
        definition_hash: the content hash of the process definition in force.
        version: the case version after this entry.
        prev: the hash of the entry before (all zeros for the first).
        hash: SHA-256 over this entry's content and ``prev``.
    """

    case_id: str
    seq: int
    kind: str
    at: dt.datetime
    actor: str | None
    trigger: str | None
    source: str | None
    dest: str | None
    payload: Mapping[str, Any]
    definition_hash: str
    version: int
    prev: str
    hash: str = ""

    def content(self) -> dict[str, Any]:
        """The hashed content (everything but :attr:`hash`)."""
        return {
            "case_id": self.case_id,
            "seq": self.seq,
            "kind": self.kind,
            "at": self.at,
            "actor": self.actor,
            "trigger": self.trigger,
            "source": self.source,
            "dest": self.dest,
            "payload": dict(self.payload),
            "definition_hash": self.definition_hash,
            "version": self.version,
            "prev": self.prev,
        }

    def computed_hash(self) -> str:
        """The hash this entry's content should have."""
        return digest(
            self.case_id, self.seq, self.kind, self.at, self.actor, self.trigger, self.source,
            self.dest, self.payload, self.definition_hash, self.version, self.prev,
        )  # fmt: skip

    def sealed(self) -> HistoryEntry:
        """This entry with its hash set."""
        return attrs.evolve(self, hash=self.computed_hash())


_HEAD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def digest(
    case_id: str,
    seq: int,
    kind: str,
    at: dt.datetime,
    actor: str | None,
    trigger: str | None,
    source: str | None,
    dest: str | None,
    payload: Mapping[str, Any],
    definition_hash: str,
    version: int,
    prev: str,
) -> str:
    """SHA-256 (hex) of an entry: the canonical JSON of its fields in this order, the
    instant in UTC, followed by the canonical JSON of the payload (sorted keys)."""
    head = _HEAD.encode(
        [case_id, seq, kind, at.astimezone(dt.UTC).isoformat(), actor, trigger, source, dest,
         definition_hash, version, prev]
    )  # fmt: skip
    body = canonical(payload) if payload else "{}"
    # surrogatepass: any Python string hashes (a store may still refuse to keep it)
    return hashlib.sha256((head + body).encode("utf-8", "surrogatepass")).hexdigest()


@attrs.frozen
class ChainCheck:
    """The result of verifying a history: truthy when intact.

    Attributes:
        ok: every entry is unchanged, in place, and none is missing.
        entries: how many entries were checked.
        problems: one line per fault found (seq and what is wrong).
    """

    ok: bool
    entries: int
    problems: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.ok


def verify_chain(entries: Sequence[HistoryEntry], *, head: str | None = None) -> ChainCheck:
    """Check that ``entries`` form an unbroken, unedited chain (ending at ``head``)."""
    problems: list[str] = []
    prev = GENESIS
    for position, entry in enumerate(entries, start=1):
        if entry.seq != position:
            problems.append(f"seq {position}: found entry numbered {entry.seq} (one missing?)")
        if entry.prev != prev:
            problems.append(f"seq {entry.seq}: does not follow the entry before it")
        if entry.computed_hash() != entry.hash:
            problems.append(f"seq {entry.seq}: content was changed after it was recorded")
        prev = entry.hash
    if head is not None and prev != head:
        problems.append("the last entry is not the case's latest (entries deleted at the end?)")
    return ChainCheck(not problems, len(entries), tuple(problems))


def chain(
    previous: str, seq: int, drafts: Iterable[HistoryEntry]
) -> tuple[list[HistoryEntry], str, int]:
    """Number, link and seal ``drafts`` after ``previous``; returns (entries, head, seq)."""
    sealed = []
    for d in drafts:
        seq += 1
        sealed_hash = digest(
            d.case_id, seq, d.kind, d.at, d.actor, d.trigger, d.source, d.dest, d.payload,
            d.definition_hash, d.version, previous,
        )  # fmt: skip
        sealed.append(
            HistoryEntry(
                d.case_id,
                seq,
                d.kind,
                d.at,
                d.actor,
                d.trigger,
                d.source,
                d.dest,
                d.payload,
                d.definition_hash,
                d.version,
                previous,
                sealed_hash,
            )
        )
        previous = sealed_hash
    return sealed, previous, seq
