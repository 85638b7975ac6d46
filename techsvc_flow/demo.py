"""The demo behind ``python -m techsvc_flow demo``.

On an embedded store with a stepped clock it runs one service engagement through the
six stages of 《科技服务机构服务规范》, one complaint received on the eve of the 2025
National Day holiday and answered in time, and a second complaint left unanswered until
an SLA warning and then a breach escalate it. It prints the timeline as the workflow's
own events report it: instant, case, trigger, state, next deadline, remaining time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections.abc import Callable, Sequence
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from . import processes
from ._time import US
from .calendar import WorkCalendar
from .case import Actor
from .clock import SteppedClock
from .definition import ProcessDefinition
from .engine import SlaState, Workflow
from .errors import CaseNotFound
from .notifications import Event
from .processes.standards import CONTRACT_CLAUSE_CODES
from .store import MemoryStore, Store

__all__ = ["run_demo"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
_WEEKDAYS = {"en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], "zh": "一二三四五六日"}
_COLUMNS = {
    "en": ("instant", "case", "trigger / event", "state", "next deadline", "remaining"),
    "zh": ("时间", "案件", "触发 / 事件", "状态", "下一期限", "剩余"),
}
_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "techsvc_flow demo: a service engagement and two complaints, in Chinese "
        "working time (National Day 2025)",
        "warning": "warning",
        "goal": "goal",
        "escalation": "remind",
        "breach": "BREACH",
        "start": "received",
        "none": "—",
        "summary": "{n} cases, {e} history entries, every hash chain intact: {ok}",
        "yes": "yes",
        "no": "NO",
        "calendar": "Working time: mainland China (Asia/Shanghai), business hours 09:00-12:00 "
        "and 13:30-18:00, official holiday schedules until {until}",
        "engagement": "1. Service engagement, six stages (《科技服务机构服务规范》)",
        "complaint": "2. Complaint received on the eve of National Day, answered in time",
        "escalated": "3. Complaint left unanswered: warnings, then the breach escalates",
    },
    "zh": {
        "title": "techsvc_flow 演示：一次科技服务与两起投诉，按中国工作日计时（2025 年国庆）",
        "warning": "预警",
        "goal": "目标",
        "escalation": "提醒",
        "breach": "超时",
        "start": "受理",
        "none": "—",
        "summary": "{n} 个案件，{e} 条历史记录，哈希链完整：{ok}",
        "yes": "是",
        "no": "否",
        "calendar": "工作时间：中国大陆（Asia/Shanghai），办公时间 09:00-12:00、13:30-18:00，"
        "官方节假日安排至 {until}",
        "engagement": "1. 科技服务项目，六个阶段（《科技服务机构服务规范》）",
        "complaint": "2. 国庆前夕受理的投诉，按时反馈",
        "escalated": "3. 无人处理的投诉：预警，然后超时升级",
    },
}  # fmt: skip


_SHOWN = frozenset(
    {"case.started", "case.transition", "sla.warning", "sla.breach", "sla.goal_changed",
     "sla.escalation"}
)  # fmt: skip


def _when(instant: dt.datetime, lang: str) -> str:
    local = instant.astimezone(SHANGHAI)
    day = _WEEKDAYS[lang][local.weekday()]
    if local.hour == 0 and local.minute == 0:  # an end-of-day deadline: show 24:00
        before = local - dt.timedelta(days=1)
        day = _WEEKDAYS[lang][before.weekday()]
        return f"{before:%m-%d} {day} 24:00"
    return f"{local:%m-%d} {day} {local:%H:%M}"


class _Timeline:
    """Collects the workflow's events and prints them as a table."""

    def __init__(self, wf: Workflow, out: TextIO, lang: str) -> None:
        self.wf, self.out, self.lang = wf, out, lang
        self.text = _TEXT[lang]
        self.widths = (17, 15, 32, 24, 44, 16)

    def heading(self, title: str) -> None:
        """Start a section of the timeline."""
        print(f"\n{title}", file=self.out)
        self._row(_COLUMNS[self.lang])
        self._row(tuple("-" * (w - 1) for w in self.widths))

    def _row(self, cells: tuple[str, ...]) -> None:
        line = "".join(_pad(c, w) for c, w in zip(cells, self.widths, strict=True))
        print(line.rstrip(), file=self.out)

    def _label(self, definition: ProcessDefinition, state: str) -> str:
        if self.lang == "en":
            return state
        return definition.state_map[state].title(self.lang)

    def _trigger(self, definition: ProcessDefinition, trigger: str) -> str:
        if self.lang == "en":
            return trigger
        labels = (t.label.get(self.lang) for t in definition.transitions if t.trigger == trigger)
        return next((label for label in labels if label), trigger)

    def __call__(self, event: Event) -> None:
        if event.type not in _SHOWN:
            return
        case = self.wf.get(event.case_id)
        definition = self.wf.process(case.process, case.process_version)
        p = event.payload
        if event.type == "case.started":
            what = f"({self.text['start']})"
            state = self._label(definition, str(p["state"]))
        elif event.type == "case.transition":
            what = self._trigger(definition, str(p["trigger"]))
            state = self._label(definition, str(p["dest"]))
        elif event.type in ("sla.goal_changed", "sla.escalation"):
            sla = definition.sla_map[str(p["sla"])]
            name = sla.label.get(self.lang) or sla.name
            if event.type == "sla.goal_changed":
                what = f"{self.text['goal']} {name} {p['goal']} {p['duration']}"
            else:
                what = f"{self.text['escalation']} {name} → {', '.join(p['notify'])}"
            state = self._label(definition, case.state)
        else:
            sla = definition.sla_map[str(p["sla"])]
            mark = str(p["mark"]).replace("warning:", "")
            kind = self.text["breach"] if event.type == "sla.breach" else self.text["warning"]
            what = (
                f"{kind} {sla.label.get(self.lang) or sla.name} {'' if mark == 'breach' else mark}"
            )
            state = self._label(definition, case.state)
        deadline, remaining = self._next_deadline(event)
        self._row((_when(event.at, self.lang), event.case_id, what.strip(), state, deadline,
                   remaining))  # fmt: skip

    def _next_deadline(self, event: Event) -> tuple[str, str]:
        running = [
            s for s in self.wf.deadlines(event.case_id, at=event.at, running=True)
            if s.due is not None
        ]  # fmt: skip
        if not running:
            return self.text["none"], ""
        first = min(running, key=lambda s: s.due or event.at)
        case = self.wf.get(event.case_id)
        sla = self.wf.process(case.process, case.process_version).sla_map[first.name]
        name = sla.label.get(self.lang) or sla.name
        assert first.due is not None and first.left is not None
        return f"{name} {_when(first.due, self.lang)}", first.left.text(self.lang)


