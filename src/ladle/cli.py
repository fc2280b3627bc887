"""The ``ladle`` command: ``serve``, ``worker``, ``router``, ``db upgrade``, ``user add``,
``buildpacks install-defaults``, and the client commands of ``ladle.client`` (``login``, ``push``,
``apps``, ...)."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ladle import __version__
from ladle.client import COMMANDS as CLIENT_COMMANDS
from ladle.config import ConfigError, Settings
from ladle.private_data import PRIVATE_UMASK, make_private

__all__ = ["main"]


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "data_dir": Path(args.data_dir).expanduser() if getattr(args, "data_dir", None) else None,
        "database_url": getattr(args, "database_url", None),
        "external_url": getattr(args, "external_url", None),
    }
    return Settings.from_sources(os.environ, **overrides)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ladle.api.http_server import raise_open_files_limit, uvicorn_config
    from ladle.app import create_app
    from ladle.logs import configure_logging

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    # Everything the server writes (database, keys, blobs, scratch) is for its own user only.
    os.umask(PRIVATE_UMASK)
    raise_open_files_limit()
    app = create_app(settings, own_process=True)
    server = uvicorn.Server(uvicorn_config(app, settings))
    server.run()
    return 0 if server.started else 3  # uvicorn's own exit status for a server that never started


def _worker(args: argparse.Namespace) -> int:
    """Run jobs from the broker; imports no web code (tests/unit/test_worker_imports.py)."""
    from ladle.heap import settle_after_start
    from ladle.jobs.celery_executor import QUEUES, CeleryExecutor
    from ladle.logs import configure_logging
    from ladle.services import build_services

    # A worker stages and runs jobs; app instances are run by `ladle serve` nodes.
    settings = dataclasses.replace(_settings(args), runner="none")
    if settings.executor != "celery":
        raise ConfigError("ladle worker takes jobs from a broker: set LADLE_EXECUTOR=celery and LADLE_BROKER_URL")
    if settings.blobstore == "local" or not settings.database_url:
        # Its own data directory is private to it: jobs must find their bits and rows elsewhere.
        raise ConfigError(
            "ladle worker shares the API's database and blobs: set LADLE_DATABASE_URL and LADLE_BLOBSTORE=s3"
        )
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    unknown = sorted(set(queues) - set(QUEUES))
    if not queues or unknown:
        raise ConfigError(f"--queues takes a comma-separated list of {', '.join(QUEUES)}")
    configure_logging(settings.log_level, settings.log_format)
    os.umask(PRIVATE_UMASK)
    make_private(settings.data_dir)
    services = build_services(settings)
    assert isinstance(services.executor, CeleryExecutor)
    services.start()
    settle_after_start()
    try:
        services.executor.consume(queues, args.concurrency or settings.job_workers, name=services.node_id)
    finally:
        services.stop()
    return 0


def _router(args: argparse.Namespace) -> int:
    from ladle.logs import configure_logging
    from ladle.router import FileRouteSource, RouteSourceError, serve

    settings = Settings.from_sources(os.environ, router_host=args.host, router_port=args.port)
    configure_logging(settings.log_level, settings.log_format)
    try:
        source = FileRouteSource(Path(args.routes))
    except RouteSourceError as exc:
        print(f"ladle: {exc}", file=sys.stderr)
        return 2
    serve(settings, source)
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from ladle.db import migrate
    from ladle.db.session import Database

    settings = _settings(args)
    os.umask(PRIVATE_UMASK)
    make_private(settings.data_dir)
    db = Database(settings.effective_database_url)
    migrate.upgrade(db.engine)
    db.dispose()
    print(f"database at {db.engine.url.render_as_string(hide_password=True)} is up to date")
    return 0


def _user_add(args: argparse.Namespace) -> int:
    from ladle.actions.user_add import UserExists, add_user
    from ladle.db import migrate
    from ladle.db.session import Database

    settings = _settings(args)
    password = args.password
    if password is None:
        password = getpass.getpass(f"Password for {args.name}: ")
    os.umask(PRIVATE_UMASK)
    make_private(settings.data_dir)
    db = Database(settings.effective_database_url)
    migrate.upgrade(db.engine)
    try:
        guid = add_user(db, args.name, password, admin=args.admin, email=args.email, extra_scopes=args.scope)
    except UserExists as exc:
        print(f"ladle: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(f"user {args.name} added with guid {guid}")
    return 0


def _install_defaults(args: argparse.Namespace) -> int:
    from ladle.actions.system_buildpacks import install_system_buildpacks
    from ladle.bootstrap import ensure_default_stack
    from ladle.db import migrate
    from ladle.db.session import Database
    from ladle.services import make_blobstores, node_id

    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url)
    try:
        migrate.upgrade(db.engine)
        ensure_default_stack(settings, db)
        outcomes = install_system_buildpacks(settings, db, make_blobstores(settings, node_id(settings)), restore=True)
    finally:
        db.dispose()
    for outcome in outcomes:
        state = "" if outcome.enabled is None else "enabled" if outcome.enabled else "disabled"
        where = f"position {outcome.position}" if outcome.position is not None else ""
        line = "  ".join(part for part in (f"{outcome.name:<22}", f"{outcome.action:<10}", where, state) if part)
        print(line + (f" ({outcome.reason})" if outcome.reason else ""))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ladle",
        description="A Cloud Foundry v3-compatible platform API.",
        epilog="Client commands (ladle COMMAND --help): " + ", ".join(sorted(CLIENT_COMMANDS)),
    )
    parser.add_argument("--version", action="version", version=f"ladle {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="where the database, blobs and keys live (LADLE_DATA_DIR)")
    common.add_argument("--database-url", help="SQLAlchemy URL of the database (LADLE_DATABASE_URL)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run the API server")
    serve.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.add_argument("--external-url", help="base of every absolute link (LADLE_EXTERNAL_URL)")
    serve.set_defaults(run=_serve)

    worker = sub.add_parser("worker", parents=[common], help="run jobs (staging, uploads, deletes) from the broker")
    worker.add_argument(
        "--queues", default="staging,default", help="queues to take jobs from: staging, default (default both)"
    )
    worker.add_argument("--concurrency", type=int, help="jobs run at once (default LADLE_JOB_WORKERS)")
    worker.set_defaults(run=_worker)

    router = sub.add_parser("router", help="run the router alone, with routes from a file")
    router.add_argument("--routes", required=True, help="JSON or YAML route table, re-read when it changes")
    router.add_argument("--host", help="interface to listen on (LADLE_ROUTER_HOST, default 127.0.0.1)")
    router.add_argument("--port", type=int, help="port to listen on (LADLE_ROUTER_PORT, default 8081)")
    router.set_defaults(run=_router)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", parents=[common], help="migrate the database to the newest schema")
    upgrade.set_defaults(run=_db_upgrade)

    user = sub.add_parser("user", help="users of the embedded token server")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", parents=[common], help="add a user who can log in")
    add.add_argument("name")
    add.add_argument("--password", help="the password (asked for when omitted)")
    add.add_argument("--email")
    add.add_argument("--admin", action="store_true", help="grant cloud_controller.admin")
    add.add_argument(
        "--scope",
        action="append",
        default=[],
        help="an extra scope, e.g. cloud_controller.admin_read_only (repeatable)",
    )
    add.set_defaults(run=_user_add)

    buildpacks = sub.add_parser("buildpacks", help="Ladle's system buildpacks")
    buildpacks_sub = buildpacks.add_subparsers(dest="buildpacks_command", required=True)
    defaults = buildpacks_sub.add_parser(
        "install-defaults",
        parents=[common],
        help="install (or restore) the system buildpacks: deleted ones come back, disabled ones are enabled",
    )
    defaults.set_defaults(run=_install_defaults)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The server's commands (``ladle.entry`` hands the client's to ``ladle.client``)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(arguments)
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"ladle: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
