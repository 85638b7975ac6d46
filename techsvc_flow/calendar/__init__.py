"""Working time: the calendar package (being split out of the former module)."""

from .work import BusinessHours, Coverage, Shift, WorkCalendar

__all__ = ["BusinessHours", "Coverage", "Shift", "WorkCalendar"]
