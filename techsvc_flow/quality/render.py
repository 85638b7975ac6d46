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
import unicodedata
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Literal

from .observe import Observation
from .report import QualityReport
from .tally import IndicatorResult

__all__ = ["FORMATS", "render", "render_csv", "render_html", "render_json", "render_text"]

Format = Literal["text", "json", "csv", "html"]
Lang = Literal["en", "zh", "both"]
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
        "subtitle": "Quality indicators",
        "indicators": "Indicators",
        "trend_col": "Trend",
        "one_period": "one period",
        "legend": "bars: value (green meets the threshold, red does not, grey: no data); "
        "dashed line: threshold",
        "footnote": "The thresholds of customer satisfaction and response timeliness are "
        "the standard's text; the others are defaults an organisation configures.",
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
        "subtitle": "服务质量评价指标",
        "indicators": "指标",
        "trend_col": "趋势",
        "one_period": "仅一期",
        "legend": "柱：数值（绿色达标，红色未达标，灰色无数据）；虚线：要求",
        "footnote": "客户满意度、服务响应及时率的要求出自《科技服务机构服务规范》编制说明 "
        "三(二)3；其余为默认值，可配置。",
    },
}


#: the further figures (``IndicatorResult.measures``), by language
MEASURES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "share": "satisfied share",
        "index": "satisfaction index",
        "indexed": "rated",
        "not_reached": "not reached",
        "coverage": "survey coverage",
        "third_party": "by a third party",
        "acknowledged_on_time": "acknowledged on time",
        "fed_back_on_time": "fed back on time",
    },
    "zh": {
        "share": "满意占比",
        "index": "满意度指数",
        "indexed": "已评价",
        "not_reached": "未回访到",
        "coverage": "回访覆盖率",
        "third_party": "第三方评价",
        "acknowledged_on_time": "按时受理",
        "fed_back_on_time": "按时反馈",
    },
}


def _width(text: str) -> int:
    """The columns ``text`` takes in a terminal: wide and full-width characters take 2.

    >>> _width("服务响应及时率"), _width("FAIL"), _width("≥ 95%")
    (14, 4, 5)
    """
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, align: str = "<") -> str:
    """``text`` padded with spaces to ``width`` display columns (``align`` ``<`` or ``>``)."""
    fill = " " * max(0, width - _width(text))
    return text + fill if align == "<" else fill + text


#: the English words of ``Indicator.threshold_source``, in Chinese
_SOURCE_ZH = (
    ("our default (the limits ", "默认值（时限 "),
    (" working days are standard text: ", " 个工作日出自标准原文："),
    ("standard text: ", "标准原文："),
    ("our default", "默认值"),
)


def _source(text: str, lang: Lang) -> str:
    """Where a threshold comes from, in ``lang`` (the quoted standard stays as it is)."""
    if lang != "zh":
        return text
    for en, zh in _SOURCE_ZH:
        text = text.replace(en, zh)
    if text.startswith("默认值（") and text.endswith(")"):
        text = text[:-1] + "）"
    return text


def _check_lang(lang: str, *, both: bool = False) -> None:
    allowed = ("en", "zh", "both") if both else ("en", "zh")
    if lang not in allowed:
        raise ValueError(f"lang must be one of {', '.join(allowed)}, not {lang!r}")


def _value(r: IndicatorResult) -> str:
    if r.value is None:
        return "—"
    return f"{r.value}" if r.basis == "index" else f"{r.value}%"


def _threshold(r: IndicatorResult) -> str:
    return f"≥ {r.threshold}" + ("" if r.basis == "index" else "%")


def _local(instant: dt.datetime, tz: dt.tzinfo | None) -> str:
    return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _measures(r: IndicatorResult, lang: str = "en") -> str:
    """The further figures in words, e.g. ``acknowledged on time 83.33%``."""
    labels = MEASURES["zh" if lang == "zh" else "en"]
    parts = []
    for key, value in r.measures.items():
        if value is None:
            continue
        shown = f"{value}%" if key in ("share", "coverage") or key.endswith("_on_time") else value
        parts.append(f"{labels.get(key, key.replace('_', ' '))} {shown}")
    return ("，" if lang == "zh" else ", ").join(parts)


# --- text -------------------------------------------------------------------------------------


