"""Steps several commands share: finding an app, waiting for a job, staging a package with its
log shown live, and waiting for instances to run."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import click
import httpx

from ladle.client.api import ApiError, CloudController
from ladle.client.logs import follow_build_log, format_envelope, read_envelopes
from ladle.client.output import Output
from ladle.client.polling import INSTANCE_PAUSES, Deadline, pauses

__all__ = [
    "ClientFailure",
    "StartResult",
    "current_droplet",
    "find_app",
    "require_space",
    "stage",
    "wait_for_instances",
    "wait_for_job",
]

STAGING_TIMEOUT = 15 * 60  # the cf CLI's CF_STAGING_TIMEOUT
STARTUP_TIMEOUT = 5 * 60  # and its CF_STARTUP_TIMEOUT

# Exit codes (``ladle --help`` lists them).
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_TARGETED = 3
EXIT_STAGING_FAILED = 4
EXIT_START_FAILED = 5
EXIT_INTERRUPTED = 130


class ClientFailure(Exception):
    """A failure the command reports with its own message and exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def require_space(cc: CloudController) -> str:
    if not cc.config.space_guid:
        raise ClientFailure("No space targeted. Use 'ladle target -o ORG -s SPACE' first.", EXIT_NOT_TARGETED)
    return cc.config.space_guid


def find_app(cc: CloudController, name: str) -> dict[str, Any]:
    app = cc.one("/v3/apps", {"names": name, "space_guids": require_space(cc)})
    if app is None:
        raise ClientFailure(f"App '{name}' not found.", EXIT_API_ERROR)
    return app


def current_droplet(cc: CloudController, app_guid: str) -> str | None:
    """The guid of an app's current droplet; None when it has none (CF answers 404 then)."""
    try:
        data = cc.get(f"/v3/apps/{app_guid}/relationships/current_droplet").get("data")
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise
    return str(data["guid"]) if data else None


def wait_for_job(cc: CloudController, location: str, timeout: float = 600) -> dict[str, Any]:
    deadline = Deadline(timeout)
    for pause in pauses():
        deadline.sleep(pause)
        job: dict[str, Any] = cc.get(location)
        if job.get("state") == "COMPLETE":
            return job
        if job.get("state") == "FAILED":
            raise ApiError(422, job.get("errors") or [{"detail": "The job failed."}])
        if deadline.passed:
            raise ClientFailure(f"Timed out waiting for job {job.get('guid')}.", EXIT_API_ERROR)
    raise AssertionError("unreachable")


def _watch_with_log_cache(cc: CloudController, build: dict[str, Any], app_guid: str, out: Output) -> dict[str, Any]:
    """Any CF: poll the build and read staging lines from log-cache between polls."""
    since = time.time_ns() - 2_000_000_000
    deadline = Deadline(STAGING_TIMEOUT)
    reading = True

    def show_new_lines() -> None:
        nonlocal since, reading
        if not reading:
            return
        try:
            batch = read_envelopes(cc, app_guid, since)
        except ApiError as exc:
            # As the cf CLI: no logs is a warning; the push goes on.
            out.warn(f"Failed to retrieve logs from Log Cache: {exc.detail}")
            reading = False
            return
        for envelope in sorted(batch, key=lambda e: int(e.get("timestamp", 0))):
            since = int(envelope.get("timestamp", 0)) + 1
            if (envelope.get("tags") or {}).get("source_type") == "STG":
                out.stream().write(f"   {format_envelope(envelope)}\n")

    for pause in pauses():
        show_new_lines()
        current: dict[str, Any] = cc.get(f"/v3/builds/{build['guid']}")
        if current["state"] != "STAGING" or deadline.passed:
            # The last lines were written before the build ended, maybe after the read above.
            show_new_lines()
            return current
        deadline.sleep(min(pause, 1.0))
    raise AssertionError("unreachable")


def _watch(cc: CloudController, build: dict[str, Any], app_guid: str, out: Output) -> dict[str, Any]:
    url = cc.extension("ladle_build_log", build["guid"])
    if url is None:
        return _watch_with_log_cache(cc, build, app_guid, out)

    def emit(line: str) -> None:
        out.stream().write(f"   {line}\n")
        out.stream().flush()

    try:
        follow_build_log(cc, url, emit)
    except httpx.TransportError as exc:
        out.warn(f"The staging log stream broke off: {exc}")
    # The stream ends once the build has finished: one look says how (and should the stream
    # have ended early, polling takes over).
    current: dict[str, Any] = cc.get(f"/v3/builds/{build['guid']}")
    return current if current["state"] != "STAGING" else _watch_with_log_cache(cc, build, app_guid, out)


def _offer_cancel(cc: CloudController, build: dict[str, Any], out: Output) -> None:
    url = cc.extension("ladle_build_cancel", build["guid"])
    if url is None or not sys.stdin.isatty():
        out.warn(f"Staging goes on on the server (build {build['guid']}).")
        return
    if click.confirm("\nCancel the build?", default=True, err=True):
        cc.post(url)
        out.warn("Build cancelled.")


