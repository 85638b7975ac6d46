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
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
import quality_scenario as qs
from quality_scenario import SH

from techsvc_flow import MemoryStore, WorkCalendar
from techsvc_flow.quality import DEFAULT_CONFIG, INDICATORS, Period, QualityReport, report
from techsvc_flow.quality.render import CSV_HEAD, render

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
    dom = dom_of(tmp_path, render(q4, "html"))
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
    html = render(q4, "html")
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
    page.write_text(render(q4, "html"), encoding="utf-8")
    shot = tmp_path / "report.png"
    chromium(tmp_path, page, "--window-size=960,420", f"--screenshot={shot}")
    width, height, rows, bpp = _png(shot.read_bytes())
    assert (width, height) == (960, 420)
    red, green = _count(rows, bpp, RED), _count(rows, bpp, GREEN)
    # five red bars and two green ones, each tens of pixels wide and well over 100 high
    assert red > 5 * 30 * 100 and green > 2 * 30 * 100
    assert red > 2 * green


def test_a_quarter_without_data_is_grey(tmp_path: Path, empty: QualityReport) -> None:
    dom = dom_of(tmp_path, render(empty, "html"))
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
    assert "acknowledged_on_time 83.33%, fed_back_on_time 83.33%" in text
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
