"""The garbage collector's settings for Ladle's long-running processes (server, router, worker).

CPython's full collection walks every container object it tracks. A started server holds a
great many that live as long as it does (modules, SQLAlchemy's mappers and compiled statements,
Starlette's routes), and a large response (a page of 5,000 droplets) allocates enough to set off
a full collection: each walked the whole heap again, 70-90 ms, about once per such request
(measured on a 10k-droplet server). Freezing what start-up left moves it out of the collector's
view for good; collections then walk only what requests made.

A young collection is also set off less often: CPython's default of one per 700 net container
allocations runs hundreds of them through one large page, each promoting what is still being
built. Cyclic garbage waits a little longer for its collection (most garbage is freed by
reference counting at once, so memory barely moves: see bench.memory_bench).
"""

from __future__ import annotations

import gc
import logging

__all__ = ["THRESHOLDS", "settle_after_start"]

log = logging.getLogger("ladle")

# (young, middle, old): collections of the next generation per collection of this one.
THRESHOLDS = (50_000, 20, 10)


def settle_after_start() -> None:
    """Call once a process has started and before it serves: collect what start-up left over,
    freeze the rest, and set :data:`THRESHOLDS`."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    log.info("start-up heap frozen", extra={"objects": gc.get_freeze_count(), "thresholds": list(THRESHOLDS)})
