"""Mermaid and DOT diagrams: every state and edge appears, markers, notes, escaping.

Both outputs are read back by a small parser written here (the subset of the grammar the
diagrams use), so a stray quote or separator fails the test. Where Graphviz's ``dot``
is installed the DOT text is also laid out by it.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import attrs
import pytest

from techsvc_flow import (
    Actor,
    Field,
    Guard,
    ProcessDefinition,
    Sla,
    State,
    SteppedClock,
    Transition,
    WorkCalendar,
    Workflow,
    processes,
)
from techsvc_flow.diagrams import to_dot, to_mermaid
from techsvc_flow.errors import CaseNotFound, ConfigurationError, InvalidValue

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUOTED_LABEL = '已受理 "new": 1; #2 <b>'


def complaint() -> ProcessDefinition:
    return ProcessDefinition(
        name="complaint",
        version=3,
        title={"en": "Complaint", "zh": "投诉处理"},
        fields=[Field("remedy", "str"), Field("clauses", "list")],
        states=[
            State("received", initial=True, label={"en": QUOTED_LABEL, "zh": "已受理：“新”"}),
            State("investigating", label={"en": "Investigating", "zh": "调查中"}),
            State("waiting", label={"en": "Waiting for the complainant", "zh": "等待投诉人"}),
            State("answered", label={"en": "Answered", "zh": "已答复"}),
            State("closed", final=True, label={"en": "Closed", "zh": "已关闭"}),
            State("withdrawn", final=True),
        ],
        transitions=[
            Transition(
                "acknowledge",
                source="received",
                dest="investigating",
                roles=("agent", "lead"),
                label={"zh": "确认受理"},
            ),
            Transition("ask", source="investigating", dest="waiting", roles="agent"),
            Transition("reply", source="waiting", dest="investigating"),
            Transition(
                "answer",
                source="investigating",
                dest="answered",
                roles="agent",
                requires="remedy",
                guards=[
                    Guard.present("remedy_missing", "remedy"),
                    Guard.contains_all("clauses_missing", "clauses", ["a", "b"]),
                ],
            ),
            Transition("close", source="answered", dest="closed"),
            Transition("reopen", source="answered", dest="investigating", label='say "again"'),
            Transition("withdraw", source="*", dest="withdrawn"),
        ],
        slas=[
            Sla("ack", "24h", start_states="received", stop_states="investigating"),
            Sla(
                "feedback",
                "7wd",
                start_states="received",
                pause_states="waiting",
                stop_states="answered",
                breach_trigger="withdraw",
            ),
            Sla("closing", "2wd", start_triggers="answer", stop_states="closed", warn_at=()),
        ],
    )


# --- a reader for the Mermaid subset --------------------------------------------------


@attrs.frozen
class Mermaid:
    title: str
    states: dict[str, str]  # id -> label (entities decoded)
    edges: list[tuple[str, str, str]]  # (source id, dest id, text decoded)
    notes: dict[str, list[str]]
    classes: dict[str, str] = attrs.field(factory=dict)  # state id -> class (live diagrams)


_M_STATE = re.compile(r'^    state "(?P<label>[^"]*)" as (?P<id>[A-Za-z][A-Za-z0-9_]*)$')
_M_EDGE = re.compile(
    r"^    (?P<src>[A-Za-z][A-Za-z0-9_]*|\[\*\]) --> (?P<dst>[A-Za-z][A-Za-z0-9_]*|\[\*\])"
    r"(?:: (?P<text>(?:[^:;#\n]|#\w+;)+))?$"
)
_M_NOTE = re.compile(r"^    note right of (?P<id>[A-Za-z][A-Za-z0-9_]*)$")
_M_CLASSDEF = re.compile(r"^    classDef (?P<name>\w+) [\w#:,.-]+$")
_M_CLASS = re.compile(
    r"^    class (?P<ids>[A-Za-z][A-Za-z0-9_]*(?:,[A-Za-z][A-Za-z0-9_]*)*) (?P<name>\w+)$"
)


def _entities(text: str) -> str:
    """Decode Mermaid entity codes (``#quot;``, ``#35;``) as Mermaid does on render."""

    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        return html.unescape(f"&#{code};" if code.isdigit() else f"&{code};")

    return re.sub(r"#(\w+);", one, text)


def read_mermaid(text: str) -> Mermaid:
    lines = text.split("\n")
    assert lines[0] == "---" and lines[2] == "---", lines[:3]
    assert lines[1].startswith("title: ")
    title = json.loads(lines[1][len("title: ") :])
    assert lines[3] == "stateDiagram-v2"
    states: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    notes: dict[str, list[str]] = {}
    defined: set[str] = set()
    classes: dict[str, str] = {}
    rest: Iterator[str] = iter(lines[4:])
    for line in rest:
        if m := _M_CLASSDEF.match(line):
            defined.add(m["name"])
            continue
        if m := _M_CLASS.match(line):
            assert m["name"] in defined, f"class {m['name']} used before classDef"
            for state_id in m["ids"].split(","):
                assert state_id in states and state_id not in classes, line
                classes[state_id] = m["name"]
            continue
        if m := _M_STATE.match(line):
            assert m["id"] not in states, f"state id {m['id']} declared twice"
            states[m["id"]] = _entities(m["label"])
        elif m := _M_EDGE.match(line):
            for end in (m["src"], m["dst"]):
                assert end == "[*]" or end in states, f"undeclared state {end} in {line!r}"
            edges.append((m["src"], m["dst"], _entities(m["text"] or "")))
        elif m := _M_NOTE.match(line):
            assert m["id"] in states
            body = []
            for inner in rest:
                if inner == "    end note":
                    break
                assert inner.startswith("        ") and "end note" not in inner, inner
                body.append(_entities(inner.strip()))
            else:
                raise AssertionError("note not closed")
            notes[m["id"]] = body
        else:
            raise AssertionError(f"not a line of the Mermaid subset: {line!r}")
    return Mermaid(title, states, edges, notes, classes)


# --- a reader for the DOT subset ------------------------------------------------------

_DOT_TOKEN = re.compile(
    r"""
    (?P<space>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<id>[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*|-?(?:\.\d+|\d+(?:\.\d*)?))
  | (?P<arrow>->|--)
  | (?P<punct>[{}\[\]=;,])
    """,
    re.VERBOSE | re.DOTALL,
)


def _dot_tokens(text: str) -> list[tuple[str, str]]:
    tokens = []
    pos = 0
    while pos < len(text):
        m = _DOT_TOKEN.match(text, pos)
        assert m is not None, f"DOT: cannot read {text[pos : pos + 30]!r}"
        pos = m.end()
        kind = m.lastgroup
        assert kind is not None
        if kind == "space":
            continue
        value = m.group()
        if kind == "string":  # inside a DOT string only \" is an escape
            kind, value = "id", value[1:-1].replace('\\"', '"')
        tokens.append((kind, value))
    return tokens


def dot_label(value: str) -> str:
    """A label's text: ``\\l``, ``\\n`` and ``\\r`` end lines, ``\\X`` is ``X``."""
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] in "nlr" else m[1], value)


