"""The engine: runs cases of registered processes (:class:`Workflow`, the facade).

Its parts: the one commit step every write goes through (``_unit``), the one reasons
function of ``start`` and ``fire`` (``_checks``), the SLA clocks (``_slas``), the events
(``_events``), planning a fire (``_fire``), the timers
(:mod:`~techsvc_flow.engine.timers`) and their incidents
(:mod:`~techsvc_flow.engine.incidents`), the outbox
(:mod:`~techsvc_flow.engine.outbox`), retrying a lost race
(:mod:`~techsvc_flow.engine.retry`), recomputing deadlines after a new holiday schedule
(:mod:`~techsvc_flow.engine.recompute`), and the one adapter to ``transitions``
(``_machine``).
"""

from ..incident import Incident
from ._slas import SlaState, case_timers
from .incidents import backoff
from .outbox import DISPATCH_MODES, Outbox
from .recompute import DeadlineChange, RecomputeReport, recompute_deadlines
from .retry import fire_with_retry, retry_on_conflict
from .timers import Ticked
from .workflow import ActorLike, Workflow

__all__ = [
    "DISPATCH_MODES",
    "ActorLike",
    "DeadlineChange",
    "Incident",
    "Outbox",
    "RecomputeReport",
    "SlaState",
    "Ticked",
    "Workflow",
    "backoff",
    "case_timers",
    "fire_with_retry",
    "recompute_deadlines",
    "retry_on_conflict",
]
