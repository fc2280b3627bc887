"""The buildpack lifecycle: what Cloud Foundry's builder does with an app and its buildpacks.

Detect (or skip it when buildpacks are named), supply for every buildpack but the last,
finalize (or the legacy compile) for the last, then work out the process types from launch.yml,
``bin/release`` and the Procfile, record what each buildpack said about itself in config.yml,
and write ``staging_info.yml``. Scripts, arguments, directory names and exit codes follow the
builder so that real CF buildpacks run unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ladle.sandbox.untrusted_files import read_beneath, write_beneath
from ladle.staging.sandbox import OutputSink, Sandbox
from ladle.staging.xxhash import key_hash

__all__ = [
    "COMPILE_FAIL",
    "DETECT_FAIL",
    "RELEASE_FAIL",
    "SUPPLY_FAIL",
    "BuildpackSpec",
    "LifecycleFailure",
    "StagingResult",
    "Workspace",
    "run_lifecycle",
]

DETECT_FAIL = 222
COMPILE_FAIL = 223
RELEASE_FAIL = 224
SUPPLY_FAIL = 225
NO_START_COMMAND = (
    "No start command specified by buildpack or via Procfile.\n"
    "App will not start unless a command is provided at runtime."
)


class LifecycleFailure(Exception):
    """Staging stopped; ``exit_code`` is what the CF builder would have exited with."""

    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class BuildpackSpec:
    key: str
    path: Path
    # The admin buildpack's name, or the URL for a custom buildpack (what receipts show).
    name: str


@dataclass(frozen=True)
class Workspace:
    """Where one staging happens. The droplet root becomes the droplet: the build dir is its
    ``app/``, so nothing has to be copied when the droplet is packed."""

    droplet_root: Path
    cache_dir: Path

    @property
    def build_dir(self) -> Path:
        return self.droplet_root / "app"

    @property
    def deps_dir(self) -> Path:
        return self.droplet_root / "deps"

    @property
    def profile_dir(self) -> Path:
        return self.droplet_root / "profile.d"


@dataclass
class BuildpackRecord:
    key: str
    name: str
    version: str = ""
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class StagingResult:
    process_types: dict[str, str]
    buildpacks: list[BuildpackRecord]
    detect_output: str | None
    sidecars: list[dict[str, Any]]

    @property
    def detected_buildpack(self) -> str:
        return self.buildpacks[-1].name if self.buildpacks else ""

    @property
    def buildpack_key(self) -> str:
        return self.buildpacks[-1].key if self.buildpacks else ""


def _bin(path: Path) -> Path:
    """A buildpack's root: zips with one top-level folder hold the real one inside it."""
    if (path / "bin").is_dir():
        return path
    entries = [p for p in path.iterdir()] if path.is_dir() else []
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / "bin").is_dir():
        return entries[0]
    raise FileNotFoundError(f"malformed buildpack does not contain a /bin dir: {path}")


def _yaml(text: str) -> Any:
    return yaml.safe_load(text) if text.strip() else None


