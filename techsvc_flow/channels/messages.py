"""Messages people can act on: one event rendered as text, Markdown and HTML.

A :class:`Message` says which process and case, the state's label, what happened, the
due instant in the calendar's local time and the working time left, who must act, and
a link built from the integrator's URL template. Chinese by default, English on
request; the body can be overridden per event kind with a ``str.format`` template.

Only the fields listed in :data:`FIELDS` reach a message: a case's data never does, so
a confidential field (``Field(confidential=True)``) cannot appear in one.
"""

from __future__ import annotations

import datetime as dt
import html
import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ..calendar import WorkCalendar
from ..definition import ProcessDefinition
from ..errors import ConfigurationError
from ..notifications import Event

__all__ = ["FIELDS", "LANGS", "Message", "Messages", "Person"]

LANGS = ("zh", "en")

#: the names a template may use
FIELDS = (
    "process",
    "case_id",
    "state",
    "happened",
    "due",
    "remaining",
    "who",
    "link",
    "event_id",
    "actor",
)


@attrs.frozen
class Person:
    """Someone a message is for, with the handles each channel needs.

    Attributes:
        id: the host's user id.
        name: the display name.
        mobile: for @mentions by mobile number (WeCom, DingTalk).
        email: for :class:`~techsvc_flow.channels.Email`.
        wecom, dingtalk, feishu: the user id in that vendor's directory (Feishu: the
            ``open_id``), for @mentions by id.
    """

    id: str
    name: str
    mobile: str | None = None
    email: str | None = None
    wecom: str | None = None
    dingtalk: str | None = None
    feishu: str | None = None


_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "case.started": "新工单已受理",
        "case.transition": "办理“{trigger}”：{source} → {dest}",
        "case.refused": "操作“{trigger}”被拒绝",
        "state.entered": "进入“{state}”",
        "state.left": "离开“{state}”",
        "sla.started": "时限“{sla}”开始计时",
        "sla.paused": "时限“{sla}”暂停",
        "sla.resumed": "时限“{sla}”恢复计时",
        "sla.stopped": "时限“{sla}”停止",
        "sla.warning": "时限“{sla}”预警：已用 {level}",
        "sla.breach": "时限“{sla}”已超时",
        "sla.recomputed": "时限“{sla}”已重算",
        "sla.goal_changed": "时限“{sla}”改按目标“{goal}”计算",
        "sla.escalation": "时限“{sla}”升级：{level}，通知 {notify}",
        "work.assign": "已指派给 {assignee}",
        "work.claim": "{actor} 已认领",
        "work.unclaim": "{actor} 已放弃认领",
        "work.reassign": "已转办给 {assignee}（原办理人 {previous}）",
        "work.delegate": "已委托 {delegate} 代办",
        "work.urge": "催办：{text}",
        "work.comment": "{actor} 添加了备注",
        "incident.opened": "自动处理出错：{error}",
        "incident.resolved": "自动处理已恢复",
        "notify.test": "测试消息：通知渠道已接通",
        "other": "{kind}",
        "sep": "、",
        "state": "当前状态",
        "due": "截止",
        "remaining": "剩余工作时间",
        "overdue": "已超时（工作时间）",
        "who": "请处理",
        "open": "查看",
        "hours": "{h} 小时 {m} 分",
        "none": "—",
    },
    "en": {
        "case.started": "New case received",
        "case.transition": "{trigger}: {source} → {dest}",
        "case.refused": "{trigger} was refused",
        "state.entered": "Entered {state}",
        "state.left": "Left {state}",
        "sla.started": "Limit {sla} started",
        "sla.paused": "Limit {sla} paused",
        "sla.resumed": "Limit {sla} resumed",
        "sla.stopped": "Limit {sla} stopped",
        "sla.warning": "Limit {sla}: {level} used",
        "sla.breach": "Limit {sla} exceeded",
        "sla.recomputed": "Limit {sla} recomputed",
        "sla.goal_changed": "Limit {sla} now counts goal {goal}",
        "sla.escalation": "Limit {sla} escalated: {level}, notify {notify}",
        "work.assign": "Assigned to {assignee}",
        "work.claim": "Claimed by {actor}",
        "work.unclaim": "Unclaimed by {actor}",
        "work.reassign": "Reassigned to {assignee} (was {previous})",
        "work.delegate": "Delegated to {delegate}",
        "work.urge": "Urged: {text}",
        "work.comment": "{actor} added a comment",
        "incident.opened": "Automatic step failed: {error}",
        "incident.resolved": "Automatic step recovered",
        "notify.test": "Test message: the channel works",
        "other": "{kind}",
        "sep": ", ",
        "state": "State",
        "due": "Due",
        "remaining": "Working time left",
        "overdue": "Overdue (working time)",
        "who": "To act",
        "open": "Open",
        "hours": "{h} h {m} min",
        "none": "—",
    },
}


