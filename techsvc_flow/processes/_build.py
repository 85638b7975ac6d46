"""The small builder shared by the templates (private).

A template is a dict in the :meth:`ProcessDefinition.from_dict` format plus a table of
its *limits*: the time limits and counts an organisation may set to its own service
pledge. :func:`build` copies the dict, writes the chosen limits into the SLAs and
guards they govern, and builds the definition with the named guard functions.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import attrs

from ..definition import ProcessDefinition
from ..durations import Duration
from ..errors import DefinitionError, DurationError

__all__ = ["GuardDoc", "Limit", "assign", "build", "field", "label", "sla_limit", "state"]


def _tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class Limit:
    """A time limit or count of a template that an organisation may override.

    Attributes:
        name: the keyword argument of the template's builder.
        kind: ``"duration"`` (text such as ``"24h"``, ``"7wd"``, ``"30d"``) or ``"count"``.
        default: the value used when the builder is not given one.
        slas: the SLAs whose duration it sets.
        guards: the reason codes of the ``within`` guards whose duration (for a duration),
            or of the ``max_count`` guards whose limit (for a count), it sets.
        offset: added to a count before it is written into a ``max_count`` guard
            (e.g. three escalation levels allow two escalations: offset ``-1``).
        meaning: what the limit is, in English.
        source: where the default comes from (a clause, or "our default").
    """

    name: str
    kind: Literal["duration", "count"]
    default: str | int
    slas: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    guards: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    offset: int = 0
    meaning: str = ""
    source: str = ""


def sla_limit(name: str, default: str, meaning: str, source: str = "our default") -> Limit:
    """The duration limit that sets the SLA of the same name."""
    return Limit(name, "duration", default, slas=[name], meaning=meaning, source=source)


@attrs.frozen
class GuardDoc:
    """What a guard's reason code means and where the rule comes from."""

    meaning: str
    source: str


def label(zh: str, en: str) -> dict[str, str]:
    """A label in Chinese and English."""
    return {"zh": zh, "en": en}


def field(
    name: str,
    type: str,
    zh: str,
    en: str,
    *,
    confidential: bool = False,
    choices: Iterable[str] | None = None,
    description: str = "",
    level: str | None = None,
) -> dict[str, Any]:
    """A field in the dict form (``level``: its classification, see
    :mod:`techsvc_flow.confidentiality`)."""
    out: dict[str, Any] = {"name": name, "type": type, "label": label(zh, en)}
    if confidential:
        out["confidential"] = True
    if level is not None:
        out["level"] = level
    if choices is not None:
        out["choices"] = list(choices)
    if description:
        out["description"] = description
    return out


def state(
    name: str,
    zh: str,
    en: str,
    source: str,
    *,
    initial: bool = False,
    final: bool = False,
    description: str = "",
) -> dict[str, Any]:
    """A state in the dict form."""
    out: dict[str, Any] = {"name": name, "label": label(zh, en), "source": source}
    if initial:
        out["initial"] = True
    if final:
        out["final"] = True
    if description:
        out["description"] = description
    return out


def assign(
    process: Mapping[str, Any],
    rules: Mapping[str, Mapping[str, Any]],
    fields: Iterable[Mapping[str, Any]] = (),
) -> None:
    """Declare who acts in the states of a template's dict form (its ``assign`` rules,
    by state name), adding the ``fields`` that name the people; in place, at import."""
    names = {s["name"] for s in process["states"]}
    unknown = set(rules) - names
    if unknown:
        raise DefinitionError("states", f"assignments for unknown states {sorted(unknown)}")
    for s in process["states"]:
        if s["name"] in rules:
            s["assign"] = dict(rules[s["name"]])
    known = {f["name"] for f in process["fields"]}
    process["fields"].extend(f for f in fields if f["name"] not in known)


def _value(limit: Limit, value: object) -> str | int:
    if limit.kind == "count":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise DefinitionError(f"limits.{limit.name}", f"expected a positive int, got {value!r}")
        return value
    try:
        return str(Duration.parse(value))  # type: ignore[arg-type]
    except DurationError as exc:
        raise DefinitionError(f"limits.{limit.name}", str(exc)) from exc


def build(
    data: Mapping[str, Any],
    limits: Mapping[str, Limit],
    functions: Mapping[str, Callable[..., Any]],
    overrides: Mapping[str, object],
) -> ProcessDefinition:
    """The definition of ``data`` with ``overrides`` applied to its ``limits``.

    The override ``version`` (a positive int) sets the definition's version instead:
    register a changed pledge as a new version while cases run on the old one.

    Raises:
        DefinitionError: an override names no limit of this template, or has a value
            of the wrong kind (the error's ``path`` is ``limits.<name>``).
    """
    overrides = dict(overrides)
    version = overrides.pop("version", None)
    unknown = sorted(set(overrides) - set(limits))
    if unknown:
        raise DefinitionError(
            f"limits.{unknown[0]}",
            f"{data['name']} has no limit {unknown[0]!r}; known: {', '.join(limits)}",
        )
    out = copy.deepcopy(dict(data))
    if version is not None:
        out["version"] = version
    slas = {s["name"]: s for s in out.get("slas", [])}
    guards: dict[str, list[dict[str, Any]]] = {}
    for t in out["transitions"]:
        for g in t.get("guards", []):
            guards.setdefault(g["code"], []).append(g)
    for name, limit in limits.items():
        value = _value(limit, overrides.get(name, limit.default))
        for sla in limit.slas:
            slas[sla]["duration"] = value
        for code in limit.guards:
            for g in guards[code]:
                if g["kind"] == "within":
                    g["duration"] = value
                elif g["kind"] == "max_count":
                    g["limit"] = int(value) + limit.offset
    return ProcessDefinition.from_dict(out, functions=functions)
