"""The built-in process templates, as data: adopt one in one line, tune it without forking.

Each function returns a :class:`~techsvc_flow.ProcessDefinition`; keyword arguments set
the organisation's own time limits (its service pledge) by name, everything else stays
as the standard has it:

>>> from techsvc_flow import processes
>>> p = processes.complaint(acknowledge="12h", feedback="5wd", reopen_within="15d")
>>> [str(p.sla_map[n].duration) for n in ("acknowledge", "feedback")]
['12h', '5wd']
>>> sorted(processes.ALL)  # doctest: +NORMALIZE_WHITESPACE
['complaint', 'expert_team', 'improvement', 'incubation', 'innovation_service',
 'internal_audit', 'management_review', 'satisfaction_survey', 'service_engagement',
 'staff_training', 'supplier_evaluation', 'technology_transfer']
>>> processes.builtin("complaint") == processes.complaint()
True
>>> processes.complaint(acknowlege="12h")
Traceback (most recent call last):
...
techsvc_flow.errors.DefinitionError: limits.acknowlege: complaint has no limit 'acknowlege'; \
known: acknowledge, feedback, review_feedback, reopen_feedback, complainant_reply, remedy, \
complainant_silence, reopen_within, max_reopen, escalation_levels

One table, :data:`TEMPLATES`, holds each template's builder, limits, guards and (for an
engagement-like template) the quality profile it owns; :data:`ALL`, :data:`LIMITS`,
:data:`GUARDS` and :data:`PROFILES` are derived from it:

>>> sorted(processes.PROFILES)
['innovation_service', 'service_engagement', 'technology_transfer']
>>> processes.TEMPLATES["technology_transfer"].profile.objection is None
True

A template saved as JSON loads back with the named guard functions:

>>> from techsvc_flow import ProcessDefinition
>>> ProcessDefinition.from_json(p.to_json(), functions=processes.FUNCTIONS) == p
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType

import attrs

from ..definition import ProcessDefinition
from ..errors import DefinitionError
from . import complaint as _complaint_module
from . import expert_team as _expert_team_module
from . import improvement as _improvement_module
from . import incubation as _incubation_module
from . import innovation_service as _innovation_service_module
from . import internal_audit as _internal_audit_module
from . import management_review as _management_review_module
from . import satisfaction_survey as _satisfaction_survey_module
from . import service_engagement as _service_engagement_module
from . import staff_training as _staff_training_module
from . import standards
from . import supplier_evaluation as _supplier_evaluation_module
from . import technology_transfer as _technology_transfer_module
from ._build import GuardDoc, Limit
from .checks import FUNCTIONS
from .complaint import complaint
from .expert_team import expert_team
from .improvement import improvement
from .incubation import incubation
from .innovation_service import innovation_service
from .internal_audit import internal_audit
from .management_review import management_review
from .profile import QualityProfile
from .satisfaction_survey import satisfaction_survey
from .service_engagement import service_engagement
from .staff_training import staff_training
from .supplier_evaluation import supplier_evaluation
from .technology_transfer import technology_transfer

__all__ = [
    "ALL",
    "FUNCTIONS",
    "GUARDS",
    "LIMITS",
    "PROFILES",
    "TEMPLATES",
    "GuardDoc",
    "Limit",
    "QualityProfile",
    "Template",
    "builtin",
    "complaint",
    "expert_team",
    "improvement",
    "incubation",
    "innovation_service",
    "internal_audit",
    "management_review",
    "satisfaction_survey",
    "service_engagement",
    "staff_training",
    "standards",
    "supplier_evaluation",
    "technology_transfer",
]

Builder = Callable[..., ProcessDefinition]


@attrs.frozen
class Template:
    """One built-in template: its name, its builder and the tables it publishes.

    Attributes:
        name: the process name.
        build: the builder (keyword arguments: the limits).
        limits: the limits it takes, by name.
        guards: what each guard's reason code means, by code.
        profile: where it records what the quality indicators read (engagement-like
            templates only).
    """

    name: str
    build: Builder
    limits: Mapping[str, Limit]
    guards: Mapping[str, GuardDoc]
    profile: QualityProfile | None = None

    @classmethod
    def of(cls, module: ModuleType) -> Template:
        """The template a template module defines (``PROCESS``, ``LIMITS``, ``GUARDS``,
        the builder named like the process, and ``PROFILE`` if it has one)."""
        name = module.PROCESS["name"]
        return cls(
            name,
            getattr(module, name),
            module.LIMITS,
            module.GUARDS,
            getattr(module, "PROFILE", None),
        )


#: The built-in templates, by process name: every map below derives from this table.
TEMPLATES: Mapping[str, Template] = {
    t.name: t
    for t in map(
        Template.of,
        (
            _service_engagement_module,
            _innovation_service_module,
            _complaint_module,
            _satisfaction_survey_module,
            _technology_transfer_module,
            _incubation_module,
            _improvement_module,
            _internal_audit_module,
            _management_review_module,
            _staff_training_module,
            _supplier_evaluation_module,
            _expert_team_module,
        ),
    )
}

#: The template builders by process name.
ALL: Mapping[str, Builder] = {name: t.build for name, t in TEMPLATES.items()}

#: The limits each template takes, by process name, then by limit name.
LIMITS: Mapping[str, Mapping[str, Limit]] = {name: t.limits for name, t in TEMPLATES.items()}

#: What each guard's reason code means and where the rule comes from, by process name.
GUARDS: Mapping[str, Mapping[str, GuardDoc]] = {name: t.guards for name, t in TEMPLATES.items()}

#: The quality profile of each engagement-like template, by process name.
PROFILES: Mapping[str, QualityProfile] = {
    name: t.profile for name, t in TEMPLATES.items() if t.profile is not None
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
