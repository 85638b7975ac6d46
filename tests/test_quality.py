"""The seven quality indicators over a recorded quarter: every numerator and denominator
known by hand, the cases behind them, the trend, the configuration, PDCA improvement."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import quality_scenario as qs
from quality_scenario import AS_OF, SH, at

from techsvc_flow import MemoryStore, SteppedClock, Store, WorkCalendar, Workflow, processes
from techsvc_flow.facts import CaseFacts
from techsvc_flow.quality import (
    DEFAULT_CONFIG,
    INDICATORS,
    IndicatorResult,
    Period,
    PeriodError,
    QualityConfig,
    QualityReport,
    check,
    improvement_case_id,
    indicator,
    report,
    sla_outcome,
)
from techsvc_flow.sla import SlaClock

Q4 = Period.parse("2025-Q4", tz=SH)


def compute_indicators(
    store: Store, period: Period, *, calendar: WorkCalendar, config: QualityConfig = DEFAULT_CONFIG
) -> list[IndicatorResult]:
    """The seven results over ``period`` (what the deprecated ``compute_indicators`` did)."""
    found = report(store, period, calendar=calendar, config=config, trend=False)
    return list(found.results)


@pytest.fixture(scope="module")
def wf() -> Workflow:
    return qs.build()


@pytest.fixture(scope="module")
def q4(wf: Workflow) -> QualityReport:
    return report(wf.store, Q4, calendar=wf.calendar)


def counts(r: IndicatorResult) -> tuple[int, int]:
    return r.numerator, r.denominator


# --- periods ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label", "start", "end"),
    [
        ("2025", "2025", dt.date(2025, 1, 1), dt.date(2026, 1, 1)),
        ("2025-H2", "2025-H2", dt.date(2025, 7, 1), dt.date(2026, 1, 1)),
        ("2025-Q4", "2025-Q4", dt.date(2025, 10, 1), dt.date(2026, 1, 1)),
        ("2025q1", "2025-Q1", dt.date(2025, 1, 1), dt.date(2025, 4, 1)),
        ("2025-10", "2025-10", dt.date(2025, 10, 1), dt.date(2025, 11, 1)),
        ("2025-12", "2025-12", dt.date(2025, 12, 1), dt.date(2026, 1, 1)),
        ("2025-10-08..2025-10-14", "2025-10-08..2025-10-14", dt.date(2025, 10, 8),
         dt.date(2025, 10, 15)),
    ],
)  # fmt: skip
def test_period_forms(text: str, label: str, start: dt.date, end: dt.date) -> None:
    p = Period.parse(text, tz="Asia/Shanghai")
    assert p.label == label
    assert p.start == dt.datetime(start.year, start.month, start.day, tzinfo=SH)
    assert p.end == dt.datetime(end.year, end.month, end.day, tzinfo=SH)
    assert p.start.utcoffset() == dt.timedelta(hours=8)


@pytest.mark.parametrize("text", ["2025-Q5", "2025-13", "Q4", "2025-10-32..2025-11-01", ""])
def test_period_errors(text: str) -> None:
    with pytest.raises(PeriodError, match="period"):
        Period.parse(text, tz=SH)


def test_period_is_aware_and_not_empty() -> None:
    with pytest.raises(PeriodError, match="aware"):
        Period.between(dt.datetime(2025, 1, 1), dt.datetime(2025, 2, 1))
    with pytest.raises(PeriodError, match="empty"):
        Period.between(at(2, 1), at(1, 1))
    assert isinstance(PeriodError("x"), ValueError)


def test_period_contains_and_months() -> None:
    assert at(10, 1, 0) in Q4
    assert dt.datetime(2026, 1, 1, tzinfo=SH) not in Q4
    assert dt.datetime(2025, 9, 30, 16, 30, tzinfo=dt.UTC) in Q4  # 10-01 00:30 in Shanghai
    assert [m.label for m in Q4.months()] == ["2025-10", "2025-11", "2025-12"]
    part = Period.parse("2025-10-20..2025-11-05", tz=SH)
    assert [(m.label, m.start.day, m.end.day) for m in part.months()] == [
        ("2025-10", 20, 1),
        ("2025-11", 1, 6),
    ]


# --- the indicators, as defined ---------------------------------------------------------------


def test_seven_indicators_with_their_sources() -> None:
    assert len(INDICATORS) == 7
    from_standard = {i.code: i.threshold for i in INDICATORS if i.from_standard}
    assert from_standard == {"customer_satisfaction": 90, "response_timeliness": 95}
    assert all(i.threshold_source == "our default" for i in INDICATORS if i.code not in (
        "customer_satisfaction", "response_timeliness", "complaint_timeliness"
    ))  # fmt: skip
    assert indicator("complaint_timeliness").zh == "投诉处理及时率"
    with pytest.raises(KeyError, match="known: customer_satisfaction"):
        indicator("nps")


def test_config_thresholds() -> None:
    cfg = DEFAULT_CONFIG.with_thresholds(on_time_delivery_rate="97.5", return_visit_rate=85)
    assert cfg.threshold("on_time_delivery_rate") == Decimal("97.5")
    assert cfg.threshold("response_timeliness") == 95
    with pytest.raises(KeyError):
        DEFAULT_CONFIG.with_thresholds(speed=90)
    with pytest.raises(ValueError, match="per cent"):
        QualityConfig(thresholds={"return_visit_rate": 120})
    with pytest.raises(ValueError, match="satisfaction_basis"):
        QualityConfig(satisfaction_basis="mean")  # type: ignore[arg-type]


# --- the quarter ------------------------------------------------------------------------------


def test_customer_satisfaction(q4: QualityReport) -> None:
    r = q4.result("customer_satisfaction")
    # engagements E00, E01 (satisfied), E02 (not); surveys SV-E10, SV-C01 (satisfied),
    # SV-C02 (not); SV-NR not reached; E10 is counted through its survey case SV-E10
    assert counts(r) == (4, 6)
    assert set(r.numerator_cases) == {"E00", "E01", "SV-E10", "SV-C01"}
    assert set(r.denominator_cases) == {"E00", "E01", "E02", "SV-E10", "SV-C01", "SV-C02"}
    assert r.value == Decimal("66.67")
    assert r.passed is False and r.status == "fail"
    # index: (90 + 88.5 + 60 + 75 + 25) / 5
    assert r.measures["index"] == Decimal("67.70")
    assert r.measures["share"] == Decimal("66.67")
    assert r.measures["not_reached"] == 1
    assert r.measures["coverage"] == Decimal("85.71")
    assert r.measures["third_party"] == 1


def test_response_timeliness(q4: QualityReport) -> None:
    r = q4.result("response_timeliness")
    # E09 (received 12-31 20:00, due 2026-01-05) is not decided; E00 was received in Q3
    assert counts(r) == (8, 9)
    assert r.missed_cases == ("E02",)
    assert "E09" not in r.denominator_cases and "E00" not in r.denominator_cases
    assert r.value == Decimal("88.89") and r.passed is False


def test_complaint_timeliness(q4: QualityReport) -> None:
    r = q4.result("complaint_timeliness")
    # C01..C18 decided (C00 is in Q3, C19 and C20 still within their limits)
    assert counts(r) == (13, 18)
    # C12: fed back 9 working days after receipt; the strict reading has no pause
    assert sorted(r.missed_cases) == ["C03", "C07", "C11", "C12", "C15"]
    assert {"C05", "C06"} <= set(r.numerator_cases)  # not accepted / withdrawn in time
    assert r.measures == {
        "acknowledged_on_time": Decimal("83.33"),  # 15/18: C03, C07, C15 late
        "fed_back_on_time": Decimal("83.33"),  # 15/18: C07, C11, C12 late
    }


def test_on_time_delivery(q4: QualityReport) -> None:
    r = q4.result("on_time_delivery_rate")
    assert counts(r) == (5, 7)
    assert set(r.numerator_cases) == {"E00", "E01", "E03", "E04", "E10"}
    # counted on the delivery date: E02 delivered late (due 11-21);
    # E06 still undelivered when its date passed
    assert {o.case_id: o.at for o in r.missed} == {
        "E02": dt.datetime(2025, 11, 21, 0, 0, tzinfo=SH),
        "E06": dt.datetime(2025, 12, 15, 0, 0, tzinfo=SH),
    }
    assert "E05" not in r.denominator_cases  # terminated before its date
    assert "E07" not in r.denominator_cases  # due in 2026


def test_first_pass_acceptance(q4: QualityReport) -> None:
    r = q4.result("first_pass_acceptance_rate")
    assert counts(r) == (4, 6)
    assert sorted(r.missed_cases) == ["E02", "E04"]  # rework; terminated after delivery


def test_contract_performance(q4: QualityReport) -> None:
    r = q4.result("contract_performance_rate")
    assert counts(r) == (5, 6)
    assert r.missed_cases == ("E04",)
    assert "E05" not in r.denominator_cases  # terminated through the client's fault


def test_return_visit_rate(q4: QualityReport) -> None:
    r = q4.result("return_visit_rate")
    assert counts(r) == (4, 5)
    assert r.missed_cases == ("E03",)  # window ran out; the system recorded it missed


def test_the_trend_month_by_month(q4: QualityReport) -> None:
    months = {m.label: {r.code: counts(r) for r in results} for m, results in q4.months}
    assert months["2025-10"] == {
        "customer_satisfaction": (0, 0),
        "response_timeliness": (0, 0),
        "complaint_timeliness": (0, 0),
        "on_time_delivery_rate": (1, 1),
        "first_pass_acceptance_rate": (1, 1),
        "contract_performance_rate": (1, 1),
        "return_visit_rate": (1, 1),
    }
    assert months["2025-11"]["complaint_timeliness"] == (9, 13)
    assert months["2025-12"]["complaint_timeliness"] == (4, 5)
    assert months["2025-12"]["on_time_delivery_rate"] == (2, 3)
    # the months add up to the quarter
    for code, (n, d) in {r.code: counts(r) for r in q4.results}.items():
        assert sum(m[code][0] for m in months.values()) == n
        assert sum(m[code][1] for m in months.values()) == d
    october = dict(q4.months)[Q4.months()[0]]
    assert october[0].passed is None and october[0].status == "no data"


def test_late_cases_listed_by_indicator(q4: QualityReport) -> None:
    late = [(o.indicator, o.case_id) for o in q4.late]
    assert late[:2] == [("customer_satisfaction", "SV-C02"), ("customer_satisfaction", "E02")]
    assert ("return_visit_rate", "E03") in late
    assert len(late) == 14


def test_one_month_and_compute_indicators(wf: Workflow) -> None:
    results = compute_indicators(wf.store, Period.parse("2025-11", tz=SH), calendar=wf.calendar)
    assert [r.code for r in results] == [i.code for i in INDICATORS]
    assert counts(results[2]) == (9, 13)


def test_compute_indicators_is_deprecated_and_still_works(wf: Workflow) -> None:
    from techsvc_flow import quality

    nov = Period.parse("2025-11", tz=SH)
    with pytest.warns(DeprecationWarning, match="report"):
        old = quality.compute_indicators  # type: ignore[attr-defined]
    assert old(wf.store, nov, calendar=wf.calendar) == compute_indicators(
        wf.store, nov, calendar=wf.calendar
    )


def test_as_of_judges_open_clocks(wf: Workflow) -> None:
    early = report(wf.store, Q4, calendar=wf.calendar, as_of=at(12, 10), trend=False)
    # on 12-10, E06's delivery date (12-15) had not passed yet
    assert counts(early.result("on_time_delivery_rate")) == (5, 6)
    later = report(wf.store, Q4, calendar=wf.calendar, as_of=at(1, 20, year=2026), trend=False)
    # by 2026-01-20, E09's response (due 01-05) and C19/C20's feedback have breached
    assert counts(later.result("response_timeliness")) == (8, 10)
    assert counts(later.result("complaint_timeliness")) == (13, 20)
    with pytest.raises(PeriodError, match="aware"):
        report(wf.store, Q4, calendar=wf.calendar, as_of=dt.datetime(2026, 1, 1))


def test_config_changes_the_verdicts(wf: Workflow) -> None:
    relaxed = DEFAULT_CONFIG.with_thresholds(contract_performance_rate=80, return_visit_rate=80)
    results = {
        r.code: r for r in compute_indicators(wf.store, Q4, calendar=wf.calendar, config=relaxed)
    }
    assert results["contract_performance_rate"].passed is True  # 83.33 ≥ 80
    assert results["return_visit_rate"].passed is True  # exactly 80: meets it
    assert results["response_timeliness"].passed is False


def test_satisfaction_on_the_index_and_a_stricter_satisfied(wf: Workflow) -> None:
    index = QualityConfig(satisfaction_basis="index", thresholds={"customer_satisfaction": 65})
    r = compute_indicators(wf.store, Q4, calendar=wf.calendar, config=index)[0]
    assert r.basis == "index" and r.value == Decimal("67.70") and r.passed is True
    assert counts(r) == (4, 6)  # the share is still reported
    strict = QualityConfig(satisfied_index=Decimal(80))
    r = compute_indicators(wf.store, Q4, calendar=wf.calendar, config=strict)[0]
    assert counts(r) == (3, 6)  # SV-E10 (index 75) is no longer satisfied
    assert "SV-E10" not in r.numerator_cases


def test_client_fault_terminations_can_count(wf: Workflow) -> None:
    cfg = QualityConfig(excluded_faults=())
    r = compute_indicators(wf.store, Q4, calendar=wf.calendar, config=cfg)[5]
    assert counts(r) == (5, 7)


def test_to_dict_lists_the_cases(q4: QualityReport) -> None:
    data = q4.to_dict()
    first = data["indicators"][1]
    assert first["code"] == "response_timeliness"
    assert first["missed"] == [
        {"case_id": "E02", "process": "service_engagement", "at": "2025-11-03T10:00:00+08:00"}
    ]
    assert first["value"] == "88.89" and first["threshold"] == "95"
    assert "numerator_cases" not in data["months"][0]["indicators"][0]


# --- the same figures from every store --------------------------------------------------------


def test_every_store_gives_the_same_facts_and_figures(store: Store, q4: QualityReport) -> None:
    wf = qs.build(store)
    got = report(store, Q4, calendar=wf.calendar)
    assert [r.to_dict() for r in got.results] == [r.to_dict() for r in q4.results]
    assert [counts(r) for r in got.results] == [
        (4, 6), (8, 9), (13, 18), (5, 7), (4, 6), (5, 6), (4, 5)
    ]  # fmt: skip
    every = {f.id for f in store.facts()}
    assert len(every) == 21 + 11 + 4
    complaints = list(store.facts(["complaint"], since=at(12, 1), until=at(12, 30)))
    # changed on or after 12-01 and created before 12-30: C13 (outcome 12-05), C14..C19
    assert sorted(f.id for f in complaints) == ["C13", "C14", "C15", "C16", "C17", "C18", "C19"]
    c12 = next(f for f in store.facts(["complaint"]) if f.id == "C12")
    assert isinstance(c12, CaseFacts)
    assert c12.entered["waiting_on_complainant"] == at(11, 5, 10)
    assert c12.entered["received"] == c12.created_at == at(11, 3, 11)
    assert c12.counts["request_info"] == 1 and c12.state == "closed"


class _Plain(MemoryStore):
    """A store read only through ``cases`` and ``history`` (the base class's ``facts``)."""

    def __init__(self, inner: MemoryStore) -> None:
        super().__init__()
        self.inner = inner

    def cases(self, process: str | None = None, state: str | None = None) -> Iterator[object]:  # type: ignore[override]
        return self.inner.cases(process, state)

    def history(self, case_id: str) -> list[object]:  # type: ignore[override]
        return self.inner.history(case_id)  # type: ignore[return-value]


def test_the_default_facts_need_only_cases_and_history(wf: Workflow) -> None:
    assert isinstance(wf.store, MemoryStore)
    plain = _Plain(wf.store)
    got = report(plain, Q4, calendar=wf.calendar, trend=False)
    assert [counts(r) for r in got.results][:3] == [(4, 6), (8, 9), (13, 18)]


# --- SLA outcomes -----------------------------------------------------------------------------


def test_sla_outcome_reads_the_civil_code_way(china: WorkCalendar) -> None:
    fri = dt.datetime(2025, 11, 7, 9, 0, tzinfo=SH)
    clock = SlaClock("response", "1wd").start(fri)  # the period ends Mon 11-10 24:00
    assert sla_outcome(clock, china).status == "pending"
    assert sla_outcome(clock, china).due == dt.datetime(2025, 11, 11, 0, 0, tzinfo=SH)
    on_time = clock.stop(dt.datetime(2025, 11, 11, 0, 0, tzinfo=SH))
    assert sla_outcome(on_time, china).status == "on_time"  # exactly at 24:00
    late = clock.stop(dt.datetime(2025, 11, 11, 0, 1, tzinfo=SH))
    assert sla_outcome(late, china).status == "late"
    assert sla_outcome(late, china).within is False
    # acting on the Saturday after a Friday deadline is late, though no working time ran
    thu = dt.datetime(2025, 11, 6, 9, 0, tzinfo=SH)
    weekend = SlaClock("r", "1wd").start(thu).stop(dt.datetime(2025, 11, 8, 10, tzinfo=SH))
    assert sla_outcome(weekend, china).status == "late"
    assert sla_outcome(None, china).status == "idle"


def test_sla_outcome_of_open_and_paused_clocks(china: WorkCalendar) -> None:
    t0 = dt.datetime(2025, 11, 3, 9, 0, tzinfo=SH)
    clock = SlaClock("ack", "24h").start(t0)
    assert sla_outcome(clock, china, as_of=t0 + dt.timedelta(hours=23)).status == "pending"
    past = sla_outcome(clock, china, as_of=t0 + dt.timedelta(hours=25))
    assert (past.status, past.at) == ("late", t0 + dt.timedelta(hours=24))
    assert sla_outcome(clock, china).status == "pending"  # no as_of: only raised breaches
    assert sla_outcome(clock.fire("breach"), china).status == "late"
    paused = clock.pause(t0 + dt.timedelta(hours=10))
    assert sla_outcome(paused, china, as_of=t0 + dt.timedelta(days=5)).status == "pending"
    resumed = paused.resume(t0 + dt.timedelta(days=2)).stop(t0 + dt.timedelta(days=2, hours=13))
    assert sla_outcome(resumed, china).status == "on_time"  # 10 h + 13 h ran
    resumed = paused.resume(t0 + dt.timedelta(days=2)).stop(t0 + dt.timedelta(days=2, hours=15))
    assert sla_outcome(resumed, china).status == "late"  # 10 h + 15 h ran


# --- PDCA -------------------------------------------------------------------------------------


def test_check_returns_the_failing_results(wf: Workflow, q4: QualityReport) -> None:
    failing = check(q4)
    assert [r.code for r in failing] == [i.code for i in INDICATORS]  # a bad quarter
    relaxed = QualityConfig(thresholds=dict.fromkeys((i.code for i in INDICATORS), 50))
    assert check(r for r in q4 if r.code == "first_pass_acceptance_rate") != []
    lower = report(wf.store, Q4, calendar=wf.calendar, config=relaxed)
    assert check(lower) == []


def test_check_opens_one_improvement_per_indicator_and_period(q4: QualityReport) -> None:
    wf = Workflow(calendar=WorkCalendar.china(), clock=SteppedClock(AS_OF))
    started = []
    wf.on("case.started", started.append)
    failing = check(q4, workflow=wf, actor="quality-bot")
    assert len(started) == 7
    response = next(e for e in started if e.case_id == "IMP-response_timeliness-2025-Q4")
    assert response.process == "improvement"
    data = response.payload["data"]
    assert data["indicator"] == "response_timeliness"
    assert data["indicator_value"] == "88.89" and data["threshold"] == "95"
    assert data["period"] == "2025-Q4" and data["cases"] == ["E02"]
    assert data["source_kind"] == "indicator" and "below the threshold 95%" in data["problem"]
    assert improvement_case_id(failing[1]) == "IMP-response_timeliness-2025-Q4"
    check(q4, workflow=wf)  # again: nothing new
    assert len(started) == 7
    case = wf.get("IMP-response_timeliness-2025-Q4")
    assert case.state == "plan" and case.created_at == AS_OF


def test_an_improvement_runs_its_pdca_cycle() -> None:
    from techsvc_flow.quality import start_improvement

    wf = Workflow(
        calendar=WorkCalendar.china(),
        clock=SteppedClock(at(12, 1)),
        processes=[processes.improvement()],
    )
    case = start_improvement(
        wf,
        source_kind="complaint",
        problem="acknowledgements late in week 48",
        data={"complaint_case": "C15"},
        case_id="IMP-C15",
    )
    assert case.data["complaint_case"] == "C15"
    assert (
        start_improvement(wf, source_kind="complaint", problem="again", case_id="IMP-C15") == case
    )
    qm = qs.actor("qm")
    plan = {"root_cause": "rota", "measures": ["backup"], "owner": "qm"}
    wf.fire("IMP-C15", "approve_plan", actor=qm, payload=plan)
    wf.fire("IMP-C15", "report_done", actor=qm, payload={"actions_taken": "backup handler"})
    wf.fire("IMP-C15", "record_check", actor=qm, payload={"check_result": "effective"})
    assert (
        wf.fire("IMP-C15", "standardise", actor=qm, payload={"standardisation": "SOP-7"}).state
        == "closed"
    )
    assert [s.status for s in wf.deadlines("IMP-C15")] == ["stopped"] * 4


def test_results_pass_exactly_at_the_threshold() -> None:
    ind = indicator("return_visit_rate")
    cfg = QualityConfig(thresholds={"return_visit_rate": Decimal("66.67")})
    from techsvc_flow.quality import Observation
    from techsvc_flow.quality.report import _aggregate

    obs = [Observation(ind.code, f"E{i}", "p", at(11, 1), i < 2) for i in range(3)]
    r = _aggregate(ind, cfg, Q4, obs)
    assert r.value == Decimal("66.67") and r.passed is False  # 2/3 = 66.666… < 66.67
    cfg = QualityConfig(thresholds={"return_visit_rate": Decimal("66.66")})
    assert _aggregate(ind, cfg, Q4, obs).passed is True


def test_shanghai_zone_of_the_period_is_the_calendars() -> None:
    p = Period.parse("2025-10", tz=ZoneInfo("Asia/Shanghai"))
    assert p.start.isoformat() == "2025-10-01T00:00:00+08:00"


def test_the_benchmark_runs_and_agrees_with_itself() -> None:
    """``benchmarks/quality.py`` in a smoke run (performance is never asserted here)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.quality", "--quick", "--markdown"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| report over facts (4,000 cases, year + 12 months) |" in result.stdout
    assert "complaint_timeliness" in result.stdout