@attrs.frozen
class Dot:
    name: str
    graph: dict[str, str]
    nodes: dict[str, dict[str, str]]
    edges: list[tuple[str, str, dict[str, str]]]


def read_dot(text: str) -> Dot:
    tokens = _dot_tokens(text)
    pos = 0

    def take(kind: str, value: str | None = None) -> str:
        nonlocal pos
        assert pos < len(tokens), f"DOT: expected {value or kind}, got the end"
        got_kind, got = tokens[pos]
        assert got_kind == kind and (value is None or got == value), (
            f"DOT: expected {value or kind}, got {got!r} (token {pos})"
        )
        pos += 1
        return got

    def peek(value: str) -> bool:
        return pos < len(tokens) and tokens[pos][1] == value and tokens[pos][0] != "id"

    def attr_list() -> dict[str, str]:
        out: dict[str, str] = {}
        while peek("["):
            take("punct", "[")
            while not peek("]"):
                key = take("id")
                take("punct", "=")
                out[key] = take("id")
                if peek(",") or peek(";"):
                    take("punct")
            take("punct", "]")
        return out

    assert tokens[0] == ("id", "digraph"), tokens[:1]
    pos = 1
    name = take("id")
    take("punct", "{")
    graph: dict[str, str] = {}
    nodes: dict[str, dict[str, str]] = {}
    edges: list[tuple[str, str, dict[str, str]]] = []
    while not peek("}"):
        head = take("id")
        if head in ("graph", "node", "edge") and peek("["):
            attrs_ = attr_list()
            if head == "graph":
                graph.update(attrs_)
        elif peek("->"):
            chain = [head]
            while peek("->"):
                take("arrow", "->")
                chain.append(take("id"))
            attrs_ = attr_list()
            edges.extend((a, b, attrs_) for a, b in itertools.pairwise(chain))
        else:
            assert head not in nodes, f"DOT: node {head!r} declared twice"
            nodes[head] = attr_list()
        take("punct", ";")
    take("punct", "}")
    assert pos == len(tokens), "DOT: text after the closing brace"
    for a, b, _ in edges:
        assert a in nodes and b in nodes, f"DOT: edge {a!r} -> {b!r} to an undeclared node"
    return Dot(name, graph, nodes, edges)


