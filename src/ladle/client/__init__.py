"""The ``ladle`` client commands: push and watch apps on any Cloud Foundry v3 API over HTTP.

Nothing here imports the server's code (``tests/unit/test_layers.py`` checks it), so the client
works against Ladle and Cloud Foundry alike; Ladle's own endpoints are used only when the API's
root document advertises them.
"""

from __future__ import annotations

__all__ = ["COMMANDS"]

# The subcommands ``ladle`` hands to the client (``cli.py`` keeps the server's own).
COMMANDS = frozenset(
    {
        "login",
        "logout",
        "target",
        "create-org",
        "create-space",
        "push",
        "apps",
        "app",
        "logs",
        "droplets",
        "download-droplet",
        "start",
        "stop",
        "restart",
        "restage",
        "scale",
        "delete",
        "env",
        "set-env",
    }
)
