"""The named guard functions the templates' ``call`` guards refer to.

Each takes the :class:`~techsvc_flow.GuardContext` and returns ``True`` when the rule
holds, or a list of strings naming what is wrong (the ``details`` of the refusal).
They read the payload first, then the case data (:meth:`GuardContext.value`), and never
echo the values of confidential fields: details name fields, codes and ids only.

:data:`FUNCTIONS` maps every name to its function; pass it to
:meth:`~techsvc_flow.ProcessDefinition.from_dict` / ``from_json`` to load a template
saved as JSON.

>>> from techsvc_flow.guards import GuardContext
>>> ctx = GuardContext(data={"plan_version": 2, "confirmed_plan_version": 1}, payload={},
...                    counts={})
>>> plan_confirmed(ctx)
['plan version 2 is not confirmed by the client (confirmed: 1)']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..durations import CalendarMonths, Duration
from ..errors import DurationError
from ..guards import GuardContext
from .standards import MAX_TERM_MONTHS, QUESTIONNAIRE, Questionnaire

__all__ = ["FUNCTIONS", "survey_checks"]

Result = bool | list[str]


def _set(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _ids(values: Any, key: str) -> list[str]:
    """The ids in a list of ids or of mappings that carry ``key``."""
    if not isinstance(values, list | tuple):
        return []
    out = []
    for v in values:
        if isinstance(v, Mapping):
            if _set(v.get(key)):
                out.append(str(v[key]))
        elif _set(v):
            out.append(str(v))
    return out


def _missing(required: Iterable[str], have: Iterable[str]) -> Result:
    got = set(have)
    missing = [r for r in required if r not in got]
    return missing or True


# --- engagement: reception, plan, contract, delivery ------------------------------------------


def site_visit_done(ctx: GuardContext) -> Result:
    """A site visit deemed necessary at review has been recorded (必要时应进行实地考察)."""
    if ctx.value("site_visit_required") is True and not _set(ctx.value("site_visit_findings")):
        return ["site_visit_required but no site visit recorded"]
    return True


def plan_version_increases(ctx: GuardContext) -> Result:
    """A submitted or adopted plan carries a version above every earlier one."""
    new = ctx.payload.get("plan_version")
    old = [v for v in (ctx.data.get("plan_version"), ctx.data.get("confirmed_plan_version")) if v]
    if isinstance(new, int) and old and new <= max(old):
        return [f"plan version {new} is not above {max(old)}"]
    return True


def written_plan_given(ctx: GuardContext) -> Result:
    """The plan (or adjusted plan) is given, in writing, with this very step."""
    return True if _set(ctx.payload.get("plan_document")) else ["plan_document"]


def written_confirmation_given(ctx: GuardContext) -> Result:
    """The client's written confirmation is given with this very step."""
    return True if _set(ctx.payload.get("plan_confirmation")) else ["plan_confirmation"]


def confirms_current_plan(ctx: GuardContext) -> Result:
    """The client confirms exactly the plan version in force."""
    confirmed, current = ctx.value("confirmed_plan_version"), ctx.data.get("plan_version")
    if confirmed != current:
        return [f"confirmed version {confirmed} is not the plan version {current}"]
    return True


def plan_confirmed(ctx: GuardContext) -> Result:
    """The plan in force has the client's written confirmation (6.3.3, 6.3.4)."""
    current, confirmed = ctx.value("plan_version"), ctx.value("confirmed_plan_version")
    if current is None:
        return ["no plan submitted"]
    if confirmed != current or not _set(ctx.value("plan_confirmation")):
        return [f"plan version {current} is not confirmed by the client (confirmed: {confirmed})"]
    return True


def work_group_qualified(ctx: GuardContext) -> Result:
    """At least one member; every member has a duty and a qualification (6.3.1)."""
    members = ctx.value("work_group")
    if not isinstance(members, list | tuple) or not members:
        return ["work_group is empty"]
    problems = []
    for i, m in enumerate(members):
        if not isinstance(m, Mapping):
            problems.append(f"work_group[{i}] is not a mapping")
            continue
        problems += [
            f"work_group[{i}].{k} missing" for k in ("duty", "qualification") if not m.get(k)
        ]
    return problems or True