# --- Mermaid --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_mermaid_shows_every_state_and_edge(lang: str) -> None:
    p = complaint()
    m = read_mermaid(to_mermaid(p, lang=lang))
    # plain names are their own ids
    assert m.states == {s.name: s.title(lang) for s in p.states}
    assert ("[*]", "received", "") in m.edges
    for final in ("closed", "withdrawn"):
        assert (final, "[*]", "") in m.edges
    assert sum(1 for e in m.edges if "[*]" in e[:2]) == 3
    real = [e for e in m.edges if "[*]" not in e[:2]]
    assert len(real) == len(p.edges)
    for (src, t), (msrc, mdst, text) in zip(p.edges, real, strict=True):
        assert (msrc, mdst) == (src, t.dest)
        assert text.split(" ")[0].split("（")[0] == t.trigger


def test_mermaid_annotations_roles_guards_and_sla_notes() -> None:
    m = read_mermaid(to_mermaid(complaint()))
    texts = {(a, b): t for a, b, t in m.edges}
    assert texts["received", "investigating"] == "acknowledge [agent, lead]"
    assert texts["investigating", "answered"] == (
        "answer [agent] (guards: remedy_missing, clauses_missing)"
    )
    assert texts["answered", "investigating"] == 'reopen (say "again")'
    assert m.notes["received"] == [
        "SLA ack: 24h, stops at investigating, warns at 50%/75%",
        "SLA feedback: 7wd, paused in waiting, stops at answered, warns at 50%/75%, "
        "breach fires withdraw",
    ]
    # a clock started by a trigger is shown where that trigger leads
    assert m.notes["answered"] == ["SLA closing: 2wd, starts on answer, stops at closed"]
    assert m.title == "Complaint v3"


def test_mermaid_chinese() -> None:
    text = to_mermaid(complaint(), lang="zh")
    m = read_mermaid(text)
    assert m.title == "投诉处理 v3"
    assert m.states["received"] == "已受理：“新”"
    assert m.states["withdrawn"] == "withdrawn"  # no label: the name
    texts = {(a, b): t for a, b, t in m.edges}
    assert texts["received", "investigating"] == "acknowledge（确认受理） [agent, lead]"
    assert texts["investigating", "answered"] == (
        "answer [agent]（守卫：remedy_missing, clauses_missing）"
    )
    assert m.notes["received"][1].startswith("SLA feedback：7wd，waiting 暂停，answered 停止")
    assert "已受理：“新”" in text  # Chinese is written as is, not escaped


def test_mermaid_escapes_quotes_and_separators() -> None:
    text = to_mermaid(complaint())
    line = next(ln for ln in text.splitlines() if ln.endswith(" as received"))
    assert line == '    state "已受理 #quot;new#quot;: 1; #35;2 #60;b#62;" as received'
    assert read_mermaid(text).states["received"] == QUOTED_LABEL
    edge = next(ln for ln in text.splitlines() if "reopen" in ln)
    assert edge == "    answered --> investigating: reopen (say #quot;again#quot;)"
    guarded = next(ln for ln in text.splitlines() if "answer [" in ln)
    assert guarded.endswith("(guards#58; remedy_missing, clauses_missing)")


