"""Values to rows and back: the SQL store's JSON, and its row mapping (private).

The store writes case data, history payloads and events as JSON text through the
package's codec (:mod:`techsvc_flow._codec`), with user data *escaped* so that a user's
one-key ``{"$…": …}`` dict cannot pass for a codec tag; :func:`_loads` reads it back,
with a fast path for text without tags. The rest turns rows into cases, history
entries, deliveries and :class:`~techsvc_flow.facts.CaseFacts`, and a case's change into
the rows a commit writes (:func:`_prepare`), checked before anything is written.

Private to :mod:`techsvc_flow.sql`; :func:`utc_offset` and :func:`fixed_zone` are named
publicly for the observation index.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from .. import _codec
from ..case import Case, HistoryEntry
from ..durations import Duration
from ..facts import CaseFacts
from ..notifications import Delivery, DeliveryStatus, Event
from ..query import NEVER, index_value, is_paused
from ..sla import ClockEvent, SlaClock, Timer
from .errors import PayloadTooLarge, UnstorableValue
from .tables import MAX_KEY

__all__ = ["fixed_zone", "utc_offset"]

_CASE_COLUMNS = ("id", "process", "process_version", "state", "version", "seq", "head")
# what a commit rewrites: a case never changes its id, process or creation (and leaving
# ``process`` out of the SET spares SQLite the (process, state) index when the state
# does not change)
#: the case row's columns for worklists and queries (revision 0007), last in ``_UPDATED``
_WORK_COLUMNS = ("assignee", "due_at", "paused")
_UPDATED = ("process_version", "state", "version", "seq", "head", "updated_at", "body",
            *_WORK_COLUMNS, "index_sig")  # fmt: skip


def _aware(value: dt.datetime, what: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise UnstorableValue(f"{what} {value!r}", "it must be an aware datetime")
    return value


def utc_offset(value: dt.datetime) -> int | None:
    """The UTC offset of an aware instant in seconds; None if not whole seconds."""
    offset = value.utcoffset()
    if offset is None or offset.microseconds:
        return None
    return offset.days * 86_400 + offset.seconds


def _key(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise UnstorableValue(what, f"it must be a str, not {type(value).__name__}")
    if len(value) > MAX_KEY:
        raise UnstorableValue(f"{what} {value[:40]!r}…", f"it is longer than {MAX_KEY} characters")
    if "\x00" in value:
        raise UnstorableValue(f"{what} {value!r}", "it contains a NUL character")
    return value


class _Sizer:
    """Serialises values to JSON text and enforces the size limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, value: Any, what: str) -> str:
        try:
            text = _codec.dumps(value)
        except (TypeError, ValueError) as exc:
            raise UnstorableValue(what, str(exc)) from exc
        if len(text) * 4 <= self.limit and text.isascii():
            return text
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise UnstorableValue(
                what, f"it holds text that is not valid Unicode ({exc.reason}: lone surrogate?)"
            ) from exc
        if size > self.limit:
            raise PayloadTooLarge(what, size, self.limit)
        return text


def _escape(value: Any) -> Any:
    """User data with its one-key ``{"$…": …}`` dicts wrapped, so that the codec's tags
    (``{"$date": …}``) cannot be forged by data and come back as something else."""
    if isinstance(value, Mapping):
        out = {
            key: _escape(item) if isinstance(item, Mapping | list | tuple) else item
            for key, item in value.items()
        }
        if len(out) == 1:
            ((key, item),) = out.items()
            if isinstance(key, str) and key.startswith("$"):
                return {"$map": [[key, item]]}
        return out
    if isinstance(value, list | tuple):
        return [
            _escape(item) if isinstance(item, Mapping | list | tuple) else item for item in value
        ]
    return value


