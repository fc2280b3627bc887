"""binary_buildpack: runs what the app brings, with the command the user gives.

As on Cloud Foundry it never detects an app by itself: users name it (``cf push -b
binary_buildpack``), and the start command comes from the manifest, ``cf push -c`` or a
Procfile.
"""

from __future__ import annotations

from pathlib import Path

from .common import Buildpack, Dirs, header, procfile_command, say


class Binary(Buildpack):
    name = "binary"
    title = "Binary"

    def detect(self, build: Path) -> str | None:
        return None

    def finalize(self, dirs: Dirs) -> None:
        if procfile_command(dirs.build) is None:
            header("No start command in a Procfile")
            say("The binary buildpack runs the command you give: cf push -c, the manifest's command, or a Procfile")


BUILDPACK = Binary()
