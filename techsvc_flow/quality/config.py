"""How the indicators are computed: thresholds, definitions and where each process
records what they read.

>>> DEFAULT_CONFIG.with_thresholds(response_timeliness=97).threshold("response_timeliness")
Decimal('97')
>>> ENGAGEMENTS["technology_transfer"].objection is None
True
>>> EngagementProfile is QualityProfile
True
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import attrs

from ..processes import PROFILES
from ..processes.profile import QualityProfile, as_names
from ..processes.standards import QUESTIONNAIRE, Questionnaire
from .indicators import INDICATORS, indicator

__all__ = ["DEFAULT_CONFIG", "ENGAGEMENTS", "WHEN_COUNTED", "EngagementProfile", "QualityConfig"]

#: Where an engagement-like process records what the indicators read: the profile each
#: template owns (:class:`techsvc_flow.processes.profile.QualityProfile`), by its name here.
EngagementProfile = QualityProfile

#: The built-in engagement templates' profiles, by process name (from the templates).
ENGAGEMENTS: Mapping[str, EngagementProfile] = PROFILES


def _thresholds(value: Mapping[str, Any]) -> Mapping[str, Decimal]:
    out = {i.code: i.threshold for i in INDICATORS}
    for code, raw in value.items():
        indicator(code)  # raises on an unknown code
        try:
            number = Decimal(str(raw))
        except ArithmeticError:
            raise ValueError(f"threshold {code}: {raw!r} is not a number") from None
        if not Decimal(0) <= number <= Decimal(100):
            raise ValueError(f"threshold {code}: {raw!r} is not a per cent from 0 to 100")
        out[code] = number
    return out


def _questionnaire(value: Questionnaire | Mapping[str, Any]) -> Questionnaire:
    return value if isinstance(value, Questionnaire) else Questionnaire.from_dict(value)


@attrs.frozen
class QualityConfig:
    """How the indicators are computed; every default is documented in docs/quality.md.

    Attributes:
        thresholds: per cent by indicator code (missing codes take the default).
        satisfaction_basis: ``"share"`` (the share of surveys satisfied, default) or
            ``"index"`` (the mean weighted index, 0–100) is held against the
            customer-satisfaction threshold; both are always reported.
        satisfied_index: ``None`` (default) takes each survey's recorded outcome (the
            template says *satisfied* at an index of 75); a number re-decides every
            scored survey by its index instead.
        excluded_faults: terminations with this ``fault`` do not count against the
            contract performance rate.
        engagements: the engagement-like processes and where they record things.
        complaint_processes: processes counted as complaints.
        complaint_slas: the acknowledgement and the feedback SLA of a complaint.
        survey_processes: processes counted as satisfaction surveys.
        questionnaire: the survey's items, weights and threshold the satisfaction index
            is computed with: ours by default (:data:`~techsvc_flow.processes.standards.
            QUESTIONNAIRE`), or the organisation's own (a
            :class:`~techsvc_flow.processes.standards.Questionnaire` or its dict form,
            validated; give the survey template the same).
    """

    thresholds: Mapping[str, Decimal] = attrs.field(factory=dict, converter=_thresholds)
    satisfaction_basis: Literal["share", "index"] = "share"
    satisfied_index: Decimal | None = None
    excluded_faults: tuple[str, ...] = attrs.field(
        default=("client", "force_majeure"), converter=as_names
    )
    engagements: Mapping[str, EngagementProfile] = ENGAGEMENTS
    complaint_processes: tuple[str, ...] = attrs.field(default=("complaint",), converter=as_names)
    complaint_slas: tuple[str, str] = ("acknowledge", "feedback")
    survey_processes: tuple[str, ...] = attrs.field(
        default=("satisfaction_survey",), converter=as_names
    )
    questionnaire: Questionnaire = attrs.field(default=QUESTIONNAIRE, converter=_questionnaire)

    def __attrs_post_init__(self) -> None:
        if self.satisfaction_basis not in ("share", "index"):
            raise ValueError(
                f"satisfaction_basis must be 'share' or 'index', not {self.satisfaction_basis!r}"
            )

    def threshold(self, code: str) -> Decimal:
        """The threshold of the indicator ``code``, in per cent."""
        return self.thresholds[indicator(code).code]

    def with_thresholds(self, **percent: Decimal | int | float | str) -> QualityConfig:
        """The same configuration with other thresholds (per cent, by indicator code)."""
        return attrs.evolve(self, thresholds={**self.thresholds, **percent})

    @property
    def processes(self) -> tuple[str, ...]:
        """Every process the indicators read."""
        names = [*self.engagements, *self.complaint_processes, *self.survey_processes]
        return tuple(dict.fromkeys(names))


DEFAULT_CONFIG = QualityConfig()
#: the settings applied when observations are counted, not when they are made
#: The settings applied when observations are counted, not when they are made: an index
#: of observations stays valid when only these change.
WHEN_COUNTED = frozenset({"thresholds", "satisfaction_basis"})
