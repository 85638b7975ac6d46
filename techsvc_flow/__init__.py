"""techsvc_flow: run the processes of Chinese technology-service standards in your CRM.

Process definitions run as state machines, with deadlines counted in Chinese working
time (statutory holidays and 调休 make-up working days), durable state and
notifications.
"""

from ._moved import moved as _moved
from .calendar import WorkCalendar
from .case import Actor, Case, HistoryEntry
from .clock import SteppedClock, SystemClock
from .definition import Field, ProcessDefinition, Sla, State, Transition
from .durations import Deadline, Duration
from .engine import Workflow
from .errors import (
    CaseNotFound,
    ConcurrentUpdate,
    FlowError,
    GuardFailed,
    PermissionDenied,
    TransitionNotAllowed,
)
from .guards import Guard, Reason
from .notifications import Event
from .store import MemoryStore, Store

__version__ = "0.1.0"

#: what a user needs on day one; everything else is imported from its module
__all__ = [
    "Actor",
    "Case",
    "CaseNotFound",
    "ConcurrentUpdate",
    "Deadline",
    "Duration",
    "Event",
    "Field",
    "FlowError",
    "Guard",
    "GuardFailed",
    "HistoryEntry",
    "MemoryStore",
    "PermissionDenied",
    "ProcessDefinition",
    "Reason",
    "Sla",
    "State",
    "SteppedClock",
    "Store",
    "SystemClock",
    "Transition",
    "TransitionNotAllowed",
    "WorkCalendar",
    "Workflow",
]

_ERRORS = "techsvc_flow.errors"
#: names the root exported before 0.2, served for one release with a DeprecationWarning
__getattr__ = _moved(
    __name__,
    "techsvc_flow",
    {
        "BusinessHours": "techsvc_flow.calendar",
        "Shift": "techsvc_flow.calendar",
        "ChainCheck": "techsvc_flow.case",
        "verify_chain": "techsvc_flow.case",
        "Clock": "techsvc_flow.clock",
        "to_dot": "techsvc_flow.diagrams",
        "to_mermaid": "techsvc_flow.diagrams",
        "CalendarDays": "techsvc_flow.durations",
        "CalendarMonths": "techsvc_flow.durations",
        "ClockTime": "techsvc_flow.durations",
        "WorkingDays": "techsvc_flow.durations",
        "WorkingHours": "techsvc_flow.durations",
        "BusinessHoursError": _ERRORS,
        "CalendarCoverageError": _ERRORS,
        "CalendarError": _ERRORS,
        "DefinitionError": _ERRORS,
        "DurationError": _ERRORS,
        "NaiveDatetimeError": _ERRORS,
        "ProcessNotFound": _ERRORS,
        "ProvisionalWarning": _ERRORS,
        "ScheduleError": _ERRORS,
        "UnknownCountryError": _ERRORS,
        "GuardContext": "techsvc_flow.guards",
        "Delivery": "techsvc_flow.notifications",
        "Subscription": "techsvc_flow.notifications",
        "Webhook": "techsvc_flow.notifications",
        "log_events": "techsvc_flow.notifications",
        "SlaClock": "techsvc_flow.sla",
        "Timer": "techsvc_flow.sla",
        "SlaState": "techsvc_flow.engine",
    },
    warn_on_import=False,
)
