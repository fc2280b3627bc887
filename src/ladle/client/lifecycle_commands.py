"""The commands that change a running app: start, stop, restart, restage, scale, delete."""

from __future__ import annotations

import re
from typing import Any

import click

from ladle.client.operations import (
    EXIT_API_ERROR,
    ClientFailure,
    current_droplet,
    deploy,
    find_app,
    stage,
    wait_for_instances,
    wait_for_job,
)
from ladle.client.session import Session, pass_session, strategy_option

__all__ = ["register"]


def _megabytes(value: str) -> int:
    match = re.fullmatch(r"(\d+)\s*([MG]B?)?", value.strip().upper())
    if not match:
        raise click.BadParameter(f"'{value}' is not a size such as 256M or 1G")
    number = int(match.group(1))
    return number * 1024 if (match.group(2) or "M").startswith("G") else number


def _report(session: Session, found: dict[str, Any], instances: list[dict[str, Any]] | None = None) -> None:
    if session.out.as_json:
        session.out.document(
            {"name": found["name"], "guid": found["guid"], "state": found["state"], "instances": instances or []}
        )
    else:
        session.out.say(f"App {found['name']} is {found['state'].lower()}.")


def _start_and_wait(session: Session, found: dict[str, Any], action: str) -> None:
    cc = session.cc
    session.out.say(f"{action.capitalize()}ing app {found['name']}...", style="bold")
    updated = cc.post(f"/v3/apps/{found['guid']}/actions/{action}")
    _report(session, updated, wait_for_instances(cc, updated, session.out).instances)


def _deploy_and_wait(session: Session, found: dict[str, Any], droplet_guid: str, strategy: str) -> None:
    cc = session.cc
    deploy(cc, found, droplet_guid, strategy, session.out)
    updated = cc.get(f"/v3/apps/{found['guid']}")
    _report(session, updated, wait_for_instances(cc, updated, session.out).instances)


@click.command()
@click.argument("name")
@pass_session
def start(session: Session, name: str) -> None:
    """Start an app and wait for its instances."""
    _start_and_wait(session, find_app(session.cc, name), "start")


@click.command()
@click.argument("name")
@strategy_option
@pass_session
def restart(session: Session, name: str, strategy: str | None) -> None:
    """Restart an app (every instance is replaced) and wait for its instances."""
    found = find_app(session.cc, name)
    if strategy is None:
        _start_and_wait(session, found, "restart")
        return
    droplet = current_droplet(session.cc, found["guid"])
    if droplet is None:
        raise ClientFailure(f"App {name} has no droplet to deploy; push or stage it first.", EXIT_API_ERROR)
    _deploy_and_wait(session, found, droplet, strategy)


@click.command()
@click.argument("name")
@pass_session
def stop(session: Session, name: str) -> None:
    """Stop an app."""
    cc = session.cc
    _report(session, cc.post(f"/v3/apps/{find_app(cc, name)['guid']}/actions/stop"))


@click.command()
@click.argument("name")
@strategy_option
@pass_session
def restage(session: Session, name: str, strategy: str | None) -> None:
    """Stage an app's newest package again and restart it on the new droplet."""
    cc = session.cc
    found = find_app(cc, name)
    package = cc.one(
        f"/v3/apps/{found['guid']}/packages", {"states": "READY", "order_by": "-created_at", "per_page": 1}
    )
    if package is None:
        raise ClientFailure(f"App {name} has no package ready to stage.", EXIT_API_ERROR)
    build = stage(cc, package["guid"], found, session.out)
    if strategy is not None:
        # As the cf CLI: the deployment sets the app's droplet once its instances run.
        _deploy_and_wait(session, found, build["droplet"]["guid"], strategy)
        return
    cc.patch(f"/v3/apps/{found['guid']}/relationships/current_droplet", {"data": {"guid": build["droplet"]["guid"]}})
    _start_and_wait(session, found, "restart")


@click.command()
@click.argument("name")
@click.option("-i", "--instances", type=int, help="Number of instances.")
@click.option("-m", "--memory", help="Memory per instance, e.g. 256M (restarts the app).")
@click.option("-k", "--disk", help="Disk per instance, e.g. 1G (restarts the app).")
@click.option("--process", "process_type", default="web", show_default=True, help="Process type.")
@pass_session
def scale(
    session: Session, *, name: str, instances: int | None, memory: str | None, disk: str | None, process_type: str
) -> None:
    """Scale a process: instances now; memory and disk apply after the restart they need."""
    cc = session.cc
    found = find_app(cc, name)
    body: dict[str, int] = {}
    if instances is not None:
        body["instances"] = instances
    if memory is not None:
        body["memory_in_mb"] = _megabytes(memory)
    if disk is not None:
        body["disk_in_mb"] = _megabytes(disk)
    process = (
        cc.post(f"/v3/apps/{found['guid']}/processes/{process_type}/actions/scale", body)
        if body
        else cc.get(f"/v3/apps/{found['guid']}/processes/{process_type}")
    )
    if (memory or disk) and found["state"] == "STARTED":
        _start_and_wait(session, found, "restart")
        return
    if session.out.as_json:
        session.out.document(process)
    else:
        session.out.fields(
            [
                ("type", process["type"]),
                ("instances", process["instances"]),
                ("memory", f"{process['memory_in_mb']}M"),
                ("disk", f"{process['disk_in_mb']}M"),
            ]
        )


@click.command()
@click.argument("name")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@click.option("-r", "--delete-routes", is_flag=True, help="Also delete the app's routes.")
@pass_session
def delete(session: Session, name: str, force: bool, delete_routes: bool) -> None:
    """Delete an app (and with -r its routes)."""
    cc = session.cc
    if not force and not click.confirm(f"Really delete the app {name}?", err=True):
        raise ClientFailure("Delete cancelled.", EXIT_API_ERROR)
    found = find_app(cc, name)
    routes = cc.list(f"/v3/apps/{found['guid']}/routes") if delete_routes else []
    response = cc.delete(f"/v3/apps/{found['guid']}")
    if "location" in response.headers:
        wait_for_job(cc, response.headers["location"])
    for route in routes:
        response = cc.delete(f"/v3/routes/{route['guid']}")
        if "location" in response.headers:
            wait_for_job(cc, response.headers["location"])
    if session.out.as_json:
        session.out.document({"deleted": found["guid"], "routes": [r["guid"] for r in routes]})
    else:
        session.out.say(f"Deleted app {name}.")


def register(group: click.Group) -> None:
    for command in (start, stop, restart, restage, scale, delete):
        group.add_command(command)