def known_milestone(ctx: GuardContext) -> Result:
    """The milestone submitted is one the contract names."""
    mid = ctx.value("milestone_id")
    if str(mid) not in _ids(ctx.value("milestones"), "milestone_id"):
        return [f"milestone {mid!r} is not in the contract"]
    return True


def adjustment_options_given(ctx: GuardContext) -> Result:
    """An adjustment offers at least one option, each with an ``option_id`` (6.3.4 f))."""
    options = ctx.value("adjustment_options")
    if not isinstance(options, list | tuple) or not options:
        return ["no adjustment options for the client to choose from"]
    if len(_ids(options, "option_id")) != len(options):
        return ["every adjustment option needs an option_id"]
    return True


def known_option(ctx: GuardContext) -> Result:
    """The client chooses one of the options offered."""
    chosen = ctx.value("chosen_option")
    if str(chosen) not in _ids(ctx.data.get("adjustment_options"), "option_id"):
        return [f"option {chosen!r} was not offered"]
    return True


def contract_deliverables_delivered(ctx: GuardContext) -> Result:
    """Every deliverable the contract names is in the delivery (names the missing ids)."""
    return _missing(
        _ids(ctx.value("contract_deliverables"), "id"), _ids(ctx.value("deliverables"), "id")
    )


def acceptance_method_agreed(ctx: GuardContext) -> Result:
    """Acceptance used the method of contract clause h)."""
    used, agreed = ctx.value("acceptance_method_used"), ctx.data.get("acceptance_method")
    if _set(used) and used != agreed:
        return [f"acceptance method {used!r} is not the contract's {agreed!r}"]
    return True


def rescission_consented(ctx: GuardContext) -> Result:
    """A rescission by agreement carries the client's consent."""
    if ctx.value("termination_kind") == "rescission_by_agreement" and not _set(
        ctx.value("client_consent")
    ):
        return ["client_consent"]
    return True


def archive_record_complete(ctx: GuardContext) -> Result:
    """The archive keeps time, content, process, results and evaluation (档案管理)."""
    record = ctx.value("archive_record")
    record = record if isinstance(record, Mapping) else {}
    return _missing(
        ("service_period", "content", "process", "results", "evaluation"),
        [k for k, v in record.items() if _set(v)],
    )


#: what each entry of the custody log of the client's materials and samples records
CUSTODY_KEYS = ("item_id", "description", "received_on", "kept_at")
CUSTODY_OUTCOMES = ("returned", "disposed")


def _custody(value: Any) -> list[Mapping[str, Any]]:
    return [e for e in value if isinstance(e, Mapping)] if isinstance(value, list) else []


def custody_log_valid(ctx: GuardContext) -> Result:
    """The custody log (contract clause e) names each item, when it was received and
    where it is kept; an item recorded before stays in it; an item returned or disposed
    of carries the client's acknowledgement."""
    log = ctx.payload.get("custody_log")
    entries = _custody(log)
    if not isinstance(log, list) or len(entries) != len(log):
        return ["custody_log: a list of items"]
    problems = [
        f"custody_log[{i}].{key} missing"
        for i, e in enumerate(entries)
        for key in CUSTODY_KEYS
        if not _set(e.get(key))
    ]
    for i, e in enumerate(entries):
        outcome = e.get("outcome")
        if outcome is not None and outcome not in CUSTODY_OUTCOMES:
            problems.append(f"custody_log[{i}].outcome is not returned or disposed")
        elif outcome is not None and not _set(e.get("acknowledged_by")):
            problems.append(f"custody_log[{i}].acknowledged_by missing")
    kept = set(_ids(entries, "item_id"))
    problems += [
        f"item {item} dropped from the log"
        for item in _ids(_custody(ctx.data.get("custody_log")), "item_id")
        if item not in kept
    ]
    return problems or True


def custody_settled(ctx: GuardContext) -> Result:
    """Every item in custody was returned or disposed of, with the client's
    acknowledgement (no archive before)."""
    return [
        f"item {e.get('item_id')} not returned or disposed of"
        for e in _custody(ctx.value("custody_log"))
        if e.get("outcome") not in CUSTODY_OUTCOMES or not _set(e.get("acknowledged_by"))
    ] or True