def stage(cc: CloudController, package_guid: str, app: dict[str, Any], out: Output) -> dict[str, Any]:
    """Build a package into a droplet; the build's final JSON (raises unless STAGED)."""
    build: dict[str, Any] = cc.post("/v3/builds", {"package": {"guid": package_guid}})
    out.say(f"Staging app {app['name']}...", style="bold")
    try:
        finished = _watch(cc, build, app["guid"], out)
    except KeyboardInterrupt:
        _offer_cancel(cc, build, out)
        raise ClientFailure("Interrupted.", EXIT_INTERRUPTED) from None
    if finished["state"] == "STAGING":
        raise ClientFailure(f"Error staging application {app['name']}: timed out", EXIT_STAGING_FAILED)
    if finished["state"] != "STAGED":
        raise ClientFailure(f"Error staging application: {finished.get('error')}", EXIT_STAGING_FAILED)
    return finished


# What ``--strategy`` may name: Cloud Controller's strategies that need no extra flags.
STRATEGIES = ("rolling",)


def deploy(cc: CloudController, app: dict[str, Any], droplet_guid: str, strategy: str, out: Output) -> dict[str, Any]:
    """Replace an app's instances with ones on ``droplet_guid`` through a deployment (new ones
    start and pass their health check before old ones stop), as ``cf restart --strategy rolling``
    does; the deployment once it has ended (raises unless it deployed)."""
    out.say(f"Deploying app {app['name']} ({strategy})...", style="bold")
    deployment: dict[str, Any] = cc.post(
        "/v3/deployments",
        {
            "droplet": {"guid": droplet_guid},
            "strategy": strategy,
            "relationships": {"app": {"data": {"guid": app["guid"]}}},
        },
    )
    deadline = Deadline(STARTUP_TIMEOUT)
    for pause in pauses():
        status = deployment.get("status") or {}
        if status.get("value") == "FINALIZED":
            reason = str(status.get("reason", ""))
            if reason == "DEPLOYED":
                return deployment
            # The cf CLI's words for the ways a deployment ends without deploying (CANCELED,
            # SUPERSEDED): "Deployment has been canceled", "... superseded".
            raise ClientFailure(f"Deployment has been {reason.lower()}", EXIT_START_FAILED)
        if deadline.passed:
            raise ClientFailure(f"Timed out waiting for deployment {deployment['guid']}.", EXIT_START_FAILED)
        deadline.sleep(pause)
        deployment = cc.get(f"/v3/deployments/{deployment['guid']}")
    raise AssertionError("unreachable")


@dataclass
class StartResult:
    instances: list[dict[str, Any]] = field(default_factory=list)


def _stats_updates(cc: CloudController, guid: str, deadline: Deadline) -> Iterator[list[dict[str, Any]]]:
    """The process's stats each time they may have changed: from Ladle's stream when the API
    advertises it (one request, each change as the runner reports it), otherwise by polling."""

    def look() -> list[dict[str, Any]]:
        return list(cc.get(f"/v3/processes/{guid}/stats").get("resources", []))

    url = cc.extension("ladle_process_stats_stream", guid)
    while url is not None and not deadline.passed:
        try:
            with cc.stream("GET", url, headers={"Accept": "application/x-ndjson"}) as response:
                for line in response.iter_lines():
                    if line:
                        yield list(json.loads(line).get("resources", []))
        except (httpx.TransportError, ApiError):
            url = None  # polling takes over (and says what is wrong, if anything is)
            break
        # The stream ends once the states have settled (or after a while): one last look, and
        # should the caller still wait, a pause before the next stream.
        yield look()
        deadline.sleep(1.0)
    # No look right away: an instance started a moment ago is never running yet.
    for pause in pauses(INSTANCE_PAUSES):
        deadline.sleep(pause)
        yield look()


def wait_for_instances(cc: CloudController, app: dict[str, Any], out: Output) -> StartResult:
    """Follow each process's stats until its instances run (a spinner per instance)."""
    processes = [p for p in cc.list(f"/v3/apps/{app['guid']}/processes") if p.get("instances", 0) > 0]
    result = StartResult()
    if not processes:
        return result
    out.say("Waiting for app to start...", style="bold")
    deadline = Deadline(STARTUP_TIMEOUT)
    seen: dict[tuple[str, int], str] = {}
    done: dict[str, list[dict[str, Any]]] = {}
    with out.spinners() as spinners:
        tasks: dict[tuple[str, int], Any] = {}
        for process in processes:
            for stats in _stats_updates(cc, process["guid"], deadline):
                for entry in stats:
                    key = (process["type"], int(entry.get("index", 0)))
                    state = str(entry.get("state", "DOWN"))
                    label = f"{key[0]} #{key[1]} {state.lower()}"
                    if key not in tasks:
                        tasks[key] = spinners.add_task(label, total=1)
                    spinners.update(tasks[key], description=label, completed=1 if state == "RUNNING" else 0)
                    if not out.live and seen.get(key) != state:
                        out.say(f"   {label}")
                    seen[key] = state
                states = {str(e.get("state")) for e in stats}
                if states == {"RUNNING"}:
                    done[process["guid"]] = stats
                    break
                if states == {"CRASHED"}:
                    raise ClientFailure(
                        f"Start unsuccessful\n\nTIP: use 'ladle logs {app['name']} --recent' for more information",
                        EXIT_START_FAILED,
                    )
                if deadline.passed:
                    raise ClientFailure(
                        "Start app timeout\n\nTIP: Application must be listening on the right port. "
                        f"Use 'ladle logs {app['name']} --recent' for more information",
                        EXIT_START_FAILED,
                    )
    for process in processes:
        for entry in done.get(process["guid"], []):
            result.instances.append({"type": process["type"], "index": entry.get("index"), "state": entry.get("state")})
    return result
