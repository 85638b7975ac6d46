"""The subscriptions of a workflow and the delivery of its outbox.

Every write stores its events in the outbox in the same transaction as the case (see
:mod:`techsvc_flow.engine._unit`). :class:`Outbox` hands them to the subscribed
receivers: right after the commit (``dispatch="after_commit"``) and again from
:meth:`~techsvc_flow.Workflow.dispatch` for whatever is still pending; a receiver that
raises is retried with exponential backoff until ``max_attempts`` rounds, then the event
is parked as a dead letter that :meth:`~techsvc_flow.Workflow.replay` can queue again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from ..notifications import Delivery, Event, Receiver, Subscription, deliver
from ..store import Store

__all__ = ["DISPATCH_MODES", "Outbox"]

log = logging.getLogger("techsvc_flow")

#: when events are delivered: right after their commit, or only by ``dispatch()``
DISPATCH_MODES = ("after_commit", "manual")


class Outbox:
    """Subscriptions and the delivery rounds of the events stored with each change.

    Args:
        dispatch: ``"after_commit"`` or ``"manual"`` (see :data:`DISPATCH_MODES`).
        max_attempts: delivery rounds before an event is parked as dead.
        retry_base, retry_cap: the exponential backoff between rounds.
    """

    def __init__(
        self,
        *,
        dispatch: str = "after_commit",
        max_attempts: int = 8,
        retry_base: dt.timedelta = dt.timedelta(seconds=30),
        retry_cap: dt.timedelta = dt.timedelta(hours=1),
    ) -> None:
        if dispatch not in DISPATCH_MODES:
            modes = " or ".join(map(repr, DISPATCH_MODES))
            raise ValueError(f"dispatch must be {modes}, not {dispatch!r}")
        self.mode = dispatch
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.subscriptions: dict[str, Subscription] = {}

    def on(self, pattern: str, receiver: Receiver, *, name: str | None = None) -> Subscription:
        """Subscribe ``receiver`` to the event types matching ``pattern``."""
        if name is None:
            qual = getattr(receiver, "__qualname__", None) or repr(receiver)
            name = f"{getattr(receiver, '__module__', '')}.{qual}:{pattern}"
        if name in self.subscriptions:
            raise ValueError(f"a subscription named {name!r} exists already")
        sub = Subscription(pattern, receiver, name)
        self.subscriptions[name] = sub
        return sub

    def off(self, name: str) -> None:
        """Remove the subscription called ``name``."""
        self.subscriptions.pop(name, None)

    def after_commit(self, store: Store, events: Sequence[Event], at: dt.datetime) -> None:
        """Deliver a change's events right after it was committed, where that is the mode
        and the store's write is already durable (a store bound to the host's transaction
        leaves them to :meth:`dispatch`, after the host commits)."""
        if self.mode != "after_commit" or not self.subscriptions or not store.commits_itself:
            return
        for event in events:
            self.deliver(store, Delivery(event), at)

    def deliver(self, store: Store, delivery: Delivery, at: dt.datetime) -> Delivery:
        """One delivery round of ``delivery``; its new state is recorded in ``store``."""
        result = deliver(
            delivery,
            self.subscriptions,
            at,
            max_attempts=self.max_attempts,
            base=self.retry_base,
            cap=self.retry_cap,
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

    def dispatch(self, store: Store, now: dt.datetime, limit: int) -> int:
        """Deliver up to ``limit`` pending events; returns how many were fully delivered."""
        if not self.subscriptions:
            return 0
        delivered = 0
        for delivery in store.pending(now, limit):
            if self.deliver(store, delivery, now).status == "delivered":
                delivered += 1
        return delivered

    def replay(self, store: Store, event_id: str, at: dt.datetime) -> Delivery:
        """Queue a dead (or delivered) event again and try to deliver it now."""
        delivery = store.requeue(event_id, at)
        if self.subscriptions:
            delivery = self.deliver(store, delivery, at)
        return delivery