class _Runner:
    def __init__(
        self,
        workspace: Workspace,
        buildpacks: list[BuildpackSpec],
        sandbox: Sandbox,
        *,
        env: Mapping[str, str],
        say: Callable[[str], None],
        output: OutputSink,
    ) -> None:
        self.ws = workspace
        self.buildpacks = buildpacks
        self.sandbox = sandbox
        self.env = dict(env)
        self.say = say
        self.output = output
        self.width = len(str(len(buildpacks)))

    def idx(self, index: int) -> str:
        return str(index).zfill(self.width)

    def script(self, buildpack: BuildpackSpec, name: str) -> Path:
        return _bin(buildpack.path) / "bin" / name

    def run(self, script: Path, *args: Path | str, capture: bool = False) -> tuple[int, str]:
        result = self.sandbox.run(
            [script, *args],
            env=self.env,
            cwd=self.ws.build_dir,
            on_output=self.output,
            capture_stdout=capture,
        )
        return result.exit_code, result.stdout

    # --- setup ---------------------------------------------------------------------------------
    def setup(self, skip_detect: bool) -> None:
        for directory in (self.ws.build_dir, self.ws.deps_dir, self.ws.profile_dir, self.ws.cache_dir / "final"):
            directory.mkdir(parents=True, exist_ok=True)
        count = len(self.buildpacks)
        for index in range(count):
            (self.ws.deps_dir / self.idx(index)).mkdir(exist_ok=True)
        keep = {"final"}
        if skip_detect:
            for buildpack in self.buildpacks[:-1]:
                keep.add(key_hash(buildpack.key))
                (self.ws.cache_dir / key_hash(buildpack.key)).mkdir(exist_ok=True)
        # The builder removes any other top-level cache entry before it starts.
        for entry in self.ws.cache_dir.iterdir():
            if entry.name not in keep:
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        # From here on the scripts write these; Ladle reads back only through read_beneath.
        self.sandbox.hand_over(self.ws.droplet_root, self.ws.cache_dir)

    def read(self, relative: str) -> str | None:
        """A file the scripts may have written, under the droplet root (never through a link)."""
        data = read_beneath(self.ws.droplet_root, relative)
        return None if data is None else data.decode("utf-8", "replace")

    # --- detect ----------------------------------------------------------------------------------
    def detect(self) -> tuple[BuildpackSpec, str]:
        for buildpack in self.buildpacks:
            try:
                script = self.script(buildpack, "detect")
                script.stat()
            except OSError as exc:
                self.say(str(exc))
                continue
            if not os.access(script, os.X_OK):
                self.say("WARNING: buildpack script '/bin/detect' is not executable")
            code, stdout = self.run(script, self.ws.build_dir, capture=True)
            if code == 0:
                # Ladle's addition to the builder's log: which buildpack took the app.
                said = f" (detect output: {stdout.strip()})" if stdout.strip() else ""
                self.say(f"-----> {buildpack.name} detected this app{said}")
                return buildpack, stdout.strip()
        self.say("None of the buildpacks detected a compatible application")
        raise LifecycleFailure(DETECT_FAIL, "None of the buildpacks detected a compatible application")

    # --- supply / finalize / compile ----------------------------------------------------------
    def supply(self, supplies: list[BuildpackSpec]) -> None:
        for buildpack in supplies:
            try:
                missing = not self.script(buildpack, "supply").exists()
            except FileNotFoundError:
                missing = True
            if missing:
                message = (
                    "Error: one of the buildpacks chosen to supply dependencies does not support multi-buildpack apps"
                )
                self.say(message)
                raise LifecycleFailure(SUPPLY_FAIL, message)
        for index, buildpack in enumerate(supplies):
            cache = self.ws.cache_dir / key_hash(buildpack.key)
            script = self.script(buildpack, "supply")
            code, _ = self.run(script, self.ws.build_dir, cache, self.ws.deps_dir, self.idx(index))
            if code != 0:
                self.say(f"Failed to run all supply scripts: exit status {code}")
                raise LifecycleFailure(SUPPLY_FAIL, "Failed to run all supply scripts")

    def finalize(self, buildpack: BuildpackSpec, index: int, had_supplies: bool) -> None:
        cache = self.ws.cache_dir / "final"
        idx = self.idx(index)
        try:
            root = _bin(buildpack.path)
        except FileNotFoundError as exc:
            self.say(f"Failed to compile droplet: {exc}")
            raise LifecycleFailure(COMPILE_FAIL, "Failed to compile droplet") from None
        if (root / "bin" / "finalize").exists():
            # As in the builder, a failing supply or finalize of the last buildpack is reported
            # as a compile failure (its error text is wrapped in "Failed to compile droplet").
            if (root / "bin" / "supply").exists():
                code, _ = self.run(root / "bin" / "supply", self.ws.build_dir, cache, self.ws.deps_dir, idx)
                if code != 0:
                    self.say(f"Failed to compile droplet: Failed to run all supply scripts: exit status {code}")
                    raise LifecycleFailure(COMPILE_FAIL, "Failed to compile droplet")
            code, _ = self.run(
                root / "bin" / "finalize", self.ws.build_dir, cache, self.ws.deps_dir, idx, self.ws.profile_dir
            )
            if code != 0:
                self.say(f"Failed to compile droplet: Failed to run finalize script: exit status {code}")
                raise LifecycleFailure(COMPILE_FAIL, "Failed to compile droplet")
            return
        if had_supplies:
            self.say(
                "Warning: the last buildpack is not compatible with multi-buildpack apps and cannot make "
                "use of any dependencies supplied by the buildpacks specified before it"
            )
        # Supply scripts had the run of deps/: remove deps/<idx> only where it really is in it.
        if not self.ws.deps_dir.is_symlink() and self.ws.deps_dir.is_dir():
            shutil.rmtree(self.ws.deps_dir / idx, ignore_errors=True)
        code, _ = self.run(root / "bin" / "compile", self.ws.build_dir, cache)
        if code != 0:
            self.say(f"Failed to compile droplet: exit status {code}")
            raise LifecycleFailure(COMPILE_FAIL, "Failed to compile droplet")

    # --- release -------------------------------------------------------------------------------
    def launch_processes(self, index: int) -> dict[str, Any] | None:
        # The builder looks launch.yml up under the unpadded index (a quirk it has with 10+ buildpacks).
        text = self.read(f"deps/{index}/launch.yml")
        if text is None:
            return None
        try:
            parsed = _yaml(text) or {}
        except yaml.YAMLError:
            return None
        return parsed if isinstance(parsed, dict) else None

    def release(self, buildpack: BuildpackSpec) -> dict[str, str]:
        try:
            script = self.script(buildpack, "release")
        except FileNotFoundError:
            script = buildpack.path / "bin" / "release"
        code, stdout = self.run(script, self.ws.build_dir, capture=True)
        if code != 0:
            self.say(f"Failed to build droplet release: exit status {code}")
            raise LifecycleFailure(RELEASE_FAIL, "Failed to build droplet release")
        try:
            parsed = _yaml(stdout) or {}
        except yaml.YAMLError:
            self.say("Failed to build droplet release: buildpack's release output invalid")
            raise LifecycleFailure(RELEASE_FAIL, "buildpack's release output invalid") from None
        if not isinstance(parsed, dict):
            self.say("Failed to build droplet release: buildpack's release output invalid")
            raise LifecycleFailure(RELEASE_FAIL, "buildpack's release output invalid")
        types = parsed.get("default_process_types") or {}
        if not isinstance(types, dict):
            raise LifecycleFailure(RELEASE_FAIL, "buildpack's release output invalid")
        return {str(k): "" if v is None else str(v) for k, v in types.items()}

    def procfile(self) -> dict[str, str]:
        text = self.read("app/Procfile")
        if text is None:
            return {}
        try:
            parsed = _yaml(text) or {}
        except yaml.YAMLError:
            parsed = None
        if not isinstance(parsed, dict):
            self.say("Failed to read command from Procfile: invalid YAML")
            raise LifecycleFailure(1, "Failed to read command from Procfile: invalid YAML")
        return {str(k): "" if v is None else str(v) for k, v in parsed.items()}

    def config(self, index: int) -> dict[str, Any]:
        text = self.read(f"deps/{self.idx(index)}/config.yml")
        if text is None:
            return {}
        try:
            parsed = _yaml(text)
        except yaml.YAMLError:
            return {}
        return parsed if isinstance(parsed, dict) else {}