@attrs.frozen
class Message:
    """An event rendered for people.

    Attributes:
        title: one line: the process, the case and what happened.
        lines: the body, one fact a line (already in the message's language).
        link: where to act, or ``None``.
        people: whom it is for (robots @mention them).
        event_id: the event's id, shown last so a message can be traced.
    """

    title: str
    lines: tuple[str, ...]
    link: str | None = None
    people: tuple[Person, ...] = ()
    event_id: str = ""
    open_label: str = "查看"

    def text(self) -> str:
        """Plain text: the title, the lines, the link and the event id."""
        tail = [self.link] if self.link else []
        return "\n".join([self.title, *self.lines, *tail, f"# {self.event_id}"])

    def markdown(self) -> str:
        """Markdown (the subset the robots render: headings, bold, links)."""
        body = [f"### {self.title}", *(f"> {line}" for line in self.lines)]
        if self.link:
            body.append(f"[{self.open_label}]({self.link})")
        body.append(f"`{self.event_id}`")
        return "\n".join(body)

    def html(self) -> str:
        """An HTML fragment for e-mail, every value escaped."""
        items = "".join(f"<li>{html.escape(line)}</li>" for line in self.lines)
        link = ""
        if self.link:
            link = f'<p><a href="{html.escape(self.link)}">{html.escape(self.open_label)}</a></p>'
        return (
            f"<h3>{html.escape(self.title)}</h3><ul>{items}</ul>{link}"
            f"<p><small>{html.escape(self.event_id)}</small></p>"
        )


def _check_template(kind: str, template: object) -> str:
    """A template that only uses :data:`FIELDS` (refused at set-up, not at 3 a.m.)."""
    where = f"Messages.templates[{kind!r}]"
    if not isinstance(template, str):
        raise ConfigurationError(where, f"must be a str, not {type(template).__name__}")
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError as exc:
        raise ConfigurationError(where, f"is not a format string: {exc}") from None
    unknown = sorted(n for n in names if n not in FIELDS)
    if unknown:
        raise ConfigurationError(where, f"unknown field(s) {unknown}; known: {list(FIELDS)}")
    return template


