"""供方/外包评价 — Supplier and outsourcing evaluation.

The evaluation of a supplier or outsourced service against the organisation's standards:
criteria, result; a conditional or failed result opens a PDCA case.
It feeds the PDCA ``improvement`` process.

>>> p = supplier_evaluation()
>>> sorted(p.final_states)
['cancelled', 'closed']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..definition import ProcessDefinition
from . import _records
from ._build import build, field
from .checks import FUNCTIONS
from .standards import TSO

__all__ = ["GUARDS", "LIMITS", "PROCESS", "supplier_evaluation"]

PROCESS: Mapping[str, Any] = _records.record_process(
    "supplier_evaluation",
    "供方/外包评价",
    "Supplier and outsourcing evaluation",
    f"{TSO} 二(一)「供方管理」; 三(二)1「供方管理方面明确外包服务标准」",
    description=(
        "The evaluation of a supplier or outsourced service against the "
        "organisation's standards: criteria, result; a conditional or failed "
        "result opens a PDCA case."
    ),
    fields=[
        field("supplier", "str", "供方", "Supplier"),
        field("criteria", "list", "评价准则", "Criteria"),
        field(
            "evaluation_result",
            "str",
            "评价结果",
            "Result",
            choices=["approved", "conditional", "rejected"],
        ),
    ],
    requires=["supplier", "criteria", "evaluation_result"],
    roles=["quality_manager"],
)
LIMITS = _records.LIMITS
GUARDS = _records.GUARDS


def supplier_evaluation(**limits: str | int) -> ProcessDefinition:
    """The supplier and outsourcing evaluation template, with the organisation's own time limit.

    Args:
        **limits: ``closing`` (default ``10wd``); ``version=N`` sets the version.

    Raises:
        DefinitionError: an unknown limit, or a value of the wrong kind.
    """
    return build(PROCESS, LIMITS, FUNCTIONS, limits)
