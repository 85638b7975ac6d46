"""Quality reports as text, JSON, CSV, or one self-contained HTML page.

:func:`render` takes a :class:`~techsvc_flow.quality.QualityReport`. The HTML page needs
nothing beside itself (no scripts, fonts or images from elsewhere): the seven indicators
against their thresholds as an inline SVG bar chart, the month-by-month trend, and the
cases that missed an indicator — what a quality manager opens in a browser.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from .observe import Observation
from .report import QualityReport
from .tally import IndicatorResult

__all__ = ["FORMATS", "render", "render_csv", "render_html", "render_json", "render_text"]

Format = Literal["text", "json", "csv", "html"]
Lang = Literal["en", "zh"]
FORMATS: tuple[str, ...] = ("text", "json", "csv", "html")

STATUS = {
    "en": {"pass": "PASS", "fail": "FAIL", "no data": "NO DATA"},
    "zh": {"pass": "达标", "fail": "未达标", "no data": "无数据"},
}
WORDS = {
    "en": {
        "title": "Quality indicators",
        "indicator": "Indicator",
        "value": "Value",
        "threshold": "Threshold",
        "counts": "Numerator / denominator",
        "result": "Result",
        "trend": "Month by month",
        "late": "Cases that missed an indicator",
        "case": "Case",
        "process": "Process",
        "when": "When",
        "as_of": "as of",
        "none": "none",
        "more": "more, listed in the JSON and CSV reports",
        "source": "Threshold source",
        "measures": "Further figures",
    },
    "zh": {
        "title": "服务质量评价指标",
        "indicator": "指标",
        "value": "数值",
        "threshold": "要求",
        "counts": "分子 / 分母",
        "result": "结论",
        "trend": "逐月趋势",
        "late": "未达要求的案件",
        "case": "案件",
        "process": "流程",
        "when": "时间",
        "as_of": "统计截至",
        "none": "无",
        "more": "条，见 JSON 和 CSV 报告",
        "source": "指标要求来源",
        "measures": "其他数据",
    },
}


def _value(r: IndicatorResult) -> str:
    if r.value is None:
        return "—"
    return f"{r.value}" if r.basis == "index" else f"{r.value}%"


def _threshold(r: IndicatorResult) -> str:
    return f"≥ {r.threshold}" + ("" if r.basis == "index" else "%")


def _local(instant: dt.datetime, tz: dt.tzinfo | None) -> str:
    return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _measures(r: IndicatorResult) -> str:
    parts = []
    for key, value in r.measures.items():
        if value is None:
            continue
        shown = f"{value}%" if key in ("share", "coverage") or key.endswith("_on_time") else value
        parts.append(f"{key} {shown}")
    return ", ".join(parts)


# --- text -------------------------------------------------------------------------------------


def render_text(report: QualityReport, *, lang: Lang = "en") -> str:
    """A plain-text report for a terminal or an e-mail."""
    w = WORDS[lang]
    tz = report.period.start.tzinfo
    lines = [
        f"{w['title']} {report.period.label} "
        f"({_local(report.period.start, tz)} .. {_local(report.period.end, tz)}, "
        f"{w['as_of']} {_local(report.as_of, tz)})",
        "",
    ]
    names = [r.indicator.name(lang) for r in report.results]
    width = max(len(n) for n in names) + 2
    lines.append(
        f"{w['indicator']:<{width}}{w['value']:>9}  {w['threshold']:>10}  "
        f"{'n/d':>11}  {w['result']}"
    )
    for name, r in zip(names, report.results, strict=True):
        counts = f"{r.numerator}/{r.denominator}"
        lines.append(
            f"{name:<{width}}{_value(r):>9}  {_threshold(r):>10}  {counts:>11}  "
            f"{STATUS[lang][r.status]}"
        )
        if r.measures and r.observations:
            lines.append(f"{'':<{width}}  {_measures(r)}")
    if len(report.months) > 1:
        lines += ["", w["trend"]]
        head = "".join(f"{m.label:>10}" for m, _ in report.months)
        lines.append(f"{'':<{width}}{head}")
        for i, name in enumerate(names):
            cells = "".join(f"{_value(results[i]):>10}" for _, results in report.months)
            lines.append(f"{name:<{width}}{cells}")
    lines += ["", w["late"]]
    late = report.late
    if not late:
        lines.append(f"  {w['none']}")
    by_code = {r.code: r.indicator.name(lang) for r in report.results}
    for o in late:
        lines.append(f"  {by_code[o.indicator]}: {o.case_id} ({o.process}, {_local(o.at, tz)})")
    return "\n".join(lines) + "\n"


# --- JSON and CSV -----------------------------------------------------------------------------


def render_json(report: QualityReport, *, cases: bool = True) -> str:
    """The whole report as JSON text, with the case ids behind every indicator."""
    return json.dumps(report.to_dict(cases=cases), ensure_ascii=False, indent=2)


CSV_HEAD = (
    "period",
    "code",
    "indicator_en",
    "indicator_zh",
    "numerator",
    "denominator",
    "value",
    "threshold",
    "status",
    "basis",
    "threshold_source",
)


def render_csv(report: QualityReport) -> str:
    """One row per indicator for the whole period, then one per indicator and month."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEAD)
    blocks = [(report.period.label, report.results)]
    blocks += [(m.label, results) for m, results in report.months]
    for label, results in blocks:
        for r in results:
            writer.writerow(
                (
                    label,
                    r.code,
                    r.indicator.en,
                    r.indicator.zh,
                    r.numerator,
                    r.denominator,
                    "" if r.value is None else str(r.value),
                    str(r.threshold),
                    r.status,
                    r.basis,
                    r.indicator.threshold_source,
                )
            )
    return buffer.getvalue()