class Messages:
    """Renders events for people.

    Args:
        lang: ``"zh"`` (default) or ``"en"``.
        processes: the process definitions, for titles and state labels.
        calendar: for the due instant in local time and the working time left.
        link: a URL template with ``{case_id}``, ``{process}``, ``{event_id}``, e.g.
            ``"https://crm.example.com/cases/{case_id}"``.
        templates: per event kind, a body template using :data:`FIELDS` that replaces
            the standard lines.

    >>> import datetime as dt
    >>> from techsvc_flow.notifications import Event
    >>> at = dt.datetime(2025, 10, 9, 9, 0, tzinfo=dt.UTC)
    >>> event = Event("e1", "sla.breach", "C-7", "complaint", at, {"sla": "reply"})
    >>> print(Messages(lang="en").render(event).text())
    complaint C-7: Limit reply exceeded
    # e1

    Raises:
        ConfigurationError: an unknown language, a link or template using unknown
            fields.
    """

    def __init__(
        self,
        *,
        lang: str = "zh",
        processes: Iterable[ProcessDefinition] = (),
        calendar: WorkCalendar | None = None,
        link: str | None = None,
        templates: Mapping[str, str] | None = None,
    ) -> None:
        if lang not in LANGS:
            raise ConfigurationError("Messages.lang", f"must be one of {LANGS}, not {lang!r}")
        self.lang = lang
        self._words = _WORDS[lang]
        self._processes = {p.name: p for p in processes}
        self.calendar = calendar
        if link is not None:
            names = {n for _, n, _, _ in string.Formatter().parse(link) if n}
            if not names <= {"case_id", "process", "event_id"}:
                raise ConfigurationError(
                    "Messages.link", "may only use {case_id}, {process} and {event_id}"
                )
        self.link = link
        self.templates = {k: _check_template(k, v) for k, v in (templates or {}).items()}

    def _label(self, process: str, state: Any) -> str:
        definition = self._processes.get(process)
        if definition is None or not isinstance(state, str):
            return str(state) if state else self._words["none"]
        found = definition.state_map.get(state)
        return found.title(self.lang) if found else state

    def _trigger(self, process: str, trigger: Any) -> str:
        definition = self._processes.get(process)
        for t in definition.transitions if definition else ():
            if t.trigger == trigger and t.label:
                return t.label.get(self.lang) or t.label.get("en") or str(trigger)
        return str(trigger)

    def _happened(self, event: Event) -> str:
        p = event.payload
        mark = str(p.get("mark", ""))
        found = p.get("assignment")
        a: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        facts = {
            "trigger": self._trigger(event.process, p.get("trigger")),
            "source": self._label(event.process, p.get("source")),
            "dest": self._label(event.process, p.get("dest")),
            "state": self._label(event.process, p.get("state")),
            "sla": p.get("sla", ""),
            "level": str(p.get("level") or mark.removeprefix("warning:")),
            "goal": str(p.get("goal", "")),
            "notify": self._words["sep"].join(str(r) for r in p.get("notify") or ()),
            # who acts next (work.* events); a comment's text is not shown, an urge's is
            "actor": str(p.get("actor") or ""),
            "assignee": self._words["sep"].join(
                str(w) for w in ([a.get("assignee")] if a.get("assignee") else a.get("roles") or ())
            ),
            "delegate": str(a.get("delegate") or ""),
            "previous": str(p.get("from") or self._words["none"]),
            "text": str(p.get("text") or "") if event.type == "work.urge" else "",
            "error": p.get("error", ""),
            "kind": event.type,
        }
        template = self._words.get(event.type, self._words["other"])
        return template.format(**facts)

    def _span(self, span: dt.timedelta) -> str:
        minutes = int(span.total_seconds() // 60)
        return self._words["hours"].format(h=minutes // 60, m=minutes % 60)

    def fields(self, event: Event, people: Sequence[Person] = ()) -> dict[str, str]:
        """The values of :data:`FIELDS` for ``event`` (what a template can use)."""
        words = self._words
        definition = self._processes.get(event.process)
        due_text = remaining = words["none"]
        due_raw = event.payload.get("due")
        if isinstance(due_raw, str) and due_raw:
            due = dt.datetime.fromisoformat(due_raw)
            if self.calendar is not None:
                due = due.astimezone(self.calendar.tz)
                if due >= event.at:
                    remaining = self._span(self.calendar.working_time_between(event.at, due))
                else:
                    late = self.calendar.working_time_between(due, event.at)
                    remaining = f"{words['overdue']} {self._span(late)}"
            due_text = due.strftime("%Y-%m-%d %H:%M")
        state = event.payload.get("dest") or event.payload.get("state")
        link = ""
        if self.link is not None:
            link = self.link.format(case_id=event.case_id, process=event.process, event_id=event.id)
        return {
            "process": definition.title.get(self.lang, event.process)
            if definition and definition.title
            else event.process,
            "case_id": event.case_id,
            "state": self._label(event.process, state) if state else words["none"],
            "happened": self._happened(event),
            "due": due_text,
            "remaining": remaining,
            "who": words["sep"].join(p.name for p in people) if people else words["none"],
            "link": link,
            "event_id": event.id,
            "actor": str(event.payload.get("actor") or words["none"]),
        }

    def render(self, event: Event, people: Sequence[Person] = ()) -> Message:
        """``event`` as a :class:`Message` for ``people``."""
        f = self.fields(event, people)
        w = self._words
        title = f"{f['process']} {f['case_id']}: {f['happened']}"
        if event.type in self.templates:
            lines = tuple(self.templates[event.type].format(**f).splitlines())
        else:
            shown = [
                (w["state"], f["state"]),
                (w["due"], f["due"]),
                (w["remaining"], f["remaining"]),
                (w["who"], f["who"]),
            ]
            lines = tuple(f"{k}: {v}" for k, v in shown if v != w["none"])
        return Message(
            title, lines, f["link"] or None, tuple(people), event.id, open_label=w["open"]
        )
