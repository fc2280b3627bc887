"""The manifest ``ladle push`` sends: the file's apps (when there is one) with the command-line
flags laid over them, as the cf CLI builds it (``default-route: true``, flag values verbatim)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Flags", "ManifestError", "PushPlan", "plan_push"]


class ManifestError(Exception):
    pass


@dataclass(frozen=True)
class Flags:
    name: str | None = None
    buildpacks: tuple[str, ...] = ()
    memory: str | None = None
    instances: int | None = None
    command: str | None = None
    docker_image: str | None = None


@dataclass(frozen=True)
class PushPlan:
    name: str
    directory: Path  # the app's bits (unused for a docker image)
    docker_image: str | None
    manifest: str  # the YAML for apply_manifest, this one app only


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(f"Unable to read manifest {path}: {exc}") from exc
    apps = document.get("applications") if isinstance(document, dict) else None
    if not isinstance(apps, list) or not all(isinstance(a, dict) for a in apps):
        raise ManifestError(f"Manifest {path} has no list of applications.")
    return [dict(a) for a in apps]


def plan_push(directory: Path, manifest_path: Path | None, flags: Flags) -> list[PushPlan]:
    """One plan per app to push: every app of the manifest, or the one named by ``--name``."""
    if manifest_path is None and (directory / "manifest.yml").is_file():
        manifest_path = directory / "manifest.yml"
    apps = _read(manifest_path) if manifest_path else [{}]
    base = manifest_path.parent if manifest_path else directory
    if flags.name and manifest_path:
        chosen = [a for a in apps if a.get("name") == flags.name]
        apps = chosen or ([apps[0]] if len(apps) == 1 else [])
        if not apps:
            raise ManifestError(f"Could not find app named '{flags.name}' in manifest")
    elif len(apps) > 1 and any((flags.buildpacks, flags.memory, flags.instances, flags.command, flags.docker_image)):
        raise ManifestError("Incorrect Usage: flags cannot be used with a manifest of several apps; name one.")
    plans = []
    for app in apps:
        if flags.name:
            app["name"] = flags.name
        if not app.get("name"):
            raise ManifestError("Incorrect Usage: the app name is required (--name or a manifest).")
        # Flags go on the web process when the manifest lists one, as the cf CLI does.
        web = next((p for p in app.get("processes") or [] if isinstance(p, dict) and p.get("type") == "web"), app)
        if flags.memory is not None:
            web["memory"] = flags.memory
        if flags.instances is not None:
            web["instances"] = flags.instances
        if flags.command is not None:
            web["command"] = flags.command
        if flags.buildpacks:
            app["buildpacks"] = [] if flags.buildpacks in (("default",), ("null",)) else list(flags.buildpacks)
        if flags.docker_image:
            app["docker"] = {"image": flags.docker_image}
        docker = app.get("docker") if isinstance(app.get("docker"), dict) else None
        image = str(docker["image"]) if docker and docker.get("image") else None
        path = Path(str(app["path"])) if app.get("path") else directory
        bits = path if path.is_absolute() else base / path
        app.pop("path", None)  # the bits are ours to send; the server needs no local path
        if not any(app.get(key) for key in ("no-route", "random-route")):
            app["default-route"] = True
        text = yaml.safe_dump({"applications": [app]}, sort_keys=False)
        plans.append(PushPlan(str(app["name"]), bits.resolve(), image, text))
    return plans
