"""管理评审 — Management review.

A management review of the quality system: its inputs (indicators, audits, complaints,
surveys) and decisions; decided improvements open PDCA cases.
It feeds the PDCA ``improvement`` process.

>>> p = management_review()
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

__all__ = ["GUARDS", "LIMITS", "PROCESS", "management_review"]

PROCESS: Mapping[str, Any] = _records.record_process(
    "management_review",
    "管理评审",
    "Management review",
    f"{TSO} 三(二)1「管理评审」",
    description=(
        "A management review of the quality system: its inputs (indicators, "
        "audits, complaints, surveys) and decisions; decided improvements open "
        "PDCA cases."
    ),
    fields=[
        field("review_inputs", "list", "评审输入", "Inputs (reports, audits, complaints; DocRefs)"),
        field("participants", "list", "参加人员", "Participants"),
        field("decisions", "list", "评审决定", "Decisions"),
    ],
    requires=["review_inputs", "participants", "decisions"],
    roles=["manager"],
)
LIMITS = _records.LIMITS
GUARDS = _records.GUARDS


def management_review(**limits: str | int) -> ProcessDefinition:
    """The management review template, with the organisation's own time limit.

    Args:
        **limits: ``closing`` (default ``10wd``); ``version=N`` sets the version.

    Raises:
        DefinitionError: an unknown limit, or a value of the wrong kind.
    """
    return build(PROCESS, LIMITS, FUNCTIONS, limits)