def within_guarantee(ctx: GuardContext) -> Result:
    """Support is requested on or before ``guarantee_until`` (in the calendar's zone)."""
    until = ctx.value("guarantee_until")
    if not isinstance(until, dt.date):
        return ["no guarantee period agreed"]
    if ctx.now is None:
        return True
    now = ctx.now.astimezone(ctx.calendar.tz) if ctx.calendar is not None else ctx.now
    return True if now.date() <= until else [f"guarantee period ended on {until.isoformat()}"]


def _support_open(ctx: GuardContext) -> bool:
    return ctx.counts.get("request_support", 0) > ctx.counts.get("resolve_support", 0)


def support_open(ctx: GuardContext) -> Result:
    """A support request is open (requested and not yet resolved)."""
    return True if _support_open(ctx) else ["no open support request"]


def no_support_open(ctx: GuardContext) -> Result:
    """No support request is open."""
    return ["a support request is open"] if _support_open(ctx) else True


def improvement_linked(ctx: GuardContext) -> Result:
    """A record that needs improvement names the improvement case opened for it."""
    if ctx.value("needs_improvement") is True and not _set(ctx.value("improvement_case")):
        return ["needs improvement: name the improvement case (improvement_case)"]
    return True


def confidentiality_term_given(ctx: GuardContext) -> Result:
    """A confidentiality term (clause j) when confidential material was received."""
    confidential = [e for e in _custody(ctx.value("custody_log")) if e.get("confidential") is True]
    if confidential and not _set(ctx.value("confidentiality_until")):
        return ["confidentiality_until"]
    return True


def research_complete(ctx: GuardContext) -> Result:
    """Materials analysed, and interviews, questionnaires or other research done (6.3.2)."""
    methods = set(ctx.value("research_methods") or ())
    problems = []
    if "material_analysis" not in methods:
        problems.append("material_analysis")
    if not methods & {"interview", "questionnaire", "site_visit", "other"}:
        problems.append("interview or questionnaire")
    return problems or True


def complaint_linked(ctx: GuardContext) -> Result:
    """A complaint received as feedback is linked to a complaint case."""
    if ctx.value("feedback_kind") == "complaint" and not _set(ctx.value("complaint_case")):
        return ["complaint_case"]
    return True


# --- complaint -----------------------------------------------------------------------------


def duplicate_has_original(ctx: GuardContext) -> Result:
    """A complaint closed as a duplicate names the original."""
    if ctx.value("not_accepted_reason") == "duplicate" and not _set(ctx.value("duplicate_of")):
        return ["duplicate_of"]
    return True


def explanation_given(ctx: GuardContext) -> Result:
    """The complainant is told why the complaint is not accepted, unless unreachable."""
    if ctx.value("not_accepted_reason") != "no_contact_possible" and not _set(
        ctx.value("explanation")
    ):
        return ["explanation"]
    return True


def immediate_action_recorded(ctx: GuardContext) -> Result:
    """Where immediate action is needed, the action taken is recorded."""
    if ctx.value("immediate_action_needed") is True and not _set(ctx.value("immediate_action")):
        return ["immediate_action"]
    return True


def investigator_independent(ctx: GuardContext) -> Result:
    """The investigator is not the staff member complained about."""
    who = ctx.value("investigator")
    if _set(who) and who == ctx.value("subject_staff"):
        return ["investigator is the subject of the complaint"]
    return True


def remedy_consistent(ctx: GuardContext) -> Result:
    """A complaint not upheld is answered only with an explanation or an apology."""
    if ctx.value("upheld") == "not_upheld":
        extra = [r for r in ctx.value("remedies") or () if r not in ("explanation", "apology")]
        if extra:
            return [f"{r} for a complaint not upheld" for r in extra]
    return True


def decision_communicated(ctx: GuardContext) -> Result:
    """Every decision made has been communicated to the complainant."""
    decided = ctx.counts.get("decide_response", 0)
    told = ctx.counts.get("communicate_decision", 0)
    if decided == 0:
        return ["no decision made"]
    if told < decided:
        return ["decision not communicated"]
    return True


