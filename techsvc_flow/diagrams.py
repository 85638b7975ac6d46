"""Diagrams of process definitions: Mermaid ``stateDiagram-v2`` and Graphviz DOT.

Both show every state (with its label in the chosen language), the initial and final
markers, and one edge per (source state, transition). Mermaid labels each edge with its
trigger, the roles allowed to fire it (``[agent]``) and the reason codes of its guards,
and puts a note on the state where each SLA clock starts. DOT (and the SVG drawn from it)
is laid out to fit a screen: top to bottom, each edge labelled with its trigger only (the
roles and guards in its tooltip), the SLA clocks in one legend at the bottom and in the
tooltip of the state where each starts.

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
>>> print(to_dot(p, lang="zh"))  # doctest: +NORMALIZE_WHITESPACE
digraph "ticket" {
    graph [label="ticket v1", labelloc="t", rankdir="TB", nodesep="0.25", ranksep="0.35",
           fontsize="12"];
    node [shape="box", style="rounded", fontsize="11"];
    edge [fontsize="9"];
    "(start)" [shape="point", width="0.15", label=""];
    "(end)" [shape="doublecircle", width="0.1", style="filled", fillcolor="black", label=""];
    "open" [label="待处理", tooltip="SLA reply：24h，done 停止，预警 50%/75%"];
    "done" [label="已完成", peripheries="2"];
    "(start)" -> "open";
    "open" -> "done" [label="close", tooltip="close [agent]"];
    "done" -> "(end)";
    "(legend)" [shape="note", label="待处理：SLA reply：24h，done 停止，预警 50%/75%\\l"];
    "(end)" -> "(legend)" [style="invis"];
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
        The graph text (no trailing newline), e.g. for ``dot -Tsvg``, top to bottom. A
        point marks the start, a filled double circle the end; final states have a
        double border; edges are labelled with their trigger, with the roles and guards
        as a tooltip; the SLAs are listed in a note-shaped legend below the end, and on
        the tooltip of the state where each clock starts. Every id and label is a quoted
        string, so any name or text is safe.
    """
    q = _dot_quote
    graph = _dot_attrs(label=_title(process, lang), labelloc="t", rankdir="TB",
                       nodesep="0.25", ranksep="0.35", fontsize="12")  # fmt: skip
    lines = [
        f"digraph {q(process.name)} {{",
        f"    graph {graph};",
        "    node " + _dot_attrs(shape="box", style="rounded", fontsize="11") + ";",
        "    edge " + _dot_attrs(fontsize="9") + ";",
        "    " + q("(start)") + " " + _dot_attrs(shape="point", width="0.15", label="") + ";",
        "    "
        + q("(end)")
        + " "
        + _dot_attrs(shape="doublecircle", width="0.1", style="filled", fillcolor="black", label="")
        + ";",
    ]
    clocks = _sla_notes(process, lang)
    for s in process.states:
        extra = {"peripheries": "2"} if s.final else {}
        if s.name in clocks:
            extra["tooltip"] = "; ".join(clocks[s.name])
        lines.append(f"    {q(s.name)} " + _dot_attrs(label=s.title(lang), **extra) + ";")
    lines.append(f"    {q('(start)')} -> {q(process.initial)};")
    for src, t in process.edges:
        # a short label keeps the layout on a screen; the rest shows on hover
        full = _edge_text(t, lang)
        lines.append(
            f"    {q(src)} -> {q(t.dest)} " + _dot_attrs(label=t.trigger, tooltip=full) + ";"
        )
    lines.extend(f"    {q(s.name)} -> {q('(end)')};" for s in process.states if s.final)
    notes = _sla_notes(process, lang)
    if notes:
        # one legend below the end (notes beside the states would double the width);
        # a state's tooltip names its clocks
        colon = _words(lang)["colon"]
        text = "".join(
            _dot_escape(f"{process.state_map[state].title(lang)}{colon}{note}") + "\\l"
            for state, lines_ in notes.items()
            for note in lines_
        )
        lines.append(f'    {q("(legend)")} [shape={q("note")}, label="{text}"];')
        lines.append(f"    {q('(end)')} -> {q('(legend)')} " + _dot_attrs(style="invis") + ";")
    lines.append("}")
    return "\n".join(lines)
