"""The built-in process templates, as data: adopt one in one line, tune it without forking.

Each function returns a :class:`~techsvc_flow.ProcessDefinition`; keyword arguments set
the organisation's own time limits (its service pledge) by name, everything else stays
as the standard has it:

>>> from techsvc_flow import processes
>>> p = processes.complaint(acknowledge="12h", feedback="5wd", reopen_within="15d")
>>> [str(p.sla_map[n].duration) for n in ("acknowledge", "feedback")]
['12h', '5wd']
>>> sorted(processes.ALL)  # doctest: +NORMALIZE_WHITESPACE
['complaint', 'improvement', 'incubation', 'innovation_service', 'satisfaction_survey',
 'service_engagement', 'technology_transfer']
>>> processes.builtin("complaint") == processes.complaint()
True
>>> processes.complaint(acknowlege="12h")
Traceback (most recent call last):
...
techsvc_flow.errors.DefinitionError: limits.acknowlege: complaint has no limit 'acknowlege'; \
known: acknowledge, feedback, review_feedback, reopen_feedback, complainant_reply, remedy, \
complainant_silence, reopen_within, max_reopen, escalation_levels

A template saved as JSON loads back with the named guard functions:

>>> from techsvc_flow import ProcessDefinition
>>> ProcessDefinition.from_json(p.to_json(), functions=processes.FUNCTIONS) == p
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..definition import ProcessDefinition
from ..errors import DefinitionError
from . import standards
from ._build import GuardDoc, Limit
from .checks import FUNCTIONS
from .complaint import GUARDS as _COMPLAINT_GUARDS
from .complaint import LIMITS as _COMPLAINT_LIMITS
from .complaint import complaint
from .improvement import GUARDS as _IMPROVEMENT_GUARDS
from .improvement import LIMITS as _IMPROVEMENT_LIMITS
from .improvement import improvement
from .incubation import GUARDS as _INCUBATION_GUARDS
from .incubation import LIMITS as _INCUBATION_LIMITS
from .incubation import incubation
from .innovation_service import GUARDS as _INNOVATION_GUARDS
from .innovation_service import LIMITS as _INNOVATION_LIMITS
from .innovation_service import innovation_service
from .satisfaction_survey import GUARDS as _SURVEY_GUARDS
from .satisfaction_survey import LIMITS as _SURVEY_LIMITS
from .satisfaction_survey import satisfaction_survey
from .service_engagement import GUARDS as _ENGAGEMENT_GUARDS
from .service_engagement import LIMITS as _ENGAGEMENT_LIMITS
from .service_engagement import service_engagement
from .technology_transfer import GUARDS as _TRANSFER_GUARDS
from .technology_transfer import LIMITS as _TRANSFER_LIMITS
from .technology_transfer import technology_transfer

__all__ = [
    "ALL",
    "FUNCTIONS",
    "GUARDS",
    "LIMITS",
    "GuardDoc",
    "Limit",
    "builtin",
    "complaint",
    "improvement",
    "incubation",
    "innovation_service",
    "satisfaction_survey",
    "service_engagement",
    "standards",
    "technology_transfer",
]

Builder = Callable[..., ProcessDefinition]

#: The template builders by process name.
ALL: Mapping[str, Builder] = {
    "service_engagement": service_engagement,
    "innovation_service": innovation_service,
    "complaint": complaint,
    "satisfaction_survey": satisfaction_survey,
    "technology_transfer": technology_transfer,
    "incubation": incubation,
    "improvement": improvement,
}

#: The limits each template takes, by process name, then by limit name.
LIMITS: Mapping[str, Mapping[str, Limit]] = {
    "service_engagement": _ENGAGEMENT_LIMITS,
    "innovation_service": _INNOVATION_LIMITS,
    "complaint": _COMPLAINT_LIMITS,
    "satisfaction_survey": _SURVEY_LIMITS,
    "technology_transfer": _TRANSFER_LIMITS,
    "incubation": _INCUBATION_LIMITS,
    "improvement": _IMPROVEMENT_LIMITS,
}

#: What each guard's reason code means and where the rule comes from, by process name.
GUARDS: Mapping[str, Mapping[str, GuardDoc]] = {
    "service_engagement": _ENGAGEMENT_GUARDS,
    "innovation_service": _INNOVATION_GUARDS,
    "complaint": _COMPLAINT_GUARDS,
    "satisfaction_survey": _SURVEY_GUARDS,
    "technology_transfer": _TRANSFER_GUARDS,
    "incubation": _INCUBATION_GUARDS,
    "improvement": _IMPROVEMENT_GUARDS,
}


def builtin(name: str, /, **limits: str | int) -> ProcessDefinition:
    """The template called ``name``, with ``limits`` applied (``version=`` too).

    Raises:
        DefinitionError: no template has that name, or a limit is unknown or malformed.
    """
    try:
        make = ALL[name]
    except KeyError:
        raise DefinitionError(
            "name", f"no built-in process {name!r}; known: {', '.join(ALL)}"
        ) from None
    return make(**limits)
