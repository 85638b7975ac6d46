"""The README's main command: ``python -m techsvc_flow demo``, checked line by line."""

from __future__ import annotations

import io
import re

import pytest

from techsvc_flow.cli import main
from techsvc_flow.demo import run_demo


def _lines(out: str, case: str) -> list[str]:
    return [line for line in out.splitlines() if f" {case} " in line]


@pytest.fixture(scope="module")
def english() -> str:
    out = io.StringIO()
    run_demo(out=out)
    return out.getvalue()


def test_engagement_runs_through_the_six_stages(english: str) -> None:
    states = [line.split()[5] for line in _lines(english, "ENG-2025-017")]
    for stage in (
        "request_received",  # 1 reception and needs matching
        "feasibility_assessment",
        "accepted",
        "plan_confirmation",  # 2 service plan, confirmed in writing
        "implementing",  # 3 contract signed → 4 implementation
        "delivered",  # 5 delivery and acceptance, with one objection and rework
        "rework",
        "after_sales",  # 6 after-sales, then the archive
        "return_visited",
        "archived",
    ):
        assert stage in states, (stage, states)
    assert states[-1] == "archived"


def test_complaint_on_the_eve_of_national_day_is_answered_in_time(english: str) -> None:
    lines = _lines(english, "TS-2025-001")
    assert lines[0].startswith("09-30 Tue 17:00  TS-2025-001    (received)")
    assert "Acknowledgement 10-01 Wed 17:00" in lines[0]
    acknowledged = next(line for line in lines if " acknowledge " in line)
    # acknowledged within 24 h; the 7-working-day feedback limit runs across the
    # holiday (1-8 October off, Saturday 11 October worked) to Thursday 16 October
    assert acknowledged.startswith("10-01 Wed 10:00")
    assert "Feedback 10-16 Thu 18:00" in acknowledged
    communicated = next(line for line in lines if "communicate_decision" in line)
    assert communicated.startswith("10-14 Tue")
    assert not any("BREACH" in line for line in lines)
    assert lines[-1].split()[5] == "closed"


def test_second_complaint_warns_then_breaches_and_escalates(english: str) -> None:
    lines = _lines(english, "TS-2025-002")
    events = [re.sub(r"\s{2,}", " | ", line) for line in lines]
    warnings = [e for e in events if "warning Feedback" in e]
    # shown when they fell due (a worker's timer wakes then), not at the next action
    assert [w.split(" | ")[0] for w in warnings] == ["10-23 Thu 18:00", "10-27 Mon 18:00"]
    assert [w.split(" | ")[-1] for w in warnings] == ["4 wd", "2 wd"]
    breach = next(e for e in events if "BREACH Feedback" in e)
    assert breach.startswith("10-29 Wed 18:00") and breach.endswith(" | overdue")
    escalation = events[events.index(breach) + 1]
    assert "escalate_overdue" in escalation


def test_the_remaining_column_reads_as_working_time_and_fits(english: str) -> None:
    rows = [line for line in english.splitlines() if line[:2].isdigit()]
    assert "Acknowledgement 10-01 Wed 17:00             1 d" in english  # 24 h, clock time
    assert any(line.endswith("  5 wd 6h30") for line in rows)  # working days of 7h30
    plan = next(line for line in rows if "Client's reply to the plan" in line)
    assert plan.endswith("  5 wd 2h")
    starts = {line.index(line.split("  ")[-1].strip()) for line in rows if "wd" in line}
    assert len(starts) == 1  # one column


def test_every_history_verifies(english: str) -> None:
    assert english.rstrip().endswith("every hash chain intact: yes")


def test_chinese_labels() -> None:
    out = io.StringIO()
    run_demo(lang="zh", out=out)
    text = out.getvalue()
    assert "按中国工作日计时" in text
    assert "已超时" in text
    first = next(line for line in text.splitlines() if " TS-2025-001 " in line)
    assert first.startswith("09-30 二 17:00")


def test_cli_demo_on_a_sqlite_file(
    tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/flow.db"
    assert main(["demo", "--db", url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("techsvc_flow demo: ")
    assert "every hash chain intact: yes" in out


def test_no_developer_reprs_nor_english_words_in_the_chinese_run() -> None:
    for lang in ("en", "zh"):
        out = io.StringIO()
        run_demo(lang=lang, out=out)
        head = out.getvalue().splitlines()[:3]
        assert not any(word in line for line in head for word in ("<", "Store(", "Calendar"))
    text = out.getvalue()
    assert "True" not in text and "False" not in text
    assert text.rstrip().endswith("哈希链完整：是")
    assert "办公时间 09:00-12:00、13:30-18:00" in text
