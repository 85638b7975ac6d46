"""Cases and their history (the audit trail, 可追溯).

A :class:`Case` is an immutable record; firing a trigger returns a new one. Every
start, fire, refusal, SLA event and timer firing is a :class:`HistoryEntry`. Entries are
hash-chained: each carries the hash of the one before, so an edited or deleted entry
is detected by :func:`verify_chain`. With a :class:`ChainKey` (a secret held outside the
database) each entry is sealed with HMAC-SHA256 instead of SHA-256, so that nobody without
the key can recompute the chain after editing it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ._codec import canonical
from .confidentiality import rank
from .incident import Incident
from .sla import SlaClock

__all__ = [
    "Actor",
    "Assignment",
    "Case",
    "ChainCheck",
    "ChainKey",
    "HistoryEntry",
    "seal",
    "verify_chain",
]

GENESIS = "0" * 64


def _roles(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):
        return frozenset((values,))
    return frozenset(values)


def _clearance(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        rank(value, f"Actor.{attribute.name}")


@attrs.frozen
class Actor:
    """Who fires a trigger or reads a case: an id, the roles they hold and, for reads,
    a clearance.

    Attributes:
        id: the person (or system) acting.
        roles: the roles they hold.
        clearance: the highest classification level (:mod:`techsvc_flow.confidentiality`)
            they may read, besides what their roles grant (``Workflow(clearances=...)``);
            ``None``: only what the roles grant, ``"public"`` without one.
    """

    id: str
    roles: frozenset[str] = attrs.field(factory=frozenset, converter=_roles)
    clearance: str | None = attrs.field(default=None, validator=_clearance)

    def __str__(self) -> str:
        return self.id


@attrs.frozen
class Assignment:
    """Who is to act on a case now (not a state: claims and hand-overs change it).

    Attributes:
        assignee: the person who is to act (``None``: unclaimed).
        roles: the candidate roles: a holder of one may claim the case while unclaimed.
        delegate: acts on the assignee's behalf (委托); the assignee stays accountable.
    """

    assignee: str | None = None
    roles: tuple[str, ...] = ()
    delegate: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (``roles`` as a list)."""
        return {"assignee": self.assignee, "roles": list(self.roles), "delegate": self.delegate}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Assignment | None:
        """Read back :meth:`to_dict` (``None`` for nobody: no assignee, role or delegate)."""
        found = cls(data.get("assignee"), tuple(data.get("roles") or ()), data.get("delegate"))
        return found if found != _NOBODY else None


_NOBODY = Assignment()


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
        assignment: who is to act now (``None``: nobody is named; see
            :mod:`techsvc_flow.engine.assignment`).
        due_at: the earliest due instant of the running SLA clocks (``None``: none
            runs); set by the engine with each write, for worklists and queries.
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
    assignment: Assignment | None = None
    due_at: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of the case (instants and decimals kept as objects); the key
        ``incidents`` only when there are open incidents, ``assignment`` and ``due_at``
        only when set."""
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
                    **({} if c.goal is None else {"goal": c.goal}),
                    **({} if c.calendar is None else {"calendar": c.calendar}),
                }
                for name, c in self.clocks.items()
            },
        }
        if self.incidents:
            out["incidents"] = [i.to_dict() for i in self.incidents]
        if self.assignment is not None:
            out["assignment"] = self.assignment.to_dict()
        if self.due_at is not None:
            out["due_at"] = self.due_at
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
                c.get("goal"),
                c.get("calendar"),
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
            assignment=Assignment.from_dict(data["assignment"]) if "assignment" in data else None,
            due_at=data.get("due_at"),
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
        hash: the seal over this entry's content and ``prev``: SHA-256, or HMAC-SHA256
            with the key named by ``key_id``.
        key_id: the id of the :class:`ChainKey` that sealed the entry (``None``: no key).
        assigned: the automatic assignment this entry's move made (the entered state's
            rule), as the payload of a ``work.assign`` entry: ``assignment`` (see
            :meth:`Assignment.to_dict`) and ``rule`` (``"field"``, ``"call"`` or
            ``"roles"``); ``None``: none. Sealed with the entry only when set, so that
            entries written before it existed (with a separate ``work.assign`` entry)
            keep their seal.
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
    key_id: str | None = None
    assigned: Mapping[str, Any] | None = None

    def content(self) -> dict[str, Any]:
        """The sealed content (everything but :attr:`hash`; ``key_id`` and ``assigned``
        only if set)."""
        out = {
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
        if self.key_id is not None:
            out["key_id"] = self.key_id
        if self.assigned is not None:
            out["assigned"] = dict(self.assigned)
        return out

    def computed_hash(self, key: ChainKey | None = None) -> str:
        """The seal this entry's content should have (with ``key``, or unkeyed)."""
        return seal(
            key, self.case_id, self.seq, self.kind, self.at, self.actor, self.trigger,
            self.source, self.dest, self.payload, self.definition_hash, self.version, self.prev,
            self.assigned,
        )  # fmt: skip

    def sealed(self, key: ChainKey | None = None) -> HistoryEntry:
        """This entry with its seal set (with ``key``, or unkeyed)."""
        key_id = None if key is None else key.id
        return attrs.evolve(self, hash=self.computed_hash(key), key_id=key_id)


