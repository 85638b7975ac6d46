"""Helpers for testing code that uses techsvc_flow.

- :mod:`techsvc_flow.testing.strategies`: Hypothesis strategies for working-time
  calendars, business hours, instants, dates and durations (needs the ``testing``
  extra: ``pip install "techsvc_flow[testing]"``);
- a clock that stands still until moved: :class:`techsvc_flow.SteppedClock`.

This package imports nothing optional itself; import the submodule you need.
"""
