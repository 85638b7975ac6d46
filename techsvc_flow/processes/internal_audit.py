"""内部审核 — Internal audit tied to appraisal.

A routine internal audit whose results feed the staff appraisal (绩效考核) and, where
something is found, the PDCA improvement process.
It feeds the PDCA ``improvement`` process.

>>> p = internal_audit()
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

__all__ = ["GUARDS", "LIMITS", "PROCESS", "internal_audit"]

PROCESS: Mapping[str, Any] = _records.record_process(
    "internal_audit",
    "内部审核",
    "Internal audit tied to appraisal",
    f"{TSO} 三(二)3「内部要求常态化内审并与绩效考核挂钩」",
    description=(
        "A routine internal audit whose results feed the staff appraisal (绩效考核) "
        "and, where something is found, the PDCA improvement process."
    ),
    fields=[
        field("audit_scope", "str", "审核范围", "Scope"),
        field("auditors", "list", "审核员", "Auditors"),
        field("findings", "list", "审核发现", "Findings"),
        field(
            "appraisal_ref", "str", "绩效考核记录", "The appraisal record the results feed (DocRef)"
        ),
    ],
    requires=["audit_scope", "auditors", "findings", "appraisal_ref"],
    roles=["quality_manager"],
)
LIMITS = _records.LIMITS
GUARDS = _records.GUARDS


def internal_audit(**limits: str | int) -> ProcessDefinition:
    """The internal audit tied to appraisal template, with the organisation's own time limit.

    Args:
        **limits: ``closing`` (default ``10wd``); ``version=N`` sets the version.

    Raises:
        DefinitionError: an unknown limit, or a value of the wrong kind.
    """
    return build(PROCESS, LIMITS, FUNCTIONS, limits)