def _running(wf: Workflow, ids: list[str], at: dt.datetime) -> list[SlaState]:
    """The running clocks of the demo's cases started so far."""
    out: list[SlaState] = []
    for case_id in ids:
        with contextlib.suppress(CaseNotFound):
            out += wf.deadlines(case_id, at=at, running=True)
    return out


def _pad(text: str, width: int) -> str:
    wide = sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
    return text + " " * max(width - wide, 1)


def _at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


def run_demo(
    *,
    lang: str = "en",
    store: Store | None = None,
    out: TextIO | None = None,
) -> Workflow:
    """Run the demo scenario on ``store`` (default: in memory) and print its timeline.

    On a store that holds the demo's cases already (``demo --db FILE`` run again) the
    new run's case ids get a suffix (``ENG-2025-017-2``), so every run works.
    """
    if lang not in _TEXT:
        raise ValueError(f"lang must be 'en' or 'zh', not {lang!r}")
    out = out if out is not None else io.StringIO()
    clock = SteppedClock(_at(9, 29, 9))
    calendar = WorkCalendar.china(business_hours="09:00-12:00,13:30-18:00",
                                  coverage="provisional")  # fmt: skip
    wf = Workflow(
        store if store is not None else MemoryStore(),
        calendar=calendar,
        clock=clock,
        processes=[processes.service_engagement(), processes.complaint()],
    )
    text = _TEXT[lang]
    print(text["title"], file=out)
    print(text["calendar"].format(until=calendar.authoritative_until) + "\n", file=out)
    timeline = _Timeline(wf, out, lang)
    wf.on("*", timeline, name="demo-timeline")
    people = {role: Actor(role, {role}) for role in (
        "client", "reception", "consultant", "project_manager", "quality_manager", "manager",
        "handler")}  # fmt: skip

    ids = [f"{case_id}{_run_suffix(wf.store)}" for case_id in _CASE_IDS]

    def catch_up(until: dt.datetime) -> None:
        """Tick at each warning and breach due by ``until``, when it falls due (as a
        worker woken by the timer would), so the timeline shows it at that instant."""
        while True:
            due = [s.next_mark[1] for s in _running(wf, ids, until)
                   if s.next_mark is not None and s.next_mark[1] < until]  # fmt: skip
            if not due or min(due) + US <= clock.now():
                break
            clock.set(min(due) + US)  # a breach is late strictly after its due instant
            wf.tick(clock.now())
        clock.set(until)
        wf.tick(until)

    def step(when: dt.datetime, case_id: str, trigger: str, role: str, **payload: Any) -> None:
        catch_up(when)
        wf.fire(case_id, trigger, actor=people[role], payload=payload)

    timeline.heading(text["engagement"])
    _engagement(wf, clock, step, people, ids[0])
    _complaints(wf, clock, step, people, lambda key: timeline.heading(text[key]), ids[1:],
                catch_up)  # fmt: skip
    _work(wf, out, lang, people)
    total = sum(len(wf.history(case_id)) for case_id in ids)
    intact = all(wf.verify_history(case_id) for case_id in ids)
    print(
        "\n" + text["summary"].format(n=len(ids), e=total, ok=text["yes" if intact else "no"]),
        file=out,
    )
    return wf


