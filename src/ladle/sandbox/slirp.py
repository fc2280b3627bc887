"""User-mode networking for a sandbox's namespace (slirp4netns), and publishing ports through it.

slirp4netns gives the namespace a ``tap0`` (10.0.2.100, gateway 10.0.2.2, resolver 10.0.2.3)
and turns its traffic into ordinary sockets of the slirp process on the host. It runs with the
sandbox's own host credentials, with the host's loopback cut off (``--disable-host-loopback``),
inside its own sandbox and seccomp filter, and exits when Ladle closes its exit pipe (or dies).
A published port is a listening socket slirp opens on the host's 127.0.0.1, forwarded to the
port in the namespace.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["Slirp", "SlirpError"]

READY_TIMEOUT = 10.0
PUBLISH_ATTEMPTS = 5


class SlirpError(Exception):
    pass


class Slirp:
    def __init__(self, process: subprocess.Popen[bytes], exit_fd: int, api_dir: Path | None) -> None:
        self.process = process
        self._exit_fd = exit_fd
        self._api_dir = api_dir

    @classmethod
    def start(cls, binary: str, prefix: Sequence[str], target_pid: int, api_dir: Path | None) -> Slirp:
        """Attach slirp to the network namespace of ``target_pid``; returns once ``tap0`` is up."""
        ready_r, ready_w = os.pipe()
        exit_r, exit_w = os.pipe()
        command = [
            *prefix,
            binary,
            "--configure",
            "--mtu=65520",
            "--disable-host-loopback",
            "--enable-sandbox",
            "--enable-seccomp",
            f"--ready-fd={ready_w}",
            f"--exit-fd={exit_r}",
        ]
        if api_dir is not None:
            command.append(f"--api-socket={api_dir / 'api.sock'}")
        command += [str(target_pid), "tap0"]
        try:
            process = subprocess.Popen(
                command,
                pass_fds=(ready_w, exit_r),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        finally:
            os.close(ready_w)
            os.close(exit_r)
        slirp = cls(process, exit_w, api_dir)
        try:
            readable, _, _ = select.select([ready_r], [], [], READY_TIMEOUT)
            ready = os.read(ready_r, 1) if readable else b""
        finally:
            os.close(ready_r)
        if ready != b"1":
            slirp.stop()
            detail = b""
            if process.stderr is not None:
                with contextlib.suppress(OSError, ValueError):
                    detail = process.stderr.read()
            raise SlirpError(detail.decode(errors="replace").strip() or "slirp4netns did not start")
        # Nothing reads slirp's stderr from here on: a chatty slirp must not block on a full pipe.
        if process.stderr is not None:
            process.stderr.close()
        return slirp

    def _api(self, request: dict[str, object]) -> dict[str, object]:
        assert self._api_dir is not None
        # Through the directory's fd: the socket's full path may be longer than a socket address allows.
        directory = os.open(self._api_dir, os.O_PATH | os.O_DIRECTORY)
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.settimeout(5)
                client.connect(f"/proc/self/fd/{directory}/api.sock")
                client.sendall(json.dumps(request).encode())
                client.shutdown(socket.SHUT_WR)
                reply = b""
                while chunk := client.recv(65536):
                    reply += chunk
        finally:
            os.close(directory)
        answer = json.loads(reply or b"{}")
        if not isinstance(answer, dict):
            raise SlirpError(f"unexpected answer from slirp4netns: {reply!r}")
        return answer

    def publish(self, guest_port: int) -> int:
        """Forward a free port of the host's 127.0.0.1 to ``guest_port`` inside; returns the host port."""
        if self._api_dir is None:
            raise SlirpError("this sandbox was started without port publishing")
        error: object = None
        for _ in range(PUBLISH_ATTEMPTS):
            # slirp wants a concrete port: take one the kernel considers free (another process may
            # grab it in between, hence the retries).
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                host_port = int(probe.getsockname()[1])
            answer = self._api(
                {
                    "execute": "add_hostfwd",
                    "arguments": {
                        "proto": "tcp",
                        "host_addr": "127.0.0.1",
                        "host_port": host_port,
                        "guest_port": guest_port,
                    },
                }
            )
            if "return" in answer:
                return host_port
            error = answer.get("error")
            time.sleep(0.01)
        raise SlirpError(f"could not publish port {guest_port}: {error}")

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._exit_fd)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, 9)
            self.process.wait(timeout=5)
        if self.process.stderr is not None and not self.process.stderr.closed:
            self.process.stderr.close()