def reply_recorded(ctx: GuardContext) -> Result:
    """The complainant's acceptance or rejection of every decision is recorded."""
    told = ctx.counts.get("communicate_decision", 0)
    if told == 0 or ctx.counts.get("record_reply", 0) < told:
        return ["complainant's reply not recorded"]
    return True


def remedies_done(ctx: GuardContext) -> Result:
    """Every remedy decided is recorded as carried out, with evidence."""
    decided = ctx.data.get("remedies") or []
    done = set(ctx.value("remedies_done") or ())
    out = [f"remedy {r} not done" for r in decided if r not in done]
    if decided and not _set(ctx.value("remedy_evidence")):
        out.append("remedy_evidence")
    return out or True


def remedy_owed(ctx: GuardContext) -> Result:
    """The external outcome leaves remedies to carry out."""
    return True if ctx.value("remedies") else ["no remedy owed"]


def no_remedy_owed(ctx: GuardContext) -> Result:
    """The external outcome leaves nothing to carry out."""
    return ["remedies owed"] if ctx.value("remedies") else True


def reopenable(ctx: GuardContext) -> Result:
    """A complaint closed as a duplicate is not reopened (the original is)."""
    if ctx.data.get("not_accepted_reason") == "duplicate":
        return ["closed as a duplicate"]
    return True


# --- satisfaction survey ----------------------------------------------------------------------


def survey_checks(
    questionnaire: Questionnaire = QUESTIONNAIRE,
) -> dict[str, Callable[[GuardContext], Result]]:
    """The three guards of the survey, bound to ``questionnaire`` (default: ours).

    ``scores_valid``: known items, scores on the scale, the answered items weigh enough;
    ``scores_satisfied`` / ``scores_not_satisfied``: the weighted index reaches / stays
    below the questionnaire's threshold (ours: 75).
    """
    q = questionnaire
    below = f"index below {q.threshold}"
    reached = f"index at or above {q.threshold}"

    def scores_valid(ctx: GuardContext) -> Result:
        return q.problems(ctx.value("scores")) or True

    def scores_satisfied(ctx: GuardContext) -> Result:
        scores = ctx.value("scores")
        if q.problems(scores):
            return ["scores invalid"]
        return True if q.is_satisfied(scores) else [below]

    def scores_not_satisfied(ctx: GuardContext) -> Result:
        scores = ctx.value("scores")
        if q.problems(scores):
            return ["scores invalid"]
        return [reached] if q.is_satisfied(scores) else True

    return {f.__name__: f for f in (scores_valid, scores_satisfied, scores_not_satisfied)}


# --- technology transfer ----------------------------------------------------------------------


def supplier_title_shown(ctx: GuardContext) -> Result:
    """A technology holder shows it holds, or may dispose of, the rights."""
    if ctx.value("party_role") == "supplier" and not _set(ctx.value("ownership_evidence")):
        return ["ownership_evidence"]
    return True


def nda_when_needed(ctx: GuardContext) -> Result:
    """Know-how is shown to a counterparty only under a non-disclosure agreement."""
    if ctx.value("ip_status") == "know_how" and not _set(ctx.value("nda")):
        return ["nda"]
    return True


def counterparty_other_side(ctx: GuardContext) -> Result:
    """The counterparty is on the other side (supplier ↔ demander)."""
    if ctx.value("counterparty_role") == ctx.value("party_role"):
        return ["counterparty is on the client's side"]
    return True


def mode_fits_contract(ctx: GuardContext) -> Result:
    """Equity contribution needs an assignment or licence; an auction an assignment."""
    mode, kind = ctx.value("transaction_mode"), ctx.value("tech_contract_type")
    allowed = {"equity_contribution": ("assignment", "licensing"), "auction": ("assignment",)}
    if mode in allowed and kind not in allowed[mode]:
        return [f"{mode} with a {kind} contract"]
    return True


def deliverable_known(ctx: GuardContext) -> Result:
    """The deliverable recorded is one the technology contract names."""
    did = ctx.value("deliverable_id")
    if str(did) not in _ids(ctx.value("tech_deliverables"), "id"):
        return [f"deliverable {did!r} is not in the technology contract"]
    return True