def render_text(report: QualityReport, *, lang: Lang = "en") -> str:
    """A plain-text report for a terminal or an e-mail; columns line up by display width
    (a Chinese character takes two columns)."""
    _check_lang(lang)
    w = WORDS[lang]
    tz = report.period.start.tzinfo
    lines = [
        f"{w['title']} {report.period.label} "
        f"({_local(report.period.start, tz)} .. {_local(report.period.end, tz)}, "
        f"{w['as_of']} {_local(report.as_of, tz)})",
        "",
    ]
    names = [r.indicator.name(lang) for r in report.results]
    width = max(_width(n) for n in [*names, w["indicator"]]) + 2
    lines.append(
        _pad(w["indicator"], width) + _pad(w["value"], 9, ">") + "  "
        + _pad(w["threshold"], 10, ">") + "  " + _pad(w["counts"] if lang == "zh" else "n/d",
                                                      11, ">") + "  " + w["result"]
    )  # fmt: skip
    for name, r in zip(names, report.results, strict=True):
        counts = f"{r.numerator}/{r.denominator}"
        lines.append(
            f"{_pad(name, width)}{_value(r):>9}  {_threshold(r):>10}  {counts:>11}  "
            f"{STATUS[lang][r.status]}"
        )
        if r.measures and r.observations:
            lines.append(f"{'':<{width}}  {_measures(r, lang)}")
    if len(report.months) > 1:
        lines += ["", w["trend"]]
        head = "".join(f"{m.label:>10}" for m, _ in report.months)
        lines.append(f"{'':<{width}}{head}")
        for i, name in enumerate(names):
            cells = "".join(f"{_value(results[i]):>10}" for _, results in report.months)
            lines.append(f"{_pad(name, width)}{cells}")
    lines += ["", w["late"]]
    late = report.late
    if not late:
        lines.append(f"  {w['none']}")
    by_code = {r.code: r.indicator.name(lang) for r in report.results}
    for o in late:
        lines.append(f"  {by_code[o.indicator]}: {o.case_id} ({o.process}, {_local(o.at, tz)})")
    return "\n".join(lines) + "\n"


# --- JSON and CSV -----------------------------------------------------------------------------


def render_json(report: QualityReport, *, cases: bool = True, lang: Lang = "en") -> str:
    """The whole report as JSON text, with the case ids behind every indicator.

    The keys and codes stay as they are whatever ``lang``; ``lang`` (``"en"``, ``"zh"``)
    adds the words a reader sees, in that language: ``"lang"`` at the top and, on every
    indicator, its ``"name"``, its ``"result"`` (``"FAIL"`` / ``"未达标"``) and
    ``"measure_labels"`` (each further figure's code → its label).
    """
    _check_lang(lang)
    data = report.to_dict(cases=cases)
    results = [report.results, *(month for _, month in report.months)]
    blocks = [data["indicators"], *(m["indicators"] for m in data["months"])]
    for shown, block in zip(results, blocks, strict=True):
        for r, item in zip(shown, block, strict=True):
            item["name"] = r.indicator.name(lang)
            item["result"] = STATUS[lang][r.status]
            item["measure_labels"] = {k: MEASURES[lang].get(k, k) for k in r.measures}
    return json.dumps({"lang": lang, **data}, ensure_ascii=False, indent=2)


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


#: the CSV header in Chinese (``lang="zh"``), column for column with :data:`CSV_HEAD`
CSV_HEAD_ZH = (
    "期间",
    "指标代码",
    "指标（英文）",
    "指标",
    "分子",
    "分母",
    "数值",
    "要求",
    "结论",
    "口径",
    "要求来源",
)


def render_csv(report: QualityReport, *, lang: Lang = "en") -> str:
    """One row per indicator for the whole period, then one per indicator and month.

    With ``lang="zh"`` the header is in Chinese (:data:`CSV_HEAD_ZH`) and the result
    column reads ``达标`` / ``未达标`` / ``无数据``; in English it keeps the codes
    ``pass`` / ``fail`` / ``no data``.
    """
    _check_lang(lang)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEAD_ZH if lang == "zh" else CSV_HEAD)
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
                    STATUS["zh"][r.status] if lang == "zh" else r.status,
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
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums;
                                     white-space: nowrap; }
#indicators td:first-child { white-space: nowrap; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 3px; color: #fff;
         font-weight: bold; font-size: 12px; white-space: nowrap; }
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


def _words(lang: Lang, key: str, sep: str = " · ") -> str:
    """A label of :data:`WORDS` in ``lang``; ``"both"``: Chinese, ``sep``, English."""
    if lang == "both":
        return f"{WORDS['zh'][key]}{sep}{WORDS['en'][key]}"
    return WORDS[lang][key]


def _status(lang: Lang, status: str) -> str:
    if lang == "both":
        return f"{STATUS['zh'][status]} {STATUS['en'][status]}"
    return STATUS[lang][status]


