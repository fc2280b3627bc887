"""The commands that push and show apps: push, apps, app, logs, droplets, download-droplet,
env, set-env."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from ladle.client.api import ApiError, CloudController
from ladle.client.logs import format_envelope, recent_lines, tail
from ladle.client.manifest import Flags, plan_push
from ladle.client.operations import (
    EXIT_API_ERROR,
    ClientFailure,
    current_droplet,
    find_app,
    require_space,
)
from ladle.client.push import push_app
from ladle.client.session import Session, pass_session, strategy_option

__all__ = ["register"]


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="App name (else the manifest's).")
@click.option("-b", "--buildpack", "buildpacks", multiple=True, help="Buildpack name or URL (repeatable).")
@click.option("-m", "--memory", help="Memory per instance, e.g. 256M.")
@click.option("-i", "--instances", type=int, help="Number of instances.")
@click.option("-c", "--command", help="Start command.")
@click.option("--docker-image", help="Docker image to run instead of staging bits.")
@click.option("-f", "--manifest", type=click.Path(dir_okay=False, path_type=Path), help="Manifest file.")
@click.option("--no-start", is_flag=True, help="Upload the bits but neither stage nor start.")
@strategy_option
@pass_session
def push(
    session: Session,
    *,
    directory: Path | None,
    name: str | None,
    buildpacks: tuple[str, ...],
    memory: str | None,
    instances: int | None,
    command: str | None,
    docker_image: str | None,
    manifest: Path | None,
    no_start: bool,
    strategy: str | None,
) -> None:
    """Push an app from DIRECTORY (default: here): upload what the server lacks, stage, start."""
    flags = Flags(name, buildpacks, memory, instances, command, docker_image)
    plans = plan_push((directory or Path.cwd()).resolve(), manifest, flags)
    cc, out = session.cc, session.out
    results = []
    for plan in plans:
        result = push_app(cc, plan, out, start=not no_start, strategy=strategy)
        results.append(result)
        if not out.as_json:
            out.say("")
            out.fields(
                [
                    ("name", result.name),
                    ("state", result.state.lower()),
                    ("routes", ", ".join(result.routes)),
                    ("url", ", ".join(result.urls)),
                    (
                        "instances",
                        ", ".join(f"{i['type']} #{i['index']} {i['state'].lower()}" for i in result.instances),
                    ),
                ]
            )
    if out.as_json:
        documents = [r.as_json(cc.requests) for r in results]
        out.document(documents[0] if len(documents) == 1 else documents)


def _instance_summary(process: dict[str, Any]) -> str:
    instances = process.get("process_instances")
    if isinstance(instances, list):
        running = sum(1 for i in instances if i.get("state") == "RUNNING")
        return f"{process['type']}:{running}/{process['instances']}"
    return f"{process['type']}:{process['instances']}"


def _processes_with_instances(cc: CloudController, app_guids: str) -> list[dict[str, Any]]:
    """The apps' processes with their instances embedded; an API too old for ``embed`` (before
    CC 3.211) refuses the parameter, and then the desired counts alone are shown."""
    try:
        return cc.list("/v3/processes", {"app_guids": app_guids, "embed": "process_instances"})
    except ApiError as exc:
        if exc.status != 400:
            raise
        return cc.list("/v3/processes", {"app_guids": app_guids})


@click.command()
@pass_session
def apps(session: Session) -> None:
    """List the apps of the targeted space."""
    cc = session.cc
    found = cc.list("/v3/apps", {"space_guids": require_space(cc), "order_by": "name"})
    guids = ",".join(a["guid"] for a in found)
    processes = _processes_with_instances(cc, guids) if found else []
    routes = cc.list("/v3/routes", {"app_guids": guids}) if found else []
    rows = []
    for app in found:
        mine = [p for p in processes if p["relationships"]["app"]["data"]["guid"] == app["guid"]]
        urls = [
            r["url"]
            for r in routes
            if any(d.get("app", {}).get("guid") == app["guid"] for d in r.get("destinations", []))
        ]
        rows.append(
            {
                "name": app["name"],
                "state": app["state"],
                "processes": [_instance_summary(p) for p in mine],
                "routes": urls,
                "guid": app["guid"],
            }
        )
    if session.out.as_json:
        session.out.document(rows)
        return
    session.out.table(
        ["name", "requested state", "processes", "routes"],
        [(r["name"], r["state"].lower(), ", ".join(r["processes"]), ", ".join(r["routes"])) for r in rows],
    )


@click.command()
@click.argument("name")
@pass_session
def app(session: Session, name: str) -> None:
    """Show an app: state, routes, droplet and each instance."""
    cc = session.cc
    found = find_app(cc, name)
    processes = cc.list(f"/v3/apps/{found['guid']}/processes")
    stats = {p["guid"]: cc.get(f"/v3/processes/{p['guid']}/stats").get("resources", []) for p in processes}
    routes = [r["url"] for r in cc.list(f"/v3/apps/{found['guid']}/routes")]
    droplet = current_droplet(cc, found["guid"])
    if session.out.as_json:
        session.out.document(
            {
                "app": found,
                "routes": routes,
                "current_droplet": droplet,
                "processes": [{**p, "stats": stats[p["guid"]]} for p in processes],
            }
        )
        return
    out = session.out
    out.fields(
        [
            ("name", found["name"]),
            ("requested state", found["state"].lower()),
            ("routes", ", ".join(routes)),
            ("droplet", droplet or "none"),
        ]
    )
    for process in processes:
        out.say("")
        out.fields(
            [("type", process["type"]), ("instances", process["instances"]), ("memory", f"{process['memory_in_mb']}M")]
        )
        rows = [
            (
                f"#{s.get('index')}",
                str(s.get("state", "")).lower(),
                f"{s.get('uptime', 0)}s",
                f"{(s.get('usage') or {}).get('cpu', 0) * 100:.1f}%" if s.get("usage") else "",
                f"{(s.get('usage') or {}).get('mem', 0) // (1 << 20)}M" if s.get("usage") else "",
                s.get("details") or "",
            )
            for s in stats[process["guid"]]
        ]
        if rows:
            out.table(["", "state", "uptime", "cpu", "memory", "details"], rows)
        else:
            out.say("There are no running instances of this process.")


@click.command()
@click.argument("name")
@click.option("--recent", is_flag=True, help="Print the recent lines and stop (else follow new lines).")
@pass_session
def logs(session: Session, name: str, recent: bool) -> None:
    """Print an app's log lines (staging, app, router): live, or --recent."""
    cc, out = session.cc, session.out
    found = find_app(cc, name)
    if not cc.config.log_cache:
        raise ClientFailure("The API advertises no log cache.", EXIT_API_ERROR)
    if recent:
        envelopes = recent_lines(cc, found["guid"])
        if out.as_json:
            out.document(envelopes)
        else:
            for envelope in envelopes:
                out.stream().write(f"   {format_envelope(envelope)}\n")
        return
    out.say(f"Retrieving logs for app {name}... (Ctrl-C to stop)", style="bold")
    try:
        for envelope in tail(cc, found["guid"], time.time_ns() - 1_000_000_000):
            line = format_envelope(envelope)
            if out.as_json:
                out.document(envelope)
            else:
                out.stream().write(f"   {line}\n")
                out.stream().flush()
    except KeyboardInterrupt:
        return


