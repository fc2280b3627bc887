"""Each system buildpack's ``bin/detect`` (a shell script, for speed) and the rule its Python
code prints in the staging log agree, for every file that makes an app theirs."""

from __future__ import annotations

import importlib
import subprocess
from pathlib import Path

import pytest

from ladle.buildpacks import CATALOG, HERE, SystemBuildpack

MARKERS = ["Staticfile", "Gemfile", "package.json", "go.mod"]
MARKERS += ["requirements.txt", "pyproject.toml", "Pipfile", "setup.py"]


@pytest.mark.parametrize("buildpack", CATALOG, ids=lambda b: b.name)
def test_shell_and_python_detection_agree(buildpack: SystemBuildpack, tmp_path: Path) -> None:
    python = importlib.import_module(f"ladle.buildpacks.bpkit.{buildpack.directory}").BUILDPACK
    for marker in [None, *MARKERS]:
        app = tmp_path / (marker or "empty")
        app.mkdir()
        if marker:
            (app / marker).write_text("")
        result = subprocess.run([HERE / buildpack.directory / "bin" / "detect", app], capture_output=True, text=True)
        reason = python.detect(app)
        assert (result.returncode == 0) == (reason is not None), (buildpack.name, marker)
        assert result.stdout == (f"{python.name}\n" if reason else ""), (buildpack.name, marker)
