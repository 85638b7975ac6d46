"""The complaint ledger (投诉处理记录台账): one row per complaint, from its history.

《科技创新企业服务规范》§7 asks for 「投诉处理记录台账」; GB/T 19012 (ISO 10002) asks that
every complaint be tracked from receipt to closing. Every column is read from the
recorded history of the ``complaint`` template (its states, triggers, fields and SLA
clocks) and from the satisfaction survey that followed it — nothing is typed in.

Personal data of the complainant (name, contact) and the description are confidential
fields of the template: they appear only with ``include_confidential=True``. Given the
reader's clearance (``clearance=``, see :mod:`techsvc_flow.confidentiality`), every value
read from a field the template classifies above it is a marker such as
``"[redacted: confidential]"``.

>>> [c.en for c in COLUMNS][:4]
['Complaint no.', 'Case', 'Received at', 'Channel']
>>> column("acknowledged_within_limit").zh
'24小时内受理'
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import json
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ..confidentiality import above, rank, redact
from ..errors import ProvisionalWarning
from ..processes import standards
from ..processes.complaint import complaint
from ..processes.standards import Questionnaire
from .config import DEFAULT_CONFIG, QualityConfig
from .observe import sla_outcome
from .period import Period

if TYPE_CHECKING:
    from ..calendar import WorkCalendar
    from ..case import Case, HistoryEntry
    from ..sla import SlaClock
    from ..store import Store

__all__ = [
    "ACKNOWLEDGED",
    "CLOSED_STATES",
    "COLUMNS",
    "CONFIDENTIAL_COLUMNS",
    "COUNTED",
    "TRIGGERS",
    "Column",
    "Ledger",
    "LedgerRow",
    "column",
    "ledger",
]

Lang = Literal["en", "zh"]
Format = Literal["csv", "json", "xlsx"]


@attrs.frozen
class Column:
    """A ledger column: its key, its headers and how its values read in Chinese."""

    key: str
    en: str
    zh: str
    labels: Mapping[str, str] = attrs.field(factory=dict)

    def header(self, lang: Lang = "en") -> str:
        """The header in ``lang``."""
        return self.zh if lang == "zh" else self.en


def _terms(name: str) -> dict[str, str]:
    return {t.code: t.zh for t in getattr(standards, name)}


def _state_labels() -> dict[str, str]:
    return {s.name: s.title("zh") for s in complaint().states}


UPHELD = {"upheld": "成立", "partly_upheld": "部分成立", "not_upheld": "不成立"}
CLOSURES = {
    "resolved": "措施落实结案",
    "not_accepted": "不予受理",
    "no_response": "逾期未补充材料",
    "unresolved": "未解决结案",
    "external": "外部争议解决结案",
    "withdrawn": "撤诉",
}
EXTERNAL = {
    "mediation": "调解",
    "arbitration": "仲裁",
    "litigation": "诉讼",
    "consumer_association": "消费者协会",
    "industry_association": "行业协会",
    "regulator": "监管部门",
}
SATISFACTION = {"satisfied": "满意", "not_satisfied": "不满意", "not_reached": "未回访成功"}
NOT_ACCEPTED = {
    "not_a_complaint": "不属于投诉",
    "duplicate": "重复投诉",
    "outside_scope": "不属于受理范围",
    "no_contact_possible": "无法联系",
}

COLUMNS: tuple[Column, ...] = (
    Column("complaint_id", "Complaint no.", "投诉编号"),
    Column("case_id", "Case", "案件编号"),
    Column("received_at", "Received at", "接收时间"),
    Column("channel", "Channel", "投诉渠道", _terms("COMPLAINT_CHANNELS")),
    Column("client_id", "Client", "服务对象编号"),
    Column("related_case", "Related case", "关联案件"),
    Column("category", "Category", "投诉类别", _terms("COMPLAINT_CATEGORIES")),
    Column("severity", "Severity", "严重程度", _terms("SEVERITIES")),
    Column("priority", "Priority", "优先级", _terms("PRIORITIES")),
    Column("status", "Status", "当前状态", _state_labels()),
    Column("acknowledged_at", "Acknowledged at", "受理时间"),
    Column("acknowledge_limit", "Acknowledgement limit", "受理时限"),
    Column("acknowledged_within_limit", "Acknowledged within limit", "24小时内受理"),
    Column("decision_communicated_at", "Decision communicated at", "处理反馈时间"),
    Column("feedback_limit", "Feedback limit", "反馈时限"),
    Column("feedback_due", "Feedback due", "反馈期限"),
    Column("fed_back_within_limit", "Fed back within limit", "7个工作日内反馈"),
    Column("feedback_days_elapsed", "Feedback working days elapsed", "反馈已历工作日"),
    Column("feedback_days_paused", "Feedback working days paused", "反馈暂停工作日"),
    Column("upheld", "Upheld", "投诉是否成立", UPHELD),
    Column("remedies", "Remedies", "处理措施", _terms("REMEDIES")),
    Column("remedies_done", "Remedies carried out", "已落实措施", _terms("REMEDIES")),
    Column("escalations", "Escalations", "升级复核次数"),
    Column("overdue_escalations", "Overdue escalations", "超时升级次数"),
    Column("external_resolution", "External resolution", "外部争议解决", EXTERNAL),
    Column("reopened", "Reopened", "重开次数"),
    Column("closed_at", "Closed at", "关闭时间"),
    Column("closure", "Closure", "结案方式", {**CLOSURES, **NOT_ACCEPTED}),
    Column("satisfaction", "Satisfaction", "满意度", SATISFACTION),
    Column("satisfaction_index", "Satisfaction index", "满意度指数"),
    Column("handler", "Handler", "受理人"),
)

#: Columns with personal data or the complaint's content: exported only when asked.
CONFIDENTIAL_COLUMNS: tuple[Column, ...] = (
    Column("complainant_name", "Complainant", "投诉人"),
    Column("complainant_contact", "Complainant contact", "投诉人联系方式"),
    Column("description", "Description", "投诉内容"),
)

_ALL = {c.key: c for c in (*COLUMNS, *CONFIDENTIAL_COLUMNS)}


def column(key: str, /) -> Column:
    """The column called ``key``."""
    return _ALL[key]


@attrs.frozen
class LedgerRow:
    """One complaint in the ledger; :attr:`values` by column key (plain Python values:
    aware datetimes, bools, ints, lists of codes, ``None`` when not (yet) known)."""

    values: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


#: The states of the complaint template the ledger reads (besides the SLAs, named by
#: :attr:`QualityConfig.complaint_slas <techsvc_flow.quality.config.QualityConfig>`).
ACKNOWLEDGED = "acknowledged"
CLOSED_STATES = ("closed", "withdrawn")

_CLOSING = {
    "close": "resolved",
    "close_no_response": "no_response",
    "close_unresolved": "unresolved",
    "record_external_outcome": "external",
    "withdraw": "withdrawn",
}

_NOT_ACCEPTED = "close_not_accepted"
_COMMUNICATE = "communicate_decision"
#: The trigger counted by each counting column.
COUNTED = {
    "escalations": "escalate",
    "overdue_escalations": "escalate_overdue",
    "reopened": "reopen",
}
#: Every trigger of the complaint template the ledger reads.
TRIGGERS = frozenset({*_CLOSING, _NOT_ACCEPTED, _COMMUNICATE, *COUNTED.values()})


_SECOND = dt.timedelta(seconds=1)
_HUNDREDTH = Decimal("0.01")


def _days(amount: dt.timedelta) -> Decimal:
    return (Decimal(amount // _SECOND) / 86400).quantize(_HUNDREDTH)


def _feedback_days(
    clock: SlaClock | None, calendar: WorkCalendar, as_of: dt.datetime | None
) -> tuple[Decimal | None, Decimal | None]:
    """(working days from the clock's start to its stop or ``as_of``, of which paused)."""
    if clock is None or clock.started_at is None:
        return None, None
    end = clock.events[-1].at if clock.status == "stopped" else as_of
    if end is None:
        return None, None
    elapsed = calendar.working_time_between(clock.started_at, end)
    paused = elapsed - clock.consumed(calendar, end)
    return _days(elapsed), _days(paused)


def _closure(case: Case, entries: Sequence[HistoryEntry]) -> tuple[dt.datetime | None, str | None]:
    if case.state not in CLOSED_STATES:
        return None, None
    last = next(e for e in reversed(entries) if e.kind == "fire" and e.dest == case.state)
    if last.trigger == _NOT_ACCEPTED:
        reason = case.data.get("not_accepted_reason")
        return last.at, f"not_accepted:{reason}" if reason else "not_accepted"
    return last.at, _CLOSING.get(last.trigger or "", last.trigger)


def _row(
    case: Case,
    entries: Sequence[HistoryEntry],
    survey: Case | None,
    calendar: WorkCalendar,
    as_of: dt.datetime | None,
    include_confidential: bool,
    slas: tuple[str, str],
    questionnaire: Questionnaire,
) -> LedgerRow:
    data = case.data
    fires = [e for e in entries if e.kind == "fire"]
    acknowledged = next((e for e in fires if e.dest == ACKNOWLEDGED), None)
    communicated = next((e for e in fires if e.trigger == _COMMUNICATE), None)
    ack_name, feedback_name = slas
    ack_clock = case.clocks.get(ack_name)
    feedback_clock = case.clocks.get(feedback_name)
    ack = sla_outcome(ack_clock, calendar, as_of=as_of)
    feedback = sla_outcome(feedback_clock, calendar, as_of=as_of)
    closed_at, closure = _closure(case, entries)
    elapsed, paused = _feedback_days(feedback_clock, calendar, as_of)
    satisfaction = index = None
    if survey is not None and survey.state in SATISFACTION:
        satisfaction = survey.state
        scores = survey.data.get("scores")
        if scores:
            q = questionnaire
            index = None if q.problems(scores) else q.index(scores)
    values: dict[str, Any] = {
        "complaint_id": data.get("complaint_ref") or case.id,
        "case_id": case.id,
        "received_at": case.created_at,
        "channel": data.get("channel"),
        "client_id": data.get("client_id"),
        "related_case": data.get("related_case"),
        "category": data.get("category"),
        "severity": data.get("severity"),
        "priority": data.get("priority"),
        "status": case.state,
        "acknowledged_at": acknowledged.at if acknowledged else None,
        "acknowledge_limit": str(ack_clock.duration) if ack_clock else None,
        "acknowledged_within_limit": ack.within,
        "decision_communicated_at": communicated.at if communicated else None,
        "feedback_limit": str(feedback_clock.duration) if feedback_clock else None,
        "feedback_due": feedback.due,
        "fed_back_within_limit": feedback.within,
        "feedback_days_elapsed": elapsed,
        "feedback_days_paused": paused,
        "upheld": data.get("upheld"),
        "remedies": _codes(data.get("remedies")),
        "remedies_done": _codes(data.get("remedies_done")),
        "escalations": case.counts.get(COUNTED["escalations"], 0),
        "overdue_escalations": case.counts.get(COUNTED["overdue_escalations"], 0),
        "external_resolution": data.get("external_mechanism"),
        "reopened": case.counts.get(COUNTED["reopened"], 0),
        "closed_at": closed_at,
        "closure": closure,
        "satisfaction": satisfaction,
        "satisfaction_index": index,
        "handler": acknowledged.actor if acknowledged else None,
    }
    if include_confidential:
        for c in CONFIDENTIAL_COLUMNS:
            values[c.key] = data.get(c.key)
    return LedgerRow(values)


def _codes(value: Any) -> Any:
    """A list of codes (a withheld value, its marker, as it is)."""
    return value if isinstance(value, str) else list(value or [])


def _surveys(store: Store, processes: Iterable[str], subjects: set[str]) -> dict[str, Case]:
    """The latest finished survey of each complaint."""
    out: dict[str, Case] = {}
    for name in processes:
        for survey in store.cases(process=name):
            subject = survey.data.get("subject_case")
            if subject not in subjects or survey.state not in SATISFACTION:
                continue
            if subject not in out or out[subject].updated_at < survey.updated_at:
                out[subject] = survey
    return out


def ledger(
    store: Store,
    *,
    calendar: WorkCalendar,
    period: Period | None = None,
    as_of: dt.datetime | None = None,
    include_confidential: bool = False,
    process: str = "complaint",
    survey_processes: Iterable[str] = ("satisfaction_survey",),
    config: QualityConfig = DEFAULT_CONFIG,
    clearance: str | None = None,
) -> Ledger:
    """The complaint ledger of the complaints in ``store``, oldest first.

    Args:
        store: any store.
        calendar: counts the 7-working-day limit (use the workflow's calendar).
        period: only complaints received in it.
        as_of: open complaints past their limit count as late at this instant; without
            it, only a breach the workflow has raised marks an open complaint late.
        include_confidential: add the complainant's name, contact and the description.
        process: the complaint process name.
        survey_processes: where the satisfaction surveys of complaints are.
        config: names the acknowledgement and the feedback SLA of a complaint
            (:attr:`QualityConfig.complaint_slas <techsvc_flow.quality.config.QualityConfig>`;
            default :data:`~techsvc_flow.quality.config.DEFAULT_CONFIG`) and the
            questionnaire the satisfaction index is computed with (default: ours).
        clearance: the reader's clearance (``Workflow.clearance(actor)``): a value of a
            field the ``complaint`` template classifies above it is replaced by a marker
            (the confidential columns too, when included). ``None``: not filtered.

    Raises:
        InvalidValue: ``clearance`` is not a level.
    """
    hidden: dict[str, str] = {}
    if clearance is not None:
        rank(clearance, "clearance")
        hidden = above(complaint().levels, clearance)
    cases = [c for c in store.cases(process=process) if period is None or c.created_at in period]
    if hidden:
        cases = [attrs.evolve(c, data=redact(c.data, hidden)) for c in cases]
    cases.sort(key=lambda c: (c.created_at, c.id))
    surveys = _surveys(store, survey_processes, {c.id for c in cases})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProvisionalWarning)
        rows = tuple(
            _row(
                c,
                store.history(c.id),
                surveys.get(c.id),
                calendar,
                as_of,
                include_confidential,
                config.complaint_slas,
                config.questionnaire,
            )
            for c in cases
        )
    return Ledger(rows, calendar.tz, include_confidential)


