"""Deprecated: rendering quality reports lives in :mod:`techsvc_flow.quality.render`."""

from ._moved import moved

__getattr__ = moved(
    __name__,
    "techsvc_flow.quality.render",
    [
        "COLOURS",
        "CSS",
        "CSV_HEAD",
        "FORMATS",
        "STATUS",
        "WORDS",
        "render",
        "render_csv",
        "render_html",
        "render_json",
        "render_text",
    ],
)
