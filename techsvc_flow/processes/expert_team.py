"""专家团队 — Expert team.

The expert team's composition and its periodic review: each expert's field and
qualification; a gap in the fields served opens a PDCA case.
It feeds the PDCA ``improvement`` process.

>>> p = expert_team()
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
from .standards import TIE

__all__ = ["GUARDS", "LIMITS", "PROCESS", "expert_team"]

PROCESS: Mapping[str, Any] = _records.record_process(
    "expert_team",
    "专家团队",
    "Expert team",
    f"{TIE}4.2.5「宜组建专家团队」",
    description=(
        "The expert team's composition and its periodic review: each expert's "
        "field and qualification; a gap in the fields served opens a PDCA case."
    ),
    fields=[
        field("experts", "list", "专家名单", "Experts (name, field, qualification)"),
        field("fields_covered", "list", "覆盖领域", "Service fields covered"),
    ],
    requires=["experts", "fields_covered"],
    roles=["manager"],
)
LIMITS = _records.LIMITS
GUARDS = _records.GUARDS


def expert_team(**limits: str | int) -> ProcessDefinition:
    """The expert team template, with the organisation's own time limit.

    Args:
        **limits: ``closing`` (default ``10wd``); ``version=N`` sets the version.

    Raises:
        DefinitionError: an unknown limit, or a value of the wrong kind.
    """
    return build(PROCESS, LIMITS, FUNCTIONS, limits)