def _work(wf: Workflow, out: TextIO, lang: str, people: dict[str, Actor]) -> None:
    """Who acts next: a handler's worklist and the overdue cases, at the end."""
    zh = lang == "zh"
    now = wf.clock.now()
    print("\n" + ("处理人的待办：" if zh else "Worklist of a complaint handler:"), file=out)
    for item in wf.worklist(people["handler"], at=now, limit=10):
        who = item.case.assignment.assignee if item.case.assignment else None
        whose = who or ("待认领" if zh else "to claim")
        print(f"  {item.case.id}  {item.case.state}  {whose}  "
              f"{'' if item.due_at is None else _when(item.due_at, lang)}"
              f"{('  超期' if zh else '  late') if item.breached else ''}".rstrip(),
              file=out)  # fmt: skip
    print(("超期案件：" if zh else "Overdue cases:"), file=out)
    for case in wf.query(overdue=True, at=now, limit=10):
        due = _when(case.due_at, lang) if case.due_at else ""
        print(f"  {case.id}  {case.state}  {due}", file=out)


#: the demo's cases: one service engagement, two complaints
_CASE_IDS = ("ENG-2025-017", "TS-2025-001", "TS-2025-002")


def _run_suffix(store: Store) -> str:
    """``""`` on a store without the demo's cases, else ``-N`` for the N-th run."""
    run = 1
    suffix = ""
    while any(_stored(store, f"{case_id}{suffix}") for case_id in _CASE_IDS):
        run += 1
        suffix = f"-{run}"
    return suffix


def _stored(store: Store, case_id: str) -> bool:
    try:
        store.load(case_id)
    except CaseNotFound:
        return False
    return True


Step = Callable[..., None]


