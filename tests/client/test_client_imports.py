"""The client starts without the server: running a client command through the ``ladle`` entry
point loads none of the server's frameworks, nor its layers, nor even its command line."""

from __future__ import annotations

import subprocess
import sys

SERVER_SIDE = (
    "sqlalchemy",
    "starlette",
    "uvicorn",
    "alembic",
    "jwt",
    "psycopg",
    "ladle.auth",
    "ladle.db",
    "ladle.actions",
    "ladle.api",
    "ladle.services",
    "ladle.cli",
    "ladle.config",
    "importlib.metadata",  # the version comes from the source, not a scan of installed packages
)


def test_client_command_loads_nothing_of_the_server() -> None:
    probe = (
        "import sys\n"
        "from ladle.entry import main\n"
        "code = main(['target', '--help'])\n"
        f"server = {SERVER_SIDE!r}\n"
        "loaded = sorted(m for m in sys.modules if m in server or m.startswith(tuple(s + '.' for s in server)))\n"
        "print(code, loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "0 []", done.stdout
