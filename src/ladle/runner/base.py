"""What the rest of Ladle needs from a runner, whichever backend runs the instances."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Runner"]


class Runner(Protocol):
    def start(self) -> None:
        """Recover what this node held before a restart, then start converging."""
        ...

    def wake(self) -> None:
        """Desired state changed (committed): converge soon rather than at the next tick."""
        ...

    def shutdown(self) -> None:
        """Stop everything this node runs, cleanly, and stop converging."""
        ...
