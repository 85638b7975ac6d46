"""The shape shared by the organisation-level record templates (private).

Internal audit, management review, staff training, supplier evaluation and the expert
team are organisation records, not client cases; each is small: ``planned`` →
``recorded`` → ``closed`` (or ``cancelled``), and each feeds the PDCA ``improvement``
process: a record that finds something to improve (``needs_improvement``) is closed only
with the ``improvement`` case opened for it (``improvement_case``). The shape, roles and
time limit are our reading.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._build import GuardDoc, Limit, field, label, sla_limit, state
from .standards import TSO

__all__ = ["GUARDS", "LIMITS", "PDCA", "record_process"]

PDCA = f"{TSO} 三(二)3「建立 PDCA 闭环持续改进机制」"
OURS = "our reading"
QUALITY = ["quality_manager", "manager"]

GUARDS: Mapping[str, GuardDoc] = {
    "improvement_missing": GuardDoc(
        "a record that needs improvement is closed only with its improvement case", PDCA
    ),
}

LIMITS: Mapping[str, Limit] = {
    "closing": sla_limit("closing", "10wd", "close the record after it is made"),
}


def record_process(
    name: str,
    zh: str,
    en: str,
    source: str,
    *,
    description: str,
    fields: list[dict[str, Any]],
    requires: list[str],
    roles: list[str],
) -> dict[str, Any]:
    """The dict form of one record template: its own fields, what recording requires,
    who records, and the clause it follows."""
    return {
        "name": name,
        "version": 1,
        "title": label(zh, en),
        "description": description,
        # organisation records are for the staff (003 4.4.1 b)); details: confidential
        "default_level": "internal",
        "fields": [
            *fields,
            field(
                "details",
                "str",
                "详情",
                "Details (may carry personal data or a client's secrets)",
                confidential=True,
            ),
            field("conclusion", "str", "结论", "Conclusion"),
            field("needs_improvement", "bool", "需改进", "Something to improve was found"),
            field("improvement_case", "str", "改进案件", "The improvement case it feeds (id)"),
            field("cancel_reason", "str", "取消原因", "Why cancelled"),
        ],
        "states": [
            state("planned", "计划", "Planned", OURS, initial=True),
            state("recorded", "已记录", "Recorded", source),
            state("closed", "已关闭", "Closed", f"{source}; {PDCA}", final=True),
            state("cancelled", "已取消", "Cancelled", OURS, final=True),
        ],
        "transitions": [
            {
                "trigger": "record",
                "source": ["planned"],
                "dest": "recorded",
                "roles": roles,
                "requires": requires,
                "accepts": [
                    *(f["name"] for f in fields if f["name"] not in requires),
                    "details",
                ],
                "label": label("记录", "Record"),
                "source_clause": source,
            },
            {
                "trigger": "close",
                "source": ["recorded"],
                "dest": "closed",
                "roles": QUALITY,
                "requires": ["conclusion", "needs_improvement"],
                "accepts": ["improvement_case"],
                "guards": [
                    {
                        "code": "improvement_missing",
                        "kind": "call",
                        "function": "improvement_linked",
                    }
                ],
                "label": label("结论并关闭", "Conclude and close"),
                "source_clause": PDCA,
            },
            {
                "trigger": "cancel",
                "source": ["planned"],
                "dest": "cancelled",
                "roles": ["manager"],
                "requires": ["cancel_reason"],
                "label": label("取消", "Cancel"),
                "source_clause": OURS,
            },
        ],
        "slas": [
            {
                "name": "closing",
                "duration": "10wd",
                "start_states": ["recorded"],
                "stop_states": ["closed"],
                "warn_at": [0.75],
                "label": label("关闭时限", "Close"),
                "source": "our default",
            }
        ],
    }