# --- export -----------------------------------------------------------------------------------


@attrs.frozen
class Ledger:
    """The ledger's rows and how to export them.

    Attributes:
        rows: one per complaint, oldest first.
        tz: the zone instants are written in.
        confidential: whether the rows carry the confidential columns.
    """

    rows: tuple[LedgerRow, ...]
    tz: dt.tzinfo
    confidential: bool = False

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[LedgerRow]:
        return iter(self.rows)

    @property
    def columns(self) -> tuple[Column, ...]:
        """The columns exported, in order."""
        return (*COLUMNS, *CONFIDENTIAL_COLUMNS) if self.confidential else COLUMNS

    def _cell(self, col: Column, value: Any, lang: Lang, *, text: bool) -> Any:
        if value is None:
            return "" if text else None
        if isinstance(value, bool):
            if lang == "zh":
                return "是" if value else "否"
            return ("yes" if value else "no") if text else value
        if isinstance(value, dt.datetime):
            return value.astimezone(self.tz).isoformat() if text else value.astimezone(self.tz)
        if isinstance(value, list):
            items = [self._code(col, v, lang) for v in value]
            return "; ".join(items) if text else items
        if isinstance(value, str):
            return self._code(col, value, lang)
        return str(value) if text else value

    def _code(self, col: Column, value: str, lang: Lang) -> str:
        if lang != "zh" or not col.labels:
            return value
        if ":" in value:  # not_accepted:duplicate
            head, _, tail = value.partition(":")
            return f"{col.labels.get(head, head)}：{col.labels.get(tail, tail)}"
        return col.labels.get(value, value)

    def records(self, *, lang: Lang = "en") -> list[dict[str, Any]]:
        """The rows as dicts keyed by header, JSON-serialisable."""
        out = []
        for row in self.rows:
            record: dict[str, Any] = {}
            for col in self.columns:
                value = self._cell(col, row.values.get(col.key), lang, text=False)
                if isinstance(value, dt.datetime):
                    value = value.isoformat()
                elif value is not None and not isinstance(value, bool | int | str | list):
                    value = str(value)
                record[col.header(lang)] = value
            out.append(record)
        return out

    def to_csv(self, *, lang: Lang = "en") -> str:
        """CSV text, a header row first."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([c.header(lang) for c in self.columns])
        for row in self.rows:
            writer.writerow(
                [self._cell(c, row.values.get(c.key), lang, text=True) for c in self.columns]
            )
        return buffer.getvalue()

    def to_json(self, *, lang: Lang = "en", indent: int | None = 2) -> str:
        """JSON text: a list of objects keyed by header (Chinese kept as is)."""
        return json.dumps(self.records(lang=lang), ensure_ascii=False, indent=indent)

    def to_xlsx(self, *, lang: Lang = "en") -> bytes:
        """An Excel workbook (needs ``openpyxl``: ``pip install techsvc_flow[excel]``).

        Instants are written as local date-times in :attr:`tz` (Excel has no zones).
        """
        try:
            openpyxl: Any = importlib.import_module("openpyxl")
        except ImportError as exc:
            raise ImportError(
                "the Excel export needs openpyxl: pip install 'techsvc_flow[excel]'"
            ) from exc
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "投诉台账" if lang == "zh" else "Complaint ledger"
        sheet.append([c.header(lang) for c in self.columns])
        for cell in sheet[1]:
            cell.font = openpyxl.styles.Font(bold=True)
        for row in self.rows:
            cells = []
            for c in self.columns:
                value = self._cell(c, row.values.get(c.key), lang, text=False)
                if isinstance(value, dt.datetime):
                    value = value.replace(tzinfo=None)
                elif isinstance(value, list):
                    value = "; ".join(value)
                elif value is not None and not isinstance(value, bool | int | str):
                    value = str(value)
                cells.append(value)
            sheet.append(cells)
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, dt.datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
        for i, c in enumerate(self.columns, start=1):
            width = max(len(c.header(lang)) * (2 if lang == "zh" else 1), 10) + 2
            sheet.column_dimensions[openpyxl.utils.get_column_letter(i)].width = min(width, 40)
        sheet.freeze_panes = "A2"
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    def export(self, format: Format, *, lang: Lang = "en") -> str | bytes:
        """The ledger as ``csv`` or ``json`` text, or ``xlsx`` bytes."""
        if format == "csv":
            return self.to_csv(lang=lang)
        if format == "json":
            return self.to_json(lang=lang)
        if format == "xlsx":
            return self.to_xlsx(lang=lang)
        raise ValueError(f"format must be csv, json or xlsx, not {format!r}")
