"""`runyard hyperdrive ...`: a sweep from a shell (show, replay).

    runyard hyperdrive show PARENT
    runyard hyperdrive replay PARENT --policy 'Bandit(evaluation_interval=2, slack_factor=0.1)'
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click
from rich.table import Table

from runyard.cli.util import Failure, RunyardGroup, print_rich

if TYPE_CHECKING:
    from runyard.cli.state import State
    from runyard.hyperdrive.run import HyperDriveRun


@click.group(cls=RunyardGroup)
def hyperdrive() -> None:
    """HyperDrive sweeps: their children, and policies replayed over them."""


def _sweep(state: State, parent: str) -> HyperDriveRun:
    from runyard.hyperdrive.run import HyperDriveRun

    run = state.run(parent)
    if not isinstance(run, HyperDriveRun):
        raise Failure(f"run {parent} is not a HyperDrive sweep (its type is "
                      f"{run.type or 'none'}); give a sweep's parent run id")
    return run


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


@hyperdrive.command("show")
@click.argument("parent")
@click.option("--json", "as_json", is_flag=True, help="The children as JSON (v1's dicts).")
@click.pass_obj
def show(state: State, parent: str, as_json: bool) -> None:
    """A sweep's children, best first by the primary metric, with why any was stopped."""
    run = _sweep(state, parent)
    children = run.get_children_sorted_by_primary_metric()
    if as_json:
        click.echo(json.dumps(children, indent=2))
        return
    tags = run.get_tags()
    goal = run.primary_metric_goal.name.lower()
    click.echo(f"sweep {run.id}: {run.get_status()}, {goal} {run.primary_metric_name}, "
               f"{len(children)} child run(s); best {tags.get('best_child_run_id') or '-'}; "
               f"compute-seconds saved by its policy: "
               f"{tags.get('compute_seconds_saved') or '-'}")
    table = Table("run", "status", f"best {run.primary_metric_name}", "hyperparameters",
                  "stopped because", box=None, pad_edge=False)
    for child in children:
        child_tags = run.workspace.store.get_tags(child["run_id"])
        why = (child_tags.get("early_termination") or child_tags.get("canceled_by_sweep")
               or child_tags.get("primary_metric_missing") or "")
        table.add_row(child["run_id"], child["status"], _number(child["best_primary_metric"]),
                      child["hyperparameters"] or "-", why)
    print_rich(table)


@hyperdrive.command("replay")
@click.argument("parent")
@click.option("--policy", "policy_text", required=True,
              help="The policy to replay, e.g. 'Bandit(evaluation_interval=2, "
                   "slack_factor=0.1)', 'Median(delay_evaluation=5)', "
                   "'Truncation(truncation_percentage=20)'.")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
@click.pass_obj
def replay(state: State, parent: str, policy_text: str, as_json: bool) -> None:
    """Replay a policy over a sweep's stored metric histories: which children it would
    have stopped and when, the compute-seconds saved, whether the best child survives."""
    from runyard.hyperdrive.replay import format_report, parse_policy

    policy = parse_policy(policy_text)
    run = _sweep(state, parent)
    report = run.replay(policy)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, default=str))
        return
    click.echo(format_report(report, run.primary_metric_name))
