"""techsvc_flow: run the processes of Chinese technology-service standards in your CRM.

Process definitions run as state machines, with deadlines counted in Chinese working
time (statutory holidays and 调休 make-up working days), durable state and
notifications.
"""

from .calendar import BusinessHours, Shift, WorkCalendar
from .case import Actor, Case, ChainCheck, HistoryEntry, verify_chain
from .clock import Clock, SteppedClock, SystemClock
from .definition import Field, ProcessDefinition, Sla, State, Transition
from .diagrams import to_dot, to_mermaid
from .durations import (
    CalendarDays,
    CalendarMonths,
    ClockTime,
    Deadline,
    Duration,
    WorkingDays,
    WorkingHours,
)
from .errors import (
    BusinessHoursError,
    CalendarCoverageError,
    CalendarError,
    CaseNotFound,
    ConcurrentUpdate,
    DefinitionError,
    DurationError,
    FlowError,
    GuardFailed,
    NaiveDatetimeError,
    PermissionDenied,
    ProcessNotFound,
    ProvisionalWarning,
    ScheduleError,
    TransitionNotAllowed,
    UnknownCountryError,
)
from .guards import Guard, GuardContext, Reason
from .notifications import Delivery, Event, Subscription, Webhook, log_events
from .sla import SlaClock, Timer
from .store import MemoryStore, Store
from .workflow import SlaState, Workflow

__version__ = "0.1.0"

__all__ = [
    "Actor",
    "BusinessHours",
    "BusinessHoursError",
    "CalendarCoverageError",
    "CalendarDays",
    "CalendarError",
    "CalendarMonths",
    "Case",
    "CaseNotFound",
    "ChainCheck",
    "Clock",
    "ClockTime",
    "ConcurrentUpdate",
    "Deadline",
    "DefinitionError",
    "Delivery",
    "Duration",
    "DurationError",
    "Event",
    "Field",
    "FlowError",
    "Guard",
    "GuardContext",
    "GuardFailed",
    "HistoryEntry",
    "MemoryStore",
    "NaiveDatetimeError",
    "PermissionDenied",
    "ProcessDefinition",
    "ProcessNotFound",
    "ProvisionalWarning",
    "Reason",
    "ScheduleError",
    "Shift",
    "Sla",
    "SlaClock",
    "SlaState",
    "State",
    "SteppedClock",
    "Store",
    "Subscription",
    "SystemClock",
    "Timer",
    "Transition",
    "TransitionNotAllowed",
    "UnknownCountryError",
    "Webhook",
    "WorkCalendar",
    "Workflow",
    "WorkingDays",
    "WorkingHours",
    "log_events",
    "to_dot",
    "to_mermaid",
    "verify_chain",
]