def tech_deliverables_delivered(ctx: GuardContext) -> Result:
    """Every deliverable of the technology contract is delivered (names the missing)."""
    return _missing(_ids(ctx.value("tech_deliverables"), "id"), _ids(ctx.value("delivered"), "id"))


# --- incubation -------------------------------------------------------------------------------


def admission_criteria_met(ctx: GuardContext) -> Result:
    """Every admission criterion assessed is met (names the unmet)."""
    results = ctx.value("admission_criteria")
    if not isinstance(results, Mapping) or not results:
        return ["no admission criteria assessed"]
    return [str(k) for k, ok in results.items() if ok is not True] or True


def term_within_maximum(ctx: GuardContext) -> Result:
    """The incubation term, in months, is within the maximum of the field class."""
    text, field = ctx.value("incubation_term"), ctx.value("field_class") or "general"
    try:
        term = Duration.parse(text)
    except DurationError:
        return [f"incubation_term {text!r} is not a duration such as '36mo'"]
    if not isinstance(term, CalendarMonths):
        return ["incubation_term must be given in months (e.g. '36mo')"]
    most = MAX_TERM_MONTHS.get(str(field), MAX_TERM_MONTHS["general"])
    if term.months > most:
        return [f"{term.months} months exceed {most} for {field}"]
    return True


def graduation_criteria_evidenced(ctx: GuardContext) -> Result:
    """Every graduation criterion of the agreement has evidence."""
    evidence = ctx.value("criteria_met")
    evidence = evidence if isinstance(evidence, Mapping) else {}
    return _missing(
        [str(c) for c in ctx.data.get("graduation_criteria") or ()],
        [str(k) for k, v in evidence.items() if _set(v)],
    )


def formalities_done(ctx: GuardContext) -> Result:
    """Graduation formalities are completed (办结毕业手续): space, fees, hand-over."""
    done = ctx.value("formalities")
    done = done if isinstance(done, Mapping) else {}
    problems = [k for k in ("space_returned", "fees_settled") if done.get(k) is not True]
    if not _set(done.get("handover")):
        problems.append("handover")
    return problems or True


def exit_condition_agreed(ctx: GuardContext) -> Result:
    """An exit for breach cites an exit condition of the agreement."""
    if ctx.value("exit_reason") != "breach_of_agreement":
        return True
    cited = ctx.value("exit_condition")
    if cited not in (ctx.data.get("exit_conditions") or ()):
        return ["exit_condition is not one of the agreement's exit conditions"]
    return True


def tracking_may_end(ctx: GuardContext) -> Result:
    """Tracking ends when its period is over (the system's timer) or the company closed."""
    if ctx.actor == "system" or ctx.value("tracking_status") == "closed":
        return True
    until = ctx.value("tracking_until")
    if isinstance(until, dt.date) and ctx.now is not None and ctx.now.date() >= until:
        return True
    return ["tracking period still open"]


FUNCTIONS: Mapping[str, Callable[[GuardContext], Result]] = {
    f.__name__: f
    for f in (
        site_visit_done,
        plan_version_increases,
        written_plan_given,
        written_confirmation_given,
        confirms_current_plan,
        plan_confirmed,
        work_group_qualified,
        known_milestone,
        adjustment_options_given,
        known_option,
        contract_deliverables_delivered,
        acceptance_method_agreed,
        rescission_consented,
        archive_record_complete,
        custody_log_valid,
        custody_settled,
        confidentiality_term_given,
        within_guarantee,
        improvement_linked,
        support_open,
        no_support_open,
        research_complete,
        complaint_linked,
        duplicate_has_original,
        explanation_given,
        immediate_action_recorded,
        investigator_independent,
        remedy_consistent,
        decision_communicated,
        reply_recorded,
        remedies_done,
        remedy_owed,
        no_remedy_owed,
        reopenable,
        supplier_title_shown,
        nda_when_needed,
        counterparty_other_side,
        mode_fits_contract,
        deliverable_known,
        tech_deliverables_delivered,
        admission_criteria_met,
        term_within_maximum,
        graduation_criteria_evidenced,
        formalities_done,
        exit_condition_agreed,
        tracking_may_end,
    )
} | survey_checks()
