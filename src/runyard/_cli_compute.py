"""`runyard compute list`: the workspace's compute targets."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click
from rich.table import Table

from runyard._cli_util import print_rich

if TYPE_CHECKING:
    from runyard.cli import _State


@click.group()
def compute() -> None:
    """Compute targets: where runs go."""


@compute.command("list")
@click.pass_obj
def list_compute(state: _State) -> None:
    """Each compute target with its type and settings."""
    from runyard.compute import list_compute_targets

    table = Table("name", "type", "settings", box=None, pad_edge=False)
    for target in list_compute_targets(state.workspace()):
        table.add_row(target.name, target.type, json.dumps(target.config, sort_keys=True))
    print_rich(table)
