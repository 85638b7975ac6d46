"""The subscriptions of a workflow and the delivery of its outbox.

Every write stores its events in the outbox in the same transaction as the case (see
:mod:`techsvc_flow.engine._unit`). :class:`Outbox` hands them to the subscribed
receivers. :meth:`~techsvc_flow.Workflow.dispatch` (a worker) delivers to every
receiver. With ``dispatch="after_commit"``, *local* receivers (plain callables) are
also called right after the commit, within :data:`INLINE_BUDGET`; *remote* receivers
(:func:`~techsvc_flow.notifications.is_remote`: webhooks, chat robots, e-mail) are never
called inside the request. A receiver that raises is retried with exponential backoff
until ``max_attempts`` rounds, then the event is parked as a dead letter that
:meth:`~techsvc_flow.Workflow.replay` can queue again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence

from ..errors import ConfigurationError, InvalidValue
from ..notifications import Delivery, Event, Receiver, Subscription, deliver
from ..store import Store

__all__ = ["DISPATCH_MODES", "INLINE_BUDGET", "Dispatched", "Outbox"]

log = logging.getLogger("techsvc_flow")

#: when events are delivered: right after their commit, or only by ``dispatch()``
DISPATCH_MODES = ("after_commit", "manual")

#: wall-clock time after a commit for calling local receivers in the request; once it is
#: spent no further event is handed to them there (the rest is left to ``dispatch()``)
INLINE_BUDGET = dt.timedelta(milliseconds=100)


class Dispatched(int):
    """How many events a ``dispatch()`` call fully delivered, and whether to call again.

    Attributes:
        more: the call stopped at its ``limit``: more events may be due now.

    >>> n = Dispatched(100, more=True)
    >>> n, n.more
    (100, True)
    """

    more: bool

    def __new__(cls, delivered: int, *, more: bool) -> Dispatched:
        self = super().__new__(cls, delivered)
        self.more = more
        return self

    def __repr__(self) -> str:
        return int.__repr__(self)


def _check(
    dispatch: str, max_attempts: int, retry_base: dt.timedelta, retry_cap: dt.timedelta
) -> None:
    """Refuse outbox settings that cannot work (:class:`ConfigurationError`)."""
    if dispatch not in DISPATCH_MODES:
        modes = " or ".join(map(repr, DISPATCH_MODES))
        raise ConfigurationError("Workflow.dispatch", f"must be {modes}, not {dispatch!r}")
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise ConfigurationError(
            "Workflow.max_attempts", f"must be an int of at least 1, not {max_attempts!r}"
        )
    for setting, value in (("retry_base", retry_base), ("retry_cap", retry_cap)):
        if not isinstance(value, dt.timedelta) or value <= dt.timedelta(0):
            raise ConfigurationError(
                f"Workflow.{setting}", f"must be a timedelta above zero, not {value!r}"
            )
    if retry_cap < retry_base:
        raise ConfigurationError(
            "Workflow.retry_cap", f"{retry_cap} is below retry_base ({retry_base})"
        )


class Outbox:
    """Subscriptions and the delivery rounds of the events stored with each change.

    Args:
        dispatch: ``"after_commit"`` or ``"manual"`` (see :data:`DISPATCH_MODES`).
        max_attempts: delivery rounds before an event is parked as dead (at least 1).
        retry_base, retry_cap: the exponential backoff between rounds (above zero,
            the cap not below the base).

    Raises:
        ConfigurationError: a setting above is unusable.
    """

    def __init__(
        self,
        *,
        dispatch: str = "after_commit",
        max_attempts: int = 8,
        retry_base: dt.timedelta = dt.timedelta(seconds=30),
        retry_cap: dt.timedelta = dt.timedelta(hours=1),
    ) -> None:
        _check(dispatch, max_attempts, retry_base, retry_cap)
        self.mode = dispatch
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.subscriptions: dict[str, Subscription] = {}

    def on(self, pattern: str, receiver: Receiver, *, name: str | None = None) -> Subscription:
        """Subscribe ``receiver`` to the event types matching ``pattern``.

        Raises:
            ConfigurationError: ``receiver`` is not callable, ``pattern`` or ``name``
                is not a non-empty str, or the name is taken.
        """
        if not callable(receiver):
            raise ConfigurationError(
                "Workflow.on receiver", f"must be callable, not {type(receiver).__name__}"
            )
        if not isinstance(pattern, str) or not pattern:
            raise ConfigurationError("Workflow.on pattern", "must be a non-empty str")
        if name is not None and (not isinstance(name, str) or not name):
            raise ConfigurationError("Workflow.on name", "must be a non-empty str")
        if name is None:
            qual = getattr(receiver, "__qualname__", None) or repr(receiver)
            name = f"{getattr(receiver, '__module__', '')}.{qual}:{pattern}"
        if name in self.subscriptions:
            raise ConfigurationError(
                "Workflow.on name", f"a subscription named {name!r} exists already"
            )
        sub = Subscription(pattern, receiver, name)
        self.subscriptions[name] = sub
        return sub

    def off(self, name: str) -> None:
        """Remove the subscription called ``name``."""
        self.subscriptions.pop(name, None)

    def after_commit(self, store: Store, events: Sequence[Event], at: dt.datetime) -> None:
        """Hand a change's events to the local receivers right after it was committed,
        where that is the mode and the store's write is already durable (a store bound to
        the host's transaction leaves them to :meth:`dispatch`, after the host commits).

        Remote receivers are left to :meth:`dispatch`. Once :data:`INLINE_BUDGET` has
        passed since the first call, the remaining events are left to it too.
        """
        if self.mode != "after_commit" or not store.commits_itself:
            return
        if not self.subscriptions:
            return
        # the budget bounds the request's wall-clock time, hence the monotonic clock
        stop = time.monotonic() + INLINE_BUDGET.total_seconds()
        for event in events:
            wanted = [s for s in self.subscriptions.values() if s.matches(event.type)]
            if wanted and all(s.remote for s in wanted):
                continue  # nothing to call here: the event waits in the outbox as stored
            if time.monotonic() > stop:
                return
            self.deliver(store, Delivery(event), at, remote=False)

    def deliver(
        self, store: Store, delivery: Delivery, at: dt.datetime, *, remote: bool = True
    ) -> Delivery:
        """One delivery round of ``delivery`` (to the local receivers only, unless
        ``remote``); its new state is recorded in ``store``."""
        result = deliver(
            delivery,
            self.subscriptions,
            at,
            max_attempts=self.max_attempts,
            base=self.retry_base,
            cap=self.retry_cap,
            remote=remote,
        )
        if result.last_error:
            log.warning(
                "event %s (%s) not delivered: %s",
                result.event.id,
                result.event.type,
                result.last_error,
            )
        try:
            store.save_delivery(result)
        except Exception:  # the event stays pending in the outbox and is retried
            log.exception("could not record delivery of event %s", result.event.id)
        return result

    def dispatch(self, store: Store, now: dt.datetime, limit: int) -> Dispatched:
        """Deliver up to ``limit`` pending events to every receiver; returns how many
        were fully delivered, with ``more`` set when the call stopped at ``limit``."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidValue("limit", f"must be an int of at least 1, not {limit!r}")
        if not self.subscriptions:
            return Dispatched(0, more=False)
        delivered = 0
        due = store.pending(now, limit)
        for delivery in due:
            if self.deliver(store, delivery, now).status == "delivered":
                delivered += 1
        return Dispatched(delivered, more=len(due) >= limit)

    def replay(self, store: Store, event_id: str, at: dt.datetime) -> Delivery:
        """Queue a dead (or delivered) event again and try to deliver it now."""
        delivery = store.requeue(event_id, at)
        if self.subscriptions:
            delivery = self.deliver(store, delivery, at)
        return delivery