def _engagement(
    wf: Workflow, clock: SteppedClock, step: Step, people: dict[str, Actor], case: str
) -> None:
    clock.set(_at(9, 29, 9))
    wf.start("service_engagement", case_id=case, actor=people["reception"],
             data={"client_id": "C-42", "client_name": "Widgets Ltd.", "channel": "web",
                   "service_field": "ip_service"})  # fmt: skip
    step(_at(9, 29, 10), case, "respond", "reception", response_channel="phone")
    step(_at(9, 29, 11), case, "record_materials", "client", materials=["DOC-A"],
         authenticity_prompted=True)  # fmt: skip
    step(_at(9, 29, 14), case, "review_materials", "consultant", review_result="complete")
    step(_at(9, 29, 15), case, "begin_assessment", "consultant")
    step(_at(9, 30, 10), case, "accept", "consultant", feasibility="feasible",
         informed_via="email", offered_scope="patent landscape",
         service_time_limit="60 days", rights_obligations="DOC-RO")  # fmt: skip
    step(_at(10, 9, 9), case, "start_plan", "project_manager")
    step(_at(10, 10, 16), case, "submit_plan", "project_manager", plan_version=1,
         plan_document="DOC-PLAN-1")  # fmt: skip
    step(_at(10, 13, 11), case, "confirm_plan", "client", confirmed_plan_version=1,
         plan_confirmation="DOC-OK-1")  # fmt: skip
    step(_at(10, 20, 15), case, "sign_contract", "manager", contract_no="HT-17",
         contract_document="DOC-HT-17", contract_signed_on=dt.date(2025, 10, 20),
         delivery_due=dt.date(2025, 12, 5), acceptance_method="expert review",
         contract_deliverables=["report"], milestones=["M1"],
         contract_clauses=list(CONTRACT_CLAUSE_CODES))  # fmt: skip
    step(
        _at(10, 21, 9),
        case,
        "form_work_group",
        "project_manager",
        work_group=[{"user": "li", "duty": "lead", "qualification": "patent attorney"}],
    )
    step(_at(11, 14, 10), case, "submit_milestone", "project_manager", milestone_id="M1",
         milestone_deliverable="DOC-M1")  # fmt: skip
    step(_at(12, 1, 10), case, "deliver", "project_manager", deliverables=["report"])
    step(
        _at(12, 3, 16),
        case,
        "raise_objection",
        "client",
        objections=[{"item_id": "1", "description": "figure 3 mislabelled"}],
    )
    step(_at(12, 5, 11), case, "redeliver", "project_manager", deliverables=["report"],
         objection_responses=["figure 3 corrected"])  # fmt: skip
    step(_at(12, 8, 10), case, "accept_delivery", "client", accepted_by="Ms Zhou, CTO",
         acceptance_method_used="expert review", acceptance_record="DOC-ACC")  # fmt: skip
    step(
        _at(12, 15, 10),
        case,
        "record_return_visit",
        "quality_manager",
        visit_outcome="reached",
        survey_outcome="satisfied",
        survey_case="SV-1",
    )
    step(_at(12, 19, 10), case, "archive", "quality_manager", archive_ref="ARC-2025-17",
         archive_record={"service_period": "2025-10-20/2025-12-08",
                         "content": "patent landscape", "process": "DOC-PROC",
                         "results": "report", "evaluation": "satisfied"})  # fmt: skip


def _complaints(
    wf: Workflow,
    clock: SteppedClock,
    step: Step,
    people: dict[str, Actor],
    heading: Callable[[str], None],
    ids: Sequence[str],
    wait: Callable[[dt.datetime], None],
) -> None:
    first, second = ids
    heading("complaint")
    clock.set(_at(9, 30, 17))
    wf.start("complaint", case_id=first, actor=people["reception"],
             data={"channel": "phone", "description": "the test report came late",
                   "complainant_contact": "138 0000 0000"})  # fmt: skip
    step(_at(10, 1, 10), first, "acknowledge", "handler", acknowledgement_via="phone")
    # its severity sets the feedback limit: high → 5 working days instead of 7
    step(_at(10, 9, 9, 30), first, "assess", "handler", severity="high", priority="p2",
         category="timeliness")  # fmt: skip
    step(_at(10, 9, 10), first, "start_investigation", "handler", investigator="li")
    step(_at(10, 13, 15), first, "decide_response", "handler", findings="lab backlog",
         upheld="upheld", remedies=["apology", "fee_reduction"])  # fmt: skip
    step(
        _at(10, 14, 10),
        first,
        "communicate_decision",
        "handler",
        decision_text="We apologise and reduce the fee.",
        communication_via="phone",
    )
    step(_at(10, 15, 10), first, "record_reply", "client", reply="accepted")
    step(_at(10, 17, 10), first, "close", "handler", remedies_done=["apology", "fee_reduction"],
         remedy_evidence=["DOC-credit-note-7"])  # fmt: skip

    heading("escalated")
    clock.set(_at(10, 20, 9))
    wf.start("complaint", case_id=second, actor=people["reception"],
             data={"channel": "email", "description": "the invoice is wrong",
                   "complainant_contact": "wang@example.cn"})  # fmt: skip
    step(_at(10, 20, 14), second, "acknowledge", "handler", acknowledgement_via="email")
    step(_at(10, 21, 9), second, "assess", "handler", severity="low", priority="p3",
         category="fees")  # fmt: skip
    step(_at(10, 21, 10), second, "start_investigation", "handler", investigator="zhao")
    # nobody answers: the workers' ticks raise the warnings, then the breach escalates
    wait(_at(10, 30, 9))
