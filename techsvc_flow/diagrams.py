"""Diagrams of process definitions: Mermaid ``stateDiagram-v2`` and Graphviz DOT.

Both show every state (with its label in the chosen language), the initial and final
markers, one edge per (source state, transition) labelled with its trigger, the roles
allowed to fire it (``[agent]``) and the reason codes of its guards, and a note on the
state where each SLA clock starts.

>>> from techsvc_flow import ProcessDefinition, Sla, State, Transition
>>> p = ProcessDefinition(
...     name="ticket",
...     version=1,
...     states=[
...         State("open", initial=True, label={"en": "Open", "zh": "待处理"}),
...         State("done", final=True, label={"en": "Done", "zh": "已完成"}),
...     ],
...     transitions=[Transition("close", source="open", dest="done", roles=("agent",))],
...     slas=[Sla("reply", "24h", start_states="open", stop_states="done")],
... )
>>> print(to_mermaid(p))
---
title: "ticket v1"
---
stateDiagram-v2
    state "Open" as open
    state "Done" as done
    [*] --> open
    open --> done: close [agent]
    done --> [*]
    note right of open
        SLA reply: 24h, stops at done, warns at 50%/75%
    end note
>>> print(to_dot(p, lang="zh"))
digraph "ticket" {
    graph [label="ticket v1", labelloc="t", rankdir="LR"];
    node [shape="box", style="rounded"];
    "(start)" [shape="point", width="0.15", label=""];
    "(end)" [shape="doublecircle", width="0.1", style="filled", fillcolor="black", label=""];
    "open" [label="待处理"];
    "done" [label="已完成", peripheries="2"];
    "(start)" -> "open";
    "open" -> "done" [label="close [agent]"];
    "done" -> "(end)";
    "(note open)" [shape="note", label="SLA reply：24h，done 停止，预警 50%/75%\\l"];
    "(note open)" -> "open" [style="dashed", arrowhead="none"];
}
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from .definition import ProcessDefinition, Sla, Transition

__all__ = ["to_dot", "to_mermaid"]

# The fixed words of the annotations, by language (others fall back to English).
_WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "colon": ": ",
        "comma": ", ",
        "open": " (",
        "close": ")",
        "guards": "guards: ",
        "starts": "starts on {}",
        "paused": "paused in {}",
        "stops": "stops at {}",
        "warns": "warns at {}",
        "breach": "breach fires {}",
    },
    "zh": {
        "colon": "：",
        "comma": "，",
        "open": "（",
        "close": "）",
        "guards": "守卫：",
        "starts": "{} 时开始",
        "paused": "{} 暂停",
        "stops": "{} 停止",
        "warns": "预警 {}",
        "breach": "超时触发 {}",
    },
}

_SAFE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# words the Mermaid state-diagram lexer reads as keywords (it ignores case), and the
# prefix of the ids it gives the [*] pseudo-states (root_start, root_end)
_MERMAID_RESERVED = frozenset(
    {
        "state",
        "note",
        "end",
        "as",
        "direction",
        "class",
        "classdef",
        "style",
        "click",
        "hide",
        "scale",
        "default",
        "left",
        "right",
        "of",
        "accdescr",
        "acctitle",
        "statediagram",
    }
)


def _words(lang: str) -> Mapping[str, str]:
    return _WORDS.get(lang, _WORDS["en"])


def _title(process: ProcessDefinition, lang: str) -> str:
    name = process.title.get(lang) or process.title.get("en") or process.name
    return f"{name} v{process.version}"


def _edge_text(t: Transition, lang: str) -> str:
    """The edge label: trigger, its label, the roles and the guards' reason codes."""
    w = _words(lang)
    text = t.trigger
    label = t.label.get(lang)
    if label and label != t.trigger:
        text += f"{w['open']}{label}{w['close']}"
    if t.roles:
        text += f" [{', '.join(t.roles)}]"
    if t.guards:
        codes = ", ".join(dict.fromkeys(g.code for g in t.guards))
        text += f"{w['open']}{w['guards']}{codes}{w['close']}"
    return text


def _sla_text(sla: Sla, lang: str) -> str:
    """One line describing an SLA: limit, start triggers, pause and stop states, marks."""
    w = _words(lang)
    name = sla.name
    label = sla.label.get(lang)
    if label and label != sla.name:
        name += f"{w['open']}{label}{w['close']}"
    parts = [str(sla.duration)]
    if sla.start_triggers:
        parts.append(w["starts"].format("/".join(sla.start_triggers)))
    if sla.pause_states:
        parts.append(w["paused"].format("/".join(sla.pause_states)))
    if sla.stop_states:
        parts.append(w["stops"].format("/".join(sla.stop_states)))
    if sla.warn_at:
        parts.append(w["warns"].format("/".join(f"{f * 100:g}%" for f in sla.warn_at)))
    if sla.breach_trigger:
        parts.append(w["breach"].format(sla.breach_trigger))
    return f"SLA {name}{w['colon']}{w['comma'].join(parts)}"


def _sla_notes(process: ProcessDefinition, lang: str) -> dict[str, list[str]]:
    """The SLA lines to show on each state, keyed by state, in state order.

    A clock is shown where it starts: on its start states, and on the destinations of
    its start triggers (the initial state when it has neither, which validation forbids).
    """
    notes: dict[str, list[str]] = {}
    for sla in process.slas:
        where = dict.fromkeys(sla.start_states)
        for _, t in process.edges:
            if t.trigger in sla.start_triggers:
                where[t.dest] = None
        for state in where or (process.initial,):
            notes.setdefault(state, []).append(_sla_text(sla, lang))
    order = {s.name: i for i, s in enumerate(process.states)}
    return {k: notes[k] for k in sorted(notes, key=order.__getitem__)}


