"""The built-in templates as definitions: valid, data, round-trippable, tunable, sourced."""

from __future__ import annotations

import json

import pytest

from techsvc_flow import ProcessDefinition, processes
from techsvc_flow.diagrams import to_mermaid
from techsvc_flow.errors import DefinitionError
from techsvc_flow.processes import standards

NAMES = sorted(processes.ALL)


@pytest.fixture(params=NAMES)
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_registry_lists_the_six_templates_and_improvement() -> None:
    assert NAMES == [
        "complaint",
        "expert_team",
        "improvement",
        "incubation",
        "innovation_service",
        "internal_audit",
        "management_review",
        "satisfaction_survey",
        "service_engagement",
        "staff_training",
        "supplier_evaluation",
        "technology_transfer",
    ]
    for n, make in processes.ALL.items():
        assert make().name == n
        assert processes.builtin(n) == make()


def test_builtin_unknown_name() -> None:
    with pytest.raises(DefinitionError, match="no built-in process 'complain'; known: "):
        processes.builtin("complain")


def test_template_validates_and_round_trips(name: str) -> None:
    p = processes.builtin(name)
    assert isinstance(p, ProcessDefinition)
    data = p.to_dict()
    text = json.dumps(data, ensure_ascii=False)  # JSON-serialisable as it is
    assert ProcessDefinition.from_dict(data, functions=p.functions) == p
    assert ProcessDefinition.from_json(text, functions=processes.FUNCTIONS) == p
    assert ProcessDefinition.from_dict(json.loads(text), functions=p.functions).to_dict() == data


def test_the_module_data_is_the_definition(name: str) -> None:
    """The template is data: the module's dict, built unchanged, is the default."""
    module = __import__(f"techsvc_flow.processes.{name}", fromlist=["PROCESS"])
    built = ProcessDefinition.from_dict(module.PROCESS, functions=processes.FUNCTIONS)
    assert built == processes.builtin(name)


def test_every_state_and_transition_is_labelled_and_sourced(name: str) -> None:
    p = processes.builtin(name)
    assert set(p.title) == {"zh", "en"}
    for s in p.states:
        assert s.label.get("zh") and s.label.get("en"), s.name
        assert s.source, s.name
    for t in p.transitions:
        assert t.label.get("zh") and t.label.get("en"), t.trigger
        assert t.source_clause, t.trigger
        assert t.roles, t.trigger
    for sla in p.slas:
        assert sla.label.get("zh") and sla.label.get("en"), sla.name
        assert sla.source, sla.name


def test_every_field_is_typed_and_labelled(name: str) -> None:
    p = processes.builtin(name)
    for f in p.fields.values():
        assert f.type != "any", f.name
        assert f.label.get("zh") and f.label.get("en"), f.name
    assert p.confidential, "every template marks some fields confidential"


def test_every_guard_code_is_documented(name: str) -> None:
    p = processes.builtin(name)
    used = {g.code for t in p.transitions for g in t.guards}
    assert used == set(processes.GUARDS[name])
    for doc in processes.GUARDS[name].values():
        assert doc.meaning and doc.source


def test_every_sla_is_a_limit(name: str) -> None:
    p = processes.builtin(name)
    limits = processes.LIMITS[name]
    assert {s.name for s in p.slas} <= {s for lim in limits.values() for s in lim.slas}
    for lim in limits.values():
        assert lim.meaning and lim.source
        for sla in lim.slas:
            assert str(p.sla_map[sla].duration) == str(lim.default)


def test_every_limit_can_be_overridden(name: str) -> None:
    default = processes.builtin(name)
    for lim in processes.LIMITS[name].values():
        value: str | int = "17wd" if lim.kind == "duration" else 7
        p = processes.builtin(name, **{lim.name: value})
        assert p != default, lim.name
        for sla in lim.slas:
            assert str(p.sla_map[sla].duration) == "17wd"
        for t in p.transitions:
            for g in t.guards:
                if g.code in lim.guards and g.kind == "within":
                    assert g.args["duration"] == "17wd"
                if g.code in lim.guards and g.kind == "max_count":
                    assert g.args["limit"] == 7 + lim.offset


