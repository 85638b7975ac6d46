"""Process definitions: construction, the dict/JSON form, the content hash, validation."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from techsvc_flow import Field, Guard, ProcessDefinition, Sla, State, Transition
from techsvc_flow.durations import ClockTime, WorkingDays
from techsvc_flow.errors import DefinitionError


def complaint(**overrides: Any) -> ProcessDefinition:
    """A small complaint process that uses every part of a definition."""
    values: dict[str, Any] = {
        "name": "complaint",
        "version": 1,
        "title": {"en": "Complaint", "zh": "投诉"},
        "description": "GB/T 19012 in brief",
        "fields": [
            Field("channel", "str", choices=["phone", "web"], label={"zh": "渠道"}),
            Field("phone", "str", confidential=True),
            Field("severity", "int"),
            Field("remedy", "str"),
            Field("clauses", "list"),
        ],
        "requires": ["channel"],
        "states": [
            State("received", initial=True, label={"en": "Received", "zh": "已受理"}),
            State("acknowledged", label="Acknowledged"),
            State("investigating", source="GB/T 19012 7.6"),
            State("waiting"),
            State("closed", final=True, description="done"),
        ],
        "transitions": [
            Transition("acknowledge", source="received", dest="acknowledged", roles=("agent",)),
            Transition(
                "investigate",
                source="acknowledged",
                dest="investigating",
                requires=("severity",),
                guards=[Guard.one_of("severity_range", "severity", [1, 2, 3])],
            ),
            Transition("wait", source="investigating", dest="waiting"),
            Transition("resume", source="waiting", dest="investigating"),
            Transition(
                "close",
                source=["investigating", "waiting"],
                dest="closed",
                accepts=("remedy", "clauses"),
                guards=[
                    Guard.present("remedy_missing", "remedy"),
                    Guard.contains_all("clauses_missing", "clauses", ["a", "b"]),
                    Guard.max_count("too_many", "close", 1),
                    Guard.within("too_late", "7wd"),
                    Guard.equals("web_only", "channel", "web", message="web only"),
                ],
                record_refusals=True,
                label={"zh": "结案"},
                source_clause="7.9",
            ),
        ],
        "slas": [
            Sla("ack", "24h", start_states="received", stop_states="acknowledged"),
            Sla(
                "feedback",
                "7wd",
                start_states=["received"],
                pause_states=["waiting"],
                stop_states=["closed"],
                warn_at=[0.75, 0.5],
                breach_trigger="wait",
                label={"zh": "反馈"},
                source="7 working days",
            ),
        ],
    }
    values.update(overrides)
    return ProcessDefinition(**values)


def small() -> dict[str, Any]:
    """The dict form of a minimal valid process, to break in the validation tests."""
    return {
        "name": "ticket",
        "version": 1,
        "fields": [{"name": "note", "type": "str"}],
        "states": [
            {"name": "open", "initial": True},
            {"name": "working"},
            {"name": "closed", "final": True},
        ],
        "transitions": [
            {"trigger": "take", "source": ["open"], "dest": "working"},
            {"trigger": "drop", "source": ["working"], "dest": "open"},
            {"trigger": "close", "source": ["working"], "dest": "closed"},
        ],
        "slas": [{"name": "handle", "duration": "4wh", "start_states": ["open"]}],
    }


def error_of(data: dict[str, Any], **kwargs: Any) -> DefinitionError:
    with pytest.raises(DefinitionError) as info:
        ProcessDefinition.from_dict(data, **kwargs)
    return info.value


# --- building ---------------------------------------------------------------------------


def test_built_in_python() -> None:
    p = complaint()
    assert p.initial == "received"
    assert p.final_states == frozenset({"closed"})
    assert p.triggers_from("investigating") == ("wait", "close")
    assert p.triggers_from("closed") == ()
    assert p.state_map["waiting"].name == "waiting"
    assert p.sla_map["feedback"].duration == WorkingDays(7)
    assert p.sla_map["feedback"].warn_at == (0.5, 0.75)  # sorted
    assert p.confidential == frozenset({"phone"})
    assert list(p.fields) == ["channel", "phone", "severity", "remedy", "clauses"]
    assert p.fields["channel"].choices == ("phone", "web")
    assert p.transitions[4].source == ("investigating", "waiting")
    assert p.transitions[0].roles == ("agent",)
    assert repr(p).startswith("<ProcessDefinition complaint v1 ")


def test_star_source_means_every_non_final_state() -> None:
    p = ProcessDefinition(
        name="p",
        version=1,
        states=[State("a", initial=True), State("b"), State("x", final=True)],
        transitions=[Transition("go", "a", "b"), Transition("cancel", "*", "x")],
    )
    assert [(src, t.trigger) for src, t in p.edges if t.trigger == "cancel"] == [
        ("a", "cancel"),
        ("b", "cancel"),
    ]
    assert p.triggers_from("b") == ("cancel",)


def test_fields_as_a_mapping() -> None:
    fields = complaint().fields
    p = complaint(fields={name: fields[name] for name in reversed(list(fields))})
    assert list(p.fields) == ["clauses", "remedy", "severity", "phone", "channel"]
    assert p == complaint(fields=list(reversed(list(fields.values()))))
    with pytest.raises(DefinitionError) as info:
        complaint(fields={"channel": Field("chanel")})
    assert info.value.path == "fields.channel.name"


def test_labels_and_titles() -> None:
    p = complaint()
    received = p.state_map["received"]
    assert received.title("zh") == "已受理"
    assert received.title("en") == "Received"
    assert received.title("fr") == "Received"  # falls back to English
    assert p.state_map["acknowledged"].label == {"en": "Acknowledged"}  # a str is English
    assert p.state_map["acknowledged"].title("zh") == "Acknowledged"
    assert p.state_map["waiting"].title("zh") == "waiting"  # then to the name
    assert p.title == {"en": "Complaint", "zh": "投诉"}
    assert p.fields["channel"].label == {"zh": "渠道"}
    assert p.transitions[4].label == {"zh": "结案"}


# --- dict and JSON ----------------------------------------------------------------------


def test_dict_round_trip() -> None:
    p = complaint()
    data = p.to_dict()
    back = ProcessDefinition.from_dict(data)
    assert back == p
    assert hash(back) == hash(p)
    assert back.hash == p.hash
    assert back.to_dict() == data
    assert back.transitions[4].guards == p.transitions[4].guards
    assert back.slas == p.slas
    assert back.states == p.states
    assert dict(back.fields) == dict(p.fields)


def test_json_round_trip_keeps_chinese() -> None:
    p = complaint()
    text = p.to_json()
    assert "投诉" in text  # not \\u escaped
    back = ProcessDefinition.from_json(text)
    assert back == p
    assert hash(back) == hash(p)
    assert json.loads(text) == p.to_dict()


def test_from_json_rejects_bad_json() -> None:
    with pytest.raises(DefinitionError, match="not valid JSON"):
        ProcessDefinition.from_json("{nope")


def test_dict_form_is_plain() -> None:
    data = complaint().to_dict()
    assert data["slas"][1] == {
        "name": "feedback",
        "duration": "7wd",
        "start_states": ["received"],
        "pause_states": ["waiting"],
        "stop_states": ["closed"],
        "warn_at": [0.5, 0.75],
        "breach_trigger": "wait",
        "label": {"zh": "反馈"},
        "source": "7 working days",
    }
    assert data["transitions"][1]["guards"] == [
        {"code": "severity_range", "kind": "one_of", "field": "severity", "values": [1, 2, 3]}
    ]
    assert data["fields"][1] == {"name": "phone", "type": "str", "confidential": True}


def test_content_hash_changes_with_content() -> None:
    p = complaint()
    same = complaint()
    assert p == same and p.hash == same.hash and p is not same
    relabelled = complaint(title={"en": "Complaints"})
    assert relabelled.hash != p.hash
    assert relabelled != p
    longer = copy.deepcopy(p.to_dict())
    longer["slas"][0]["duration"] = "48h"
    assert ProcessDefinition.from_dict(longer).hash != p.hash
    assert complaint(version=2).hash != p.hash
    assert p != "complaint"


def test_with_durations_overrides_without_copying() -> None:
    p = complaint()
    q = p.with_durations(feedback="10wd", ack=ClockTime.parse("12h"))
    assert q.sla_map["feedback"].duration == WorkingDays(10)
    assert str(q.sla_map["ack"].duration) == "12h"
    assert str(p.sla_map["feedback"].duration) == "7wd"  # the original is untouched
    assert q.version == p.version and q.name == p.name
    assert q.hash != p.hash
    # the rest is shared, not copied
    assert q.states is p.states
    assert q.transitions is p.transitions
    assert q.functions is p.functions
    assert q.sla_map["feedback"].pause_states == ("waiting",)


def test_with_durations_unknown_sla() -> None:
    with pytest.raises(DefinitionError) as info:
        complaint().with_durations(feedbak="10wd")
    assert info.value.path == "slas.feedbak"
    assert "no such SLA; known: ack, feedback" in str(info.value)
    with pytest.raises(DefinitionError) as info:
        complaint().with_durations(ack="one day")
    assert info.value.path == "slas.ack"
    assert "bad duration 'one day'" in info.value.problem
    with pytest.raises(DefinitionError) as info:
        complaint().with_durations(ack="-1h")
    assert str(info.value) == "slas[0].duration: -1h is negative"


# --- validation: each rule, with its exact key path -------------------------------------


def test_unknown_dest() -> None:
    data = small()
    data["transitions"][2]["dest"] = "closd"
    err = error_of(data)
    assert str(err) == "transitions[2].dest: unknown state 'closd'"
    assert err.path == "transitions[2].dest"
    assert err.problem == "unknown state 'closd'"
    assert isinstance(err, ValueError)


def test_unknown_source() -> None:
    data = small()
    data["transitions"][1]["source"] = ["working", "wroking"]
    assert str(error_of(data)) == "transitions[1].source[1]: unknown state 'wroking'"


def test_no_initial_state() -> None:
    data = small()
    del data["states"][0]["initial"]
    assert str(error_of(data)) == "states: exactly one initial state is required, found 0"


def test_two_initial_states() -> None:
    data = small()
    data["states"][1]["initial"] = True
    assert str(error_of(data)) == "states: exactly one initial state is required, found 2"


def test_duplicate_state() -> None:
    data = small()
    data["states"].append({"name": "working"})
    assert str(error_of(data)) == "states[3].name: duplicate state 'working'"


def test_unreachable_state() -> None:
    data = small()
    data["states"].insert(2, {"name": "limbo"})
    data["transitions"].append({"trigger": "escape", "source": ["limbo"], "dest": "closed"})
    assert str(error_of(data)) == "states[2]: state 'limbo' is unreachable from 'open'"


def test_no_final_state_reachable() -> None:
    data = small()
    data["states"].insert(2, {"name": "trap"})
    data["transitions"].append({"trigger": "fall", "source": ["working"], "dest": "trap"})
    err = error_of(data)
    assert err.path == "states[2]"
    assert err.problem == "no final state is reachable from 'trap' (or set require_final=False)"
    # the opt-out, for a process that runs forever
    data["require_final"] = False
    p = ProcessDefinition.from_dict(data)
    assert "trap" in p.state_map
    assert p.require_final is False


def test_no_final_state_at_all() -> None:
    loop = ProcessDefinition(
        name="loop",
        version=1,
        states=[State("a", initial=True), State("b")],
        transitions=[Transition("go", "a", "b"), Transition("back", "b", "a")],
        require_final=False,
    )
    assert loop.final_states == frozenset()
    with pytest.raises(DefinitionError) as info:
        ProcessDefinition(
            name="loop",
            version=1,
            states=[State("a", initial=True), State("b")],
            transitions=[Transition("go", "a", "b"), Transition("back", "b", "a")],
        )
    assert info.value.path == "states"
    assert "no final state" in info.value.problem


def test_sla_unknown_state() -> None:
    data = small()
    data["slas"][0]["stop_states"] = ["closed", "clsoed"]
    assert str(error_of(data)) == "slas[0].stop_states[1]: unknown state 'clsoed'"
    data = small()
    data["slas"][0]["start_states"] = ["opne"]
    assert str(error_of(data)) == "slas[0].start_states[0]: unknown state 'opne'"
    data = small()
    data["slas"][0]["pause_states"] = ["nowhere"]
    assert str(error_of(data)) == "slas[0].pause_states[0]: unknown state 'nowhere'"


def test_sla_unknown_trigger() -> None:
    data = small()
    data["slas"][0]["start_triggers"] = ["tkae"]
    assert str(error_of(data)) == "slas[0].start_triggers[0]: unknown trigger 'tkae'"
    data = small()
    data["slas"][0]["breach_trigger"] = "escalate"
    assert str(error_of(data)) == "slas[0].breach_trigger: unknown trigger 'escalate'"


def test_sla_needs_a_start() -> None:
    data = small()
    del data["slas"][0]["start_states"]
    assert str(error_of(data)) == "slas[0]: an SLA needs start_states or start_triggers"


def test_sla_warning_fractions() -> None:
    data = small()
    data["slas"][0]["warn_at"] = [0.5, 1.0]
    assert str(error_of(data)) == "slas[0].warn_at[1]: 1.0 is not between 0 and 1"


def test_sla_negative_duration() -> None:
    data = small()
    data["slas"][0]["duration"] = "-4wh"
    assert str(error_of(data)) == "slas[0].duration: -4wh is negative"


def test_duplicate_sla() -> None:
    data = small()
    data["slas"].append({"name": "handle", "duration": "1h", "start_states": ["open"]})
    assert str(error_of(data)) == "slas[1].name: duplicate SLA 'handle'"


def test_bad_duration_in_sla() -> None:
    data = small()
    data["slas"][0]["duration"] = "7 days"
    err = error_of(data)
    assert err.path == "slas[0].duration"
    assert "bad duration '7 days'" in err.problem


def test_missing_sla_duration() -> None:
    data = small()
    del data["slas"][0]["duration"]
    assert str(error_of(data)) == "slas[0].duration: missing"


def test_unknown_field_in_requires() -> None:
    data = small()
    data["transitions"][2]["requires"] = ["note", "nots"]
    assert (
        str(error_of(data))
        == "transitions[2].requires[1]: unknown field 'nots': declare it in fields"
    )
    data = small()
    data["transitions"][2]["accepts"] = ["x"]
    assert (
        str(error_of(data)) == "transitions[2].accepts[0]: unknown field 'x': declare it in fields"
    )
    data = small()
    data["requires"] = ["note", "title"]
    assert str(error_of(data)) == "requires[1]: unknown field 'title'"


def test_unknown_field_in_guards() -> None:
    data = small()
    data["transitions"][2]["guards"] = [
        {"code": "ok", "kind": "present", "fields": ["note"]},
        {"code": "has_both", "kind": "present", "fields": ["note", "nope"]},
    ]
    assert (
        str(error_of(data))
        == "transitions[2].guards[1].fields[1]: unknown field 'nope': declare it in fields"
    )
    data = small()
    data["transitions"][2]["guards"] = [{"code": "c", "kind": "equals", "field": "x", "value": 1}]
    assert str(error_of(data)) == (
        "transitions[2].guards[0].field: unknown field 'x': declare it in fields"
    )


def test_unknown_guard_kind() -> None:
    data = small()
    data["transitions"][0]["guards"] = [{"code": "c", "kind": "magic"}]
    err = error_of(data)
    assert err.path == "transitions[0].guards[0].kind"
    assert err.problem.startswith("unknown guard kind 'magic'; use one of present, ")
    # built in Python, the same path
    with pytest.raises(DefinitionError) as info:
        ProcessDefinition(
            name="p",
            version=1,
            states=[State("a", initial=True), State("b", final=True)],
            transitions=[Transition("go", "a", "b", guards=[Guard("c", "magic")])],
        )
    assert info.value.path == "transitions[0].guards[0].kind"


def test_guard_keys() -> None:
    data = small()
    data["transitions"][0]["guards"] = [
        {"code": "c", "kind": "present", "fields": ["note"], "colour": "red"}
    ]
    err = error_of(data)
    assert err.path == "transitions[0].guards[0].colour"
    assert err.problem == "unknown key: a 'present' guard takes fields"
    data["transitions"][0]["guards"] = [{"code": "c", "kind": "max_count", "trigger": "take"}]
    assert str(error_of(data)) == "transitions[0].guards[0].limit: missing"
    data["transitions"][0]["guards"] = [{"kind": "present", "fields": []}]
    assert str(error_of(data)) == "transitions[0].guards[0].code: missing"
    data["transitions"][0]["guards"] = [
        {"code": "c", "kind": "max_count", "trigger": "take", "limit": "2"}
    ]
    assert str(error_of(data)) == "transitions[0].guards[0].limit: expected an integer"
    data["transitions"][0]["guards"] = [{"code": "c", "kind": "within", "duration": "soon"}]
    assert error_of(data).path == "transitions[0].guards[0].duration"
    data["transitions"][0]["guards"] = [{"code": "c", "kind": "present", "fields": "note"}]
    assert str(error_of(data)) == "transitions[0].guards[0].fields: expected a list of field names"


def test_guard_fields_as_a_tuple() -> None:
    # built by hand rather than with Guard.present: a tuple of fields is fine
    guard = Guard("c", "present", {"fields": ("note",)})
    p = ProcessDefinition(
        name="p",
        version=1,
        fields=[Field("note")],
        states=[State("a", initial=True), State("b", final=True)],
        transitions=[Transition("go", "a", "b", guards=[guard])],
    )
    assert p.transitions[0].guards[0].args["fields"] == ("note",)


def test_call_guard_needs_its_function() -> None:
    data = small()
    data["transitions"][2]["guards"] = [{"code": "c", "kind": "call", "function": "signed"}]
    err = error_of(data)
    assert str(err) == (
        "transitions[2].guards[0].function: no function 'signed' registered (pass functions=...)"
    )
    p = ProcessDefinition.from_dict(data, functions={"signed": lambda ctx: True})
    assert p.transitions[2].guards[0].args == {"function": "signed"}
    assert "signed" in p.functions
    # and from JSON
    text = json.dumps(data)
    with pytest.raises(DefinitionError):
        ProcessDefinition.from_json(text)
    assert ProcessDefinition.from_json(text, functions={"signed": lambda ctx: True}) == p


def test_unknown_keys_in_dict_form() -> None:
    data = small()
    data["transitions"][0]["colour"] = "red"
    assert str(error_of(data)) == "transitions[0].colour: unknown key"
    data = small()
    data["colour"] = "red"
    assert str(error_of(data)) == "colour: unknown key"
    data = small()
    data["states"][1]["colour"] = "red"
    assert str(error_of(data)) == "states[1].colour: unknown key"
    data = small()
    data["slas"][0]["colour"] = "red"
    assert str(error_of(data)) == "slas[0].colour: unknown key"
    data = small()
    data["fields"][0]["colour"] = "red"
    assert str(error_of(data)) == "fields[0].colour: unknown key"


def test_missing_keys_in_dict_form() -> None:
    data = small()
    del data["states"]
    assert str(error_of(data)) == "states: missing"
    data = small()
    del data["transitions"][1]["dest"]
    assert str(error_of(data)) == "transitions[1].dest: missing"
    data = small()
    data["states"] = {"open": {}}
    assert str(error_of(data)) == "states: expected a list, got dict"
    data = small()
    data["transitions"][0] = "take"
    assert str(error_of(data)) == "transitions[0]: expected an object, got str"


def test_bad_values_in_dict_form() -> None:
    data = small()
    data["slas"][0]["warn_at"] = ["half"]
    assert error_of(data).path == "slas[0]"
    data = small()
    data["version"] = 0
    assert str(error_of(data)) == "version: 0 is not a positive integer"
    data = small()
    data["name"] = "no spaces please"
    assert error_of(data).path == "name"
    data = small()
    data["fields"][0]["type"] = "text"
    assert error_of(data).path == "fields.note.type"


def test_duplicate_field() -> None:
    data = small()
    data["fields"].append({"name": "note", "type": "int"})
    assert str(error_of(data)) == "fields[1].name: duplicate field 'note'"


def test_trigger_named_like_a_state() -> None:
    data = small()
    data["transitions"][0]["trigger"] = "working"
    assert str(error_of(data)) == "transitions[0].trigger: 'working' is also a state name"


def test_transition_from_a_final_state() -> None:
    data = small()
    data["transitions"].append({"trigger": "reopen", "source": ["closed"], "dest": "working"})
    assert (
        str(error_of(data)) == "transitions[3].source[0]: 'closed' is final: nothing may leave it"
    )


def test_duplicate_transition() -> None:
    data = small()
    data["transitions"].append({"trigger": "close", "source": ["working"], "dest": "closed"})
    assert str(error_of(data)) == (
        "transitions[3]: duplicate transition 'close' from 'working' to 'closed' "
        "(same as transitions[2])"
    )
    # an exact repeat hidden behind "*"
    data["transitions"][3]["source"] = ["*"]
    assert error_of(data).path == "transitions[3]"
    # the same step for another role is a different rule, tried in order
    data["transitions"][3]["roles"] = ["manager"]
    p = ProcessDefinition.from_dict(data)
    assert len(p.transitions) == 4


def test_bad_names() -> None:
    data = small()
    data["states"][1]["name"] = "in progress"
    assert str(error_of(data)) == "states[1].name: 'in progress' is not a valid name"
    data = small()
    data["transitions"][0]["trigger"] = "take it"
    assert str(error_of(data)) == "transitions[0].trigger: 'take it' is not a valid name"


def test_definition_errors_are_value_errors() -> None:
    data = small()
    data["transitions"][2]["dest"] = "closd"
    with pytest.raises(ValueError, match=r"transitions\[2\]\.dest"):
        ProcessDefinition.from_dict(data)


def _two_steps(**options: Any) -> ProcessDefinition:
    return ProcessDefinition(
        name="t",
        version=1,
        states=[State("a", initial=True), State("b"), State("c", final=True)],
        transitions=[
            Transition("deliver", source="a", dest="b", roles=("pm",)),
            Transition("accept", source="b", dest="c", roles=("client", "pm"), **options),
        ],
    )


def test_not_by_and_on_behalf_of_are_checked_and_kept() -> None:
    p = _two_steps(not_by=("deliver",), on_behalf_of="client")
    assert ProcessDefinition.from_dict(p.to_dict()) == p
    assert p.to_dict()["transitions"][1]["not_by"] == ["deliver"]
    assert p.hash != _two_steps().hash
    with pytest.raises(DefinitionError, match=r"transitions\[1\]\.not_by\[0\]: unknown trigger"):
        _two_steps(not_by=("delivr",))
    with pytest.raises(DefinitionError, match=r"transitions\[1\]\.on_behalf_of: 'boss' is not"):
        _two_steps(on_behalf_of="boss")
    with pytest.raises(DefinitionError, match=r"transitions\[1\]\.on_behalf_of"):
        _two_steps(on_behalf_of="")
