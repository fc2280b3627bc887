"""What every state machine shares: the transition table and the conditional update."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from ladle.clock import utcnow
from ladle.db.models import Build, Droplet, Job, Package
from ladle.db.session import rows_changed

__all__ = ["IllegalTransition", "StateMachine"]

# The tables with a state machine, and the enum of its states.
M = TypeVar("M", Build, Droplet, Job, Package)
S = TypeVar("S", bound=StrEnum)


class IllegalTransition(ValueError):
    """Code asked for a move the machine does not have (a bug, never a client's mistake)."""


@dataclass(frozen=True)
class StateMachine(Generic[M, S]):
    model: type[M]
    # state -> the states it may move to; a state missing here is final.
    transitions: Mapping[S, frozenset[S]]

    def check(self, expected: S, state: S) -> None:
        if state not in self.transitions.get(expected, frozenset()):
            raise IllegalTransition(f"{self.model.__name__} cannot move from {expected} to {state}")

    def move(self, session: Session, guid: str, expected: S, state: S, **values: Any) -> bool:
        """Move one row from ``expected`` (and only from it) to ``state``, setting ``values`` too;
        False if the row was not in ``expected`` (or is gone). The caller commits."""
        return self.move_where(session, self.model.guid == guid, expected, state, **values) > 0

    def move_where(self, session: Session, condition: ColumnElement[bool], expected: S, state: S, **values: Any) -> int:
        """Move every row matching ``condition`` that is in ``expected``; returns how many moved."""
        self.check(expected, state)
        result = session.execute(
            update(self.model)
            .where(condition, self.model.state == expected.value)
            .values(state=state.value, updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
        return rows_changed(result)
