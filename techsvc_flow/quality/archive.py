"""The service archive (服务档案) of one engagement, from its recorded history.

《科技创新企业服务规范》§6「档案管理」: 「应建立服务对象档案制度，详细记录科技创新企业接受服务
的时间、内容、服务过程、服务成效、服务评价等信息」 and 4.4.2 「保持记录的可追溯性」. The archive
gathers the five elements — time, content, process, results, evaluation — with the full
history and the result of checking its hash chain, as a JSON-serialisable dict.

Confidential fields (the client's technical and business secrets, 4.1.5) are withheld
unless asked for; the archive says which were withheld, and the chain check is always
made on the complete stored history. Given the reader (``actor=``), the archive is
filtered by the reader's clearance instead (4.4.1 b), see
:mod:`techsvc_flow.confidentiality`): every value classified above it, at any depth,
becomes a marker such as ``"[redacted: secret]"``.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._codec import jsonable
from ..confidentiality import above
from ..errors import InvalidValue, ProvisionalWarning
from ..processes.standards import QUESTIONNAIRE, Questionnaire, service_field
from .config import ENGAGEMENTS, EngagementProfile
from .observe import sla_outcome

if TYPE_CHECKING:
    from ..case import Actor, Case, HistoryEntry
    from ..definition import ProcessDefinition
    from ..engine import Workflow

__all__ = ["ARCHIVE_FORMAT", "archive", "archive_json"]

#: The version of the archive's layout.
ARCHIVE_FORMAT = 1
WITHHELD = "[confidential]"
_ELEMENTS = ("service_period", "content", "process", "results", "evaluation")


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _public(
    values: Mapping[str, Any], secret: frozenset[str], include: bool
) -> tuple[dict[str, Any], list[str]]:
    if include:
        return dict(values), []
    withheld = sorted(k for k in values if k in secret)
    return {k: (WITHHELD if k in secret else v) for k, v in values.items()}, withheld


def _rework_rounds(case: Case, profile: EngagementProfile | None) -> int | None:
    """How often the delivery went back into rework (0 where the template has none)."""
    if profile is None:
        return None
    return profile.rework_rounds(case.counts)


def _label(definition: ProcessDefinition, state: str | None) -> dict[str, str] | None:
    if state is None or state not in definition.state_map:
        return None
    s = definition.state_map[state]
    return {"zh": s.title("zh"), "en": s.title("en")}


def _linked(
    workflow: Workflow, case: Case, questionnaire: Questionnaire
) -> dict[str, list[dict[str, Any]]]:
    """Surveys, complaints and improvement actions that name this case."""
    out: dict[str, list[dict[str, Any]]] = {"surveys": [], "complaints": [], "improvements": []}
    named = {case.data.get("survey_case"), case.data.get("complaint_case")} - {None}
    links = (
        ("surveys", "satisfaction_survey", "subject_case"),
        ("complaints", "complaint", "related_case"),
        ("improvements", "improvement", "related_case"),
    )
    for key, process, field in links:
        for other in workflow.store.cases(process=process):
            if other.data.get(field) == case.id or other.id in named:
                item: dict[str, Any] = {"case_id": other.id, "state": other.state}
                if process == "satisfaction_survey" and other.data.get("scores"):
                    scores = other.data["scores"]
                    if not questionnaire.problems(scores):
                        item["satisfaction_index"] = str(questionnaire.index(scores))
                out[key].append(item)
    return out


def _entry(entry: HistoryEntry, definition: ProcessDefinition, include: bool) -> dict[str, Any]:
    payload: Mapping[str, Any] = entry.payload
    withheld: list[str] = []
    if entry.kind in ("start", "fire", "refused"):
        payload, withheld = _public(entry.payload, definition.confidential, include)
    out = {
        "seq": entry.seq,
        "kind": entry.kind,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "trigger": entry.trigger,
        "source": entry.source,
        "dest": entry.dest,
        "payload": jsonable(dict(payload)),
        "version": entry.version,
        "definition_hash": entry.definition_hash,
        "prev": entry.prev,
        "hash": entry.hash,
    }
    if entry.assigned is not None:  # the automatic assignment the move made, sealed with it
        out["assigned"] = jsonable(dict(entry.assigned))
    if withheld:
        out["withheld"] = withheld
    return out


def archive(
    workflow: Workflow,
    case_id: str,
    /,
    *,
    include_confidential: bool = False,
    at: dt.datetime | None = None,
    questionnaire: Questionnaire = QUESTIONNAIRE,
    actor: Actor | str | None = None,
) -> dict[str, Any]:
    """The archive of case ``case_id``: a JSON-serialisable dict.

    Args:
        workflow: the workflow the case runs in (its store, calendar and definitions).
        case_id: the case (any process; the engagement templates fill every element).
        include_confidential: keep confidential values instead of withholding them.
        at: when open SLA clocks are judged (default: only recorded breaches count).
        questionnaire: computes the linked surveys' index (default: ours).
        actor: the reader: every value classified above the reader's clearance
            (``Workflow.clearance``) is replaced by a marker, in the data, in the archive
            record and in every history payload; ``include_confidential`` is then not
            looked at. Without it, confidential values are withheld as above.

    Raises:
        CaseNotFound: no such case.
        ProcessNotFound: the case's process version is not registered on ``workflow``.
    """
    case = workflow.get(case_id, actor=actor)
    entries = workflow.history(case_id, actor=actor)
    definition = workflow.process(case.process, case.process_version)
    check = workflow.verify_history(case_id)
    if actor is None:
        data, withheld = _public(case.data, definition.confidential, include_confidential)
    else:  # filtered by the reader's clearance already
        include_confidential = True
        hidden = above(definition.levels, workflow.clearance(actor))
        data, withheld = dict(case.data), sorted(k for k in case.data if k in hidden)
    record = case.data.get("archive_record")
    record = record if isinstance(record, Mapping) else {}
    entered: dict[str, dt.datetime] = {}
    for e in entries:
        if e.kind in ("start", "fire") and e.dest is not None:
            entered.setdefault(e.dest, e.at)
    profile = ENGAGEMENTS.get(case.process)
    fires = [e for e in entries if e.kind == "fire"]
    transitions = {t.trigger: t for t in definition.transitions}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProvisionalWarning)
        slas = []
        for sla in definition.slas:
            clock = case.clocks.get(sla.name)
            outcome = sla_outcome(clock, workflow.calendar, as_of=at)
            slas.append(
                {
                    "sla": sla.name,
                    "label": dict(sla.label),
                    "duration": str(clock.duration if clock else sla.duration),
                    "status": outcome.status,
                    "started_at": _iso(clock.started_at if clock else None),
                    "due": _iso(outcome.due),
                    "decided_at": _iso(outcome.at),
                    "within_limit": outcome.within,
                    "marks_raised": list(clock.fired) if clock else [],
                }
            )
    delivered = entered.get(profile.delivered) if profile and profile.delivered else None
    accepted = (
        min((entered[s] for s in profile.accepted if s in entered), default=None)
        if profile
        else None
    )
    terminated = entered.get(profile.terminated) if profile else None
    summary = {k: jsonable(record.get(k)) for k in _ELEMENTS}
    out: dict[str, Any] = {
        "archive_format": ARCHIVE_FORMAT,
        "case": {
            "id": case.id,
            "process": case.process,
            "process_version": case.process_version,
            "title": dict(definition.title),
            "state": case.state,
            "state_label": _label(definition, case.state),
            "version": case.version,
            "definition_hash": definition.hash,
            "archive_ref": case.data.get("archive_ref"),
            "service_field": _service_field(case.data.get("service_field")),
        },
        "time": {
            "received_at": case.created_at.isoformat(),
            "last_change_at": case.updated_at.isoformat(),
            "archived_at": _iso(entered.get("archived")),
            "service_period": summary["service_period"],
            "stages": [
                {"state": s, "label": _label(definition, s), "first_entered_at": t.isoformat()}
                for s, t in entered.items()
            ],
        },
        "content": {
            "summary": summary["content"],
            "data": jsonable(data),
            "labels": {
                name: dict(definition.fields[name].label)
                for name in case.data
                if name in definition.fields
            },
        },
        "process": {
            "summary": summary["process"],
            "steps": [
                {
                    "at": e.at.isoformat(),
                    "trigger": e.trigger,
                    "label": dict(transitions[e.trigger].label)
                    if e.trigger in transitions
                    else None,
                    "from": e.source,
                    "to": e.dest,
                    "actor": e.actor,
                }
                for e in fires
            ],
            "slas": slas,
            "refusals": sum(1 for e in entries if e.kind == "refused"),
        },
        "results": {
            "summary": summary["results"],
            "delivered_at": _iso(delivered),
            "accepted_at": _iso(accepted),
            "rework_rounds": _rework_rounds(case, profile),
            "terminated_at": _iso(terminated),
            "termination": {
                k: case.data.get(k)
                for k in ("termination_kind", "initiated_by", "fault")
                if case.data.get(k) is not None
            },
        },
        "evaluation": {
            "summary": summary["evaluation"],
            "survey_outcome": case.data.get("survey_outcome"),
            "satisfaction_index": jsonable(case.data.get("satisfaction_index")),
            "visit_outcome": case.data.get("visit_outcome"),
            **_linked(workflow, case, questionnaire),
        },
        "confidential": {
            "withheld": withheld,
            "note": _note(actor is not None) if withheld else "",
        },
        "history": [_entry(e, definition, include_confidential) for e in entries],
        "verification": {
            "ok": check.ok,
            "entries": check.entries,
            "problems": list(check.problems),
            "head": case.head,
        },
    }
    return out


def _note(filtered: bool) -> str:
    what = (
        "values above the reader's clearance withheld (《科技创新企业服务规范》4.4.1 b))"
        if filtered
        else "confidential values withheld (《科技创新企业服务规范》4.1.5)"
    )
    return f"{what}; the chain check was made on the complete history"


def _service_field(code: object) -> dict[str, str] | None:
    """The case's field of the ten (000 一), an alias of 002 resolved; None when unset."""
    if not isinstance(code, str):
        return None
    try:
        term = service_field(code)
    except InvalidValue:  # a process of the caller's own with other values
        return None
    return {"code": term.code, "zh": term.zh, "en": term.en, "recorded": code}


def archive_json(
    workflow: Workflow,
    case_id: str,
    /,
    *,
    include_confidential: bool = False,
    at: dt.datetime | None = None,
    indent: int | None = 2,
    questionnaire: Questionnaire = QUESTIONNAIRE,
    actor: Actor | str | None = None,
) -> str:
    """:func:`archive` as JSON text (Chinese kept as is)."""
    data = archive(
        workflow,
        case_id,
        include_confidential=include_confidential,
        at=at,
        questionnaire=questionnaire,
        actor=actor,
    )
    return json.dumps(data, ensure_ascii=False, indent=indent)
