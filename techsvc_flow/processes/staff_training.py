"""人员培训记录 — Staff training record.

One training of managers and staff: topic, trainees, the assessment of each; a gap found
opens a PDCA case.
It feeds the PDCA ``improvement`` process.

>>> p = staff_training()
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
from .standards import TIE, TSO

__all__ = ["GUARDS", "LIMITS", "PROCESS", "staff_training"]

PROCESS: Mapping[str, Any] = _records.record_process(
    "staff_training",
    "人员培训记录",
    "Staff training record",
    f"{TIE}4.2.4「定期接受岗位知识和专业技能培训」; {TSO} 三(二)1「培训机制」",
    description=(
        "One training of managers and staff: topic, trainees, the assessment of "
        "each; a gap found opens a PDCA case."
    ),
    fields=[
        field("topic", "str", "培训内容", "Topic"),
        field("trainer", "str", "培训人", "Trainer"),
        field("trainees", "list", "参训人员", "Trainees"),
        field("assessment", "list", "考核结果", "Assessment of each trainee"),
    ],
    requires=["topic", "trainees", "assessment"],
    roles=["quality_manager", "manager"],
)
LIMITS = _records.LIMITS
GUARDS = _records.GUARDS


def staff_training(**limits: str | int) -> ProcessDefinition:
    """The staff training record template, with the organisation's own time limit.

    Args:
        **limits: ``closing`` (default ``10wd``); ``version=N`` sets the version.

    Raises:
        DefinitionError: an unknown limit, or a value of the wrong kind.
    """
    return build(PROCESS, LIMITS, FUNCTIONS, limits)
