"""The one adapter to ``transitions``, and the only module that imports it (private).

What ``transitions`` does for us, exactly: when a process version is registered,
:class:`CompiledMachine` builds a ``transitions.Machine`` from the definition's states and
edges once. The library checks that graph as it builds it (every source and destination
is a declared state, the initial state exists, no automatic ``to_<state>`` triggers), and
we then hold its event table against the definition's own edges, so the two can never
disagree unnoticed. After that the machine is dropped: no case ever gets a ``Machine``
(``add_model`` is never called), and resolving a trigger is a lookup in a table made from
:attr:`ProcessDefinition.edges`, so loading a case and firing cost the same whatever the
number of cases.

Every order a user sees (the triggers of a state, ``allowed: ...`` in an error) is the
definition's own order (:meth:`ProcessDefinition.triggers_from`), never the machine's.
"""

from __future__ import annotations

from collections.abc import Mapping

from transitions import Machine

from ..definition import ProcessDefinition, Transition
from ..errors import DefinitionError

__all__ = ["CompiledMachine"]


class CompiledMachine:
    """A process definition validated by ``transitions`` and compiled into lookup tables.

    Raises:
        DefinitionError: ``transitions`` refuses the graph, or its event table does not
            match the definition's edges.
    """

    __slots__ = ("_lookup", "_triggers", "definition")

    def __init__(self, definition: ProcessDefinition) -> None:
        self.definition = definition
        ours: dict[tuple[str, str], list[Transition]] = {}
        for src, t in definition.edges:
            ours.setdefault((src, t.trigger), []).append(t)
        _check_with_transitions(definition, ours)
        self._lookup: Mapping[tuple[str, str], tuple[Transition, ...]] = {
            key: tuple(specs) for key, specs in ours.items()
        }
        self._triggers: Mapping[str, tuple[str, ...]] = {
            s.name: definition.triggers_from(s.name) for s in definition.states
        }

    def resolve(self, state: str, trigger: str) -> tuple[Transition, ...]:
        """The transitions ``trigger`` may take from ``state``, in definition order
        (empty: not allowed)."""
        return self._lookup.get((state, trigger), ())

    def triggers(self, state: str) -> tuple[str, ...]:
        """The triggers defined from ``state``, in definition order."""
        return self._triggers.get(state, ())


def _check_with_transitions(
    definition: ProcessDefinition, ours: Mapping[tuple[str, str], list[Transition]]
) -> None:
    """Build the graph once with ``transitions`` and hold its event table against ours."""
    try:
        machine = Machine(
            model=None,
            states=[s.name for s in definition.states],
            transitions=[
                {"trigger": t.trigger, "source": src, "dest": t.dest} for src, t in definition.edges
            ],
            initial=definition.initial,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )
    except ValueError as exc:  # transitions names an unknown state this way
        raise DefinitionError("transitions", str(exc)) from exc
    theirs: dict[tuple[str, str], list[str]] = {}
    for trigger, event in machine.events.items():
        for source, candidates in event.transitions.items():
            theirs[(source, trigger)] = [str(c.dest) for c in candidates]
    expected = {key: [t.dest for t in specs] for key, specs in ours.items()}
    if theirs != expected:
        raise DefinitionError(
            "transitions",
            f"process {definition.name!r}: the compiled graph does not match the edges",
        )
