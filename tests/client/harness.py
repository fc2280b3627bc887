"""Running the ``ladle`` client as a user does: the venv's ``ladle`` in a subprocess, with a
config directory of the test's own, output captured (or on a pseudo-terminal)."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LADLE", "Client", "Result"]

LADLE = str(Path(sys.executable).with_name("ladle"))
TIMEOUT = 300


# A shell without job control starts background commands with SIGINT ignored, and an ignored
# signal stays ignored across exec: the `ladle` commands these tests interrupt would never see
# their Ctrl-C. A signal this process catches is back to the default in its children.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN and threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGINT, signal.default_int_handler)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Client:
    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.env = {**os.environ, "LADLE_CLIENT_CONFIG": str(config_dir), "COLUMNS": "200"}

    def run(self, *args: str, cwd: Path | None = None, stdin: str = "") -> Result:
        done = subprocess.run(
            [LADLE, *args], capture_output=True, text=True, env=self.env, cwd=cwd, input=stdin, timeout=TIMEOUT
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, cwd: Path | None = None) -> Result:
        result = self.run(*args, cwd=cwd)
        assert result.code == 0, f"ladle {' '.join(args)} exited {result.code}:\n{result.stdout}\n{result.stderr}"
        return result

    def on_terminal(self, *args: str, cwd: Path | None = None) -> tuple[int, str]:
        """Runs with stdout and stderr on a pseudo-terminal; the exit code and all it drew."""
        controller, terminal = pty.openpty()
        env = {**self.env, "TERM": "xterm-256color"}
        process = subprocess.Popen(
            [LADLE, *args],
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=terminal,
            env=env,
            cwd=cwd,
        )
        os.close(terminal)
        drawn = bytearray()
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the other side closed: the process has ended
                    break
                if not chunk:
                    break
                drawn.extend(chunk)
            elif process.poll() is not None:
                break
        os.close(controller)
        return process.wait(timeout=30), drawn.decode("utf-8", "replace")


class Interactive:
    """A ``ladle`` command on a pseudo-terminal that the test reads from and types into."""

    def __init__(self, client: Client, *args: str, cwd: Path | None = None) -> None:
        self.controller, terminal = pty.openpty()
        env = {**client.env, "TERM": "xterm-256color"}
        self.process = subprocess.Popen(
            [LADLE, *args],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            env=env,
            cwd=cwd,
        )
        os.close(terminal)
        self.drawn = ""

    def expect(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.drawn:
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.drawn}"
            ready, _, _ = select.select([self.controller], [], [], 0.2)
            if ready:
                try:
                    self.drawn += os.read(self.controller, 65536).decode("utf-8", "replace")
                except OSError:
                    assert text in self.drawn, f"ended without {text!r}:\n{self.drawn}"

    def type(self, text: str) -> None:
        os.write(self.controller, text.encode())

    def finish(self, timeout: float = 60) -> int:
        code = self.process.wait(timeout=timeout)
        while select.select([self.controller], [], [], 0.1)[0]:
            try:
                chunk = os.read(self.controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.drawn += chunk.decode("utf-8", "replace")
        os.close(self.controller)
        return code
