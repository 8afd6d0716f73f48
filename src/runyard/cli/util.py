"""Helpers shared by the `runyard` commands: one-line errors in the command line's own
spelling, rich output through click.

Invariants:
- Every command is a `RunyardCommand` (every group a `RunyardGroup`, whose commands and
  subgroups are made of these classes): a runyard error (and a FileNotFoundError,
  KeyError or other OSError) ends it with exit code 2 and one line `error: ...`.
- The SDK's messages name its arguments (`overwrite=True`, `max_nodes`); on the way out
  `cli_spelling` writes them as the command's options (`--overwrite`, `--max-nodes`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import IO, Any

import click
from rich.console import Console

from runyard._local import human_size as human_size
from runyard.errors import RunyardError


class Failure(click.ClickException):
    """A runyard error, shown as one line on stderr; exit code 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.message}", file=file, err=file is None)


def error_message(error: BaseException) -> str:
    if isinstance(error, KeyError) and not isinstance(error, RunyardError) and error.args:
        return str(error.args[0])  # KeyError's str() is the repr of its key
    return str(error) or type(error).__name__


def cli_spelling(text: str, command: click.Command) -> str:
    """`text` (an SDK message) with the SDK's argument names written as `command`'s options:
    `pass overwrite=True` → `pass --overwrite`, `max_nodes` → `--max-nodes`, and the names
    in the command's `sdk_names` (`source_directory` → `--source-dir`).

    An argument name is replaced where it stands as a word: `NAME=True`, a NAME with an
    underscore, or a NAME followed by "must" ("address must be a URL"); elsewhere a plain
    word such as `address` is English, and paths or run ids that contain a name are left
    alone."""
    options: dict[str, str] = {}
    for param in command.params:
        long = [opt for opt in param.opts if opt.startswith("--")]
        if isinstance(param, click.Option) and param.name and long:
            options[param.name] = long[0]
    for sdk_name, option in getattr(command, "sdk_names", {}).items():
        text = text.replace(sdk_name, option)
    if not options:
        return text

    def replace(match: re.Match[str]) -> str:
        name, value, must = match.group(1), match.group(2), match.group(3)
        if value == "=True" or "_" in name or must:
            return options[name] + (must or "")
        return match.group(0)

    names = "|".join(sorted((re.escape(name) for name in options), key=len, reverse=True))
    # not inside a word, a path or a quoted key ({'memory_gib': 16} stays Python)
    pattern = rf"(?<![\w./\\'\"-])({names})(=True)?(?![\w/\\'\"-]|\.\w|=)( must\b)?"
    return re.sub(pattern, replace, text)


class RunyardCommand(click.Command):
    """A command whose runyard errors are one `error: ...` line in its own spelling.

    `sdk_names` maps names the SDK's messages use to this command's options, where the
    option's name is not the argument's (`{"source_directory": "--source-dir"}`)."""

    def __init__(self, *args: Any, sdk_names: dict[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sdk_names = dict(sdk_names or {})

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # click's main() quiets a closed pipe (`runyard logs ... | head`)
        except (RunyardError, OSError, KeyError) as e:
            raise Failure(cli_spelling(error_message(e), self)) from e


class RunyardGroup(click.Group):
    """A group of `RunyardCommand`s; errors outside any command are one line too."""

    command_class = RunyardCommand
    group_class = type  # subgroups are RunyardGroups

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise
        except (RunyardError, OSError, KeyError) as e:
            raise Failure(error_message(e)) from e


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