def test_mermaid_newlines_and_end_note_stay_inside_their_line() -> None:
    p = ProcessDefinition(
        name="x",
        version=1,
        states=[State("a", initial=True, label="two\nlines"), State("b", final=True)],
        transitions=[Transition("go", source="a", dest="b", label="x;\ny")],
        slas=[Sla("s", "1h", start_states="a", label="the end note")],
    )
    m = read_mermaid(to_mermaid(p))
    assert m.states["a"] == "two lines"
    assert m.edges[1] == ("a", "b", "go (x; y)")
    assert m.notes["a"] == ["SLA s (the end note): 1h, warns at 50%/75%"]


def test_mermaid_ids_avoid_keywords_and_collisions() -> None:
    names = ["end", "note", "State", "root_start", "a.b", "a-b", "s_a_b", "s_end"]
    p = ProcessDefinition(
        name="odd",
        version=1,
        states=[State("start", initial=True), *(State(n) for n in names), State("z", final=True)],
        transitions=[
            Transition(f"t{i}", source=a, dest=b)
            for i, (a, b) in enumerate(zip(["start", *names], [*names, "z"], strict=True))
        ],
    )
    m = read_mermaid(to_mermaid(p))
    assert sorted(m.states.values()) == sorted(["start", *names, "z"])
    assert len(m.states) == len(names) + 2  # every state has its own id
    ids = {label: sid for sid, label in m.states.items()}
    for keyword in ("end", "note", "State", "root_start"):
        assert ids[keyword] != keyword
    assert ids["s_a_b"] == "s_a_b" and ids["s_end"] == "s_end"  # safe names kept
    path = [ids[n] for n in ["start", *names, "z"]]
    assert [(a, b) for a, b, _ in m.edges if "[*]" not in (a, b)] == list(itertools.pairwise(path))


# --- DOT ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_dot_shows_every_state_and_edge(lang: str) -> None:
    p = complaint()
    d = read_dot(to_dot(p, lang=lang))
    assert d.name == "complaint"
    states = {n: a for n, a in d.nodes.items() if not n.startswith("(")}
    assert {n: dot_label(a["label"]) for n, a in states.items()} == {
        s.name: s.title(lang) for s in p.states
    }
    assert {n for n, a in states.items() if a.get("peripheries") == "2"} == {"closed", "withdrawn"}
    assert d.nodes["(start)"]["shape"] == "point"
    edges = [(a, b) for a, b, _ in d.edges]
    assert ("(start)", "received") in edges
    assert edges.count(("closed", "(end)")) == edges.count(("withdrawn", "(end)")) == 1
    real = [e for e in d.edges if not (e[0].startswith("(") or e[1].startswith("("))]
    assert [(a, b) for a, b, _ in real] == [(src, t.dest) for src, t in p.edges]
    for (_, t), (_, _, a) in zip(p.edges, real, strict=True):
        assert a["label"] == t.trigger  # short: the details are in the tooltip
        assert dot_label(a["tooltip"]).startswith(t.trigger)


def test_dot_annotations_and_escaping() -> None:
    d = read_dot(to_dot(complaint()))
    assert dot_label(d.nodes["received"]["label"]) == QUOTED_LABEL
    tips = {(a, b): dot_label(x.get("tooltip", "")) for a, b, x in d.edges}
    assert tips["received", "investigating"] == "acknowledge [agent, lead]"
    assert tips["investigating", "answered"] == (
        "answer [agent] (guards: remedy_missing, clauses_missing)"
    )
    assert tips["answered", "investigating"] == 'reopen (say "again")'
    legend = d.nodes["(legend)"]
    assert legend["shape"] == "note"
    sla_lines = [
        "SLA ack: 24h, stops at investigating, warns at 50%/75%",
        "SLA feedback: 7wd, paused in waiting, stops at answered, warns at 50%/75%, "
        "breach fires withdraw",
    ]
    assert dot_label(legend["label"]).splitlines()[:2] == [
        f"{QUOTED_LABEL}: {x}" for x in sla_lines
    ]
    assert dot_label(d.nodes["received"]["tooltip"]) == "; ".join(sla_lines)
    assert dot_label(d.graph["label"]) == "Complaint v3"


