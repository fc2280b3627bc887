"""Reading the actual state runners report: which instance row stands for each index of a process.

A process version names one generation of instances (a restart gives a new version, and the
runner replaces them). So an index shows the row of the current version, as Cloud Controller
shows the LRP of ``<process guid>-<version>``; rows of older versions are on their way out and
count as absent. The exception is a rolling deployment onto the current version: there the older
rows are the instances still serving until the rollout replaces them, so they count too, and at
an index with both the newest ``since`` wins (Cloud Controller's rule for two LRPs at one index).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.db.deployments import ACTIVE
from ladle.db.models import Deployment, Instance, Process

__all__ = ["IndexedInstances", "instances_by_index"]

IndexedInstances = dict[int, Instance]


def _rolling_out(session: Session, processes: list[Process]) -> set[str]:
    """Guids of the processes an active deployment is rolling onto their current version."""
    rows = session.execute(
        select(Deployment.process_guid, Deployment.process_version).where(
            Deployment.status_value == ACTIVE, Deployment.process_guid.in_([p.guid for p in processes])
        )
    ).all()
    versions = {p.guid: p.version for p in processes}
    return {guid for guid, version in rows if guid is not None and versions.get(guid) == version}


def instances_by_index(session: Session, processes: Iterable[Process]) -> dict[str, IndexedInstances]:
    """For each process guid, index -> the instance row shown there (indexes with none absent)."""
    wanted = list(processes)
    out: dict[str, IndexedInstances] = {p.guid: {} for p in wanted}
    if not wanted:
        return out
    rolling = _rolling_out(session, wanted)
    versions = {p.guid: p.version for p in wanted}
    rows = session.scalars(
        select(Instance).where(Instance.process_guid.in_(list(versions))).order_by(Instance.since, Instance.id)
    ).all()
    for row in rows:
        if row.process_version != versions[row.process_guid] and row.process_guid not in rolling:
            continue
        # Rows come oldest first, so a later one at the same index is the newer.
        out[row.process_guid][row.index] = row
    return out
