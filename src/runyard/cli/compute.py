"""`runyard compute list`: the workspace's compute targets."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click
from rich.table import Table

from runyard.cli.util import RunyardGroup, print_rich

if TYPE_CHECKING:
    from runyard.cli.state import State


@click.group(cls=RunyardGroup)
def compute() -> None:
    """Compute targets: where runs go."""


@compute.command("list")
@click.pass_obj
def list_compute(state: State) -> None:
    """Each compute target with its type and settings."""
    from runyard.compute import list_compute_targets

    table = Table("name", "type", "settings", box=None, pad_edge=False)
    for target in list_compute_targets(state.workspace()):
        table.add_row(target.name, target.type, json.dumps(target.config, sort_keys=True))
    print_rich(table)


@compute.command("create", sdk_names={
    "node_resources={'CPU': 4, 'GPU': 0, 'memory_gib': 16}": "--cpus 4 --gpus 0 "
                                                              "--memory-gib 16",
    "node_resources['CPU']": "--cpus", "node_resources['GPU']": "--gpus",
    "node_resources['memory_gib']": "--memory-gib"})
@click.argument("name")
@click.option("--address", help="Attach to this Ray cluster (its dashboard URL, "
                                "http://head:8265); without it, start one on this machine.")
@click.option("--min-nodes", type=int, default=0, show_default=True)
@click.option("--max-nodes", type=int, default=4, show_default=True)
@click.option("--vm-size", help="An Azure VM size (STANDARD_D2_V2, STANDARD_NC6, ...) for "
                                "each node's resources.")
@click.option("--cpus", type=float, help="CPUs per node (overrides --vm-size).")
@click.option("--gpus", type=float, help="GPUs per node (overrides --vm-size).")
@click.option("--memory-gib", type=float, help="Memory per node in GiB.")
@click.option("--idle-seconds-before-scaledown", type=int, default=1800, show_default=True)
@click.option("--no-wait", is_flag=True, help="Return once started, without waiting for "
                                              "the nodes.")
@click.pass_obj
def create_compute(state: State, name: str, address: str | None, min_nodes: int,
                   max_nodes: int, vm_size: str | None, cpus: float | None,
                   gpus: float | None, memory_gib: float | None,
                   idle_seconds_before_scaledown: int, no_wait: bool) -> None:
    """Create a Ray compute target NAME (and start its cluster unless --address)."""
    from runyard.compute import ComputeTarget, RayCompute

    resources = {key: value for key, value in (("CPU", cpus), ("GPU", gpus),
                                               ("memory_gib", memory_gib))
                 if value is not None}
    config = RayCompute.provisioning_configuration(
        address=address, min_nodes=min_nodes, max_nodes=max_nodes, vm_size=vm_size,
        node_resources=resources or None,
        idle_seconds_before_scaledown=idle_seconds_before_scaledown)
    target = ComputeTarget.create(state.workspace(), name, config)
    if not no_wait:
        target.wait_for_completion(show_output=True)
    click.echo(f"created compute target {name} ({target.type})")


@compute.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_obj
def show_compute(state: State, name: str, as_json: bool) -> None:
    """A compute target's state, nodes and what is in use on them."""
    from runyard.compute import get_compute_target

    status = get_compute_target(state.workspace(), name).describe()
    if as_json:
        click.echo(json.dumps(status, indent=2, sort_keys=True))
        return
    nodes = status.pop("nodes", None)
    table = Table("setting", "value", box=None, pad_edge=False, show_header=False)
    for key, value in status.items():
        table.add_row(key, value if isinstance(value, str) else json.dumps(value))
    print_rich(table)
    if nodes:
        listing = Table("node", "address", "status", "resources", "in use", "idle",
                        box=None, pad_edge=False)
        for node in nodes:
            idle = node.get("idle_seconds")
            listing.add_row(
                node["node_id"][:12], str(node.get("address")), str(node.get("status", "")),
                _resources(node.get("total", {})), _resources(node.get("used", {})) or "-",
                "" if idle is None else f"{idle:.0f} s")
        print_rich(listing)


def _resources(resources: dict[str, float]) -> str:
    shown = []
    for key, value in sorted(resources.items()):
        if key in ("memory", "object_store_memory"):
            shown.append(f"{key} {value / 2**30:.1f} GiB")
        elif not key.startswith("runyard_node_"):
            shown.append(f"{key} {value:g}")
    return ", ".join(shown)


@compute.command("delete")
@click.argument("name")
@click.pass_obj
def delete_compute(state: State, name: str) -> None:
    """Delete a compute target (an owned Ray cluster's nodes are stopped)."""
    from runyard.compute import get_compute_target

    get_compute_target(state.workspace(), name).delete()
    click.echo(f"deleted compute target {name}")
