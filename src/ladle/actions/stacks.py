"""Create, update and delete stacks (admins only)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladle.actions.metadata_update import apply_metadata, delete_metadata
from ladle.config import Settings
from ladle.db.models import App, Stack
from ladle.errors import CFError
from ladle.messages.stack import StackChange

__all__ = ["create_stack", "delete_stack", "update_stack"]


def create_stack(session: Session, settings: Settings, change: StackChange) -> Stack:
    taken = CFError("UnprocessableEntity", "Name must be unique")
    if session.scalar(select(Stack.id).where(Stack.name == change.name)) is not None:
        raise taken
    stack = Stack(name=change.name, description=change.description)
    session.add(stack)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise taken from None
    apply_metadata(session, settings, "stack", stack.guid, change.metadata)
    session.commit()
    return stack


def update_stack(session: Session, settings: Settings, stack: Stack, change: StackChange) -> Stack:
    apply_metadata(session, settings, "stack", stack.guid, change.metadata)
    session.commit()
    return stack


def delete_stack(session: Session, stack: Stack) -> None:
    if session.scalar(select(App.id).where(App.stack == stack.name)) is not None:
        raise CFError(
            "UnprocessableEntity", f"Cannot delete stack '{stack.name}' because apps are currently using the stack."
        )
    delete_metadata(session, "stack", [stack.guid])
    session.delete(stack)
    session.commit()