_HEAD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _text(
    key_id: str | None,
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
    assigned: Mapping[str, Any] | None = None,
) -> bytes:
    """What is sealed: the canonical JSON of the fields in this order (preceded by the key
    id when keyed), the instant in UTC, then the canonical JSON of the payload, then,
    only when set, the canonical JSON of ``assigned``."""
    fields = [case_id, seq, kind, at.astimezone(dt.UTC).isoformat(), actor, trigger, source,
              dest, definition_hash, version, prev]  # fmt: skip
    head = _HEAD.encode(fields if key_id is None else [key_id, *fields])
    body = canonical(payload) if payload else "{}"
    if assigned is not None:
        body += _assigned_text(assigned)
    # surrogatepass: any Python string hashes (a store may still refuse to keep it)
    return (head + body).encode("utf-8", "surrogatepass")


_ASSIGNED_KEYS = frozenset(("assignment", "rule"))
_ASSIGNMENT_KEYS = frozenset(("assignee", "roles", "delegate"))
#: the canonical text of ``assigned`` values seen, by their (type-exact) contents: most
#: automatic assignments name the same roles, or one of a few people
_ASSIGNED_TEXTS: dict[tuple[Any, ...], str] = {}


def _assigned_text(assigned: Mapping[str, Any]) -> str:
    """``canonical(assigned)``, remembered for the usual shape (str or ``None`` values,
    roles a list or tuple of str): a fire's seal would otherwise spend as long on this
    small mapping as on the rest of the entry."""
    a = assigned.get("assignment")
    if type(a) is dict and assigned.keys() == _ASSIGNED_KEYS and a.keys() == _ASSIGNMENT_KEYS:
        roles, rule, person, delegate = a["roles"], assigned["rule"], a["assignee"], a["delegate"]
        if (
            type(roles) in (list, tuple)
            and all(type(r) is str for r in roles)
            and all(v is None or type(v) is str for v in (rule, person, delegate))
        ):
            key = (rule, person, delegate, *roles)
            text = _ASSIGNED_TEXTS.get(key)
            if text is None:
                text = canonical(assigned)
                if len(_ASSIGNED_TEXTS) >= 4096:
                    _ASSIGNED_TEXTS.clear()
                _ASSIGNED_TEXTS[key] = text
            return text
    return canonical(assigned)


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
    assigned: Mapping[str, Any] | None = None,
) -> str:
    """SHA-256 (hex) of an entry: the canonical JSON of its fields in this order, the
    instant in UTC, followed by the canonical JSON of the payload (sorted keys) and,
    when set, of ``assigned``."""
    return seal(None, case_id, seq, kind, at, actor, trigger, source, dest, payload,
                definition_hash, version, prev, assigned)  # fmt: skip


def _key_id(secret: bytes) -> str:
    return hashlib.sha256(b"techsvc_flow chain key id\0" + secret).hexdigest()[:16]


@attrs.frozen(repr=False)
class ChainKey:
    """The secret that seals a keyed chain, held outside the database.

    Give a :class:`~techsvc_flow.Workflow` the key (``chain_key=``): every entry it
    writes is sealed with HMAC-SHA256 under ``secret`` and records ``id``, and
    ``verify_history`` needs the key to pass. To rotate, seal with the new key and keep
    the old one for verification (``chain_key=[new, old]``).

    Attributes:
        secret: at least 16 bytes (32 random bytes recommended: ``secrets.token_bytes(32)``).
        id: names the key in each entry it seals (default: derived from the secret, which
            it does not reveal).

    >>> key = ChainKey(b"0123456789abcdef-not-a-real-key")
    >>> key.id
    'c40cefe02c54a7f5'
    >>> key   # the secret is never shown
    ChainKey(id='c40cefe02c54a7f5')
    """

    secret: bytes = attrs.field()
    id: str = attrs.field(default=attrs.Factory(lambda self: _key_id(self.secret), takes_self=True))

    @secret.validator
    def _check_secret(self, _: object, value: object) -> None:
        from .errors import ConfigurationError

        if not isinstance(value, bytes):
            raise ConfigurationError(
                "ChainKey.secret", f"must be bytes, not {type(value).__name__}"
            )
        if len(value) < 16:
            raise ConfigurationError(
                "ChainKey.secret", f"must be at least 16 bytes, not {len(value)}"
            )

    @id.validator
    def _check_id(self, _: object, value: object) -> None:
        from .errors import ConfigurationError

        if not isinstance(value, str) or not value or len(value) > 64:
            raise ConfigurationError("ChainKey.id", "must be a str of 1 to 64 characters")

    def __repr__(self) -> str:
        return f"ChainKey(id={self.id!r})"


