"""A process Ladle spawns in a jail goes when Ladle is killed, whenever the kill lands: right after
the spawn (while the commands in front of bubblewrap still run), or once the sandbox is up."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from ladle.sandbox.cgroups import remove_leftover_cgroups
from ladle.sandbox.parent_death import lifeline_check
from tests.support.processes import processes_with_env
from tests.support.waiting import wait_until

# Where ``tests`` imports from, for the parent below.
ROOT = Path(__file__).resolve().parents[2]

# A process of its own plays Ladle: it spawns ``sleep`` in a jail, then SIGKILLs itself.
PARENT = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    from ladle.sandbox import Jail, Limits, SandboxConfig
    from tests.support.processes import processes_with_env

    name, state, marker, delay, isolate = sys.argv[1:6]
    jail = Jail(
        SandboxConfig(isolate=isolate == "1"),
        name=name,
        state_dir=Path(state),
        mounts=[],
        limits=Limits(memory_mb=64, disk_mb=16),
    )
    jail.spawn(["sleep", "1000"], env={"PATH": "/usr/bin:/bin", "MARKER": marker}, cwd="/")
    time.sleep(float(delay))
    if float(delay):
        # Say whether the sleep runs by now, so that the test knows its check is not vacuous.
        print(len(processes_with_env(["MARKER=" + marker])), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def _marked(marker: str) -> list[int]:
    return processes_with_env([f"MARKER={marker}"])


@pytest.fixture
def marker() -> Iterator[str]:
    value = os.urandom(6).hex()
    yield value
    for pid in _marked(value):  # whatever a failed run left
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("isolate", ["1", "0"], ids=["sandboxed", "plain"])
@pytest.mark.parametrize("delay", ["0", "1.5"], ids=["killed-at-spawn", "killed-once-up"])
def test_a_killed_parent_takes_its_jailed_processes_along(
    tmp_path: Path, marker: str, delay: str, isolate: str
) -> None:
    name = f"pdtest-{marker}"
    state = tmp_path / "state"
    state.mkdir()
    parent = subprocess.run(
        [sys.executable, "-c", PARENT, name, str(state), marker, delay, isolate],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    try:
        assert parent.returncode == -signal.SIGKILL, parent.stderr.decode(errors="replace")
        if delay != "0":
            assert int(parent.stdout) > 0, "the sleep should have been running when the parent was killed"
        wait_until(lambda: not _marked(marker), timeout=15, message=lambda: f"still running: {_marked(marker)}")
    finally:
        remove_leftover_cgroups(name)


def test_no_moment_of_the_set_up_lets_a_process_outlive_a_killed_parent(tmp_path: Path) -> None:
    """Kills landing all through the set-up (bubblewrap's own die-with-parent misses a child that
    is orphaned before it asks for the signal): nothing of any of them may be left running."""
    runs = []
    for step in range(16):
        marker = os.urandom(6).hex()
        state = tmp_path / marker
        state.mkdir()
        delay = f"{step * 0.002:.3f}"
        command = [sys.executable, "-c", PARENT, f"pdtest-{marker}", str(state), marker, delay, "1"]
        runs.append((marker, subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)))
    try:
        for _marker, parent in runs:
            parent.wait(timeout=60)

        def left() -> list[int]:
            return [pid for marker, _ in runs for pid in _marked(marker)]

        wait_until(lambda: not left(), timeout=15, message=lambda: f"still running: {left()}")
    finally:
        for marker, parent in runs:
            parent.kill()
            for pid in _marked(marker):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            remove_leftover_cgroups(f"pdtest-{marker}")


# A process of its own plays Ladle again, for the lifeline alone: it forks a child that plays a
# command orphaned inside a spawn's chain (as unshare's child is when unshare dies before that
# child asks for the parent-death signal). The child waits until the parent has gone, or not,
# then execs the lifeline check with ``sleep`` after it. Another forked child lives on meanwhile.
ORPHAN = textwrap.dedent(
    """
    import os, signal, sys, time
    from ladle.sandbox.parent_death import lifeline_check

    marker, wait_for_death, verdict = sys.argv[1:4]
    check, lifeline = lifeline_check()
    os.set_inheritable(lifeline, True)  # as a spawn's pass_fds does
    parent = os.getpid()
    if os.fork() == 0:
        time.sleep(1000)  # a forked child that lives on (a worker): its copy must not keep the lifeline
    if os.fork() == 0:
        while wait_for_death == "1" and os.getppid() == parent:
            time.sleep(0.01)
        # The check's own words go to a file of the test's: its verdict, whenever it comes.
        out = os.open(verdict, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(out, 2)
        os.execvpe(check[0], [*check, "sleep", "1000"], {"PATH": "/usr/bin:/bin", "MARKER": marker})
    if wait_for_death == "1":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(1000)
    """
)


@pytest.mark.parametrize("parent_dies", [True, False], ids=["orphaned", "parent-alive"])
def test_a_command_orphaned_in_the_chain_stops_at_the_lifeline_check(
    tmp_path: Path, marker: str, parent_dies: bool
) -> None:
    """The check runs the command while the process that made the lifeline lives, and stops it
    once that one has gone, though the command's parent is another by then; a forked child's
    copy of the lifeline does not keep it open."""
    verdict = tmp_path / "verdict"
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHAN, marker, "1" if parent_dies else "0", str(verdict)],
        stderr=subprocess.PIPE,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        if parent_dies:
            assert parent.wait(timeout=30) == -signal.SIGKILL
            # No fixed pause: on a loaded machine the orphan may take long to reach its check. A
            # check that let the command through never writes this, and the sleep would run on.
            wait_until(
                lambda: verdict.exists() and b"has gone" in verdict.read_bytes(),
                timeout=30,
                message=lambda: f"no verdict from the check; running: {_marked(marker)}",
            )
            wait_until(lambda: not _marked(marker), timeout=15, message=lambda: f"still running: {_marked(marker)}")
        else:
            wait_until(lambda: _marked(marker), timeout=15, message="the command should run while its parent lives")
            assert all(_command(pid) == ["sleep", "1000"] for pid in _marked(marker))
            assert all(_open_fds(pid) == {0, 1, 2} for pid in _marked(marker)), "the lifeline leaked"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()


def _command(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def _open_fds(pid: int) -> set[int]:
    return {int(fd) for fd in os.listdir(f"/proc/{pid}/fd")}


def test_the_lifeline_check_fails_closed_without_its_descriptor(tmp_path: Path) -> None:
    """A check that was not given the lifeline (a spawn that forgot pass_fds) must not take the
    missing descriptor for a live writer."""
    check, _ = lifeline_check()
    ran = tmp_path / "ran"
    result = subprocess.run([*check, "touch", str(ran)], capture_output=True, check=False)
    assert result.returncode == 1
    assert b"has gone" in result.stderr
    assert not ran.exists()
