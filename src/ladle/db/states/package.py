"""A package's states.

A bits package is created AWAITING_UPLOAD, a copy COPYING, a docker package READY. The row is
READY only once its blob is stored and its checksums are known.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from ladle.db.models import Package
from ladle.db.states.machine import StateMachine

__all__ = ["HOLDS_BITS", "PackageState", "move_package"]


class PackageState(StrEnum):
    AWAITING_UPLOAD = "AWAITING_UPLOAD"
    PROCESSING_UPLOAD = "PROCESSING_UPLOAD"
    COPYING = "COPYING"
    READY = "READY"
    FAILED = "FAILED"
    # Over the app's retention limit: the row stays for history, its blob goes.
    EXPIRED = "EXPIRED"


MACHINE = StateMachine(
    Package,
    {
        PackageState.AWAITING_UPLOAD: frozenset({PackageState.PROCESSING_UPLOAD}),
        PackageState.PROCESSING_UPLOAD: frozenset({PackageState.READY, PackageState.FAILED}),
        PackageState.COPYING: frozenset({PackageState.READY, PackageState.FAILED}),
        PackageState.READY: frozenset({PackageState.EXPIRED}),
    },
)

# States in which the package's blob is, or is about to be, its content (sweeps keep it).
HOLDS_BITS = frozenset({PackageState.READY, PackageState.PROCESSING_UPLOAD, PackageState.COPYING})


def move_package(session: Session, guid: str, expected: PackageState, state: PackageState, **values: Any) -> bool:
    return MACHINE.move(session, guid, expected, state, **values)
