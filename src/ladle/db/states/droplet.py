"""A droplet's states.

A droplet is created STAGING (with its build), AWAITING_UPLOAD (to be uploaded), COPYING, or
STAGED (a copy of a docker droplet, which has no blob). It is STAGED only once its blob is stored.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from ladle.db.models import Droplet
from ladle.db.states.machine import StateMachine

__all__ = ["HOLDS_BITS", "DropletState", "move_droplet"]


class DropletState(StrEnum):
    AWAITING_UPLOAD = "AWAITING_UPLOAD"
    PROCESSING_UPLOAD = "PROCESSING_UPLOAD"
    COPYING = "COPYING"
    STAGING = "STAGING"
    STAGED = "STAGED"
    FAILED = "FAILED"
    # Over the app's retention limit: the row stays for history, its blob goes.
    EXPIRED = "EXPIRED"


MACHINE = StateMachine(
    Droplet,
    {
        DropletState.AWAITING_UPLOAD: frozenset({DropletState.PROCESSING_UPLOAD}),
        DropletState.PROCESSING_UPLOAD: frozenset({DropletState.STAGED, DropletState.FAILED}),
        DropletState.COPYING: frozenset({DropletState.STAGED, DropletState.FAILED}),
        # Only together with its build (ladle.db.states.build).
        DropletState.STAGING: frozenset({DropletState.STAGED, DropletState.FAILED}),
        DropletState.STAGED: frozenset({DropletState.EXPIRED}),
    },
)

# States in which the droplet's blob is, or is about to be, its content. A staging droplet's
# blob exists for a moment between its store and the STAGED update.
HOLDS_BITS = frozenset(
    {DropletState.STAGED, DropletState.PROCESSING_UPLOAD, DropletState.COPYING, DropletState.STAGING}
)


def move_droplet(session: Session, guid: str, expected: DropletState, state: DropletState, **values: Any) -> bool:
    return MACHINE.move(session, guid, expected, state, **values)
