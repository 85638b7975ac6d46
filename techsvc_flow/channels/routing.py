"""Routing as data: which events go to which channel, for whom.

A :class:`Route` matches an event by kind, process, SLA and level (the warning mark,
``"warning:50%"``, or ``"breach"``; shell-style patterns) and names a channel and its
recipients: ``"role:handler"`` (resolved to people by the host's lookup, per event) or
``"user:ann"``. :meth:`Routing.subscribe` gives every route its own outbox subscription,
so each route's message is delivered, retried and dead-lettered on its own, once.

A table can be written in Python or loaded from TOML or JSON (:meth:`Routing.load`)::

    [[route]]
    event = "sla.warning"
    level = "warning:50%"
    channel = "handler_wecom"
    recipients = ["role:handler"]
"""

from __future__ import annotations

import fnmatch
import json
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from ..errors import ConfigurationError
from ..notifications import Event, Subscription
from .messages import Person

__all__ = ["Channel", "Lookup", "Route", "Routing"]

#: the host's lookup: ``("role", "handler", event)`` or ``("user", "ann", event)`` → people
Lookup = Callable[[str, str, Event], Sequence[Person]]

_KEYS = ("event", "process", "sla", "level", "channel", "recipients", "name")


class Channel(Protocol):
    """What a route sends through: a robot, :class:`~techsvc_flow.channels.Email`, or
    anything with ``send(event, people)`` (and ``remote = True`` if it is remote)."""

    def send(self, event: Event, people: Sequence[Person] = ()) -> None: ...


class _Subscriber(Protocol):
    def on(self, pattern: str, receiver: Any, *, name: str | None = None) -> Subscription: ...


def _text(where: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(where, f"must be a non-empty str, not {value!r}")
    return value


@attrs.frozen
class Route:
    """Events matching every pattern go to ``channel``, for ``recipients``."""

    channel: str
    recipients: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    event: str = "*"
    process: str = "*"
    sla: str = "*"
    level: str = "*"
    name: str | None = None

    def matches(self, event: Event) -> bool:
        """Whether ``event`` is one of this route's."""
        p = event.payload
        return (
            fnmatch.fnmatchcase(event.type, self.event)
            and fnmatch.fnmatchcase(event.process, self.process)
            and (self.sla == "*" or fnmatch.fnmatchcase(str(p.get("sla", "")), self.sla))
            and (self.level == "*" or fnmatch.fnmatchcase(str(p.get("mark", "")), self.level))
        )


class _Routed:
    """One route's receiver: remote when its channel is."""

    def __init__(self, route: Route, channel: Channel, lookup: Lookup) -> None:
        self.route = route
        self.channel = channel
        self.lookup = lookup
        self.remote = getattr(channel, "remote", False) is True

    def __call__(self, event: Event) -> None:
        if not self.route.matches(event):
            return
        people: list[Person] = []
        for ref in self.route.recipients:
            kind, _, name = ref.partition(":")
            for person in self.lookup(kind, name, event):
                if person not in people:
                    people.append(person)
        self.channel.send(event, people)

    def __repr__(self) -> str:
        return f"<route {self.route.name!r} → {self.channel!r}>"


class Routing:
    """A routing table over named channels.

    Args:
        routes: the routes, in order.
        channels: the channels by the name routes use.
        lookup: resolves ``role:…`` and ``user:…`` recipients to people, per event.

    Raises:
        ConfigurationError: a route naming an unknown channel, a recipient that is not
            ``role:…`` or ``user:…``, two routes with one name (the setting says
            which route, e.g. ``routes.toml: route[2].channel``).
    """

    def __init__(
        self,
        routes: Sequence[Route],
        *,
        channels: Mapping[str, Channel],
        lookup: Lookup,
        source: str = "routing",
    ) -> None:
        named: list[Route] = []
        for i, route in enumerate(routes):
            where = f"{source}: route[{i}]"
            if route.channel not in channels:
                known = ", ".join(sorted(channels)) or "none"
                raise ConfigurationError(
                    f"{where}.channel", f"unknown channel {route.channel!r}; known: {known}"
                )
            for j, ref in enumerate(route.recipients):
                kind, _, name = ref.partition(":") if isinstance(ref, str) else ("", "", "")
                if kind not in ("role", "user") or not name:
                    raise ConfigurationError(
                        f"{where}.recipients[{j}]", f"must be 'role:…' or 'user:…', not {ref!r}"
                    )
            route = attrs.evolve(route, name=route.name or f"{route.event}#{i}")
            if any(r.name == route.name for r in named):
                raise ConfigurationError(f"{where}.name", f"{route.name!r} is used twice")
            named.append(route)
        self.routes = tuple(named)
        self.channels = dict(channels)
        self.lookup = lookup

    @classmethod
    def from_data(
        cls,
        data: Mapping[str, Any],
        *,
        channels: Mapping[str, Channel],
        lookup: Lookup,
        source: str = "routing",
    ) -> Routing:
        """A table from ``{"route": [{"event": …, "channel": …, …}, …]}``."""
        items = data.get("route") if isinstance(data, Mapping) else None
        if not isinstance(items, list):
            raise ConfigurationError(f"{source}: route", "must be a list of tables")
        routes = []
        for i, item in enumerate(items):
            where = f"{source}: route[{i}]"
            if not isinstance(item, Mapping):
                raise ConfigurationError(where, "must be a table")
            unknown = sorted(set(item) - set(_KEYS))
            if unknown:
                raise ConfigurationError(where, f"unknown key(s) {unknown}; known: {list(_KEYS)}")
            fields = {k: _text(f"{where}.{k}", v) for k, v in item.items() if k != "recipients"}
            recipients = item.get("recipients", [])
            if not isinstance(recipients, list):
                raise ConfigurationError(f"{where}.recipients", "must be a list of str")
            if "channel" not in fields:
                raise ConfigurationError(f"{where}.channel", "is missing")
            routes.append(Route(recipients=tuple(recipients), **fields))
        return cls(routes, channels=channels, lookup=lookup, source=source)

    @classmethod
    def load(cls, path: str | Path, *, channels: Mapping[str, Channel], lookup: Lookup) -> Routing:
        """A table from a ``.toml`` or ``.json`` file."""
        path = Path(path)
        try:
            raw = path.read_text(encoding="utf-8")
            data = tomllib.loads(raw) if path.suffix == ".toml" else json.loads(raw)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(str(path), f"cannot be read: {exc}") from None
        return cls.from_data(data, channels=channels, lookup=lookup, source=str(path))

    def subscribe(self, workflow: _Subscriber) -> list[Subscription]:
        """Subscribe every route to ``workflow``'s events (one subscription each,
        named ``route:<name>``)."""
        return [
            workflow.on(
                r.event, _Routed(r, self.channels[r.channel], self.lookup), name=f"route:{r.name}"
            )
            for r in self.routes
        ]