def test_unknown_limit_is_a_clear_error(name: str) -> None:
    with pytest.raises(DefinitionError) as info:
        processes.builtin(name, no_such_limit="1d")
    assert info.value.path == "limits.no_such_limit"
    assert "known:" in str(info.value)


def test_malformed_limits() -> None:
    with pytest.raises(DefinitionError, match=r"limits\.feedback: bad duration '7 days'"):
        processes.complaint(feedback="7 days")
    with pytest.raises(DefinitionError, match=r"limits\.max_reopen: expected a positive int"):
        processes.complaint(max_reopen="2")
    with pytest.raises(DefinitionError, match=r"limits\.max_reopen: expected a positive int"):
        processes.complaint(max_reopen=0)


def test_version_can_be_set() -> None:
    p = processes.complaint(version=2, feedback="5wd")
    assert p.version == 2
    assert p.to_dict()["version"] == 2


def test_overrides_do_not_leak_into_the_template() -> None:
    processes.complaint(feedback="3wd", reopen_within="5d")
    p = processes.complaint()
    assert str(p.sla_map["feedback"].duration) == "7wd"
    reopen = next(t for t in p.transitions if t.trigger == "reopen")
    assert reopen.guards[0].args["duration"] == "30d"


def test_diagram_of_every_template(name: str) -> None:
    p = processes.builtin(name)
    text = to_mermaid(p, lang="zh")
    assert text.startswith("---\ntitle: ")
    for s in p.states:
        assert s.title("zh") in text


# --- standards tables -------------------------------------------------------------------------


def test_the_ten_contract_clauses() -> None:
    assert [c.letter for c in standards.CONTRACT_CLAUSES] == list("abcdefghij")
    assert len(set(standards.CONTRACT_CLAUSE_CODES)) == 10
    assert standards.clause("h").code == "quality_acceptance"
    assert standards.clause("confidentiality").zh == "保密内容、保密期限和泄密责任"
    with pytest.raises(KeyError):
        standards.clause("k")


def test_the_seven_service_kinds() -> None:
    assert [k.zh for k in standards.SERVICE_KINDS] == [
        "信息咨询服务",
        "培训服务",
        "项目申报服务",
        "科技成果转化服务",
        "知识产权服务",
        "科技金融服务",
        "宣传推广服务",
    ]
    assert "ip.b" in standards.SERVICE_ITEM_CODES
    assert "ip.other" in standards.SERVICE_ITEM_CODES


def test_survey_weights_sum_to_one() -> None:
    assert sum(i.weight for i in standards.SURVEY_ITEMS) == 1


def test_satisfaction_index() -> None:
    every = {i.code: 5 for i in standards.SURVEY_ITEMS}
    assert standards.satisfaction_index(every) == 100
    assert standards.satisfaction_index(dict.fromkeys(every, 1)) == 0
    mixed = {**dict.fromkeys(every, 4), "result_quality": 3}  # 0.25 of the weight at 50
    assert str(standards.satisfaction_index(mixed)) == "68.75"
    assert not standards.is_satisfied(mixed)
    assert standards.is_satisfied(dict.fromkeys(every, 4))  # exactly 75
    with pytest.raises(ValueError, match="no survey item answered"):
        standards.satisfaction_index({"nope": 3})


def test_survey_problems() -> None:
    assert standards.survey_problems({"competence": 4, "result_quality": 5, "timeliness": 4}) == []
    assert standards.survey_problems({"competence": 4}) == [
        "answered items weigh 0.20, less than 0.6"
    ]
    assert standards.survey_problems({"speed": 4, "competence": 6}) == [
        "unknown item 'speed'",
        "competence: 6 is not a score 1–5",
    ]
    assert standards.survey_problems([]) != []


def test_escalation_levels_and_remedies() -> None:
    assert [lvl.role for lvl in standards.ESCALATION_LEVELS] == [
        "handler",
        "quality_manager",
        "manager",
    ]
    assert "refund" in standards.codes(standards.REMEDIES)


def test_version_must_be_a_positive_int() -> None:
    with pytest.raises(DefinitionError, match="version"):
        processes.complaint(version=0)
