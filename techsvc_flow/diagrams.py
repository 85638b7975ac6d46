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

import datetime as dt
import json
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence

import attrs

from .definition import ProcessDefinition, Sla, Transition
from .durations import TimeLeft
from .errors import ConfigurationError

__all__ = ["CaseView", "to_dot", "to_mermaid", "to_svg"]

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
        "step": "step {}",
        "steps": "steps {}",
        "case": "case {}",
        "due": "due {}",
        "left": "{} left",
        "clocks": "running clocks",
        "none": "no clock running",
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
        "step": "第 {} 步",
        "steps": "第 {} 步",
        "case": "案件 {}",
        "due": "{} 到期",
        "left": "剩余 {}",
        "clocks": "计时中的时限",
        "none": "无计时中的时限",
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


@attrs.frozen
class CaseView:
    """What a live case diagram shows on top of its process (see ``Workflow.diagram``).

    Attributes:
        case_id: the case.
        state: its current state (highlighted).
        steps: the transitions it took, oldest first, as ``(source, trigger, dest)``;
            their edges are drawn bold and numbered, the states they passed shaded.
        clocks: the running SLA clocks as ``(sla, due, time left)``, the due instant
            in the zone it is to be shown in; shown in a note on the current state
            (Mermaid) or in the legend (DOT) instead of the process's SLA rules.
    """

    case_id: str
    state: str
    steps: Sequence[tuple[str, str, str]] = ()
    clocks: Sequence[tuple[str, dt.datetime | None, TimeLeft | None]] = ()

    def numbers(self) -> dict[tuple[str, str, str], list[int]]:
        """The step numbers (from 1) of each edge taken."""
        out: dict[tuple[str, str, str], list[int]] = {}
        for n, step in enumerate(self.steps, 1):
            out.setdefault(step, []).append(n)
        return out

    def visited(self) -> set[str]:
        """The states the case has been in, the current one included."""
        return {self.state} | {s for step in self.steps for s in (step[0], step[2])}

    def clock_lines(self, process: ProcessDefinition, lang: str) -> list[str]:
        """One line per running clock, e.g. ``SLA reply: due 2025-10-16 18:00, 3h left``."""
        w = _words(lang)
        labels = {sla.name: sla.label.get(lang) or sla.name for sla in process.slas}
        lines = []
        for name, due, left in self.clocks:
            parts = []
            if due is not None:
                parts.append(w["due"].format(due.strftime("%Y-%m-%d %H:%M")))
            if left is not None:
                text = left.text(lang)
                parts.append(text if left.overdue else w["left"].format(text))
            lines.append(f"SLA {labels.get(name, name)}{w['colon']}{w['comma'].join(parts)}")
        return lines


def _step_text(numbers: Sequence[int], lang: str) -> str:
    w = _words(lang)
    return w["step" if len(numbers) == 1 else "steps"].format(", ".join(map(str, numbers)))


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


def _sla_text(sla: Sla, lang: str, short: bool = False) -> str:
    """One line describing an SLA: limit, start triggers, pause and stop states, marks
    (``short``: its name and limit only)."""
    w = _words(lang)
    name = sla.name
    label = sla.label.get(lang)
    if label and label != sla.name:
        name += f"{w['open']}{label}{w['close']}"
    if short:
        return f"SLA {name}{w['colon']}{sla.duration}"
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


def _sla_notes(process: ProcessDefinition, lang: str, short: bool = False) -> dict[str, list[str]]:
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
            notes.setdefault(state, []).append(_sla_text(sla, lang, short))
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


def to_mermaid(
    process: ProcessDefinition,
    /,
    *,
    lang: str = "en",
    case: CaseView | None = None,
    short: bool = False,
) -> str:
    """The process as a Mermaid ``stateDiagram-v2``.

    Args:
        process: any process definition.
        lang: the language of the state labels and of the annotations (``"en"``,
            ``"zh"``; labels fall back to English, then to the state name).
        case: draw one case live: its current state highlighted (class ``current``),
            the states it passed shaded (class ``visited``), the edges it took
            numbered (``step 1``), and its running clocks in a note on the current
            state instead of the SLA rules.
        short: a shorter layout: each edge labelled with its trigger only (no
            labels, roles or guards), parallel edges (the same source, trigger and
            destination) drawn once, and each SLA note with its name and limit only.

    Returns:
        The diagram text (no trailing newline); paste it into a ```` ```mermaid ````
        block. States are declared with their labels, edges carry
        ``trigger [roles] (guards: codes)``, and each SLA is a note on the state
        where its clock starts.
    """
    ids = _mermaid_ids(process)
    title_text = _title(process, lang)
    if case is not None:
        title_text += " · " + _words(lang)["case"].format(case.case_id)
    title = json.dumps(title_text, ensure_ascii=False)
    lines = ["---", f"title: {title}", "---", "stateDiagram-v2"]
    for s in process.states:
        label = _mermaid_text(s.title(lang), '"<>')
        lines.append(f'    state "{label}" as {ids[s.name]}')
    lines.append(f"    [*] --> {ids[process.initial]}")
    taken = case.numbers() if case is not None else {}
    drawn: set[tuple[str, str, str]] = set()
    for src, t in process.edges:
        if short and (src, t.trigger, t.dest) in drawn:
            continue
        drawn.add((src, t.trigger, t.dest))
        label = t.trigger if short else _edge_text(t, lang)
        numbers = taken.pop((src, t.trigger, t.dest), None)
        if numbers:
            label += f" · {_step_text(numbers, lang)}"
        text = _mermaid_text(label, '":;<>')
        lines.append(f"    {ids[src]} --> {ids[t.dest]}: {text}")
    lines.extend(f"    {ids[s.name]} --> [*]" for s in process.states if s.final)
    notes_by_state = _sla_notes(process, lang, short)
    if case is not None:
        notes_by_state = {case.state: case.clock_lines(process, lang)} if case.clocks else {}
        lines.append("    classDef visited fill:#dbeafe,stroke:#1d4ed8")
        lines.append("    classDef current fill:#fde047,stroke:#b45309,stroke-width:3px")
        passed = [ids[s.name] for s in process.states if s.name in case.visited() - {case.state}]
        if passed:
            lines.append(f"    class {','.join(passed)} visited")
        lines.append(f"    class {ids[case.state]} current")
    for state, notes in notes_by_state.items():
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


