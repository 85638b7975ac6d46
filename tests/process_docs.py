"""The generated sections of ``docs/processes/*.md``: tables and diagrams of the templates.

Each page keeps hand-written prose around sections fenced by
``<!-- generated: NAME -->`` … ``<!-- end generated -->``; ``test_process_docs.py``
checks that every such section equals what the definitions give. After changing a
template, rewrite the sections with::

    python tests/process_docs.py
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from techsvc_flow import ProcessDefinition, Transition, processes
from techsvc_flow.confidentiality import CONFIDENTIAL, LABELS, LEVELS, PUBLIC
from techsvc_flow.diagrams import to_mermaid

DOCS = Path(__file__).resolve().parent.parent / "docs" / "processes"
SECTION = re.compile(
    r"(<!-- generated: (?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S
)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(head: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    head = list(head)
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _codes(names: Iterable[str]) -> str:
    return ", ".join(f"`{n}`" for n in names) or "—"


def states(p: ProcessDefinition) -> str:
    rows = []
    for s in p.states:
        flag = " (initial)" if s.initial else " (final)" if s.final else ""
        rows.append((f"`{s.name}`{flag}", s.label["zh"], s.label["en"], s.source))
    return _table(("state", "中文", "English", "source clause"), rows)


def diagram(p: ProcessDefinition) -> str:
    return f"```mermaid\n{to_mermaid(p, lang='zh')}\n```\n"


def _who(t: Transition) -> str:
    """The roles, and who may not fire it or must give evidence."""
    who = ", ".join(t.roles)
    if t.on_behalf_of:
        who += f"; others for the {t.on_behalf_of}: with written evidence"
    if t.not_by:
        who += f"; not whoever fired {', '.join(t.not_by)}"
    return who


def transitions(p: ProcessDefinition) -> str:
    rows = []
    for t in p.transitions:
        rows.append(
            (
                f"`{t.trigger}`",
                f"{t.label['zh']} / {t.label['en']}",
                f"{', '.join(t.source)} → {t.dest}",
                _who(t),
                _codes(t.requires),
                _codes(dict.fromkeys(g.code for g in t.guards)),
                t.source_clause,
            )
        )
    head = ("trigger", "中文 / English", "from → to", "roles", "requires", "guards", "source")
    return _table(head, rows)


def slas(p: ProcessDefinition) -> str:
    rows = []
    for s in p.slas:
        starts = [*s.start_states, *(f"trigger {t}" for t in s.start_triggers)]
        rows.append(
            (
                f"`{s.name}`",
                f"{s.label['zh']} / {s.label['en']}",
                f"`{s.duration}`",
                ", ".join(starts),
                ", ".join(s.pause_states) or "—",
                ", ".join(s.stop_states),
                ", ".join(f"{f:.0%}" for f in s.warn_at) or "—",
                f"fires `{s.breach_trigger}`" if s.breach_trigger else "event only",
                s.source,
            )
        )
    head = (
        "SLA",
        "中文 / English",
        "default",
        "starts in",
        "paused in",
        "stops in",
        "warns at",
        "on breach",
        "source of the default",
    )
    return _table(head, rows)


def limits(p: ProcessDefinition) -> str:
    rows = []
    for lim in processes.LIMITS[p.name].values():
        sets = [*(f"SLA `{s}`" for s in lim.slas), *(f"guard `{g}`" for g in lim.guards)]
        default = f"`{lim.default}`" if lim.kind == "duration" else str(lim.default)
        rows.append((f"`{lim.name}`", default, ", ".join(sets), lim.meaning, lim.source))
    return _table(("limit", "default", "sets", "meaning", "source"), rows)


def guards(p: ProcessDefinition) -> str:
    docs = processes.GUARDS[p.name]
    where: dict[str, list[str]] = {}
    for t in p.transitions:
        for g in t.guards:
            triggers = where.setdefault(g.code, [])
            if t.trigger not in triggers:
                triggers.append(t.trigger)
    rows = [
        (f"`{code}`", _codes(where[code]), docs[code].meaning, docs[code].source) for code in where
    ]
    return _table(("reason code", "on", "meaning", "source clause"), rows)


def fields(p: ProcessDefinition) -> str:
    """The field reference: every field of ``p.fields``, its type and choices, the
    transitions that require or accept it, and whether it is confidential (保密)."""
    required: dict[str, list[str]] = {}
    accepted: dict[str, list[str]] = {}
    for t in p.transitions:
        for name in t.requires:
            required.setdefault(name, []).append(t.trigger)
        for name in t.accepts:
            accepted.setdefault(name, []).append(t.trigger)
    rows = []
    for name, f in p.fields.items():
        label = " / ".join(dict.fromkeys(x for x in (f.label.get("zh"), f.label.get("en")) if x))
        rows.append(
            (
                f"`{name}`",
                label or "—",
                f.type,
                _codes(map(str, f.choices)) if f.choices else "—",
                _codes(dict.fromkeys(required.get(name, []))),
                _codes(dict.fromkeys(accepted.get(name, []))),
                _level(p.levels[name]),
            )
        )
    head = ("field", "中文 / English", "type", "choices", "required by", "accepted by",
            "confidential")  # fmt: skip
    return _table(head, rows)


def _level(level: str) -> str:
    """The confidentiality cell: nothing for public, ``yes (保密)`` for confidential,
    e.g. ``yes, secret (机密)`` above it and ``internal (内部)`` below it."""
    if level == PUBLIC:
        return ""
    if level == CONFIDENTIAL:
        return "yes (保密)"
    shown = f"{level} ({LABELS[level]})"
    return f"yes, {shown}" if LEVELS.index(level) > LEVELS.index(CONFIDENTIAL) else shown


RENDERERS: dict[str, Callable[[ProcessDefinition], str]] = {
    "states": states,
    "diagram": diagram,
    "transitions": transitions,
    "slas": slas,
    "limits": limits,
    "guards": guards,
    "fields": fields,
}


def sections(page: str) -> dict[str, str]:
    """The generated sections of a page, by name."""
    return {m["name"]: m["body"] for m in SECTION.finditer(page)}


def render(page: str, process: ProcessDefinition) -> str:
    """The page with every generated section rewritten from ``process``."""

    def one(m: re.Match[str]) -> str:
        return m.group(1) + RENDERERS[m["name"]](process) + m.group(4)

    return SECTION.sub(one, page)


def main() -> None:
    for name, make in processes.ALL.items():
        path = DOCS / f"{name}.md"
        page = path.read_text(encoding="utf-8")
        new = render(page, make())
        if new != page:
            path.write_text(new, encoding="utf-8")
            print(f"rewrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