def seal(
    key: ChainKey | None,
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
    assigned: Mapping[str, Any] | None = None,
) -> str:
    """The seal of an entry (hex, 64 characters): :func:`digest` without a key; with one,
    HMAC-SHA256 under the key's secret of the key's id and the same text (``assigned``:
    see :attr:`HistoryEntry.assigned`)."""
    text = _text(None if key is None else key.id, case_id, seq, kind, at, actor, trigger,
                 source, dest, payload, definition_hash, version, prev, assigned)  # fmt: skip
    if key is None:
        return hashlib.sha256(text).hexdigest()
    return hmac.digest(key.secret, text, "sha256").hex()


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


def keyring(keys: ChainKey | Iterable[ChainKey] | None) -> dict[str, ChainKey]:
    """The keys by id (the first of each id wins)."""
    if keys is None:
        return {}
    if isinstance(keys, ChainKey):
        return {keys.id: keys}
    ring: dict[str, ChainKey] = {}
    for key in keys:
        ring.setdefault(key.id, key)
    return ring


def verify_chain(
    entries: Sequence[HistoryEntry],
    *,
    head: str | None = None,
    keys: ChainKey | Iterable[ChainKey] | None = None,
    unkeyed_until: int = 0,
) -> ChainCheck:
    """Check that ``entries`` form an unbroken, unedited chain (ending at ``head``) whose
    instants never run backwards.

    Never raises on a malformed entry: it is reported with its seq.

    Args:
        entries: the history, oldest first.
        head: the seal the last entry must have (the case's ``head``).
        keys: the :class:`ChainKey` (or keys) the history is sealed with. With keys,
            every entry must be sealed with one of them; without, none may be keyed.
        unkeyed_until: entries up to this seq may be unkeyed even with keys (a verified
            checkpoint vouches for them).
    """
    ring = keyring(keys)
    problems: list[str] = []
    prev = GENESIS
    last_at: dt.datetime | None = None
    for position, entry in enumerate(entries, start=1):
        try:
            seq = entry.seq
            if seq != position:
                problems.append(f"seq {position}: found entry numbered {seq} (one missing?)")
            if entry.prev != prev:
                problems.append(f"seq {seq}: does not follow the entry before it")
            problem = _seal_problem(entry, ring, unkeyed_until)
            if problem:
                problems.append(f"seq {seq}: {problem}")
            if last_at is not None and entry.at < last_at:
                problems.append(
                    f"seq {seq}: dated {entry.at.isoformat()}, before the entry before it "
                    f"({last_at.isoformat()})"
                )
            last_at = entry.at
        except Exception as exc:  # a corrupt row is a finding, not a crash
            problems.append(f"seq {position}: unreadable entry ({type(exc).__name__}: {exc})")
            last_at = None
        prev = entry.hash
    if head is not None and prev != head:
        problems.append("the last entry is not the case's latest (entries deleted at the end?)")
    return ChainCheck(not problems, len(entries), tuple(problems))


def _seal_problem(entry: HistoryEntry, ring: Mapping[str, ChainKey], unkeyed_until: int) -> str:
    """What is wrong with ``entry``'s seal, or ``""``."""
    if entry.key_id is None:
        if ring and entry.seq > unkeyed_until:
            return f"sealed without a key (expected key {', '.join(map(repr, ring))})"
        key = None
    else:
        key = ring.get(entry.key_id)
        if key is None:
            given = f"given {', '.join(map(repr, ring))}" if ring else "no key was given"
            return f"sealed with key {entry.key_id!r}, which cannot be checked ({given})"
    if entry.computed_hash(key) != entry.hash:
        return "content was changed after it was recorded"
    return ""


def _chain(
    previous: str, seq: int, drafts: Iterable[HistoryEntry], key: ChainKey | None = None
) -> tuple[list[HistoryEntry], str, int]:
    """Number, link and seal ``drafts`` after ``previous``; returns (entries, head, seq)."""
    sealed = []
    for d in drafts:
        seq += 1
        entry = attrs.evolve(d, seq=seq, prev=previous).sealed(key)
        sealed.append(entry)
        previous = entry.hash
    return sealed, previous, seq


def __getattr__(name: str) -> Any:
    if name == "chain":
        warnings.warn(
            "techsvc_flow.case.chain is deprecated and goes in the next release: the "
            "workflow chains and seals entries itself, and a store refuses entries that "
            "do not continue the stored chain",
            DeprecationWarning,
            stacklevel=2,
        )
        return _chain
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
