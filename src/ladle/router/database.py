"""The router's table from Ladle's database, and its access log into the apps' logs.

The table is every HTTP route with at least one RUNNING, routable instance among its
destinations. Rather than trusting every writer (route changes, the runner's instance updates)
to bump a counter, the source reads the table on every poll and moves its version whenever the
content changed, so no change can be missed; the query is one join over small tables.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import insert, select

from ladle.config import Settings
from ladle.db.models import Domain, Instance, LogLine, Process, Route, RouteDestination
from ladle.db.session import Database
from ladle.router.access_log import AccessLogRecord, format_access_log
from ladle.router.model import Endpoint, Snapshot
from ladle.router.model import Route as TableRoute

__all__ = ["DatabaseAccessLog", "DatabaseRouteSource"]


class DatabaseRouteSource:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._digest = b""
        self._snapshot = Snapshot(0, ())

    def _read(self) -> tuple[TableRoute, ...]:
        with self.db.session() as s:
            rows = s.execute(
                select(
                    Route.host,
                    Route.path,
                    Route.options,
                    Domain.name,
                    Instance.host,
                    Instance.port,
                    Instance.app_guid,
                    Process.type,
                    Instance.index,
                    Instance.guid,
                )
                .join(Domain, Domain.guid == Route.domain_guid)
                .join(RouteDestination, RouteDestination.route_guid == Route.guid)
                .join(
                    Process,
                    (Process.app_guid == RouteDestination.app_guid) & (Process.type == RouteDestination.process_type),
                )
                .join(Instance, Instance.process_guid == Process.guid)
                .where(
                    Route.port.is_(None),
                    Instance.state == "RUNNING",
                    Instance.routable.is_(True),
                    Instance.port.is_not(None),
                )
                .order_by(Route.id, Instance.app_guid, Instance.index, Instance.guid)
            ).all()
        grouped: dict[tuple[str, str], list[Endpoint]] = defaultdict(list)
        options: dict[tuple[str, str], dict[str, str]] = {}
        for host, path, route_options, domain, address, port, app_guid, ptype, index, guid in rows:
            name = domain if not host else f"{host}.{domain}"
            key = (name.lower(), path or "")
            options[key] = {k: str(v) for k, v in (route_options or {}).items()}
            endpoint = Endpoint(address or "127.0.0.1", int(port), app_guid, ptype, index, guid)
            if endpoint not in grouped[key]:
                grouped[key].append(endpoint)
        return tuple(TableRoute(host, path, options[(host, path)], tuple(eps)) for (host, path), eps in grouped.items())

    def version(self) -> int:
        routes = self._read()
        digest = hashlib.sha256(repr(routes).encode()).digest()
        with self._lock:
            if digest != self._digest:
                self._digest = digest
                self._snapshot = Snapshot(self._snapshot.version + 1, routes)
            return self._snapshot.version

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot


class DatabaseAccessLog:
    """Each routed request as an ``RTR`` line in its app's log, as gorouter's access log reaches it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._last_ts = 0

    def write(self, records: Sequence[AccessLogRecord]) -> None:
        rows = []
        for record in records:
            if not record.app_id:
                continue
            # Strictly increasing per writer, as log-cache readers page by timestamp.
            self._last_ts = max(record.received_at_ns, self._last_ts + 1)
            rows.append(
                {
                    "source_guid": record.app_id,
                    "build_guid": None,
                    "timestamp": self._last_ts,
                    "source_type": "RTR",
                    "instance_id": record.app_index or "0",
                    "stream": "OUT",
                    "message": format_access_log(record),
                }
            )
        if rows:
            with self.db.session() as s:
                s.execute(insert(LogLine), rows)
                s.commit()


def database_access_log(settings: Settings) -> DatabaseAccessLog:
    """A ``DatabaseAccessLog`` on the settings' database, logging as the settings say: made in the
    access log's own process (``AccessLogPipe``), from settings that pickle."""
    from ladle.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    return DatabaseAccessLog(Database(settings.effective_database_url))