# --- HTML -------------------------------------------------------------------------------------

CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", Arial, sans-serif;
       margin: 24px; color: #222; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.sub { color: #555; font-size: 13px; margin-bottom: 16px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 3px; color: #fff;
         font-weight: bold; font-size: 12px; }
.badge.pass { background: #1a7f37; } .badge.fail { background: #cf222e; }
.badge.no-data { background: #8c959f; }
td.pass { background: #dafbe1; } td.fail { background: #ffebe9; } td.no-data { color: #8c959f; }
svg text { font-family: inherit; }
.note { color: #555; font-size: 12px; }
"""

COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "no data": "#8c959f"}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _css_class(status: str) -> str:
    return status.replace(" ", "-")


def _bar_chart(results: Sequence[IndicatorResult]) -> str:
    """An SVG bar chart: one bar per indicator (0–100), its threshold as a dashed line."""
    width, height = 860, 330
    left, top, bottom = 48, 20, 80
    plot_h = height - top - bottom
    slot = (width - left - 10) / len(results)
    bar_w = slot * 0.55

    def y(v: float) -> float:
        return top + plot_h * (1 - v / 100)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="indicator-chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="indicators against thresholds">'
    ]
    for tick in range(0, 101, 20):
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            'stroke="#e5e5e5"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#555">{tick}%</text>'
        )
    for i, r in enumerate(results):
        x = left + i * slot + (slot - bar_w) / 2
        value = float(r.value) if r.value is not None else 0.0
        value = max(0.0, min(100.0, value))
        colour = COLOURS[r.status]
        parts.append(
            f'<rect class="bar {_css_class(r.status)}" data-code="{_e(r.code)}" '
            f'x="{x:.1f}" y="{y(value):.1f}" width="{bar_w:.1f}" '
            f'height="{y(0) - y(value):.1f}" fill="{colour}">'
            f"<title>{_e(r.indicator.zh)} {_e(r.indicator.en)}: {_e(_value(r))} "
            f"({_e(_threshold(r))})</title></rect>"
        )
        t = float(r.threshold)
        parts.append(
            f'<line class="threshold" data-code="{_e(r.code)}" x1="{x - 6:.1f}" '
            f'x2="{x + bar_w + 6:.1f}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#222" '
            'stroke-width="2" stroke-dasharray="5,3"/>'
        )
        cx = x + bar_w / 2
        if r.value is None:
            label_y, fill, label = y(0) - 6, "#555", STATUS["en"]["no data"].lower()
        elif y(0) - y(value) >= 24:  # inside the top of the bar, clear of the threshold
            label_y, fill, label = y(value) + 16, "#fff", _value(r)
        else:
            label_y, fill, label = y(value) - 6, "#222", _value(r)
        parts.append(
            f'<text class="value" x="{cx:.1f}" y="{label_y:.1f}" font-size="12" '
            f'font-weight="bold" text-anchor="middle" fill="{fill}">{_e(label)}</text>'
        )
        parts.append(
            f'<text x="{cx:.1f}" y="{height - bottom + 18}" font-size="12" '
            f'text-anchor="middle" fill="#222">{_e(r.indicator.zh)}</text>'
        )
        for k, line in enumerate(_lines(r.indicator.en)):
            parts.append(
                f'<text x="{cx:.1f}" y="{height - bottom + 33 + 12 * k}" font-size="10" '
                f'text-anchor="middle" fill="#555">{_e(line)}</text>'
            )
    parts.append(
        f'<text x="{left}" y="{height - 12}" font-size="11" fill="#555">'
        "bars: value (green meets the threshold, red does not, grey: no data); "
        "dashed line: threshold</text></svg>"
    )
    return "".join(parts)


def _lines(name: str, width: int = 18) -> list[str]:
    """``name`` broken into lines of at most ``width`` characters, at spaces."""
    lines: list[str] = []
    for word in name.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _sparkline(values: Sequence[Decimal | None]) -> str:
    width, height = 120, 28
    points = [
        (4 + i * (width - 8) / max(len(values) - 1, 1), float(v))
        for i, v in enumerate(values)
        if v is not None
    ]
    if not points:
        return ""
    coords = " ".join(f"{x:.1f},{height - 3 - (height - 6) * v / 100:.1f}" for x, v in points)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{height - 3 - (height - 6) * v / 100:.1f}" r="2" '
        'fill="#0969da"/>'
        for x, v in points
    )
    return (
        f'<svg class="sparkline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">'
        f'<polyline points="{coords}" fill="none" stroke="#0969da" stroke-width="1.5"/>'
        f"{dots}</svg>"
    )


def render_html(report: QualityReport, *, max_late: int = 500) -> str:
    """One self-contained HTML page (Chinese and English side by side)."""
    tz = report.period.start.tzinfo
    results = report.results
    out = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>服务质量评价指标 Quality indicators {_e(report.period.label)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>服务质量评价指标 · Quality indicators — {_e(report.period.label)}</h1>",
        f'<div class="sub">{_e(_local(report.period.start, tz))} – '
        f"{_e(_local(report.period.end, tz))} ({_e(tz)}); "
        f"统计截至 as of {_e(_local(report.as_of, tz))}</div>",
        _bar_chart(results),
        "<h2>指标 · Indicators</h2>",
        '<table id="indicators"><thead><tr><th>指标 Indicator</th><th>数值 Value</th>'
        "<th>要求 Threshold</th><th>分子/分母 n/d</th><th>结论 Result</th>"
        "<th>其他 Further figures</th><th>要求来源 Source of the threshold</th></tr>"
        "</thead><tbody>",
    ]
    for r in results:
        cls = _css_class(r.status)
        out.append(
            f'<tr data-code="{_e(r.code)}"><td>{_e(r.indicator.zh)}<br>'
            f'<span class="note">{_e(r.indicator.en)}</span></td>'
            f'<td class="num">{_e(_value(r))}</td><td class="num">{_e(_threshold(r))}</td>'
            f'<td class="num">{r.numerator} / {r.denominator}</td>'
            f'<td><span class="badge {cls}">{STATUS["zh"][r.status]} '
            f"{STATUS['en'][r.status]}</span></td>"
            f'<td class="note">{_e(_measures(r) if r.observations else "")}</td>'
            f'<td class="note">{_e(r.indicator.threshold_source)}</td></tr>'
        )
    out.append("</tbody></table>")
    out.append("<h2>逐月趋势 · Month by month</h2>")
    out.append('<table id="trend"><thead><tr><th>指标 Indicator</th>')
    out += [f"<th>{_e(m.label)}</th>" for m, _ in report.months]
    out.append("<th>趋势 Trend</th></tr></thead><tbody>")
    for i, r in enumerate(results):
        out.append(f'<tr data-code="{_e(r.code)}"><td>{_e(r.indicator.zh)}</td>')
        for _, month in report.months:
            m = month[i]
            out.append(
                f'<td class="num {_css_class(m.status)}" title="{m.numerator}/{m.denominator}">'
                f"{_e(_value(m))}</td>"
            )
        out.append(f"<td>{_sparkline([month[i].value for _, month in report.months])}</td></tr>")
    out.append("</tbody></table>")
    late = report.late
    names = {r.code: r.indicator for r in results}
    out.append(f"<h2>未达要求的案件 · Cases that missed an indicator ({len(late)})</h2>")
    if not late:
        out.append("<p>无 · none</p>")
    else:
        out.append(
            '<table id="late"><thead><tr><th>指标 Indicator</th><th>案件 Case</th>'
            "<th>流程 Process</th><th>时间 When</th></tr></thead><tbody>"
        )
        out += [_late_row(o, names[o.indicator].zh, tz) for o in late[:max_late]]
        out.append("</tbody></table>")
        if len(late) > max_late:
            out.append(
                f'<p class="note">… {len(late) - max_late} 条另见 JSON / CSV 报告 · '
                f"{len(late) - max_late} more in the JSON and CSV reports</p>"
            )
    out.append(
        '<p class="note">客户满意度、服务响应及时率的要求出自'
        "《科技服务机构服务规范》编制说明 三(二)3；其余为默认值，可配置。 "
        "The thresholds of customer satisfaction and response "
        "timeliness are the standard's text; the others are defaults an organisation "
        "configures.</p>"
    )
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _late_row(o: Observation, name: str, tz: dt.tzinfo | None) -> str:
    return (
        f'<tr data-code="{_e(o.indicator)}"><td>{_e(name)}</td><td>{_e(o.case_id)}</td>'
        f"<td>{_e(o.process)}</td><td>{_e(_local(o.at, tz))}</td></tr>"
    )


def render(report: QualityReport, format: Format = "text", *, lang: Lang = "en") -> str:
    """The report as ``text``, ``json``, ``csv`` or ``html``.

    ``lang`` (``"en"`` or ``"zh"``) names the indicators in the text report; JSON and
    CSV carry both names, the HTML page shows both.
    """
    if format == "text":
        return render_text(report, lang=lang)
    if format == "json":
        return render_json(report)
    if format == "csv":
        return render_csv(report)
    if format == "html":
        return render_html(report)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
