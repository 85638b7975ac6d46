"""The quality report as a manager sees it: the HTML page rendered by headless Chromium
(what is on the page, and the colours of the bars in a screenshot); and the text, JSON
and CSV forms.

Chromium is Debian's ``chromium`` (``.ci/run`` installs it). Without it the browser tests
are skipped with a message — except under ``CI=true``, where a skip is a failure.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import struct
import subprocess
import unicodedata
import zlib
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import attrs
import pytest
import quality_scenario as qs
from quality_scenario import SH

from techsvc_flow import MemoryStore, WorkCalendar
from techsvc_flow.quality import DEFAULT_CONFIG, INDICATORS, Period, QualityReport, report
from techsvc_flow.quality.render import CSV_HEAD, CSV_HEAD_ZH, render

Q4 = Period.parse("2025-Q4", tz=SH)
# two indicators pass at these thresholds, five fail
RELAXED = DEFAULT_CONFIG.with_thresholds(contract_performance_rate=80, return_visit_rate=80)
GREEN, RED, GREY = (0x1A, 0x7F, 0x37), (0xCF, 0x22, 0x2E), (0x8C, 0x95, 0x9F)


@pytest.fixture(scope="module")
def q4() -> QualityReport:
    wf = qs.build()
    return report(wf.store, Q4, calendar=wf.calendar, config=RELAXED)


@pytest.fixture(scope="module")
def empty() -> QualityReport:
    return report(MemoryStore(), Q4, calendar=WorkCalendar.china())


# --- the browser ------------------------------------------------------------------------------


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    if found is None:
        message = (
            "headless Chromium is not installed, so the HTML report was not rendered: "
            "apt-get install chromium (Debian), or run .ci/run"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: a skipped browser test is a failure)")
        pytest.skip(message)
    return found


def chromium(tmp: Path, page: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    command = [
        chromium_path(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp / 'profile'}",
        *args,
        page.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result


class _Dom(HTMLParser):
    """What the dumped DOM shows: its visible text, and the SVG shapes with classes."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.shapes: list[tuple[str, dict[str, str]]] = []
        self.tags: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = {k: v or "" for k, v in attrs}
        if tag in ("rect", "line") and "class" in values:
            self.shapes.append((tag, values))
        if tag in ("style", "title", "script"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title", "script"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.text.append(data.strip())


def dom_of(tmp: Path, html: str) -> _Dom:
    page = tmp / "report.html"
    page.write_text(html, encoding="utf-8")
    dumped = chromium(tmp, page, "--dump-dom").stdout.decode("utf-8")
    assert "<svg" in dumped  # the browser parsed and kept the chart
    dom = _Dom()
    dom.feed(dumped)
    return dom


def test_the_page_shows_the_seven_indicators_against_their_thresholds(
    tmp_path: Path, q4: QualityReport
) -> None:
    dom = dom_of(tmp_path, render(q4, "html", lang="both"))
    text = " ".join(dom.text)
    for ind in INDICATORS:
        assert ind.zh in text and ind.en in text
    assert "Quality indicators — 2025-Q4" in text
    bars = [attrs for tag, attrs in dom.shapes if attrs["class"].startswith("bar")]
    assert len(bars) == 7
    status = {b["data-code"]: b["class"].split()[1] for b in bars}
    assert status == {
        "customer_satisfaction": "fail",
        "response_timeliness": "fail",
        "complaint_timeliness": "fail",
        "on_time_delivery_rate": "fail",
        "first_pass_acceptance_rate": "fail",
        "contract_performance_rate": "pass",
        "return_visit_rate": "pass",
    }
    thresholds = [attrs for tag, attrs in dom.shapes if attrs["class"] == "threshold"]
    assert len(thresholds) == 7
    # the labels a person reads: values, thresholds, verdicts
    assert text.count("未达标 FAIL") == 5 and text.count("达标 PASS") == 2
    assert "88.89%" in text and "≥ 95%" in text and "8 / 9" in text
    # month by month, and the late cases
    assert all(month in text for month in ("2025-10", "2025-11", "2025-12"))
    assert "Cases that missed an indicator (14)" in text
    assert "E06" in text and "2025-12-15 00:00" in text


def test_the_page_needs_nothing_from_elsewhere(q4: QualityReport) -> None:
    html = render(q4, "html", lang="both")
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert "url(" not in html and "src=" not in html and "@import" not in html
    assert html.replace('xmlns="http://www.w3.org/2000/svg"', "").count("http") == 0


def _png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """A minimal PNG reader (8-bit RGB/RGBA, not interlaced): width, height, rows, bpp."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, []
    width = height = colour = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and interlace == 0 and colour in (2, 6)
        elif kind == b"IDAT":
            idat.append(chunk)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        kind_ = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind_ == 1:
                line[i] = (line[i] + a) & 255
            elif kind_ == 2:
                line[i] = (line[i] + b) & 255
            elif kind_ == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif kind_ == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


def _count(rows: list[bytes], bpp: int, colour: tuple[int, int, int]) -> int:
    r, g, b = colour
    n = 0
    for row in rows:
        for i in range(0, len(row), bpp):
            if abs(row[i] - r) < 8 and abs(row[i + 1] - g) < 8 and abs(row[i + 2] - b) < 8:
                n += 1
    return n


def test_a_screenshot_shows_red_and_green_bars(tmp_path: Path, q4: QualityReport) -> None:
    page = tmp_path / "report.html"
    page.write_text(render(q4, "html", lang="both"), encoding="utf-8")
    shot = tmp_path / "report.png"
    chromium(tmp_path, page, "--window-size=960,420", f"--screenshot={shot}")
    width, height, rows, bpp = _png(shot.read_bytes())
    assert (width, height) == (960, 420)
    red, green = _count(rows, bpp, RED), _count(rows, bpp, GREEN)
    # five red bars and two green ones, each tens of pixels wide and well over 100 high
    assert red > 5 * 30 * 100 and green > 2 * 30 * 100
    assert red > 2 * green


def test_a_quarter_without_data_is_grey(tmp_path: Path, empty: QualityReport) -> None:
    dom = dom_of(tmp_path, render(empty, "html", lang="both"))
    text = " ".join(dom.text)
    assert text.count("无数据 NO DATA") == 7
    assert "none" in text
    bars = [a for tag, a in dom.shapes if a["class"].startswith("bar")]
    assert {b["class"] for b in bars} == {"bar no-data"}


# --- text, JSON, CSV --------------------------------------------------------------------------


def test_text(q4: QualityReport) -> None:
    text = render(q4)
    assert text.startswith("Quality indicators 2025-Q4 (2025-10-01 00:00 .. 2026-01-01 00:00")
    line = next(li for li in text.splitlines() if li.startswith("Service response timeliness"))
    assert line.split() == [
        "Service",
        "response",
        "timeliness",
        "88.89%",
        "≥",
        "95%",
        "8/9",
        "FAIL",
    ]
    assert "acknowledged on time 83.33%, fed back on time 83.33%" in text
    assert "  Return-visit rate: E03 (service_engagement, 2025-11-17 09:00)" in text
    zh = render(q4, lang="zh")
    assert "服务响应及时率" in zh and "未达标" in zh and "逐月趋势" in zh


def test_json(q4: QualityReport) -> None:
    data = json.loads(render(q4, "json"))
    assert data["period"] == {
        "label": "2025-Q4",
        "start": "2025-10-01T00:00:00+08:00",
        "end": "2026-01-01T00:00:00+08:00",
    }
    first = data["indicators"][0]
    assert first["code"] == "customer_satisfaction" and first["measures"]["index"] == "67.70"
    assert sorted(first["numerator_cases"]) == ["E00", "E01", "SV-C01", "SV-E10"]
    assert [m["period"]["label"] for m in data["months"]] == ["2025-10", "2025-11", "2025-12"]


def test_csv(q4: QualityReport) -> None:
    table = list(csv.reader(io.StringIO(render(q4, "csv"))))
    assert tuple(table[0]) == CSV_HEAD
    assert len(table) == 1 + 7 * 4  # the quarter, then each month
    row = dict(zip(CSV_HEAD, table[3], strict=True))
    assert row["code"] == "complaint_timeliness" and row["period"] == "2025-Q4"
    assert (row["numerator"], row["denominator"], row["value"]) == ("13", "18", "72.22")
    assert row["status"] == "fail" and row["indicator_zh"] == "投诉处理及时率"
    october = dict(zip(CSV_HEAD, table[8], strict=True))
    assert (october["period"], october["code"], october["value"], october["status"]) == (
        "2025-10",
        "customer_satisfaction",
        "",
        "no data",
    )


def test_unknown_format(q4: QualityReport) -> None:
    with pytest.raises(ValueError, match="text, json, csv, html"):
        render(q4, "pdf")  # type: ignore[arg-type]


# --- Chinese, and --lang everywhere -----------------------------------------------------------


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def test_chinese_text_lines_up_by_display_width(q4: QualityReport) -> None:
    lines = render(q4, lang="zh").splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("指标"))
    block = lines[head : lines.index("", head)]
    rows = [line for line in block if not line.startswith(" ")]
    assert len(rows) == 8, rows
    # the result column (结论 / 达标 / 未达标) starts at the same display column on every row
    starts = {_columns(line.rsplit(" ", 1)[0]) for line in rows}
    assert len(starts) == 1, rows
    # and the value column ends at the same display column
    ends = {_columns(line[: line.index("%") + 1]) for line in rows[1:] if "%" in line}
    assert len(ends) == 1, rows


def test_further_figures_are_words_in_every_language(tmp_path: Path, q4: QualityReport) -> None:
    zh = render(q4, lang="zh")
    assert "按时受理 83.33%，按时反馈 83.33%" in zh
    for lang in ("en", "zh", "both"):
        page = render(q4, "html", lang=lang)
        measures = re.findall(r'<td class="note measures">(.*?)</td>', page)
        assert any(measures) and not any("_" in m for m in measures), measures
    assert "_on_time" not in render(q4) + zh
    assert "按时受理 83.33%" in render(q4, "html", lang="zh")


def test_html_in_one_language_or_both(q4: QualityReport) -> None:
    en, zh, both = (render(q4, "html", lang=lang) for lang in ("en", "zh", "both"))
    assert '<html lang="en">' in en and "FAIL" in en and "未达标" not in en
    assert "<td>Service response timeliness</td>" in en and "<td>服务响应及时率" not in en
    assert '<html lang="zh-CN">' in zh and "未达标" in zh and "FAIL" not in zh
    assert "<td>服务响应及时率</td>" in zh and "Service response timeliness" not in zh
    assert "our default" not in zh and "standard text" not in zh and "<td>默认值</td>" not in zh
    assert '<td class="note">默认值</td>' in zh and "标准原文：《" in zh
    assert "三(二)3「24 小时内受理响应、7 个工作日内处理反馈」）" in zh  # the quote kept as is
    assert "未达标 FAIL" in both and "Service response timeliness" in both
    with pytest.raises(ValueError, match="html only"):
        render(q4, "text", lang="both")


def test_csv_and_json_honour_lang(q4: QualityReport) -> None:
    table = list(csv.reader(io.StringIO(render(q4, "csv", lang="zh"))))
    assert tuple(table[0]) == CSV_HEAD_ZH and len(CSV_HEAD_ZH) == len(CSV_HEAD)
    row = dict(zip(CSV_HEAD_ZH, table[3], strict=True))
    assert (row["指标代码"], row["结论"], row["数值"]) == (
        "complaint_timeliness",
        "未达标",
        "72.22",
    )
    data = json.loads(render(q4, "json", lang="zh"))
    assert data["lang"] == "zh"
    third = data["indicators"][2]
    assert (third["code"], third["name"], third["result"]) == (
        "complaint_timeliness",
        "投诉处理及时率",
        "未达标",
    )
    assert third["measure_labels"] == {
        "acknowledged_on_time": "按时受理",
        "fed_back_on_time": "按时反馈",
    }
    assert third["measures"]["acknowledged_on_time"] == "83.33"  # keys and codes stay
    assert json.loads(render(q4, "json"))["indicators"][2]["result"] == "FAIL"


# --- the chart --------------------------------------------------------------------------------


def _attr(tag: str, name: str) -> str:
    m = re.search(rf'\b{name}="([^"]*)"', tag)
    assert m is not None, (tag, name)
    return m[1]


def _chart(page: str) -> dict[str, dict[str, str]]:
    """Per indicator code: its bar, threshold line and value label tags."""
    out: dict[str, dict[str, str]] = {}
    for kind, pattern in (
        ("bar", r'<rect class="bar [^>]*>'),
        ("threshold", r'<line class="threshold" [^>]*>'),
        ("value", r'<text class="value" [^>]*>'),
    ):
        for tag in re.findall(pattern, page):
            out.setdefault(_attr(tag, "data-code"), {})[kind] = tag
    return out


def test_threshold_lines_never_cross_the_value_labels(q4: QualityReport) -> None:
    chart = _chart(render(q4, "html"))
    assert len(chart) == 7
    for code, tags in chart.items():
        label_y = float(_attr(tags["value"], "y"))
        line_y = float(_attr(tags["threshold"], "y1"))
        bar_y = float(_attr(tags["bar"], "y"))
        # the label's glyphs reach about 3 px below its baseline and 12 above it
        assert label_y + 3 < line_y and label_y + 3 < bar_y, (code, label_y, line_y, bar_y)
        assert label_y - 12 >= 0, code


def test_a_failing_zero_percent_shows_red(tmp_path: Path, q4: QualityReport) -> None:
    first = q4.results[1]
    zero = attrs.evolve(first, numerator=0, value=Decimal("0.00"), passed=False)
    page = render(attrs.evolve(q4, results=(zero, *q4.results[2:])), "html")
    bar = _chart(page)[zero.code]["bar"]
    assert float(_attr(bar, "height")) >= 3 and _attr(bar, "fill") == "#cf222e"
    assert _attr(_chart(page)[zero.code]["value"], "fill") == "#cf222e"
    # and a browser paints it: a screenshot of that one bar has red pixels
    shot = tmp_path / "zero.png"
    (tmp_path / "zero.html").write_text(page, encoding="utf-8")
    chromium(tmp_path, tmp_path / "zero.html", "--window-size=1280,400", f"--screenshot={shot}")
    _, _, rows, bpp = _png(shot.read_bytes())
    assert _count(rows, bpp, RED) > 30 * 3


def test_no_data_badges_do_not_wrap(empty: QualityReport) -> None:
    page = render(empty, "html")
    rule = re.search(r"\.badge \{[^}]*\}", page)
    assert rule is not None and "white-space: nowrap" in rule[0]


def test_one_period_is_words_not_a_single_dot(q4: QualityReport) -> None:
    from techsvc_flow.quality.render import _sparkline

    assert _sparkline([None, Decimal(50), None], "en") == (
        '<span class="note one-period">one period</span>'
    )
    assert "仅一期" in _sparkline([Decimal(50)], "zh")
    assert _sparkline([Decimal(50), Decimal(60)], "en").startswith("<svg")
    for spark in re.findall(r'<svg class="sparkline".*?</svg>', render(q4, "html")):
        assert spark.count("<circle") >= 2
