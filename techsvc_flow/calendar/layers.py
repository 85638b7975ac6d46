"""Calendar data as it is stored and shared: the layers loaded onto a calendar.

A :class:`CalendarLayer` is one piece of data loaded onto a calendar — a State Council
notice's text, a holiday-cn file, schedules (``{year: {holidays, workdays}}``) or an
organisation overlay — kept as text so that a store can hold it and every worker load
the same (:meth:`Workflow.add_calendar_data
<techsvc_flow.engine.workflow.Workflow.add_calendar_data>`). Layers apply in the order
they were loaded; each has a digest, so loading the same data twice stores it once.

>>> from techsvc_flow.calendar import WorkCalendar
>>> layer = CalendarLayer.of("overlay", {"name": "acme", "closed": ["2025-12-24"]})
>>> layer.kind, layer.body
('overlay', '{"closed": ["2025-12-24"], "name": "acme"}')
>>> layer.apply(WorkCalendar.china()).overlays[0].name
'acme'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import attrs

from ..errors import ScheduleError
from . import _schedules
from .overlays import Overlay

if TYPE_CHECKING:
    from .work import WorkCalendar

__all__ = ["CalendarLayer", "LayerKind"]

#: what a layer holds
LayerKind = Literal["notice", "holiday-cn", "schedules", "overlay"]
_KINDS: tuple[str, ...] = get_args(LayerKind)


@attrs.frozen
class CalendarLayer:
    """One piece of calendar data, as text: its ``kind`` and its ``body``.

    Attributes:
        kind: ``"notice"`` (the notice's text), ``"holiday-cn"`` (a holiday-cn file's
            JSON), ``"schedules"`` (JSON ``{year: {holidays, workdays, source}}``) or
            ``"overlay"`` (JSON ``{name, closed, open, hours}``).
        body: the text.
    """

    kind: str
    body: str

    def __attrs_post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ScheduleError(
                f"calendar data kind {self.kind!r}: expected one of {', '.join(_KINDS)}"
            )
        if not isinstance(self.body, str):
            raise ScheduleError(
                f"calendar data body: expected text, not {type(self.body).__name__}"
            )

    @classmethod
    def of(cls, kind: str, data: str | Mapping[str, Any] | Overlay) -> CalendarLayer:
        """A layer from a notice's text, or from data (JSON-ready; an :class:`Overlay`)."""
        if isinstance(data, Overlay):
            data = data.to_data()
        body = (
            data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, sort_keys=True)
        )
        return cls(kind, body)

    @classmethod
    def read(cls, path: str | Path) -> CalendarLayer:
        """The layer in a file: a JSON file with ``days`` is holiday-cn, a JSON or TOML
        file of years is schedules, a JSON or TOML file with ``name`` is an overlay, any
        other file is a notice's text."""
        path = Path(path)
        if path.suffix not in (".json", ".toml"):
            try:
                return cls("notice", path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                raise ScheduleError(f"{path}: cannot read notice: {exc}") from exc
        data = _schedules._read_schedule_file(path)
        if isinstance(data, Mapping) and "days" in data:
            return cls.of("holiday-cn", data)
        if isinstance(data, Mapping) and "name" in data:
            return cls.of("overlay", data)
        return cls.of("schedules", data)

    @property
    def digest(self) -> str:
        """SHA-256 hex of the kind and the body: the same data has the same digest."""
        return hashlib.sha256(f"{self.kind}\0{self.body}".encode()).hexdigest()

    def apply(self, calendar: WorkCalendar) -> WorkCalendar:
        """``calendar`` with this layer loaded.

        Raises:
            ScheduleError: the data is malformed (naming what is wrong).
        """
        if self.kind == "notice":
            return calendar.with_notice(self.body)
        try:
            data = json.loads(self.body)
        except ValueError as exc:
            raise ScheduleError(f"{self.kind} calendar data is not JSON: {exc}") from exc
        if self.kind == "holiday-cn":
            return calendar.with_holiday_cn(data)
        if self.kind == "overlay":
            return calendar.with_overlay(data)
        return calendar.with_schedules(data, source="stored schedules")
