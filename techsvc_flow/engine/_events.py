"""The events a history entry stands for: derived the same way for every write, with the
keys ``actor`` and ``version`` on every event, and confidential fields left out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._codec import jsonable
from ..case import Case, HistoryEntry
from ..confidentiality import redact
from ..definition import ProcessDefinition
from ..notifications import Event, event_id

__all__ = ["events_of", "public"]

_SCALARS = frozenset({str, int, float, bool, type(None)})


class _NotPlain(Exception):
    """A value :func:`_copy` leaves to the codec."""


def _copy(value: Any) -> Any:
    """A copy of ``value`` made of JSON scalars, str-keyed dicts and lists only (tuples
    become lists, as through JSON); anything else raises :class:`_NotPlain`."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            out[key] = item if type(item) in _SCALARS else _copy(item)
        return out
    if kind is list or kind is tuple:
        return [item if type(item) in _SCALARS else _copy(item) for item in value]
    raise _NotPlain


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-ready copy (instants and dates as ISO text, Decimals as text); copied
    directly when it holds only scalars, str-keyed dicts and lists (the common case,
    e.g. a ``work.assign`` payload), else through the codec's JSON."""
    for value in values.values():
        if type(value) not in _SCALARS:
            try:
                copied: dict[str, Any] = _copy(dict(values))
            except _NotPlain:
                copied = jsonable(dict(values))
            return copied
    return dict(values)


def public(definition: ProcessDefinition, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without the process's confidential fields, JSON-ready; a confidential
    field's value nested inside another value is replaced by its marker."""
    secret = definition.confidential
    if secret:
        values = {k: v for k, v in values.items() if k not in secret}
        if any(type(v) not in _SCALARS for v in values.values()):
            values = redact(values, {n: definition.levels[n] for n in secret})
    return _plain(values)


def events_of(
    definition: ProcessDefinition, case: Case, entries: Sequence[HistoryEntry]
) -> list[Event]:
    """The events of the chained ``entries`` just appended to ``case``.

    ``start`` gives ``case.started`` and ``state.entered``; ``fire`` gives
    ``case.transition`` (and ``state.left``/``state.entered`` when the state changes);
    ``refused`` gives ``case.refused``; ``incident`` gives ``incident.opened``; any other
    kind (``sla.*``, ``incident.resolved``, ``work.*``) an event of its own name carrying
    the entry's payload. An entry whose move assigned the case (``assigned``) gives,
    last, ``work.assign`` by the system (``actor`` ``None``) carrying ``assigned``, as a
    separate ``work.assign`` entry would. Event ids derive from the entry hash, so an
    event keeps its id whenever it is delivered again.
    """
    events: list[Event] = []
    for entry in entries:
        items: list[tuple[str, dict[str, Any]]] = []
        base = {"actor": entry.actor, "version": entry.version}
        if entry.kind == "start":
            data = public(definition, entry.payload)
            items.append(("case.started", {**base, "state": entry.dest, "data": data}))
            items.append(("state.entered", {**base, "state": entry.dest}))
        elif entry.kind == "fire":
            moved = {"trigger": entry.trigger, "source": entry.source, "dest": entry.dest}
            payload = public(definition, entry.payload)
            items.append(("case.transition", {**base, **moved, "payload": payload}))
            if entry.source != entry.dest:
                items.append(("state.left", {**base, "state": entry.source}))
                items.append(("state.entered", {**base, "state": entry.dest}))
        elif entry.kind == "refused":
            items.append(
                ("case.refused", {**base, "trigger": entry.trigger, **_plain(entry.payload)})
            )
        elif entry.kind == "incident":
            items.append(("incident.opened", {**base, **_plain(entry.payload)}))
        else:
            items.append((entry.kind, {**base, **_plain(entry.payload)}))
        if entry.assigned is not None:  # the move's automatic assignment, by the system
            items.append(("work.assign", {"actor": None, "version": entry.version,
                                          **_plain(entry.assigned)}))  # fmt: skip
        for i, (etype, payload) in enumerate(items):
            events.append(
                Event(event_id(entry.hash, i), etype, case.id, case.process, entry.at, payload)
            )
    return events