def _merge_launch(launch: dict[str, Any], process_types: dict[str, str], sidecars: dict[str, dict[str, Any]]) -> None:
    for process in launch.get("processes") or []:
        if not isinstance(process, dict) or "type" not in process:
            continue
        name, command = str(process["type"]), str(process.get("command") or "")
        sidecar_for = ((process.get("platforms") or {}).get("cloudfoundry") or {}).get("sidecar_for")
        if sidecar_for:
            sidecar: dict[str, Any] = {"name": name, "process_types": list(sidecar_for), "command": command}
            memory = (process.get("limits") or {}).get("memory")
            if memory is not None:
                sidecar["memory"] = memory
            sidecars[name] = sidecar
        else:
            process_types[name] = command


def run_lifecycle(
    workspace: Workspace,
    buildpacks: list[BuildpackSpec],
    *,
    skip_detect: bool,
    sandbox: Sandbox,
    env: Mapping[str, str],
    say: Callable[[str], None],
    output: OutputSink,
) -> StagingResult:
    """Run the buildpacks over ``workspace.build_dir`` and describe the droplet they made."""
    runner = _Runner(workspace, buildpacks, sandbox, env=env, say=say, output=output)
    runner.setup(skip_detect)
    detect_output: str | None = None
    if skip_detect:
        supplies, final = buildpacks[:-1], buildpacks[-1]
        runner.supply(supplies)
    else:
        final, detect_output = runner.detect()
        supplies = []
        runner.buildpacks = [final]
        runner.width = 1
    final_index = len(supplies)
    runner.finalize(final, final_index, had_supplies=bool(supplies))

    process_types: dict[str, str] = {}
    sidecars: dict[str, dict[str, Any]] = {}
    for index in range(len(supplies)):
        if (launch := runner.launch_processes(index)) is not None:
            _merge_launch(launch, process_types, sidecars)
    final_launch = runner.launch_processes(final_index)
    if final_launch is not None:
        _merge_launch(final_launch, process_types, sidecars)
    else:
        process_types.update(runner.release(final))
    process_types.update(runner.procfile())
    if not process_types.get("web"):
        say(NO_START_COMMAND)

    records: list[BuildpackRecord] = []
    if skip_detect:
        for index, buildpack in enumerate(buildpacks):
            config = runner.config(index)
            records.append(
                BuildpackRecord(
                    buildpack.key,
                    str(config.get("name") or ""),
                    str(config.get("version") or ""),
                    dict(config.get("config") or {}),
                )
            )
    else:
        config = runner.config(0)
        records.append(
            BuildpackRecord(
                final.key,
                str(config.get("name") or detect_output or ""),
                str(config.get("version") or ""),
                dict(config.get("config") or {}),
            )
        )
    result = StagingResult(process_types, records, detect_output, list(sidecars.values()))
    _write_staging_info(workspace, result)
    return result


def _write_staging_info(workspace: Workspace, result: StagingResult) -> None:
    info: dict[str, Any] = {
        "detected_buildpack": result.detected_buildpack,
        "start_command": result.process_types.get("web", ""),
    }
    config = result.buildpacks[-1].config if result.buildpacks else {}
    prefix = config.get("entrypoint_prefix") if isinstance(config, dict) else None
    if prefix:
        info["config"] = {"entrypoint_prefix": prefix}
    # The builder writes JSON into this .yml file (readers parse it as YAML, which accepts JSON).
    write_beneath(workspace.droplet_root, "staging_info.yml", json.dumps(info).encode())
