"""Retrying a fire that lost an optimistic race (:class:`~techsvc_flow.ConcurrentUpdate`).

When two writers fire on the same case at once, the store lets the first commit win
and the other raises :class:`~techsvc_flow.ConcurrentUpdate`. Firing again re-loads the
case and re-checks the state, roles and guards on the case as it now is, so a retry is
the right answer whenever the caller did not pin a version; these helpers do it, a
bounded number of times, with a short randomised pause between attempts.

>>> import datetime as dt
>>> from techsvc_flow import ProcessDefinition, State, Transition, Workflow
>>> p = ProcessDefinition(
...     name="note", version=1, states=[State("open", initial=True), State("done", final=True)],
...     transitions=[Transition("add", source="open", dest="open"),
...                  Transition("close", source="open", dest="done")],
... )
>>> wf = Workflow(processes=[p])
>>> _ = wf.start("note", case_id="N-1", at=dt.datetime(2025, 10, 9, tzinfo=dt.timezone.utc))
>>> at = dt.datetime(2025, 10, 9, 1, tzinfo=dt.timezone.utc)
>>> fire_with_retry(wf, "N-1", "add", at=at).version
2
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ConcurrentUpdate

if TYPE_CHECKING:
    import datetime as dt

    from ..case import Actor, Case
    from .workflow import Workflow

__all__ = ["fire_with_retry", "retry_on_conflict"]

T = TypeVar("T")


def retry_on_conflict(
    fn: Callable[[], T],
    /,
    *,
    attempts: int = 8,
    pause: float = 0.002,
    max_pause: float = 0.05,
    sleep: Callable[[float], object] = time.sleep,
) -> T:
    """Call ``fn`` until it does not raise :class:`ConcurrentUpdate`, ``attempts`` times at most.

    Between attempts it sleeps a random time up to ``pause · 2^(n-1)`` seconds (at most
    ``max_pause``), so that the writers that collided do not collide again in step.

    Raises:
        ConcurrentUpdate: the last attempt's conflict, when every attempt lost.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except ConcurrentUpdate:
            if attempt == attempts:
                raise
            sleep(random.uniform(0, min(max_pause, pause * 2 ** (attempt - 1))))
    raise AssertionError("unreachable")  # pragma: no cover


def fire_with_retry(
    workflow: Workflow,
    case_id: str,
    trigger: str,
    /,
    *,
    actor: Actor | str | None = None,
    payload: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
    idempotency_key: str | None = None,
    expected_version: int | None = None,
    attempts: int = 8,
    pause: float = 0.002,
) -> Case:
    """:meth:`Workflow.fire`, fired again when another writer won the race.

    Each attempt re-loads the case and re-checks the state, roles and guards, so a fire
    that has become invalid meanwhile is refused as usual (``TransitionNotAllowed``,
    ``GuardFailed``…) instead of being retried. With ``expected_version`` the caller
    pinned the case as they saw it, so a conflict is not retried: it is raised. Pass an
    ``idempotency_key`` to make a retry after an unknown outcome (a dropped connection
    during commit) safe.

    Raises:
        ConcurrentUpdate: every attempt lost, or ``expected_version`` is stale.
    """

    def fire() -> Case:
        return workflow.fire(
            case_id,
            trigger,
            actor=actor,
            payload=payload,
            at=at,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    return retry_on_conflict(
        fire, attempts=1 if expected_version is not None else attempts, pause=pause
    )