def test_dot_escapes_backslashes() -> None:
    p = ProcessDefinition(
        name="we.ird-1",
        version=1,
        states=[State("a", initial=True, label='C:\\new "x"\\'), State("b", final=True)],
        transitions=[Transition("go", source="a", dest="b")],
    )
    text = to_dot(p)
    assert '"a" [label="C:\\\\new \\"x\\"\\\\"];' in text
    d = read_dot(text)
    assert d.name == "we.ird-1"
    assert dot_label(d.nodes["a"]["label"]) == 'C:\\new "x"\\'


def test_dot_parses() -> None:
    """Graphviz lays the graph out where ``dot`` is installed; else the reader above
    checks the grammar (it is run on every output in this file anyway)."""
    p = complaint()
    for lang in ("en", "zh"):
        text = to_dot(p, lang=lang)
        read = read_dot(text)
        dot = shutil.which("dot")
        if dot is None:
            continue
        done = subprocess.run(
            [dot, "-Tjson0"], input=text.encode(), capture_output=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr.decode()
        graph = json.loads(done.stdout)
        names = {o["name"]: o.get("label", "") for o in graph["objects"]}
        assert set(names) == set(read.nodes)
        assert dot_label(names["received"]) == p.state_map["received"].title(lang)
        assert len(graph["edges"]) == len(read.edges)


# --- the built-in templates -------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", sorted(processes.ALL))
def test_every_builtin_template_draws(name: str, lang: str) -> None:
    p = processes.builtin(name)
    m = read_mermaid(to_mermaid(p, lang=lang))
    assert sorted(m.states.values()) == sorted(s.title(lang) for s in p.states)
    assert len([e for e in m.edges if "[*]" not in e[:2]]) == len(p.edges)
    assert sum(1 for e in m.edges if e[1] == "[*]") == len(p.final_states)
    d = read_dot(to_dot(p, lang=lang))
    assert {n for n in d.nodes if not n.startswith("(")} == set(p.state_map)
    real = [(a, b) for a, b, _ in d.edges if not (a.startswith("(") or b.startswith("("))]
    assert real == [(src, t.dest) for src, t in p.edges]
    legend = dot_label(d.nodes["(legend)"]["label"]).splitlines()
    assert len(legend) >= len(p.slas)


@pytest.mark.parametrize("name", ["complaint", "service_engagement", "technology_transfer"])
def test_the_svg_fits_a_screen(name: str) -> None:
    """Laid out top to bottom with short labels, the SVG is at most twice as wide as
    high (it was 14,445 × 1,114 pt for the complaint, left to right)."""
    dot = shutil.which("dot")
    if dot is None:
        pytest.skip("Graphviz's dot is missing")
    done = subprocess.run([dot, "-Tsvg"], input=to_dot(processes.builtin(name)).encode(),
                          capture_output=True, timeout=60, check=True)  # fmt: skip
    m = re.search(rb'<svg width="(\d+)pt" height="(\d+)pt"', done.stdout)
    assert m is not None
    width, height = int(m[1]), int(m[2])
    assert width / height <= 2.0 and width <= 2000, (width, height)


# --- live case diagrams ---------------------------------------------------------------


@pytest.fixture
def live() -> Workflow:
    """A complaint case started at 09:00 on Monday 2025-10-20, acknowledged, asked for
    more, answered back; diagrams read at 10:00 on Wednesday the 22nd."""
    clock = SteppedClock(dt.datetime(2025, 10, 20, 9, 0, tzinfo=SHANGHAI))
    wf = Workflow(calendar=WorkCalendar.china(coverage="provisional"), clock=clock,
                  processes=[complaint()])  # fmt: skip
    wf.start("complaint", case_id="C-1")
    clock.advance(dt.timedelta(hours=1))
    wf.fire("C-1", "acknowledge", actor=Actor("ann", {"agent"}))
    wf.fire("C-1", "ask", actor=Actor("ann", {"agent"}))
    clock.advance(dt.timedelta(hours=2))
    wf.fire("C-1", "reply")
    clock.advance(dt.timedelta(days=2, hours=-2))
    return wf


def test_live_mermaid_highlights_the_state_and_numbers_the_path(live: Workflow) -> None:
    m = read_mermaid(live.diagram("C-1"))
    assert m.title == "Complaint v3 · case C-1"
    assert m.classes == {
        "received": "visited",
        "waiting": "visited",
        "investigating": "current",
    }
    steps = {(a, b): text.split(" · ")[-1] for a, b, text in m.edges if "step" in text}
    assert steps == {
        ("received", "investigating"): "step 1",
        ("investigating", "waiting"): "step 2",
        ("waiting", "investigating"): "step 3",
    }
    # the running clock: 7 working days from Monday the 20th (the whole day is working
    # time here), 2 hours paused in waiting, read on Wednesday the 22nd at 10:00
    assert m.notes == {"investigating": ["SLA feedback: due 2025-10-30 02:00, 5 wd 16h left"]}


def test_live_diagram_in_chinese_and_dot(live: Workflow) -> None:
    m = read_mermaid(live.diagram("C-1", lang="zh"))
    assert m.title == "投诉处理 v3 · 案件 C-1"
    assert m.notes == {
        "investigating": ["SLA feedback：2025-10-30 02:00 到期，剩余 5个工作日16小时"]
    }
    d = read_dot(live.diagram("C-1", format="dot"))
    assert d.graph["label"] == "Complaint v3 · case C-1"
    assert d.nodes["investigating"]["fillcolor"] == "#fde047"
    assert d.nodes["received"]["fillcolor"] == "#dbeafe"
    assert "fillcolor" not in d.nodes["answered"]
    bold = {(a, b): e["label"] for a, b, e in d.edges if e.get("penwidth") == "2.5"}
    assert bold == {
        ("received", "investigating"): "acknowledge (step 1)",
        ("investigating", "waiting"): "ask (step 2)",
        ("waiting", "investigating"): "reply (step 3)",
    }
    legend = dot_label(d.nodes["(legend)"]["label"]).splitlines()
    assert legend == ["running clocks:", "SLA feedback: due 2025-10-30 02:00, 5 wd 16h left"]


def test_live_diagram_numbers_a_repeated_edge_with_each_step(live: Workflow) -> None:
    live.fire("C-1", "ask", actor=Actor("ann", {"agent"}))
    m = read_mermaid(live.diagram("C-1"))
    ask = [text for a, b, text in m.edges if (a, b) == ("investigating", "waiting")]
    assert ask == ["ask [agent] · steps 2, 4"]
    assert m.classes["waiting"] == "current"
    assert m.notes == {}  # the feedback clock is paused: nothing runs


def test_live_svg_and_bad_format(live: Workflow) -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is missing")
    svg = live.diagram("C-1", format="svg")
    assert svg.startswith("<?xml") and 'fill="#fde047"' in svg and "step 3" in svg
    with pytest.raises(InvalidValue, match="format"):
        live.diagram("C-1", format="png")
    with pytest.raises(CaseNotFound):
        live.diagram("nope")


def test_short_mermaid_labels_edges_with_the_trigger_only() -> None:
    p = processes.builtin("complaint")
    full, short = read_mermaid(to_mermaid(p)), read_mermaid(to_mermaid(p, short=True))
    assert short.states == full.states
    assert {text for _, _, text in short.edges} <= {t.trigger for _, t in p.edges} | {""}
    # the two review_escalation edges (L2, L3) are one arrow
    review = [e for e in short.edges if e[2] == "review_escalation"]
    assert review == [("escalated", "investigating", "review_escalation")]
    assert short.notes["received"] == ["SLA acknowledge (Acknowledgement): 24h",
                                       "SLA feedback (Feedback): 7wd"]  # fmt: skip
    assert len(to_mermaid(p, short=True)) < 0.6 * len(to_mermaid(p))


def test_short_live_diagram_keeps_the_steps(live: Workflow) -> None:
    m = read_mermaid(live.diagram("C-1", short=True))
    assert ("waiting", "investigating", "reply · step 3") in m.edges
    assert ("received", "investigating", "acknowledge · step 1") in m.edges


def test_svg_without_graphviz_is_a_configuration_error(
    live: Workflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ConfigurationError, match="Graphviz"):
        live.diagram("C-1", format="svg")
