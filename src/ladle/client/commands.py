"""The client's Click group; ``ladle.cli`` hands it the argv of a client command."""

from __future__ import annotations

from collections.abc import Sequence

import click

from ladle.client import account_commands, app_commands, lifecycle_commands
from ladle.client.session import ClientGroup

__all__ = ["client", "run"]

EPILOG = """Exit codes: 0 success; 1 the API refused (its CF error detail is printed as is);
2 bad usage or manifest; 3 not logged in or nothing targeted; 4 staging failed;
5 the app did not start; 130 interrupted."""


@click.group(cls=ClientGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
def client() -> None:
    """Push and manage apps on a Ladle or Cloud Foundry API."""


account_commands.register(client)
app_commands.register(client)
lifecycle_commands.register(client)


def run(argv: Sequence[str]) -> int:
    """Run one client command; its exit code."""
    try:
        # Without standalone mode Click returns the code a command exits with (ctx.exit).
        code = client.main(args=list(argv), prog_name="ladle", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 130
    return code if isinstance(code, int) else 0
