"""go_buildpack: apps with a ``go.mod``, built with the host's Go toolchain.

With ``vendor/modules.txt`` the build uses the vendored modules only (``-mod=vendor``, no
network); otherwise modules come through ``GOPROXY``. Go's build and module caches live in the
build cache, and ``GOTOOLCHAIN=local`` keeps newer Go releases from being downloaded. (cgo stays
on when the host has a C compiler: the standard library the host's Go ships was built that way,
so only the app's own packages are compiled.) The packages built are
``GO_INSTALL_PACKAGE_SPEC`` (default: the module root) into the app's ``bin/``; the first one is
the start command unless the Procfile gives one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from .common import Buildpack, BuildpackError, Dirs, capture, header, host_tool, run, say, staging_env, warn


def read_go_mod(build: Path) -> tuple[str, tuple[int, ...] | None]:
    """The module path and the ``go`` directive's version."""
    text = (build / "go.mod").read_text(errors="replace")
    module = re.search(r'^\s*module\s+"?([^"\s]+)"?', text, re.MULTILINE)
    wanted = re.search(r"^\s*go\s+(\d+(?:\.\d+)*)", text, re.MULTILINE)
    if module is None:
        raise BuildpackError("go.mod has no module line")
    return module.group(1), tuple(int(p) for p in wanted.group(1).split(".")) if wanted else None


def packages(env: Mapping[str, str]) -> list[str]:
    return (env.get("GO_INSTALL_PACKAGE_SPEC") or ".").split()


def binary_name(build: Path, package: str) -> str | None:
    if "..." in package:
        return None
    if package in (".", "./"):
        return read_go_mod(build)[0].rstrip("/").rsplit("/", 1)[-1]
    return package.rstrip("/").rsplit("/", 1)[-1]


class Go(Buildpack):
    name = "go"
    title = "Go"

    def detect(self, build: Path) -> str | None:
        return "go.mod found" if (build / "go.mod").is_file() else None

    def supply(self, dirs: Dirs) -> None:
        go = host_tool("go")
        if go is None:
            raise BuildpackError("Go is not installed on this Ladle host (Debian: apt-get install golang-go)")
        bin_dir = dirs.dep / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        (bin_dir / "go").unlink(missing_ok=True)
        (bin_dir / "go").symlink_to(go)

    def finalize(self, dirs: Dirs) -> None:
        go = host_tool("go")
        if go is None:
            raise BuildpackError("Go is not installed on this Ladle host (Debian: apt-get install golang-go)")
        env = staging_env(dirs)
        cache = dirs.cache / "go"
        env.update(
            GOCACHE=str(cache / "build"),
            GOMODCACHE=str(cache / "mod"),
            GOPATH=str(cache / "path"),
            GOTOOLCHAIN="local",
            GO111MODULE="on",
        )
        have = capture([go, "env", "GOVERSION"], env=env) or "go"
        module, wanted = read_go_mod(dirs.build)
        say(f"Using the host's {have} for module {module}")
        have_version = tuple(int(p) for p in re.findall(r"\d+", have)[:2])
        if wanted is not None and have_version and wanted[:2] > have_version:
            warn(f"go.mod asks for go {'.'.join(map(str, wanted))}, newer than the host's {have}; the build may fail")
        vendored = (dirs.build / "vendor" / "modules.txt").is_file()
        targets = packages(env)
        how = "vendored modules, no network" if vendored else "modules through GOPROXY"
        header(f"Building {' '.join(targets)} ({how})")
        out = dirs.build / "bin"
        out.mkdir(exist_ok=True)
        mode = "-mod=vendor" if vendored else "-mod=mod"
        if run([go, "build", mode, "-o", f"{out}/", *targets], env=env, cwd=dirs.build) != 0:
            raise BuildpackError("go build failed (the compiler's message is above)")
        built = sorted(p.name for p in out.iterdir())
        say("Built bin/" + ", bin/".join(built))

    def web_command(self, build: Path, index: str) -> str | None:
        try:
            name = binary_name(build, packages(os.environ)[0])
        except (BuildpackError, OSError):
            return None
        return f"./bin/{name}" if name else None


BUILDPACK = Go()
