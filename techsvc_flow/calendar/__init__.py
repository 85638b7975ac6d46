"""Working time: which days are working days, business hours, and arithmetic on both.

A :class:`WorkCalendar` answers day arithmetic in constant time per call from a
cumulative-count index over the years it has compiled, and working-time arithmetic by
binary search over precomputed working intervals. The index is compiled lazily and
extended when a date outside it is asked for.

>>> import datetime as dt
>>> cal = WorkCalendar.china()
>>> cal.add_working_days(dt.date(2025, 9, 30), 7)   # National Day, then Sat 10-11 worked
datetime.date(2025, 10, 16)
>>> cal.working_days_between(dt.date(2025, 9, 30), dt.date(2025, 10, 16))
7

The package: :mod:`~techsvc_flow.calendar.work` (:class:`WorkCalendar`, the facade),
:mod:`~techsvc_flow.calendar.hours` (:class:`Shift`, :class:`BusinessHours`),
:mod:`~techsvc_flow.calendar.overlays` (:class:`Overlay`: an organisation's closure
days, extra working days and special hours), :mod:`~techsvc_flow.calendar.notices`
(reading a State Council notice), and two
private modules: ``_schedules`` (the official data and its loaders) and ``_index`` (the
day index and the interval search).
"""

from .._moved import moved as _moved
from .hours import BusinessHours, Shift
from .layers import CalendarLayer
from .overlays import Overlay
from .work import Coverage, WorkCalendar

__all__ = ["BusinessHours", "CalendarLayer", "Coverage", "Overlay", "Shift", "WorkCalendar"]

# public names of the former module techsvc_flow.calendar that now live in a submodule
__getattr__ = _moved(__name__, "techsvc_flow.calendar.hours", ["ShiftsLike"], warn_on_import=False)
