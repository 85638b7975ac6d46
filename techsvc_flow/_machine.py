"""The only module that imports ``transitions`` (private).

One :class:`CompiledMachine` per process version, shared by every case: the
``transitions`` machine holds the states and the event table, and resolving a trigger
from a state is a lookup in that table. No case ever gets a ``Machine`` of its own and
``add_model`` is never called, so loading a case and firing cost the same whatever the
number of cases.
"""

from __future__ import annotations

from collections.abc import Mapping

from transitions import Machine

from .definition import ProcessDefinition, Transition

__all__ = ["CompiledMachine"]


class CompiledMachine:
    """A process definition compiled into a shared ``transitions`` machine."""

    __slots__ = ("_lookup", "_triggers", "definition", "machine")

    def __init__(self, definition: ProcessDefinition) -> None:
        self.definition = definition
        self.machine = Machine(
            model=None,
            states=[s.name for s in definition.states],
            transitions=[
                {"trigger": t.trigger, "source": src, "dest": t.dest} for src, t in definition.edges
            ],
            initial=definition.initial,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )
        # the machine's event table, keyed as (state, trigger) → our transitions in order.
        # The machine keeps the candidates of one (state, trigger) in the order they were
        # added, which is the order of ``edges``; match them by position, since two of
        # ours may share a destination (e.g. one per role, or ``"*"`` beside a state).
        ours: dict[tuple[str, str], list[Transition]] = {}
        for src, t in definition.edges:
            ours.setdefault((src, t.trigger), []).append(t)
        lookup: dict[tuple[str, str], tuple[Transition, ...]] = {}
        for trigger, event in self.machine.events.items():
            for source, candidates in event.transitions.items():
                specs = ours[(source, trigger)]
                if [str(c.dest) for c in candidates] != [t.dest for t in specs]:
                    raise RuntimeError(f"transitions reordered {trigger!r} from {source!r}")
                lookup[(source, trigger)] = tuple(specs)
        self._lookup: Mapping[tuple[str, str], tuple[Transition, ...]] = lookup
        self._triggers = {
            state: tuple(self.machine.get_triggers(state)) for state in self.machine.states
        }

    def resolve(self, state: str, trigger: str) -> tuple[Transition, ...]:
        """The transitions ``trigger`` may take from ``state`` (empty: not allowed)."""
        return self._lookup.get((state, trigger), ())

    def triggers(self, state: str) -> tuple[str, ...]:
        """The triggers defined from ``state``."""
        return self._triggers.get(state, ())