# --- Mermaid --------------------------------------------------------------------------


def _mermaid_ids(process: ProcessDefinition) -> dict[str, str]:
    """A Mermaid-safe, unique id for every state; plain names are kept as they are."""
    ids: dict[str, str] = {}
    used: set[str] = set()
    for s in process.states:
        low = s.name.lower()
        if _SAFE_ID.match(s.name) and low not in _MERMAID_RESERVED and not low.startswith("root_"):
            ids[s.name] = s.name
            used.add(s.name)
    for s in process.states:
        if s.name in ids:
            continue
        base = "s_" + re.sub(r"[^A-Za-z0-9_]", "_", s.name)
        candidate, n = base, 1
        while candidate in used:
            n += 1
            candidate = f"{base}_{n}"
        ids[s.name] = candidate
        used.add(candidate)
    return ids


def _mermaid_text(text: str, specials: str = "") -> str:
    """Text made safe for Mermaid: ``#`` and ``specials`` as entity codes, one line.

    Mermaid decodes ``#quot;``, ``#35;``… when it renders, so the reader sees the
    original characters.
    """
    out = []
    for ch in " ".join(text.splitlines()):
        if ch == "#" or ch in specials:
            out.append("#quot;" if ch == '"' else f"#{ord(ch)};")
        else:
            out.append(ch)
    return "".join(out)


def to_mermaid(process: ProcessDefinition, /, *, lang: str = "en") -> str:
    """The process as a Mermaid ``stateDiagram-v2``.

    Args:
        process: any process definition.
        lang: the language of the state labels and of the annotations (``"en"``,
            ``"zh"``; labels fall back to English, then to the state name).

    Returns:
        The diagram text (no trailing newline); paste it into a ```` ```mermaid ````
        block. States are declared with their labels, edges carry
        ``trigger [roles] (guards: codes)``, and each SLA is a note on the state
        where its clock starts.
    """
    ids = _mermaid_ids(process)
    title = json.dumps(_title(process, lang), ensure_ascii=False)
    lines = ["---", f"title: {title}", "---", "stateDiagram-v2"]
    for s in process.states:
        label = _mermaid_text(s.title(lang), '"<>')
        lines.append(f'    state "{label}" as {ids[s.name]}')
    lines.append(f"    [*] --> {ids[process.initial]}")
    for src, t in process.edges:
        text = _mermaid_text(_edge_text(t, lang), '":;<>')
        lines.append(f"    {ids[src]} --> {ids[t.dest]}: {text}")
    lines.extend(f"    {ids[s.name]} --> [*]" for s in process.states if s.final)
    for state, notes in _sla_notes(process, lang).items():
        lines.append(f"    note right of {ids[state]}")
        for note in notes:
            # "end note" would close the note early: hide the space from the lexer
            safe = _mermaid_text(note, "<>").replace("end note", "end#32;note")
            lines.append(f"        {safe}")
        lines.append("    end note")
    return "\n".join(lines)


# --- Graphviz DOT ---------------------------------------------------------------------


def _dot_escape(text: str) -> str:
    """``text`` as the inside of a DOT double-quoted string, on one line."""
    return " ".join(text.splitlines()).replace("\\", "\\\\").replace('"', '\\"')


def _dot_quote(text: str) -> str:
    """``text`` as a DOT double-quoted string."""
    return f'"{_dot_escape(text)}"'


def _dot_attrs(**values: str) -> str:
    return "[" + ", ".join(f"{k}={_dot_quote(v)}" for k, v in values.items()) + "]"


def to_dot(process: ProcessDefinition, /, *, lang: str = "en") -> str:
    """The process as a Graphviz DOT ``digraph``.

    Args:
        process: any process definition.
        lang: the language of the state labels and of the annotations.

    Returns:
        The graph text (no trailing newline), e.g. for ``dot -Tsvg``. A point marks the
        start, a filled double circle the end; final states have a double border; SLAs
        are note-shaped nodes tied to the state where their clock starts. Every id and
        label is a quoted string, so any name or text is safe.
    """
    q = _dot_quote
    lines = [
        f"digraph {q(process.name)} {{",
        "    graph " + _dot_attrs(label=_title(process, lang), labelloc="t", rankdir="LR") + ";",
        "    node " + _dot_attrs(shape="box", style="rounded") + ";",
        "    " + q("(start)") + " " + _dot_attrs(shape="point", width="0.15", label="") + ";",
        "    "
        + q("(end)")
        + " "
        + _dot_attrs(shape="doublecircle", width="0.1", style="filled", fillcolor="black", label="")
        + ";",
    ]
    for s in process.states:
        extra = {"peripheries": "2"} if s.final else {}
        lines.append(f"    {q(s.name)} " + _dot_attrs(label=s.title(lang), **extra) + ";")
    lines.append(f"    {q('(start)')} -> {q(process.initial)};")
    for src, t in process.edges:
        lines.append(f"    {q(src)} -> {q(t.dest)} " + _dot_attrs(label=_edge_text(t, lang)) + ";")
    lines.extend(f"    {q(s.name)} -> {q('(end)')};" for s in process.states if s.final)
    for state, notes in _sla_notes(process, lang).items():
        note = q(f"(note {state})")
        # one left-justified line per SLA: "\l" ends each line of a DOT label
        text = '"' + "".join(_dot_escape(n) + "\\l" for n in notes) + '"'
        lines.append(f"    {note} [shape={q('note')}, label={text}];")
        lines.append(
            f"    {note} -> {q(state)} " + _dot_attrs(style="dashed", arrowhead="none") + ";"
        )
    lines.append("}")
    return "\n".join(lines)