def to_dot(process: ProcessDefinition, /, *, lang: str = "en", case: CaseView | None = None) -> str:
    """The process as a Graphviz DOT ``digraph``.

    Args:
        process: any process definition.
        lang: the language of the state labels and of the annotations.
        case: draw one case live: its current state filled yellow with a thick border,
            the states it passed filled blue, the edges it took bold blue and numbered
            (``step 1``), and its running clocks in the legend instead of the SLA rules.

    Returns:
        The graph text (no trailing newline), e.g. for ``dot -Tsvg``, top to bottom. A
        point marks the start, a filled double circle the end; final states have a
        double border; edges are labelled with their trigger, with the roles and guards
        as a tooltip; the SLAs are listed in a note-shaped legend below the end, and on
        the tooltip of the state where each clock starts. Every id and label is a quoted
        string, so any name or text is safe.
    """
    q = _dot_quote
    title = _title(process, lang)
    if case is not None:
        title += " · " + _words(lang)["case"].format(case.case_id)
    graph = _dot_attrs(label=title, labelloc="t", rankdir="TB",
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
    visited = case.visited() if case is not None else set()
    for s in process.states:
        extra = {"peripheries": "2"} if s.final else {}
        if s.name in clocks:
            extra["tooltip"] = "; ".join(clocks[s.name])
        if case is not None and s.name == case.state:
            extra.update(style="rounded,filled,bold", fillcolor="#fde047", penwidth="3")
        elif s.name in visited:
            extra.update(style="rounded,filled", fillcolor="#dbeafe")
        lines.append(f"    {q(s.name)} " + _dot_attrs(label=s.title(lang), **extra) + ";")
    lines.append(f"    {q('(start)')} -> {q(process.initial)};")
    taken = case.numbers() if case is not None else {}
    for src, t in process.edges:
        # a short label keeps the layout on a screen; the rest shows on hover
        full = _edge_text(t, lang)
        numbers = taken.pop((src, t.trigger, t.dest), None)
        if numbers:
            label = f"{t.trigger} ({_step_text(numbers, lang)})"
            attrs_ = _dot_attrs(label=label, tooltip=full, color="#1d4ed8", fontcolor="#1d4ed8",
                                penwidth="2.5")  # fmt: skip
        else:
            attrs_ = _dot_attrs(label=t.trigger, tooltip=full)
        lines.append(f"    {q(src)} -> {q(t.dest)} {attrs_};")
    lines.extend(f"    {q(s.name)} -> {q('(end)')};" for s in process.states if s.final)
    notes = _sla_notes(process, lang)
    if case is not None:
        w = _words(lang)
        running = case.clock_lines(process, lang) or [w["none"]]
        text = (
            _dot_escape(w["clocks"] + w["colon"].strip())
            + "\\l"
            + "".join(_dot_escape(line) + "\\l" for line in running)
        )
        lines.append(f'    {q("(legend)")} [shape={q("note")}, label="{text}"];')
        lines.append(f"    {q('(end)')} -> {q('(legend)')} " + _dot_attrs(style="invis") + ";")
        notes = {}
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


def to_svg(dot: str, /) -> str:
    """``dot`` (a DOT graph, e.g. from :func:`to_dot`) laid out as SVG by Graphviz.

    Raises:
        ConfigurationError: Graphviz's ``dot`` program is not installed.
    """
    binary = shutil.which("dot")
    if binary is None:
        raise ConfigurationError(
            "graphviz", "SVG needs Graphviz's 'dot' program (e.g. apt-get install graphviz)"
        )
    done = subprocess.run([binary, "-Tsvg"], input=dot, capture_output=True, text=True, check=True)
    return done.stdout
