"""What the commands print: Rich tables and progress for people (colour only on a terminal),
JSON documents for scripts (``--json``), errors on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

__all__ = ["Output"]

UNBOUNDED_WIDTH = 10_000


class Output:
    def __init__(self, as_json: bool = False) -> None:
        self.as_json = as_json
        # Rich colours and animates only on a terminal; piped output is plain text.
        self.console = Console(highlight=False, soft_wrap=True)
        self.errors = Console(stderr=True, highlight=False, soft_wrap=True)
        for console in (self.console, self.errors):
            if not console.is_terminal:
                # Piped output is for grep and friends: tables are never cut to 80 columns.
                console.width = UNBOUNDED_WIDTH

    @property
    def live(self) -> bool:
        """Whether progress bars and spinners are drawn (a terminal, not ``--json``)."""
        return self.console.is_terminal and not self.as_json

    def say(self, text: str, style: str | None = None) -> None:
        """A line for people; with ``--json`` it goes to stderr so stdout stays one document."""
        (self.errors if self.as_json else self.console).print(text, style=style, markup=False)

    def error(self, text: str) -> None:
        self.errors.print(text, style="bold red", markup=False)

    def warn(self, text: str) -> None:
        self.errors.print(text, style="yellow", markup=False)

    def document(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
        sys.stdout.flush()

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
        table = Table(title=title, box=None, header_style="bold", pad_edge=False)
        for header in headers:
            table.add_column(header)
        for row in rows:
            table.add_row(*("" if cell is None else str(cell) for cell in row))
        (self.errors if self.as_json else self.console).print(table)

    def fields(self, pairs: Sequence[tuple[str, Any]]) -> None:
        width = max((len(k) for k, _ in pairs), default=0) + 1
        for key, value in pairs:
            self.say(f"{key + ':':<{width}} {'' if value is None else value}")

    @contextmanager
    def transfer(self, description: str) -> Iterator[Progress]:
        """A progress bar with bytes, rate and ETA (drawn only on a terminal)."""
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.errors if self.as_json else self.console,
            disable=not self.live,
            transient=False,
        )
        with progress:
            yield progress

    @contextmanager
    def spinners(self) -> Iterator[Progress]:
        """One spinner line per task (an instance starting), drawn only on a terminal."""
        progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/green]"),
            TextColumn("{task.description}"),
            console=self.console,
            disable=not self.live,
        )
        with progress:
            yield progress

    def stream(self) -> IO[str]:
        return sys.stderr if self.as_json else sys.stdout