@click.command()
@click.argument("name")
@pass_session
def droplets(session: Session, name: str) -> None:
    """List an app's droplets; the current one is marked."""
    cc = session.cc
    found = find_app(cc, name)
    items = cc.list(f"/v3/apps/{found['guid']}/droplets", {"order_by": "-created_at"})
    current = current_droplet(cc, found["guid"])
    if session.out.as_json:
        session.out.document([{**d, "current": d["guid"] == current} for d in items])
        return
    session.out.table(
        ["guid", "state", "created", "buildpacks", ""],
        [
            (
                d["guid"],
                d["state"].lower(),
                d["created_at"],
                ", ".join(str(b.get("name")) for b in d.get("buildpacks") or []),
                "(current)" if d["guid"] == current else "",
            )
            for d in items
        ],
    )


@click.command("download-droplet")
@click.argument("name")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--droplet", "droplet_guid", help="A droplet guid (default: the current droplet).")
@pass_session
def download_droplet(session: Session, name: str, path: Path, droplet_guid: str | None) -> None:
    """Download an app's droplet to PATH (streamed, with progress)."""
    cc, out = session.cc, session.out
    found = find_app(cc, name)
    if droplet_guid is None:
        droplet_guid = current_droplet(cc, found["guid"])
        if droplet_guid is None:
            raise ClientFailure(f"App {name} has no current droplet.", EXIT_API_ERROR)
    written = 0
    partial = path.with_name(f".{path.name}.part")
    with cc.stream("GET", f"/v3/droplets/{droplet_guid}/download", follow_redirects=True) as response:
        total = int(response.headers.get("content-length", 0)) or None
        with out.transfer("Downloading") as progress, partial.open("wb") as sink:
            task = progress.add_task("Downloading", total=total)
            for chunk in response.iter_bytes(1 << 20):
                sink.write(chunk)
                written += len(chunk)
                progress.update(task, completed=written)
    partial.replace(path)
    if out.as_json:
        out.document({"droplet": droplet_guid, "path": str(path), "bytes": written})
    else:
        out.say(f"Droplet {droplet_guid} of {name} saved to {path} ({written} bytes).")


@click.command()
@click.argument("name")
@pass_session
def env(session: Session, name: str) -> None:
    """Show an app's environment: user-provided, system and running variables."""
    cc = session.cc
    document = cc.get(f"/v3/apps/{find_app(cc, name)['guid']}/env")
    if session.out.as_json:
        session.out.document(document)
        return
    for title, keys in (
        ("System-Provided", ("system_env_json", "application_env_json")),
        ("User-Provided", ("environment_variables",)),
        ("Running Environment Variable Groups", ("running_env_json",)),
        ("Staging Environment Variable Groups", ("staging_env_json",)),
    ):
        session.out.say(f"{title}:", style="bold")
        for key in keys:
            for variable, value in (document.get(key) or {}).items():
                shown = value if isinstance(value, str) else json.dumps(value, indent=2)
                session.out.say(f"{variable}: {shown}")
        session.out.say("")


@click.command("set-env")
@click.argument("name")
@click.argument("variable")
@click.argument("value")
@pass_session
def set_env(session: Session, name: str, variable: str, value: str) -> None:
    """Set an environment variable of an app (restart or restage to apply it)."""
    cc = session.cc
    found = find_app(cc, name)
    document = cc.patch(f"/v3/apps/{found['guid']}/environment_variables", {"var": {variable: value}})
    if session.out.as_json:
        session.out.document(document)
    else:
        session.out.say(f"Set {variable} for app {name}. Use 'ladle restart {name}' to apply it.")


def register(group: click.Group) -> None:
    for command in (push, apps, app, logs, droplets, download_droplet, env, set_env):
        group.add_command(command)
