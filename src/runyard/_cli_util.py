"""Helpers shared by the `runyard` commands: one-line errors, rich output through click."""

from __future__ import annotations

from datetime import datetime
from typing import IO, Any

import click
from rich.console import Console

from runyard._local import human_size as human_size


class Failure(click.ClickException):
    """A runyard error, shown as one line on stderr; exit code 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.message}", file=file, err=file is None)


def make_console(stderr: bool = False) -> Console:
    """Rich output without markup, so brackets in names and log lines print as they are;
    never wrapped when it goes to a file or a pipe."""
    console = Console(stderr=stderr, markup=False, highlight=False, emoji=False)
    if not console.is_terminal:
        console = Console(stderr=stderr, markup=False, highlight=False, emoji=False,
                          width=10_000)
    return console


def print_rich(*renderables: Any) -> None:
    """Print rich renderables through click (so tests capture them), lines stripped of
    the padding that tables leave at their right edge."""
    console = make_console()
    with console.capture() as capture:
        console.print(*renderables)
    click.echo("\n".join(line.rstrip() for line in capture.get().splitlines()))


def local_time(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")
