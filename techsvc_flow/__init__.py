"""techsvc_flow: run the processes of Chinese technology-service standards in your CRM.

Process definitions run as state machines, with deadlines counted in Chinese working
time (statutory holidays and 调休 make-up working days), durable state and
notifications.
"""

from .calendar import BusinessHours, Shift, WorkCalendar
from .clock import Clock, SteppedClock, SystemClock
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
    ProvisionalWarning,
    ScheduleError,
    TransitionNotAllowed,
    UnknownCountryError,
)

__version__ = "0.1.0"

__all__ = [
    "BusinessHours",
    "BusinessHoursError",
    "CalendarCoverageError",
    "CalendarDays",
    "CalendarError",
    "CalendarMonths",
    "CaseNotFound",
    "Clock",
    "ClockTime",
    "ConcurrentUpdate",
    "Deadline",
    "DefinitionError",
    "Duration",
    "DurationError",
    "FlowError",
    "GuardFailed",
    "NaiveDatetimeError",
    "PermissionDenied",
    "ProvisionalWarning",
    "ScheduleError",
    "Shift",
    "SteppedClock",
    "SystemClock",
    "TransitionNotAllowed",
    "UnknownCountryError",
    "WorkCalendar",
    "WorkingDays",
    "WorkingHours",
]
