"""What a template tells the quality indicators: where it records what they read.

An engagement-like template (one a client commissions, that delivers, is accepted and
gets a return visit) names, in its own :data:`PROFILE`, the states, triggers, fields and
SLAs the indicators of :mod:`techsvc_flow.quality` read. The profile lives beside the
template so a renamed state is renamed in one place; ``tests/test_quality_profiles.py``
checks that every name a profile gives exists in its template.

>>> p = QualityProfile(objection=None, rework=())  # a template without objections
>>> p.objection is None, p.accepted
(True, ('after_sales',))
>>> sorted(p.names()["triggers"])
['record_return_visit']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

__all__ = ["QualityProfile", "as_names"]


def as_names(value: Iterable[str]) -> tuple[str, ...]:
    """A tuple of names from one name or an iterable of names (an attrs converter)."""
    return (value,) if isinstance(value, str) else tuple(value)


@attrs.frozen
class QualityProfile:
    """Where an engagement-like process records what the quality indicators read.

    Attributes:
        response_sla: the SLA timing the first response (服务响应及时率).
        delivered: the state entered on delivery (``None``: the template has no
            delivery date to keep, so no on-time delivery is counted).
        delivery_due_field: the data field with the contract's delivery date.
        delivery_sla: the SLA due at that date (``due_field``); where the case has its
            clock, on-time delivery is read from it (``None``: from the date alone).
        accepted: states entered when the delivery is accepted (or settled); empty:
            no first-pass acceptance is counted.
        objection: the trigger that raises an objection; ``None`` when the template has
            none.
        rework: the triggers that send a delivery back into rework; each firing is one
            rework round (the archive's ``rework_rounds``).
        disputes: the triggers that dispute a delivery. An acceptance is a *first pass*
            only when none of ``objection``, ``rework`` and ``disputes`` fired.
        performed: states entered when the contract has been performed.
        terminated: the state entered on early termination.
        after_sales: the state entered when the return visit falls due.
        visit_sla: the SLA timing the return visit.
        visit_trigger: the trigger that records the return visit / survey.
        visit_field, visit_reached: the data field telling whether the visit reached the
            client, and the values that mean it did.
        surveyed: the state entered once the visit is recorded (or missed).
    """

    response_sla: str | None = "response"
    delivered: str | None = "delivered"
    delivery_due_field: str | None = "delivery_due"
    delivery_sla: str | None = "delivery"
    accepted: tuple[str, ...] = attrs.field(default=("after_sales",), converter=as_names)
    objection: str | None = "raise_objection"
    rework: tuple[str, ...] = attrs.field(default=("raise_objection",), converter=as_names)
    disputes: tuple[str, ...] = attrs.field(default=(), converter=as_names)
    performed: tuple[str, ...] = attrs.field(default=("after_sales",), converter=as_names)
    terminated: str = "terminated"
    after_sales: str | None = "after_sales"
    visit_sla: str | None = "return_visit"
    visit_trigger: str = "record_return_visit"
    visit_field: str = "visit_outcome"
    visit_reached: tuple[str, ...] = attrs.field(default=("reached",), converter=as_names)
    surveyed: str | None = "return_visited"

    def rework_rounds(self, counts: Mapping[str, int]) -> int:
        """How many rework rounds trigger ``counts`` record."""
        return sum(counts.get(t, 0) for t in self.rework)

    def first_pass(self, counts: Mapping[str, int]) -> bool:
        """Whether trigger ``counts`` record no objection, rework or dispute."""
        spoiled = (self.objection, *self.rework, *self.disputes)
        return not any(counts.get(t, 0) for t in spoiled if t is not None)

    @property
    def _delivery_sla(self) -> str | None:
        """The delivery SLA where on-time delivery is counted at all."""
        counted = self.delivered is not None and self.delivery_due_field is not None
        return self.delivery_sla if counted else None

    def names(self) -> dict[str, set[str]]:
        """Every template name the profile gives, by kind: ``states``, ``triggers``,
        ``fields`` and ``slas`` (what a test checks against the template)."""
        states = {
            *self.accepted,
            *self.performed,
            self.delivered,
            self.terminated,
            self.after_sales,
            self.surveyed,
        }
        return {
            "states": {s for s in states if s is not None},
            "triggers": {
                t
                for t in (self.objection, self.visit_trigger, *self.rework, *self.disputes)
                if t is not None
            },
            "fields": {f for f in (self.delivery_due_field, self.visit_field) if f is not None},
            "slas": {
                s for s in (self.response_sla, self.visit_sla, self._delivery_sla) if s is not None
            },
        }