def _unescape(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$map" in obj:
        return {key: item for key, item in obj["$map"]}
    return _codec._decode(obj)


def _hook(obj: dict[str, Any]) -> Any:
    # only a one-key dict can be a tag or an escape; instants are the usual tag
    if len(obj) != 1:
        return obj
    value = obj.get("$datetime")
    if value is not None:
        return dt.datetime.fromisoformat(value)
    return _unescape(obj)


_PLAIN = json.JSONDecoder()
_TAGGED = json.JSONDecoder(object_hook=_hook)


def _loads(text: str) -> Any:
    """Read JSON written by the store (codec tags and escaped data)."""
    # raw_decode: the store writes no surrounding whitespace; one decoder object reused
    if '"$' not in text:  # nothing tagged: the C decoder alone
        return _PLAIN.raw_decode(text)[0]
    return _TAGGED.raw_decode(text)[0]


_INSTANTS = ("created_at", "updated_at", "entered_at")


def _case_body(case: Case) -> dict[str, Any]:
    body: dict[str, Any] = {
        "data": _escape(case.data),
        # ISO text with the offset: read back exactly, without a tag to decode
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "entered_at": case.entered_at.isoformat(),
        "counts": dict(case.counts),
        "clocks": case.to_dict()["clocks"] if case.clocks else {},
    }
    if case.incidents:
        body["incidents"] = [i.to_dict() for i in case.incidents]
    if case.assignment is not None:
        body["assignment"] = case.assignment.to_dict()
    if case.due_at is not None:
        body["due_at"] = case.due_at.isoformat()
    return body


def _case_from(row: Any) -> Case:
    """A case from a row of ``_CASE_COLUMNS`` followed by ``body``, in that order."""
    *columns, text = row
    body = _loads(text)
    for name in _INSTANTS:
        body[name] = dt.datetime.fromisoformat(body[name])
    if "due_at" in body:
        body["due_at"] = dt.datetime.fromisoformat(body["due_at"])
    return Case.from_dict(dict(zip(_CASE_COLUMNS, columns, strict=True)) | body)


def _entry_from(case_id: str, seq: int, body: str) -> HistoryEntry:
    return HistoryEntry(case_id=case_id, seq=seq, **_loads(body))


def _event_from(event_id: str, case_id: str, body: str) -> Event:
    data = _loads(body)
    return Event(event_id, data["type"], case_id, data["process"], data["at"], data["payload"])


def _delivery_from(row: Any) -> Delivery:
    status: DeliveryStatus = row.status
    return Delivery(
        _event_from(row.event_id, row.case_id, row.event),
        status=status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        delivered_to=tuple(json.loads(row.delivered_to)),
        last_error=row.last_error,
    )


_DURATIONS: dict[str, Duration] = {}


def _facts_from(row: Any, entered: dict[str, dt.datetime]) -> CaseFacts:
    """The facts of a case from a row starting with ``_FACT_COLUMNS``: the values
    :func:`_case_from` would give, without building the case."""
    body = _loads(row[4])
    clocks = {}
    for name, c in body["clocks"].items():
        duration = _DURATIONS.get(c["duration"])
        if duration is None:
            duration = _DURATIONS[c["duration"]] = Duration.parse(c["duration"])
        events = tuple([ClockEvent(kind, at) for kind, at in c["events"]])
        clocks[name] = SlaClock(
            name, duration, events, tuple(c["fired"]), c.get("goal"), c.get("calendar")
        )
    return CaseFacts(
        id=row[0],
        process=row[1],
        process_version=row[2],
        state=row[3],
        data=body["data"],  # fresh from JSON: no copy needed
        counts=body["counts"],
        created_at=dt.datetime.fromisoformat(body["created_at"]),
        updated_at=dt.datetime.fromisoformat(body["updated_at"]),
        entered=entered,
        clocks=clocks,
    )


_FACT_COLUMNS = ("id", "process", "process_version", "state", "body")
_ZONES: dict[int, dt.tzinfo] = {}


def fixed_zone(offset: int) -> dt.tzinfo:
    """The zone ``offset`` seconds east of UTC, one object per offset (aware instants
    with the very same ``tzinfo`` compare much faster than with equal ones)."""
    zone = _ZONES.get(offset)
    if zone is None:
        zone = _ZONES[offset] = dt.timezone(dt.timedelta(seconds=offset))
    return zone


def _entered(
    text: str | None, case_id: str, body: Callable[[str, int], str]
) -> dict[str, dt.datetime]:
    """The first entry into each state, in history order, from the JSON array of
    ``[state, seq, at, at_offset]`` the facts query makes (``at`` as ISO text with an
    offset); ``body(case_id, seq)`` reads an entry whose offset is not in a column. The
    instants come out as the history entries have them: in the offset they were given in."""
    if not text:
        return {}
    found = _PLAIN.raw_decode(text)[0]
    if len(found) > 1:
        found.sort(key=_SEQ)
    entered: dict[str, dt.datetime] = {}
    zones = _ZONES
    for dest, seq, at, offset in found:
        if offset is None:
            at = _PLAIN.raw_decode(body(case_id, seq))[0]["at"]["$datetime"]
            entered[dest] = dt.datetime.fromisoformat(at)
        else:
            zone = zones.get(offset) or fixed_zone(offset)
            entered[dest] = dt.datetime.fromisoformat(at).astimezone(zone)
    return entered


_SEQ = operator.itemgetter(1)


@attrs.frozen
class _Writes:
    """Everything one create/commit writes, serialised and checked before any write."""

    case: dict[str, Any]
    entries: list[dict[str, Any]]
    timers: list[dict[str, Any]]
    events: list[dict[str, Any]]
    key: dict[str, Any] | None
    work: list[dict[str, Any]]
    #: the ``case_fields`` rows (``None``: the process indexes no field)
    fields: list[dict[str, Any]] | None = None


def _prepare(
    size: _Sizer,
    case: Case,
    entries: Sequence[HistoryEntry],
    timers: Sequence[Timer],
    events: Sequence[Event],
    idempotency_key: str | None,
    indexed: Sequence[str] | None = None,
) -> _Writes:
    """The rows ``case``'s create or commit writes, each value checked and serialised
    (``size``) first: nothing is written when one is refused. ``indexed``: the
    process's indexed fields (``None`` or empty: no ``case_fields`` rows).

    The ``work`` and ``case_fields`` rows and the case row's ``index_sig`` carry one
    digest of those rows, so that a commit can tell in its UPDATE whether the stored
    rows are these already (see ``SqlStore._statements``)."""
    _key(case.id, "case id")
    name = f"case {case.id!r}"
    row = {
        "id": case.id,
        "process": _key(case.process, f"{name} process"),
        "process_version": case.process_version,
        "state": _key(case.state, f"{name} state"),
        "version": case.version,
        "seq": case.seq,
        "head": case.head,
        "created_at": _aware(case.created_at, f"{name} created_at"),
        "updated_at": _aware(case.updated_at, f"{name} updated_at"),
        "body": size(_case_body(case), f"{name} (data, counts and clocks)"),
        "assignee": None if case.assignment is None else case.assignment.assignee,
        "due_at": NEVER if case.due_at is None else case.due_at,
        "paused": int(is_paused(case)),
    }
    entry_rows = []
    for entry in entries:
        body = entry.content()
        del body["case_id"], body["seq"]
        body["payload"] = _escape(entry.payload)
        body["hash"] = entry.hash
        entry_rows.append(
            {
                "case_id": case.id,
                "seq": entry.seq,
                "kind": entry.kind,
                "at": _aware(entry.at, f"{name} history entry {entry.seq} at"),
                "version": entry.version,
                "hash": entry.hash,
                "body": size(body, f"{name} history entry {entry.seq} ({entry.kind})"),
                "dest": None if entry.dest is None else _key(entry.dest, f"{name} dest"),
                "at_offset": utc_offset(entry.at),
            }
        )
    timer_rows = [_timer_row(timer, name) for timer in timers]
    event_rows = [_outbox_row(size, event, f"{name} event {event.type}") for event in events]
    key_row = None
    if idempotency_key is not None:
        key_row = {
            "case_id": case.id,
            "key": _key(idempotency_key, "idempotency key"),
            "body": size(
                {**case.to_dict(), "data": _escape(case.data)},
                f"{name} (as remembered for the idempotency key)",
            ),
        }
    work = _work_rows(case, name)
    fields = _field_rows(case, indexed) if indexed else None
    sig = None
    if work or fields:
        digest = hashlib.blake2b(digest_size=16)
        for w in work:
            digest.update(f"w\x00{w['who']}\x00{w['due_at'].timestamp()!r}\x00".encode())
        for f in fields or ():
            digest.update(f"f\x00{f['name']}\x00{f['s']}\x00{f['n']!r}\x00".encode())
        sig = digest.hexdigest()
        for r in work:
            r["sig"] = sig
        for r in fields or ():
            r["sig"] = sig
    row["index_sig"] = sig
    return _Writes(row, entry_rows, timer_rows, event_rows, key_row, work, fields)


def _field_rows(case: Case, indexed: Sequence[str]) -> list[dict[str, Any]]:
    """The ``case_fields`` rows of ``case``: one per ``indexed`` field whose value an
    index holds (:func:`~techsvc_flow.query.index_value`)."""
    out = []
    for name in indexed:
        value = index_value(case.data.get(name))
        if value is not None:
            kind, held = value
            text, number = (held, None) if kind == "s" else (None, held)
            out.append({"case_id": case.id, "name": name, "s": text, "n": number})
    return out


def _work_rows(case: Case, name: str) -> list[dict[str, Any]]:
    """The ``work`` rows of ``case``: its assignee and delegate (``u:``), or while
    unclaimed its candidate roles (``r:``), each with the case's due instant."""
    a = case.assignment
    if a is None:
        return []
    if a.assignee is None:
        who = [f"r:{_key(r, f'{name} candidate role')}" for r in a.roles]
    else:
        who = [f"u:{_key(p, f'{name} assignee')}" for p in (a.assignee, a.delegate) if p]
    due = NEVER if case.due_at is None else case.due_at
    return [{"case_id": case.id, "who": w, "due_at": due} for w in dict.fromkeys(who)]


def _timer_row(timer: Timer, name: str) -> dict[str, Any]:
    """The timer row of ``timer`` (of the case called ``name`` in errors); the failure
    columns (revision 0004) only for a timer put aside, so that a commit still writes
    to tables of an older revision."""
    row = {
        "case_id": timer.case_id,
        "sla": _key(timer.sla, f"{name} SLA name"),
        "mark": _key(timer.mark, f"{name} SLA mark"),
        "due_at": _aware(timer.due_at, f"{name} timer due_at"),
    }
    if timer.attempts or timer.error is not None or timer.since is not None:
        row |= {"attempts": timer.attempts, "error": timer.error, "since": timer.since}
    return row


def _outbox_row(size: _Sizer, event: Event, what: str) -> dict[str, Any]:
    """The new outbox row of ``event``: pending, not yet attempted."""
    return {
        **_event_row(size, event, what),
        "status": "pending",
        "attempts": 0,
        "delivered_to": "[]",
    }


def _event_row(size: _Sizer, event: Event, what: str) -> dict[str, Any]:
    """The columns of ``event``'s outbox row that come from the event itself."""
    body: dict[str, Any] = {
        "type": event.type,
        "process": event.process,
        "at": event.at,
        "payload": _escape(event.payload),
    }
    return {
        "event_id": _key(event.id, "event id"),
        "case_id": event.case_id,
        "type": event.type,
        "event": size(body, what),
    }


def _instant(raw: object) -> dt.datetime:
    """An instant column read as stored (text on SQLite, a datetime elsewhere), in UTC."""
    value = raw if isinstance(raw, dt.datetime) else dt.datetime.fromisoformat(str(raw))
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _differs(what: str, column: object, chained: object) -> str:
    return f"{what} column is {column!r}, the chained entry has {chained!r}"


def _row_problems(case_id: str, case_row: Any, rows: Any) -> tuple[list[HistoryEntry], list[str]]:
    """The entries of ``rows`` (``seq, kind, at, at_offset, dest, version, hash, body``,
    instants as stored) that could be read, and every problem found: a row that cannot
    be decoded, a column that disagrees with the chained entry in the body, a case
    column (``created_at, updated_at, body``) that disagrees with the case's body."""
    problems: list[str] = []
    try:
        body = _loads(case_row[2])
        for name, column in zip(("created_at", "updated_at"), case_row[:2], strict=True):
            if _instant(column) != dt.datetime.fromisoformat(body[name]):
                problems.append(f"case row: {name} column {column!r} disagrees with its body")
    except Exception as exc:  # a corrupt row is a finding, not a crash
        problems.append(f"case row: unreadable ({type(exc).__name__}: {exc})")
    entries: list[HistoryEntry] = []
    for seq, kind, at, at_offset, dest, version, hash_, text in rows:
        try:
            entry = _entry_from(case_id, seq, text)
            columns = (
                ("kind", kind, entry.kind, kind == entry.kind),
                ("at", at, entry.at.isoformat(), _instant(at) == entry.at),
                ("at_offset", at_offset, utc_offset(entry.at), at_offset == utc_offset(entry.at)),
                ("dest", dest, entry.dest, dest == entry.dest),
                ("version", version, entry.version, version == entry.version),
                ("hash", hash_, entry.hash, hash_ == entry.hash),
            )
        except Exception as exc:  # a corrupt row is a finding, not a crash
            problems.append(f"seq {seq}: unreadable row ({type(exc).__name__}: {exc})")
            continue
        problems += [f"seq {seq}: {_differs(n, c, v)}" for n, c, v, same in columns if not same]
        entries.append(entry)
    return entries, problems
