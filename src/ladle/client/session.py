"""What every command shares: the config store, the API client, ``--json``, and one place that
turns failures into a message on stderr and an exit code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
import httpx

from ladle.client.api import ApiError, CloudController, NotLoggedIn
from ladle.client.config import ClientConfig, ConfigStore
from ladle.client.manifest import ManifestError
from ladle.client.operations import (
    EXIT_API_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NOT_TARGETED,
    EXIT_USAGE,
    STRATEGIES,
    ClientFailure,
)
from ladle.client.output import Output

__all__ = ["ClientGroup", "Session", "json_option", "pass_session", "strategy_option"]

F = TypeVar("F", bound=Callable[..., Any])


class Session:
    def __init__(self, as_json: bool = False) -> None:
        self.store = ConfigStore.from_environment()
        self.config: ClientConfig = self.store.load()
        self.out = Output(as_json)
        self._cc: CloudController | None = None

    @property
    def cc(self) -> CloudController:
        if self._cc is None:
            self._cc = CloudController(self.config, self.store, warn=self.out.warn)
        return self._cc

    def close(self) -> None:
        if self._cc is not None:
            self._cc.close()


def json_option(command: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document for scripts.")(command)


def strategy_option(command: F) -> F:
    return click.option(
        "--strategy",
        type=click.Choice(STRATEGIES),
        help="Replace instances through a deployment: new ones run before old ones stop (no downtime).",
    )(command)


def pass_session(command: Callable[..., Any]) -> Callable[..., Any]:
    """Hands the command a :class:`Session` built from its ``--json`` flag, closed afterwards."""

    @click.pass_context
    def wrapper(ctx: click.Context, /, *args: Any, as_json: bool = False, **kwargs: Any) -> Any:
        session = Session(as_json)
        ctx.call_on_close(session.close)
        ctx.obj = session
        return command(session, *args, **kwargs)

    wrapper.__name__ = command.__name__
    wrapper.__doc__ = command.__doc__
    return json_option(wrapper)


class ClientGroup(click.Group):
    """Runs a command; the server's CF error ``detail`` is printed as is."""

    def invoke(self, ctx: click.Context) -> Any:
        errors = Output().errors
        try:
            return super().invoke(ctx)
        except ApiError as exc:
            errors.print(exc.detail, style="bold red", markup=False, highlight=False)
            if exc.request_id:
                errors.print(f"Request id: {exc.request_id}", style="dim", markup=False)
            ctx.exit(EXIT_API_ERROR)
        except NotLoggedIn as exc:
            errors.print(str(exc), style="bold red", markup=False)
            ctx.exit(EXIT_NOT_TARGETED)
        except ClientFailure as exc:
            errors.print(str(exc), style="bold red", markup=False)
            ctx.exit(exc.exit_code)
        except ManifestError as exc:
            errors.print(str(exc), style="bold red", markup=False)
            ctx.exit(EXIT_USAGE)
        except httpx.TransportError as exc:
            errors.print(f"Request failed: {exc}", style="bold red", markup=False)
            ctx.exit(EXIT_API_ERROR)
        except KeyboardInterrupt:
            ctx.exit(EXIT_INTERRUPTED)
