"""The scripts an instance runs inside its jail: the buildpack launcher and the health check.

Both are plain bash (every droplet has bash: the launcher contract needs it), handed to
``bash -c`` so nothing has to be copied into the jail.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import IO

from ladle.sandbox import Jail

__all__ = ["HEALTH_CHECK", "LAUNCHER", "OutputPipes", "launcher_argv", "output_pipes"]

# The buildpack launcher's contract: from the app directory, source the buildpacks' profile.d
# scripts, then the app's .profile.d scripts and .profile, and exec the start command through a
# shell so that ``FOO=foo ./server`` works. The two lines it prints show in the app's log.
LAUNCHER = r"""
# The jail starts us in the app directory; like Cloud Foundry's launcher, make it HOME.
export HOME="$PWD"
echo "Invoking pre-start scripts."
for f in ../profile.d/*; do [ -f "$f" ] && . "$f"; done
for f in .profile.d/*; do [ -f "$f" ] && . "$f"; done
[ -f .profile ] && . ./.profile
echo "Invoking start command."
exec bash -c "$1"
"""

# Diego's health checks, run next to the app (in its network namespace): a TCP connect to the
# port, or an HTTP GET that must answer exactly 200. Until the first pass it tries every half
# second and reports each failure ("fail <reason>"); after it reports "up" it checks every
# interval and reports "down <reason>" at the first failure, then exits.
HEALTH_CHECK = r"""
kind=$1 ip=$2 port=$3 endpoint=$4 per_try=$5 interval=$6
probe() {
    if [ "$kind" = http ]; then
        started=$(date +%s%3N)
        status=$(timeout "$per_try" bash -c '
            exec 3<>"/dev/tcp/$0/$1" || exit 90
            printf "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: diego-healthcheck\r\n" "$2" "$0" "$1" >&3
            printf "X-Forwarded-Proto: https\r\nConnection: close\r\n\r\n" >&3
            read -r _ code _ <&3 && echo "$code"' "$ip" "$port" "$endpoint" 2>/dev/null)
        rc=$?
        elapsed=$(( $(date +%s%3N) - started ))
        if [ $rc -eq 0 ] && [ "$status" = 200 ]; then return 0; fi
        if [ -n "$status" ]; then
            reason="failed to make HTTP request to '$endpoint' on port $port"
            reason="$reason: received status code $status in ${elapsed}ms"
        else
            reason="failed to make HTTP request to '$endpoint' on port $port: connection refused or timed out"
        fi
        return 1
    fi
    if timeout "$per_try" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$ip" "$port" 2>/dev/null; then return 0; fi
    reason="failed to make TCP connection to $ip:$port: connection refused"
    return 1
}
until probe; do echo "fail $reason"; sleep 0.5; done
echo up
while sleep "$interval"; do
    probe || { echo "down $reason"; exit 1; }
done
"""


def launcher_argv(command: str) -> list[str]:
    return ["/bin/bash", "-c", LAUNCHER, "launcher", command]


@dataclass
class OutputPipes:
    """The pipes a process's stdout and stderr go to: write ends for it, read ends for Ladle."""

    out_write: int
    err_write: int
    out: IO[bytes]
    err: IO[bytes]

    def close_write_ends(self) -> None:
        for fd in (self.out_write, self.err_write):
            os.close(fd)


def output_pipes(jail: Jail) -> OutputPipes:
    """Pipes owned by the sandbox's user: programs that reopen ``/dev/stdout`` (nginx's logs, for
    one) may then open them, as they could in a Cloud Foundry container."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    if jail.identity.privileged:
        for fd in (out_r, err_r):
            os.fchown(fd, jail.identity.uid, jail.identity.gid)
    return OutputPipes(out_w, err_w, os.fdopen(out_r, "rb"), os.fdopen(err_r, "rb"))