def _names(lang: Lang, r: IndicatorResult) -> tuple[str, str | None]:
    """The indicator's name, and a second line (its English name when bilingual)."""
    if lang == "both":
        return r.indicator.zh, r.indicator.en
    return r.indicator.name(lang), None


#: room above a bar's value label, between it and what is above (pixels)
_LABEL_GAP = 6


def _bar_chart(results: Sequence[IndicatorResult], lang: Lang = "both") -> str:
    """An SVG bar chart: one bar per indicator (0–100), its threshold as a dashed line.

    A value label sits above both its bar and its threshold line, so the line never
    crosses it; a value of 0 still shows a thin bar in its colour (a failing 0 % is red).
    """
    width, height = 860, 330
    left, top, bottom = 48, 26, 80
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
        # a value of 0 is a 3-pixel bar: a failing 0 % shows red
        bar_top = min(y(value), y(0) - 3) if r.value is not None else y(0)
        zh, en = _names(lang, r)
        parts.append(
            f'<rect class="bar {_css_class(r.status)}" data-code="{_e(r.code)}" '
            f'x="{x:.1f}" y="{bar_top:.1f}" width="{bar_w:.1f}" '
            f'height="{y(0) - bar_top:.1f}" fill="{colour}">'
            f"<title>{_e(zh)}{' ' + _e(en) if en else ''}: {_e(_value(r))} "
            f"({_e(_threshold(r))})</title></rect>"
        )
        t = max(0.0, min(100.0, float(r.threshold)))
        parts.append(
            f'<line class="threshold" data-code="{_e(r.code)}" x1="{x - 6:.1f}" '
            f'x2="{x + bar_w + 6:.1f}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#222" '
            'stroke-width="2" stroke-dasharray="5,3"/>'
        )
        cx = x + bar_w / 2
        # above the bar and the threshold line, whichever is higher
        label_y = min(bar_top, y(t)) - _LABEL_GAP
        if r.value is None:
            fill, label = "#555", _status("en" if lang == "both" else lang, "no data").lower()
        else:
            fill, label = ("#cf222e" if r.status == "fail" else "#222"), _value(r)
        parts.append(
            f'<text class="value" data-code="{_e(r.code)}" x="{cx:.1f}" y="{label_y:.1f}" '
            f'font-size="12" font-weight="bold" text-anchor="middle" fill="{fill}">'
            f"{_e(label)}</text>"
        )
        parts.append(
            f'<text x="{cx:.1f}" y="{height - bottom + 18}" font-size="12" '
            f'text-anchor="middle" fill="#222">{_e(zh)}</text>'
        )
        for k, line in enumerate(_lines(en) if en else []):
            parts.append(
                f'<text x="{cx:.1f}" y="{height - bottom + 33 + 12 * k}" font-size="10" '
                f'text-anchor="middle" fill="#555">{_e(line)}</text>'
            )
    legend = _words(lang, "legend", " ") if lang != "both" else WORDS["en"]["legend"]
    parts.append(
        f'<text x="{left}" y="{height - 12}" font-size="11" fill="#555">{_e(legend)}</text></svg>'
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


def _sparkline(values: Sequence[Decimal | None], lang: Lang = "both") -> str:
    """A small line of the values month by month; with fewer than two values, words
    (``one period``) instead of a line that is a single dot."""
    width, height = 120, 28
    points = [
        (4 + i * (width - 8) / max(len(values) - 1, 1), float(v))
        for i, v in enumerate(values)
        if v is not None
    ]
    if not points:
        return ""
    if len(points) < 2:
        return f'<span class="note one-period">{_e(_words(lang, "one_period", " "))}</span>'
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


def render_html(report: QualityReport, *, max_late: int = 500, lang: Lang = "both") -> str:
    """One self-contained HTML page in English (``"en"``), Chinese (``"zh"``) or both
    side by side (``"both"``, the default here; the CLI's ``--lang both``)."""
    _check_lang(lang, both=True)
    tz = report.period.start.tzinfo
    results = report.results
    html_lang = "en" if lang == "en" else "zh-CN"

    def head(key: str) -> str:
        return _e(_words(lang, key, " "))

    label = _e(report.period.label)
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{html_lang}"><head><meta charset="utf-8">',
        f"<title>{head('title')} {label}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{_e(_words(lang, 'title'))} — {label}</h1>",
        f'<div class="sub">{_e(_local(report.period.start, tz))} – '
        f"{_e(_local(report.period.end, tz))} ({_e(tz)}); "
        f"{head('as_of')} {_e(_local(report.as_of, tz))}</div>",
        _bar_chart(results, lang),
        f"<h2>{_e(_words(lang, 'indicators'))}</h2>",
        f'<table id="indicators"><thead><tr><th>{head("indicator")}</th>'
        f"<th>{head('value')}</th><th>{head('threshold')}</th><th>{head('counts')}</th>"
        f"<th>{head('result')}</th><th>{head('measures')}</th><th>{head('source')}</th></tr>"
        "</thead><tbody>",
    ]
    for r in results:
        cls = _css_class(r.status)
        zh, en = _names(lang, r)
        measures = ""
        if r.observations and r.measures:
            if lang == "both":
                measures = f"{_e(_measures(r, 'zh'))}<br>{_e(_measures(r, 'en'))}"
            else:
                measures = _e(_measures(r, lang))
        out.append(
            f'<tr data-code="{_e(r.code)}"><td>{_e(zh)}'
            + (f'<br><span class="note">{_e(en)}</span>' if en else "")
            + "</td>"
            f'<td class="num">{_e(_value(r))}</td><td class="num">{_e(_threshold(r))}</td>'
            f'<td class="num">{r.numerator} / {r.denominator}</td>'
            f'<td><span class="badge {cls}">{_e(_status(lang, r.status))}</span></td>'
            f'<td class="note measures">{measures}</td>'
            f'<td class="note">{_e(_source(r.indicator.threshold_source, lang))}</td></tr>'
        )
    out.append("</tbody></table>")
    out.append(f"<h2>{_e(_words(lang, 'trend'))}</h2>")
    out.append(f'<table id="trend"><thead><tr><th>{head("indicator")}</th>')
    out += [f"<th>{_e(m.label)}</th>" for m, _ in report.months]
    out.append(f"<th>{head('trend_col')}</th></tr></thead><tbody>")
    for i, r in enumerate(results):
        out.append(f'<tr data-code="{_e(r.code)}"><td>{_e(_names(lang, r)[0])}</td>')
        for _, month in report.months:
            m = month[i]
            out.append(
                f'<td class="num {_css_class(m.status)}" title="{m.numerator}/{m.denominator}">'
                f"{_e(_value(m))}</td>"
            )
        values = [month[i].value for _, month in report.months]
        out.append(f"<td>{_sparkline(values, lang)}</td></tr>")
    out.append("</tbody></table>")
    late = report.late
    names = {r.code: _names(lang, r)[0] for r in results}
    out.append(f"<h2>{_e(_words(lang, 'late'))} ({len(late)})</h2>")
    if not late:
        out.append(f"<p>{_e(_words(lang, 'none'))}</p>")
    else:
        out.append(
            f'<table id="late"><thead><tr><th>{head("indicator")}</th><th>{head("case")}</th>'
            f"<th>{head('process')}</th><th>{head('when')}</th></tr></thead><tbody>"
        )
        out += [_late_row(o, names[o.indicator], tz) for o in late[:max_late]]
        out.append("</tbody></table>")
        if len(late) > max_late:
            rest = len(late) - max_late
            more = {
                "zh": f"… {rest} {WORDS['zh']['more']}",
                "en": f"… {rest} {WORDS['en']['more']}",
            }
            text = f"{more['zh']} · {more['en']}" if lang == "both" else more[lang]
            out.append(f'<p class="note">{_e(text)}</p>')
    out.append(f'<p class="note">{_e(_words(lang, "footnote", " "))}</p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _late_row(o: Observation, name: str, tz: dt.tzinfo | None) -> str:
    return (
        f'<tr data-code="{_e(o.indicator)}"><td>{_e(name)}</td><td>{_e(o.case_id)}</td>'
        f"<td>{_e(o.process)}</td><td>{_e(_local(o.at, tz))}</td></tr>"
    )


def render(report: QualityReport, format: Format = "text", *, lang: Lang = "en") -> str:
    """The report as ``text``, ``json``, ``csv`` or ``html``, in ``lang``.

    ``lang`` is ``"en"`` or ``"zh"`` for every format (the JSON keeps its keys and adds
    the words in that language; the CSV translates its header and results); ``"both"``
    (Chinese and English side by side) is for ``html`` only.
    """
    if lang == "both" and format != "html":
        raise ValueError(f"lang 'both' is for html only, not {format!r}")
    if format == "text":
        return render_text(report, lang=lang)
    if format == "json":
        return render_json(report, lang=lang)
    if format == "csv":
        return render_csv(report, lang=lang)
    if format == "html":
        return render_html(report, lang=lang)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
