"""`runyard env ...`: the environment cache on this machine (list, build, prune)."""

from __future__ import annotations

import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from runyard.cli.util import Failure, RunyardGroup, human_size, local_time, print_rich


@click.group(cls=RunyardGroup)
def env() -> None:
    """Environments built on this machine (uv virtual environments, cached by content)."""


@env.command("list")
def list_environments() -> None:
    """The cached environments: spec, size on disk, last use, whether a run holds one."""
    from runyard.environment import EnvironmentCache

    cache = EnvironmentCache()
    entries = cache.entries()
    if not entries:
        click.echo(f"no environments in {cache.root}", err=True)
        return
    table = Table("hash", "builder", "python", "packages", "size", "last used", "in use",
                  box=None, pad_edge=False)
    for entry in entries:
        spec = entry["spec"]
        packages = [*spec["pip"], *spec["conda"]]
        table.add_row(entry["hash"][:12], spec["builder"], spec["python"],
                      ", ".join(packages) or "-", human_size(entry["bytes"]),
                      local_time(entry["last_used"]), "yes" if entry["in_use"] else "")
    print_rich(table)
    click.echo(f"cache: {cache.root}", err=True)


@env.command("build")
@click.argument("requirements", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--python", "python_version", help="Python version, like 3.11 [default: this one]")
@click.option("--name", help="Environment name [default: from the file's folder]")
def build(requirements: Path, python_version: str | None, name: str | None) -> None:
    """Build (or find) the environment for a requirements file, showing the build."""
    from runyard.environment import Environment, EnvironmentCache

    default = re.sub(r"[^A-Za-z0-9._-]+", "-", requirements.resolve().parent.name) or "env"
    environment = Environment.from_pip_requirements(name or default, requirements)
    if python_version:
        environment.python.conda_dependencies.set_python_version(python_version)
    environment.check_buildable()
    cache = EnvironmentCache()
    outcome: dict[str, Any] = {}
    with tempfile.NamedTemporaryFile("w+", suffix=".txt", prefix="runyard-build-") as log:

        def work() -> None:
            try:
                outcome["prepared"] = cache.prepare(environment.build_spec(), log)
            except BaseException as e:  # noqa: BLE001 - shown by the main thread
                outcome["error"] = e

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        with open(log.name, encoding="utf-8", errors="replace") as reader:
            while worker.is_alive() or reader.tell() < Path(log.name).stat().st_size:
                chunk = reader.read()
                if chunk:
                    click.echo(chunk, nl=False)
                else:
                    time.sleep(0.1)
    if "error" in outcome:
        raise Failure(str(outcome["error"])) from outcome["error"]
    prepared = outcome["prepared"]
    prepared.release()
    click.echo(f"{'found' if prepared.cache_hit else 'built'} {prepared.hash[:12]} in "
               f"{prepared.seconds:.1f} s: {prepared.interpreter}")


@env.command("prune")
@click.option("--days", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Remove environments no run used for this many days.")
def prune(days: float) -> None:
    """Remove environments no run used lately (never one a run is using)."""
    from runyard.environment import EnvironmentCache

    removed = EnvironmentCache().prune(unused_days=days)
    for digest in removed:
        click.echo(f"removed {digest[:12]}")
    click.echo(f"{len(removed)} environment(s) removed", err=True)
