"""Processes that go when Ladle goes: Linux's parent-death signal, without its race.

``prctl(PR_SET_PDEATHSIG)`` only covers a parent that dies *after* the call. A parent killed
between the fork and the call leaves the child orphaned with nothing to signal it, so the child
compares its parent with the one it was started by and leaves at once when that one is gone.

The signal is kept across ``exec`` but cleared by a change of credentials (``setpriv``), so a
command that changes them asks for it again after the change (:data:`SETPRIV_PDEATHSIG`).

The same race comes back wherever a command of ours forks and its child asks for the signal
(``unshare --fork --kill-child``, ``setpriv`` between its change of uid and its request), and
there the child cannot compare parents (the init of a new pid namespace sees none). So the
last link of such a chain checks this process's *lifeline* instead (:func:`lifeline_check`): a
pipe whose write end only this process holds and never writes, which reads end-of-file once it
has gone, whoever its children's parents are by then.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
from collections.abc import Callable

__all__ = ["SETPRIV_PDEATHSIG", "die_with_parent", "lifeline_check", "preexec_die_with"]

PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Looked up once, here: a child between fork and exec must not take the dynamic loader's lock,
# which another thread of the parent may have held at the fork.
_prctl = _load_prctl()

# setpriv (util-linux >= 2.33) sets the signal again once it has changed the credentials.
SETPRIV_PDEATHSIG = ["--pdeathsig", "SIGKILL"]


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> bool:
    """In a child: receive ``sig`` when ``parent_pid`` (the thread that started this process)
    ends; if it has ended already, exit now. False when the kernel refused the request."""
    if _prctl is None:
        return False
    refused = _prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0
    if os.getppid() != parent_pid:
        os._exit(1)
    return not refused


def preexec_die_with(parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn`` for :class:`subprocess.Popen`: the child gets SIGKILL when the thread that
    spawned it ends, even one killed between the fork and the exec."""

    def preexec() -> None:
        die_with_parent(parent_pid)

    return preexec


# The lifeline reads nothing while its writer lives, and end-of-file (readable at once) once it has
# gone. A missing descriptor fails closed (``read`` alone would take it for a live writer). The
# lifeline is closed before the command runs, so nothing in a sandbox inherits it.
_CHECK = (
    'fd=$0; if [ ! -p "/dev/fd/$fd" ] || read -t 0 -u "$fd"; then'
    ' echo "ladle-sandbox: the process that started this has gone (or left no lifeline)" >&2; exit 1; fi;'
    ' exec "$@" {fd}<&-'
)


class _Lifeline:
    """This process's lifeline pipe, made on first use, and made again in a forked child."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pipe: tuple[int, int, int] | None = None  # (pid that made it, read end, write end)
        os.register_at_fork(after_in_child=self._after_fork)

    def read_end(self) -> int:
        with self._lock:
            if self._pipe is None or self._pipe[0] != os.getpid():
                if self._pipe is not None:
                    os.close(self._pipe[1])  # the parent's, inherited by this forked child
                read_end, write_end = os.pipe()  # both close on exec: no child of ours holds the write end
                self._pipe = (os.getpid(), read_end, write_end)
            return self._pipe[1]

    def _after_fork(self) -> None:
        """A forked child must not hold its parent's write end, which would keep the parent's
        lifeline open past the parent's death. (The read end stays: this also runs in the child
        of a spawn with a ``preexec_fn``, which passes it on to the command.)"""
        self._lock = threading.Lock()
        if self._pipe is not None and self._pipe[2] >= 0:
            with contextlib.suppress(OSError):
                os.close(self._pipe[2])
            self._pipe = (self._pipe[0], self._pipe[1], -1)


_lifeline = _Lifeline()


def lifeline_check() -> tuple[list[str], int]:
    """A command prefix that exits at once if this process has gone, else execs the rest, and
    the descriptor to pass to the spawn for it (``pass_fds``)."""
    read_end = _lifeline.read_end()
    return ["bash", "-c", _CHECK, str(read_end)], read_end
