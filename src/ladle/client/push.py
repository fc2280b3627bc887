"""``ladle push``: the cf CLI's request sequence (cf-clients §5c), with fewer requests where the
answer is already known, only unmatched files uploaded, and the staging log shown live."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ladle.client.api import CloudController, route_url
from ladle.client.bits import AppFile, scan, write_zip
from ladle.client.manifest import PushPlan
from ladle.client.operations import (
    EXIT_API_ERROR,
    EXIT_USAGE,
    ClientFailure,
    deploy,
    find_app,
    require_space,
    stage,
    wait_for_instances,
    wait_for_job,
)
from ladle.client.output import Output
from ladle.client.polling import Deadline, pauses

__all__ = ["PushResult", "push_app"]

MATCH_BATCH = 5000  # the cf CLI's limit per resource_matches request
PACKAGE_TIMEOUT = 600


@dataclass
class UploadSummary:
    files: int = 0
    bytes: int = 0
    matched_files: int = 0
    matched_bytes: int = 0
    uploaded_files: int = 0
    uploaded_bytes: int = 0  # the zip actually sent

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class PushResult:
    name: str
    guid: str = ""
    state: str = ""
    package: str = ""
    droplet: str | None = None
    routes: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    instances: list[dict[str, Any]] = field(default_factory=list)
    upload: UploadSummary | None = None

    def as_json(self, requests: int) -> dict[str, Any]:
        return {
            "name": self.name,
            "guid": self.guid,
            "state": self.state,
            "package": self.package,
            "droplet": self.droplet,
            "routes": self.routes,
            "urls": self.urls,
            "instances": self.instances,
            "upload": self.upload.as_json() if self.upload else None,
            "requests": requests,
        }


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _matched(cc: CloudController, files: list[AppFile]) -> set[str]:
    """The paths whose content the server already has (empty files are never asked about)."""
    candidates = [f for f in files if f.size > 0]
    known: set[str] = set()
    for start in range(0, len(candidates), MATCH_BATCH):
        batch = [f.resource() for f in candidates[start : start + MATCH_BATCH]]
        answer = cc.post("/v3/resource_matches", {"resources": batch})
        known.update(str(r.get("path")) for r in answer.get("resources", []))
    return known


def _wait_ready(cc: CloudController, package: dict[str, Any]) -> dict[str, Any]:
    deadline = Deadline(PACKAGE_TIMEOUT)
    for pause in pauses():
        if package["state"] in ("READY", "FAILED", "EXPIRED") or deadline.passed:
            break
        deadline.sleep(pause)
        package = cc.get(f"/v3/packages/{package['guid']}")
    if package["state"] != "READY":
        raise ClientFailure(f"Package {package['guid']} is {package['state']}.", EXIT_API_ERROR)
    return package


def _upload_bits(cc: CloudController, app: dict[str, Any], directory: Path, out: Output) -> tuple[str, UploadSummary]:
    if not directory.is_dir():
        raise ClientFailure(f"The app directory {directory} does not exist.", EXIT_USAGE)
    files = scan(directory)
    summary = UploadSummary(files=len(files), bytes=sum(f.size for f in files))
    matched = _matched(cc, files) if files else set()
    sending = [f for f in files if f.path not in matched]
    summary.matched_files = len(files) - len(sending)
    summary.matched_bytes = sum(f.size for f in files if f.path in matched)
    summary.uploaded_files = len(sending)
    resources = json.dumps([f.resource() for f in files if f.path in matched])
    parts: dict[str, Any] = {"resources": (None, resources)}
    # Zipped before the package is created: a file that cannot be read leaves no package behind.
    archive = write_zip(sending) if sending else None
    try:
        package = cc.post("/v3/packages", {"type": "bits", "relationships": {"app": {"data": {"guid": app["guid"]}}}})
        if archive is not None:
            summary.uploaded_bytes = archive.stat().st_size
        out.say(
            f"{summary.matched_files} of {summary.files} files ({_size(summary.matched_bytes)} of "
            f"{_size(summary.bytes)}) already on the server; uploading {summary.uploaded_files} files "
            f"({_size(summary.uploaded_bytes)} zipped)"
        )
        if archive is None:
            package = cc.call("POST", f"/v3/packages/{package['guid']}/upload", files=parts)
        else:
            with out.transfer("Uploading") as progress, archive.open("rb") as raw:
                reader = progress.wrap_file(raw, total=summary.uploaded_bytes, description="Uploading")
                parts["bits"] = ("package.zip", reader, "application/zip")
                package = cc.call("POST", f"/v3/packages/{package['guid']}/upload", files=parts)
    finally:
        if archive is not None:
            archive.unlink(missing_ok=True)
    return _wait_ready(cc, package)["guid"], summary


def push_app(
    cc: CloudController, plan: PushPlan, out: Output, *, start: bool = True, strategy: str | None = None
) -> PushResult:
    space = require_space(cc)
    result = PushResult(plan.name)
    who = f" as {cc.config.username}" if cc.config.username else ""
    out.say(f"Pushing app {plan.name} to org {cc.config.org_name} / space {cc.config.space_name}{who}...", style="bold")
    response = cc.send(
        "POST",
        f"/v3/spaces/{space}/actions/apply_manifest",
        content=plan.manifest.encode(),
        headers={"Content-Type": "application/x-yaml"},
    )
    if "location" in response.headers:
        wait_for_job(cc, response.headers["location"])
    app = find_app(cc, plan.name)
    result.guid = app["guid"]
    if plan.docker_image:
        package = cc.post(
            "/v3/packages",
            {
                "type": "docker",
                "data": {"image": plan.docker_image},
                "relationships": {"app": {"data": {"guid": app["guid"]}}},
            },
        )
        result.package = _wait_ready(cc, package)["guid"]
    else:
        result.package, result.upload = _upload_bits(cc, app, plan.directory, out)
    if not start:
        if app["state"] == "STARTED":
            app = cc.post(f"/v3/apps/{app['guid']}/actions/stop")
        result.state = app["state"]
        return result
    build = stage(cc, result.package, app, out)
    result.droplet = build["droplet"]["guid"]
    if strategy is not None:
        # The deployment starts the new droplet's instances beside the old ones, then sets it.
        deploy(cc, app, result.droplet, strategy, out)
        app = cc.get(f"/v3/apps/{app['guid']}")
    else:
        cc.patch(f"/v3/apps/{app['guid']}/relationships/current_droplet", {"data": {"guid": result.droplet}})
        app = cc.post(f"/v3/apps/{app['guid']}/actions/restart")
    result.state = app["state"]
    result.instances = wait_for_instances(cc, app, out).instances
    result.routes = [str(r["url"]) for r in cc.list(f"/v3/apps/{app['guid']}/routes")]
    result.urls = [route_url(cc.config.router, route) for route in result.routes]
    return result
