"""Guards: conditions on a trigger, each with a readable reason code.

Guards are data, so a process loaded from JSON keeps them. The kinds:

- ``present``: these fields are set (in the case data or the payload);
- ``contains_all``: a list field holds every one of ``values`` (names the missing);
- ``equals`` / ``one_of``: a field has this value / one of these values;
- ``max_count``: a trigger has been fired fewer than ``limit`` times;
- ``within``: the case entered its current state less than ``duration`` ago
  (counted with the workflow's calendar);
- ``call``: a Python function registered with the definition, returning ``True``
  (holds), ``False`` or a string / list of strings (the details of what is wrong).

>>> g = Guard.contains_all("clauses_missing", "clauses", ["a", "b", "c"])
>>> ctx = GuardContext(data={"clauses": ["a"]}, payload={}, counts={})
>>> g.check(ctx)
Reason(code='clauses_missing', message='clauses lacks b, c', details=('b', 'c'), kind='guard')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

import attrs

from .durations import Duration
from .errors import DefinitionError, DurationError

__all__ = ["Guard", "GuardContext", "Reason"]

_KINDS = {
    "present": {"fields"},
    "contains_all": {"field", "values"},
    "equals": {"field", "value"},
    "one_of": {"field", "values"},
    "max_count": {"trigger", "limit"},
    "within": {"duration"},
    "call": {"function"},
}


def _strs(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def _mapping(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(value)


@attrs.frozen
class Reason:
    """Why a trigger may not be fired now.

    Attributes:
        code: a stable, machine-readable code (e.g. ``contract_clauses_missing``).
        message: a sentence for people.
        details: what exactly is missing or wrong (field names, clause letters…).
        kind: ``state``, ``role``, ``field`` or ``guard``.
    """

    code: str
    message: str
    details: tuple[str, ...] = attrs.field(default=(), converter=_strs)
    kind: str = "guard"

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@attrs.frozen
class GuardContext:
    """What a guard sees: the case data, the payload, counts, and time."""

    data: Mapping[str, Any]
    payload: Mapping[str, Any]
    counts: Mapping[str, int]
    now: dt.datetime | None = None
    entered_at: dt.datetime | None = None
    actor: str | None = None
    state: str = ""
    calendar: Any = None
    roles: frozenset[str] = frozenset()

    def value(self, field: str) -> Any:
        """The payload's value of ``field`` if given, else the case data's."""
        if field in self.payload:
            return self.payload[field]
        return self.data.get(field)


def _is_set(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


@attrs.frozen
class Guard:
    """A condition with a reason code; build one with the class methods."""

    code: str
    kind: str
    args: Mapping[str, Any] = attrs.field(factory=dict, converter=_mapping)
    message: str = ""

    # --- constructors -----------------------------------------------------------------

    @classmethod
    def present(cls, code: str, *fields: str, message: str = "") -> Guard:
        """Every one of ``fields`` is set."""
        return cls(code, "present", {"fields": list(fields)}, message)

    @classmethod
    def contains_all(
        cls, code: str, field: str, values: Iterable[Any], *, message: str = ""
    ) -> Guard:
        """The list field ``field`` contains every one of ``values``."""
        return cls(code, "contains_all", {"field": field, "values": list(values)}, message)

    @classmethod
    def equals(cls, code: str, field: str, value: Any, *, message: str = "") -> Guard:
        """``field`` equals ``value``."""
        return cls(code, "equals", {"field": field, "value": value}, message)

    @classmethod
    def one_of(cls, code: str, field: str, values: Iterable[Any], *, message: str = "") -> Guard:
        """``field`` is one of ``values``."""
        return cls(code, "one_of", {"field": field, "values": list(values)}, message)

    @classmethod
    def max_count(cls, code: str, trigger: str, limit: int, *, message: str = "") -> Guard:
        """``trigger`` has been fired fewer than ``limit`` times in this case."""
        return cls(code, "max_count", {"trigger": trigger, "limit": limit}, message)

    @classmethod
    def within(cls, code: str, duration: Duration | str, *, message: str = "") -> Guard:
        """The case entered its current state less than ``duration`` ago."""
        return cls(code, "within", {"duration": str(Duration.parse(duration))}, message)

    @classmethod
    def call(cls, code: str, function: str, *, message: str = "") -> Guard:
        """The function registered as ``function`` in the definition holds."""
        return cls(code, "call", {"function": function}, message)

    # --- dict form --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The dict form: ``{"code": …, KIND: args…, "message": …}``."""
        out: dict[str, Any] = {"code": self.code, "kind": self.kind, **self.args}
        if self.message:
            out["message"] = self.message
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "guard") -> Guard:
        """Read the dict form; errors name ``path``."""
        if not isinstance(data, Mapping):
            raise DefinitionError(path, f"expected an object, got {type(data).__name__}")
        for key in ("code", "kind"):
            if key not in data:
                raise DefinitionError(f"{path}.{key}", "missing")
        kind = data["kind"]
        if kind not in _KINDS:
            raise DefinitionError(
                f"{path}.kind", f"unknown guard kind {kind!r}; use one of {', '.join(_KINDS)}"
            )
        args = {k: v for k, v in data.items() if k not in ("code", "kind", "message")}
        return cls(data["code"], kind, args, data.get("message", ""))

    def validate(
        self,
        path: str,
        fields: Mapping[str, Any],
        functions: Mapping[str, Callable[..., Any]],
        triggers: Collection[str] | None = None,
    ) -> None:
        """Check the guard against the definition's fields, functions and (if given)
        triggers.

        Raises:
            DefinitionError: naming the faulty key below ``path``.
        """
        if self.kind not in _KINDS:
            raise DefinitionError(
                f"{path}.kind",
                f"unknown guard kind {self.kind!r}; use one of {', '.join(_KINDS)}",
            )
        if not self.code or not isinstance(self.code, str):
            raise DefinitionError(f"{path}.code", "a guard needs a reason code")
        expected = _KINDS[self.kind]
        for key in self.args:
            if key not in expected:
                raise DefinitionError(
                    f"{path}.{key}",
                    f"unknown key: a {self.kind!r} guard takes {', '.join(sorted(expected))}",
                )
        for key in sorted(expected):
            if key not in self.args:
                raise DefinitionError(f"{path}.{key}", "missing")
        args = self.args
        named: list[tuple[str, Any]] = []
        if "fields" in args:
            if isinstance(args["fields"], str) or not isinstance(args["fields"], list | tuple):
                raise DefinitionError(f"{path}.fields", "expected a list of field names")
            named += [(f"{path}.fields[{i}]", name) for i, name in enumerate(args["fields"])]
        if "field" in args:
            named.append((f"{path}.field", args["field"]))
        for where, name in named:
            if name not in fields:
                raise DefinitionError(where, f"unknown field {name!r}: declare it in fields")
        if "values" in args and (
            isinstance(args["values"], str) or not isinstance(args["values"], list | tuple)
        ):
            raise DefinitionError(f"{path}.values", "expected a list")
        if self.kind == "call" and args["function"] not in functions:
            raise DefinitionError(
                f"{path}.function",
                f"no function {args['function']!r} registered (pass functions=...)",
            )
        if self.kind == "within":
            try:
                Duration.parse(args["duration"])
            except DurationError as exc:
                raise DefinitionError(f"{path}.duration", str(exc)) from exc
        if self.kind == "max_count" and (
            not isinstance(args["limit"], int) or isinstance(args["limit"], bool)
        ):
            raise DefinitionError(f"{path}.limit", "expected an integer")
        if self.kind == "max_count" and triggers is not None and args["trigger"] not in triggers:
            raise DefinitionError(f"{path}.trigger", f"unknown trigger {args['trigger']!r}")

    # --- evaluation -------------------------------------------------------------------

    def check(
        self, ctx: GuardContext, functions: Mapping[str, Callable[..., Any]] | None = None
    ) -> Reason | None:
        """``None`` when the guard holds, else the :class:`Reason` it fails with."""
        kind, args = self.kind, self.args
        details: tuple[str, ...] = ()
        if kind == "present":
            details = tuple(f for f in args["fields"] if not _is_set(ctx.value(f)))
            text = f"missing {', '.join(details)}"
        elif kind == "contains_all":
            have = ctx.value(args["field"]) or ()
            have = set(have) if isinstance(have, list | tuple | set | frozenset) else set()
            details = tuple(str(v) for v in args["values"] if v not in have)
            text = f"{args['field']} lacks {', '.join(details)}"
        elif kind == "equals":
            ok = ctx.value(args["field"]) == args["value"]
            details = () if ok else (args["field"],)
            text = f"{args['field']} must be {args['value']!r}"
        elif kind == "one_of":
            ok = ctx.value(args["field"]) in args["values"]
            details = () if ok else (args["field"],)
            text = f"{args['field']} must be one of {', '.join(map(str, args['values']))}"
        elif kind == "max_count":
            done = ctx.counts.get(args["trigger"], 0)
            details = () if done < args["limit"] else (args["trigger"],)
            text = f"{args['trigger']} already done {done} times (limit {args['limit']})"
        elif kind == "within":
            details, text = _check_within(ctx, args["duration"])
        else:
            details, text = _check_call(ctx, args["function"], functions or {})
        if not details:
            return None
        return Reason(self.code, self.message or text, details, "guard")


def _check_within(ctx: GuardContext, duration: str) -> tuple[tuple[str, ...], str]:
    if ctx.entered_at is None or ctx.now is None or ctx.calendar is None:
        return ("time",), "no time to check the period against"
    due = ctx.calendar.deadline(ctx.entered_at, duration).due
    if ctx.now <= due:
        return (), ""
    return (duration,), f"the {duration} period since {ctx.state!r} ended {due.isoformat()}"


def _check_call(
    ctx: GuardContext, name: str, functions: Mapping[str, Callable[..., Any]]
) -> tuple[tuple[str, ...], str]:
    result = functions[name](ctx)
    if result is True or result is None:
        return (), ""
    if result is False:
        return (name,), f"{name} does not hold"
    items = (result,) if isinstance(result, str) else tuple(str(r) for r in result)
    if not items:
        return (), ""
    return items, "; ".join(items)
