"""The satisfaction questionnaire: ours by default, the organisation's own when given
(issue 15 item 12): validated, used by the survey template's guards and the indicator."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from processes_helpers import ACTORS, Walk

from techsvc_flow import WorkCalendar
from techsvc_flow.errors import InvalidValue
from techsvc_flow.processes import satisfaction_survey, standards
from techsvc_flow.processes.standards import QUESTIONNAIRE, Questionnaire
from techsvc_flow.quality import QualityConfig, report
from techsvc_flow.quality.archive import archive
from techsvc_flow.quality.period import Period

OWN: dict[str, Any] = {
    "items": [
        {"code": "speed", "zh": "响应速度", "en": "Speed", "weight": "0.3"},
        {"code": "result", "zh": "服务成效", "en": "Result", "weight": "0.7"},
    ],
    "threshold": 90,
}
SUBJECT = {"subject_case": "ENG-1", "subject_process": "service_engagement", "survey_kind": "both"}


def test_ours_is_labelled_ours() -> None:
    assert QUESTIONNAIRE.items == standards.SURVEY_ITEMS
    assert QUESTIONNAIRE.threshold == 75 and QUESTIONNAIRE.min_answered_weight == Decimal("0.6")
    assert all(item.source.startswith("ours") for item in standards.SURVEY_ITEMS)
    description = satisfaction_survey().fields["scores"].description
    assert description.startswith("our questionnaire: responsiveness 0.15")
    assert standards.satisfaction_index({i.code: 4 for i in standards.SURVEY_ITEMS}) == 75


@pytest.mark.parametrize(
    ("change", "path", "problem"),
    [
        ({"items": []}, "questionnaire.items", "at least one item"),
        ({"threshold": 101}, "questionnaire.threshold", "from 0 to 100"),
        ({"threshold": "x"}, "questionnaire.threshold", "not a number"),
        ({"threshold": 0.5}, "questionnaire.threshold", "decimal number"),
        ({"min_answered_weight": 0}, "questionnaire.min_answered_weight", "above 0"),
        ({"weights": 1}, "questionnaire.weights", "unknown key"),
        ({"items": "speed"}, "questionnaire.items", "list of items"),
        ({"items": [{**OWN["items"][0], "weight": "0.5"}] * 2},
         "questionnaire.items[1].code", "repeated"),
        ({"items": [{**OWN["items"][0], "weight": "-1"}, {**OWN["items"][1], "weight": 2}]},
         "questionnaire.items[0].weight", "not above 0"),
        ({"items": [{**OWN["items"][0], "weight": "0.5"}]}, "questionnaire.items", "sum to 0.5"),
        ({"items": [{"code": "a", "zh": "", "en": "A", "weight": 1}]},
         "questionnaire.items[0].zh", "non-empty"),
        ({"items": [{"code": "a", "zh": "甲", "en": "A", "weight": 1, "w": 1}]},
         "questionnaire.items[0].w", "unknown key"),
    ],
)  # fmt: skip
def test_questionnaire_is_validated(change: dict[str, Any], path: str, problem: str) -> None:
    with pytest.raises(InvalidValue, match=problem) as caught:
        Questionnaire.from_dict({**OWN, **change})
    assert caught.value.path == path
    with pytest.raises(InvalidValue):  # the config value goes through the same check
        QualityConfig(questionnaire={**OWN, **change})


def test_own_questionnaire_index_and_problems() -> None:
    own = Questionnaire.from_dict(OWN)
    assert own.index({"speed": 4, "result": 5}) == Decimal("92.50")
    assert own.is_satisfied({"speed": 4, "result": 5})
    assert not own.is_satisfied({"speed": 5, "result": 4})  # 82.50 < 90
    assert own.problems({"competence": 4}) == ["unknown item 'competence'"]
    assert own.problems({"speed": 5}) == ["answered items weigh 0.3, less than 0.6"]
    with pytest.raises(InvalidValue, match="expected a Questionnaire"):
        satisfaction_survey(questionnaire=OWN)  # type: ignore[arg-type]


def _survey(china: WorkCalendar, scores: dict[str, int], **kw: Any) -> Walk:
    w = Walk(satisfaction_survey(**kw), china, data=dict(SUBJECT), case_id="SV-1")
    w.fire("record_responses", "reception", scores=scores, respondent="Ms Zhou")
    return w


def test_template_routes_by_the_organisations_questionnaire(china: WorkCalendar) -> None:
    own = Questionnaire.from_dict(OWN)
    assert _survey(china, {"speed": 4, "result": 5}, questionnaire=own).state == "satisfied"
    assert _survey(china, {"speed": 5, "result": 4}, questionnaire=own).state == "not_satisfied"
    # our items are unknown to the organisation's questionnaire, and the other way round
    ours = {i.code: 5 for i in standards.SURVEY_ITEMS}
    w = Walk(satisfaction_survey(questionnaire=own), china, data=dict(SUBJECT), case_id="SV-2")
    assert "scores_invalid" in w.why("record_responses", "reception", scores=ours, respondent="x")
    assert _survey(china, ours).state == "satisfied"
    with pytest.raises(Exception, match="scores_invalid"):
        _survey(china, {"speed": 4, "result": 5})
    assert satisfaction_survey(questionnaire=own).hash != satisfaction_survey().hash


def test_indicator_uses_the_configured_questionnaire(china: WorkCalendar) -> None:
    own = Questionnaire.from_dict(OWN)
    w = _survey(china, {"speed": 4, "result": 5}, questionnaire=own)
    now = w.clock.now()
    period = Period.between(now - dt.timedelta(days=1), now + dt.timedelta(days=1))

    def satisfaction(cfg: QualityConfig) -> Any:
        return report(w.wf.store, period, calendar=china, config=cfg).result(
            "customer_satisfaction"
        )

    own_result = satisfaction(QualityConfig(questionnaire=OWN, satisfaction_basis="index"))
    assert own_result.value == Decimal("92.50") and own_result.passed is True
    # by our questionnaire, the organisation's scores are no valid survey: no index
    assert satisfaction(QualityConfig(satisfaction_basis="index")).value is None
    # the archive computes a linked survey's index with the questionnaire it is given
    data = {**SUBJECT, "subject_case": "SV-1", "subject_process": "other"}
    w.wf.start("satisfaction_survey", case_id="SV-2", data=data, actor=ACTORS["reception"])
    scores = {"speed": 4, "result": 5}
    w.wf.fire(
        "SV-2",
        "record_responses",
        actor=ACTORS["reception"],
        payload={"scores": scores, "respondent": "x"},
    )
    linked = archive(w.wf, "SV-1", questionnaire=own)["evaluation"]["surveys"]
    assert linked == [{"case_id": "SV-2", "state": "satisfied", "satisfaction_index": "92.50"}]
    assert archive(w.wf, "SV-1")["evaluation"]["surveys"][0].get("satisfaction_index") is None
