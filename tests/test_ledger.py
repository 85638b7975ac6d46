"""The complaint ledger: one row per complaint from its history; CSV, JSON, Excel;
Chinese headers; confidential columns only when asked."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
import quality_scenario as qs
from quality_scenario import AS_OF, SH, at

from techsvc_flow import SteppedClock, Store, WorkCalendar, Workflow, processes
from techsvc_flow.quality import Period
from techsvc_flow.quality.ledger import COLUMNS, CONFIDENTIAL_COLUMNS, Ledger, ledger

SECRETS = ("138 0000 0000", "Complainant C01", "secret details")


@pytest.fixture(scope="module")
def wf() -> Workflow:
    return qs.build()


@pytest.fixture(scope="module")
def book(wf: Workflow) -> Ledger:
    return ledger(wf.store, calendar=wf.calendar)


def rows(book: Ledger) -> dict[str, dict[str, object]]:
    return {str(r["complaint_id"]): dict(r.values) for r in book}


def test_one_row_per_complaint_oldest_first(book: Ledger) -> None:
    ids = [r["complaint_id"] for r in book]
    assert len(book) == 21
    assert ids[0] == "C00" and ids[-1] == "C20"
    assert ids.index("C12") < ids.index("C03")  # received 11-03 11:00, before 11-04


def test_a_plain_complaint(book: Ledger) -> None:
    c01 = rows(book)["C01"]
    assert c01["received_at"] == at(11, 3)
    assert c01["channel"] == "phone" and c01["category"] == "timeliness"
    assert c01["severity"] == "medium" and c01["priority"] == "p3"
    assert c01["acknowledged_at"] == at(11, 3, 11)
    assert c01["acknowledge_limit"] == "24h" and c01["acknowledged_within_limit"] is True
    assert c01["decision_communicated_at"] == at(11, 6)
    assert c01["feedback_limit"] == "7wd"
    assert c01["feedback_due"] == dt.datetime(2025, 11, 13, 0, 0, tzinfo=SH)
    assert c01["fed_back_within_limit"] is True
    assert c01["upheld"] == "upheld" and c01["remedies"] == ["apology"]
    assert c01["remedies_done"] == ["apology"]
    assert c01["status"] == "closed" and c01["closure"] == "resolved"
    assert c01["closed_at"] == at(11, 6, 15)
    assert c01["handler"] == "li"
    assert c01["satisfaction"] == "satisfied" and c01["satisfaction_index"] is None
    assert c01["escalations"] == c01["reopened"] == c01["overdue_escalations"] == 0


def test_late_complaints_are_marked(book: Ledger) -> None:
    r = rows(book)
    assert (r["C03"]["acknowledged_within_limit"], r["C03"]["fed_back_within_limit"]) == (
        False,
        True,
    )
    assert (r["C07"]["acknowledged_within_limit"], r["C07"]["fed_back_within_limit"]) == (
        False,
        False,
    )
    assert (r["C11"]["acknowledged_within_limit"], r["C11"]["fed_back_within_limit"]) == (
        True,
        False,
    )
    # the strict reading: 7 working days from receipt (11-03 11:00), no pause while
    # waiting on the complainant; fed back 11-14 15:00, late
    assert r["C12"]["feedback_due"] == dt.datetime(2025, 11, 13, 0, 0, tzinfo=SH)
    assert r["C12"]["fed_back_within_limit"] is False
    # 11-03 11:00 .. 11-14 15:00: 9 working days and 4 hours; nothing paused
    assert (r["C12"]["feedback_days_elapsed"], r["C12"]["feedback_days_paused"]) == (
        Decimal("9.17"),
        Decimal("0.00"),
    )


def test_the_ledger_shows_elapsed_and_paused_time_when_the_pause_is_on() -> None:
    wf = qs.build(complaint=processes.complaint(pause_feedback=True))
    r = rows(ledger(wf.store, calendar=wf.calendar, as_of=qs.AS_OF))
    # three working days waiting on the complainant moved the feedback due to 11-18
    assert r["C12"]["feedback_due"] == dt.datetime(2025, 11, 18, 0, 0, tzinfo=SH)
    assert r["C12"]["fed_back_within_limit"] is True
    assert (r["C12"]["feedback_days_elapsed"], r["C12"]["feedback_days_paused"]) == (
        Decimal("9.17"),
        Decimal("3.00"),
    )


def test_closures_escalations_reopenings(book: Ledger) -> None:
    r = rows(book)
    assert r["C05"]["closure"] == "not_accepted:not_a_complaint"
    assert r["C05"]["acknowledged_at"] is None
    assert r["C05"]["acknowledged_within_limit"] is True  # closed within the 24 hours
    assert (r["C06"]["status"], r["C06"]["closure"]) == ("withdrawn", "withdrawn")
    assert r["C06"]["closed_at"] == at(11, 7, 10)
    assert r["C09"]["escalations"] == 1
    assert r["C10"]["reopened"] == 1 and r["C10"]["closed_at"] == at(11, 26, 12)
    assert (r["C13"]["external_resolution"], r["C13"]["closure"]) == ("mediation", "external")
    assert r["C02"]["satisfaction"] == "not_satisfied"
    assert r["C02"]["satisfaction_index"] == Decimal("25.00")


def test_open_complaints(wf: Workflow, book: Ledger) -> None:
    c19 = rows(book)["C19"]
    assert c19["status"] == "investigating" and c19["closed_at"] is None
    assert c19["fed_back_within_limit"] is None  # not yet decided
    later = ledger(wf.store, calendar=wf.calendar, as_of=dt.datetime(2026, 1, 20, tzinfo=SH))
    assert rows(later)["C19"]["fed_back_within_limit"] is False  # due 2026-01-09 passed
    assert (
        rows(ledger(wf.store, calendar=wf.calendar, as_of=AS_OF))["C19"]["fed_back_within_limit"]
        is None
    )


def test_period_filter(wf: Workflow) -> None:
    q4 = ledger(wf.store, calendar=wf.calendar, period=Period.parse("2025-Q4", tz=SH))
    assert len(q4) == 20 and "C00" not in rows(q4)


def test_confidential_columns_only_when_asked(wf: Workflow, book: Ledger) -> None:
    for text in (book.to_csv(), book.to_json(), book.to_csv(lang="zh"), book.to_json(lang="zh")):
        assert not any(secret in text for secret in SECRETS)
    assert [c.key for c in book.columns] == [c.key for c in COLUMNS]
    full = ledger(wf.store, calendar=wf.calendar, include_confidential=True)
    assert [c.key for c in full.columns][-3:] == [c.key for c in CONFIDENTIAL_COLUMNS]
    text = full.to_csv()
    assert all(secret in text for secret in SECRETS)
    assert rows(full)["C01"]["complainant_contact"] == "138 0000 0000"


def test_no_ledger_column_is_a_confidential_field_of_the_template() -> None:
    from techsvc_flow.processes import complaint

    secret = complaint().confidential
    assert {c.key for c in COLUMNS} & secret == set()
    assert {c.key for c in CONFIDENTIAL_COLUMNS} <= secret


def test_csv(book: Ledger) -> None:
    table = list(csv.reader(io.StringIO(book.to_csv())))
    assert table[0] == [c.en for c in COLUMNS]
    assert len(table) == 22
    c07 = dict(zip(table[0], table[[r[0] for r in table].index("C07")], strict=True))
    assert c07["Received at"] == "2025-11-10T09:00:00+08:00"
    assert c07["Acknowledged within limit"] == "no"
    assert c07["Fed back within limit"] == "no"
    assert c07["Remedies"] == "apology"


def test_chinese_headers_and_labels(book: Ledger) -> None:
    table = list(csv.reader(io.StringIO(book.to_csv(lang="zh"))))
    assert table[0][:4] == ["投诉编号", "案件编号", "接收时间", "投诉渠道"]
    c05 = dict(zip(table[0], table[[r[0] for r in table].index("C05")], strict=True))
    assert c05["投诉渠道"] == "电子邮件"
    assert c05["24小时内受理"] == "是"
    assert c05["结案方式"] == "不予受理：不属于投诉"
    assert c05["当前状态"] == "已关闭"
    c13 = dict(zip(table[0], table[[r[0] for r in table].index("C13")], strict=True))
    assert c13["外部争议解决"] == "调解"


def test_json(book: Ledger) -> None:
    records = json.loads(book.to_json())
    assert len(records) == 21
    c07 = next(r for r in records if r["Complaint no."] == "C07")
    assert c07["Acknowledged within limit"] is False
    assert c07["Remedies"] == ["apology"]
    assert c07["Feedback due"] == "2025-11-20T00:00:00+08:00"
    zh = json.loads(book.to_json(lang="zh"))
    c02 = next(r for r in zh if r["投诉编号"] == "C02")
    assert c02["满意度"] == "不满意" and c02["满意度指数"] == "25.00"
    assert book.export("json") == book.to_json()


def test_xlsx(book: Ledger) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    data = book.export("xlsx", lang="zh")
    assert isinstance(data, bytes) and data[:2] == b"PK"
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet.title == "投诉台账"
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("投诉编号", "案件编号", "接收时间")
    assert len(values) == 22
    c01 = next(v for v in values if v[0] == "C01")
    assert c01[2] == dt.datetime(2025, 11, 3, 9, 0)  # local time, Asia/Shanghai
    assert "是" in c01
    assert not any(secret in str(v) for v in values for secret in SECRETS)


def test_bad_format(book: Ledger) -> None:
    with pytest.raises(ValueError, match="csv, json or xlsx"):
        book.export("pdf")  # type: ignore[arg-type]


def test_ledger_from_every_store(store: Store) -> None:
    wf = Workflow(
        store,
        calendar=WorkCalendar.china(coverage="provisional"),
        clock=SteppedClock(at(11, 1)),
        processes=[processes.complaint(), processes.satisfaction_survey()],
    )
    a = qs.Agenda(wf)
    qs.complaint(a, "C07", at(11, 10), ack=dt.timedelta(hours=26), feedback=dt.timedelta(days=12))
    qs.complaint(a, "C12", at(11, 3, 11))
    a.run()
    got = ledger(store, calendar=wf.calendar)
    assert [r["complaint_id"] for r in got] == ["C12", "C07"]
    c07 = rows(got)["C07"]
    assert c07["acknowledged_within_limit"] is False and c07["fed_back_within_limit"] is False
    assert c07["received_at"] == at(11, 10)
    assert not any(secret in got.to_csv() for secret in SECRETS)


def test_the_ledger_imports_openpyxl_only_for_excel() -> None:
    import subprocess
    import sys

    code = (
        "import sys, techsvc_flow.quality.ledger, techsvc_flow.quality, "
        "techsvc_flow.quality.render, techsvc_flow.quality.archive, techsvc_flow.recompute\n"
        "print(sorted(m for m in ('openpyxl', 'sqlalchemy', 'hypothesis') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
