"""HyperDriveRun: a sweep's parent run, and what the sweep found (v1's names and shapes).

`Experiment.submit(hd_config)` calls `submit_sweep`: it checks the child's script run as
a normal submit would (its config, its compute target) and snapshots the source once,
then writes the parent run (kind "sweep") and starts its supervisor on this machine, where
the sweep's driver (`runyard.supervisor._sweep.SweepDriver`) runs the children. Nothing is
written before every check passed.

What the parent and its children record (v1's names where v1 has one):
- parent tags `<parent>_<n>`: child n's hyperparameters as JSON (v1's `get_hyperparameters`);
  `generator_config`, `policy_config`, `primary_metric_config`, `max_total_jobs`,
  `max_concurrent_jobs`, `max_duration_minutes` (v1's settings); at the end
  `best_child_run_id`, `score` (its best primary metric) and `compute_seconds_saved`;
- parent metric `best_child_by_primary_metric`: a row per new best (metric_name,
  timestamp, run_id, metric_value, final), the last one final=True;
- parent log `logs/hyperdrive.txt`: each child's start, progress, early stop and end;
- child tag `hyperparameters` (JSON), and, when the policy stopped it, tag
  `early_termination` (why, with the numbers) and, once it ended Canceled, property
  `early_termination_decision` (the decision as JSON); a child that ended Completed (or
  Failed) before the policy's cancel took effect was not stopped early: it has tag and
  property `early_termination_finished_first` instead (why, and the decision as JSON),
  and counts neither as stopped nor in `compute_seconds_saved`; a child that logged no
  primary metric gets tag `primary_metric_missing` naming what it did log.
"""

from __future__ import annotations

import builtins
import json
import math
import sys
import time
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

from runyard import _status
from runyard.errors import NotSupportedError, RunFailedError, ValidationError
from runyard.hyperdrive._goal import PrimaryMetricGoal
from runyard.hyperdrive.runconfig import HyperDriveConfig
from runyard.run import POLL_SECONDS, Run

if TYPE_CHECKING:
    from runyard.experiment import Experiment
    from runyard.hyperdrive.policy import EarlyTerminationPolicy
    from runyard.hyperdrive.replay import ChildHistory, ReplayReport
    from runyard.workspace import Workspace

SWEEP_KIND = "sweep"
HYPERPARAMETERS_TAG = "hyperparameters"
STOP_TAG = "early_termination"
STOP_PROPERTY = "early_termination_decision"
FINISHED_FIRST_TAG = "early_termination_finished_first"
NO_METRIC_TAG = "primary_metric_missing"
BEST_TABLE = "best_child_by_primary_metric"
LOG_NAME = "logs/hyperdrive.txt"

__all__ = ["HyperDriveRun", "hyperparameters_of", "run_class_of", "submit_sweep"]


def run_class_of(workspace: Workspace, run_id: str, default: type[Run]) -> type[Run]:
    """HyperDriveRun for a sweep's parent, else `default` (also for a run not found)."""
    try:
        row = workspace.store.get_run(run_id)
    except (KeyError, LookupError):
        return default
    return HyperDriveRun if (row["config"] or {}).get("kind") == SWEEP_KIND else default


def hyperparameters_of(tags: Mapping[str, str | None]) -> dict[str, Any]:
    """A child's hyperparameters from its tags ({} where there are none)."""
    text = tags.get(HYPERPARAMETERS_TAG)
    if not text:
        return {}
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return dict(found) if isinstance(found, dict) else {}


def sweep_tags(config: HyperDriveConfig) -> dict[str, str]:
    """v1's settings tags on the parent."""
    return {"generator_config": json.dumps(config._generator_config),
            "policy_config": json.dumps(config._policy_config),
            "primary_metric_config": json.dumps(config._primary_metric_config),
            "max_total_jobs": str(config.max_total_runs),
            "max_concurrent_jobs": str(config.max_concurrent_runs),
            "max_duration_minutes": str(config.max_duration_minutes)}


def submit_sweep(experiment: Experiment, config: HyperDriveConfig,
                 tags: Mapping[str, Any] | None = None) -> HyperDriveRun:
    """Write a sweep's parent run and start its driver (see the module doc)."""
    run_id = write_parent(experiment, config, tags)
    try:  # the sweep's driver runs on this machine, whatever its children's compute
        from runyard.compute import get_compute_target

        get_compute_target(experiment.workspace, "local").launch(run_id)
    except Exception as e:
        experiment.workspace.store.set_status(run_id, _status.FAILED,
                                              error=f"could not start the sweep: {e}")
        raise
    return HyperDriveRun(experiment, run_id, hyperdrive_config=config)


def write_parent(experiment: Experiment, config: HyperDriveConfig,
                 tags: Mapping[str, Any] | None = None) -> str:
    """Check a sweep and write its parent run, NotStarted (its driver not started); the
    run's id. Nothing is written unless every check passes."""
    from runyard import _validation
    from runyard.artifacts import snapshot
    from runyard.compute import get_compute_target
    from runyard.experiment import _tags, new_run_id
    from runyard.hyperdrive.sampling import GridParameterSampling

    ws = experiment.workspace
    target = config.estimator if config.estimator is not None else config.run_config
    submission = target._submission()
    _validation.check_process_config(submission.config)
    compute = get_compute_target(ws, submission.compute_target)
    compute.check_submission(submission.config)
    if not isinstance(config.hyperparameter_sampling, GridParameterSampling):
        import importlib.util

        if importlib.util.find_spec("optuna") is None:
            from runyard.errors import MissingExtraError

            raise MissingExtraError("Random and Bayesian sampling need Optuna 5: pip install "
                                    "'runyard[hyperdrive]'", package="optuna")
    clean_tags = _tags(tags)
    taken = snapshot.take(submission.source_directory, ws.artifacts)
    run_id = f"HD_{new_run_id(experiment.name)}"
    row_config = {
        "kind": SWEEP_KIND, "hyperdrive": config.to_json(),
        "child": {"config": submission.config, "compute_target": compute.name},
        "source_directory": str(submission.source_directory),
        "snapshot": {"files": taken.files, "bytes": taken.bytes, "new_bytes": taken.new_bytes}}
    ws.store.create_run(run_id, experiment.name, compute_target=compute.name,
                        config=row_config, snapshot_id=taken.id,
                        tags={**clean_tags, **sweep_tags(config)})
    return run_id


class HyperDriveRun(Run):
    """A sweep's parent run: its children, the best of them, and what its policy did.

    Example:
        >>> run = exp.submit(hd_config)                            # doctest: +SKIP
        >>> run.wait_for_completion(show_output=True)              # doctest: +SKIP
        >>> best = run.get_best_run_by_primary_metric()            # doctest: +SKIP
        >>> best.get_hyperparameters()                             # doctest: +SKIP
        {'--batch-size': 50, '--learning-rate': 0.0123}
    """

    RUN_TYPE = "hyperdrive"
    HYPER_DRIVE_RUN_USER_AGENT = "sdk_run_hyper_drive"  # v1's constant

    def __init__(self, experiment: Experiment, run_id: str,
                 hyperdrive_config: HyperDriveConfig | None = None,
                 **azure_arguments: Any) -> None:  # noqa: ARG002 - v1's
        if not isinstance(run_id, str):
            raise ValidationError(f"run_id must be a str, not {type(run_id).__name__}")
        super().__init__(experiment, run_id)
        self._hyperdrive_config = hyperdrive_config
        self._settings: dict[str, Any] | None = None

    # -- the sweep's settings -------------------------------------------------------------
    @property
    def _stored_settings(self) -> dict[str, Any]:
        if self._settings is None:
            config = self._cached["config"] or {}
            if config.get("kind") != SWEEP_KIND:
                raise ValidationError(f"run {self.id} is not a HyperDrive sweep's parent run",
                                      run_id=self.id)
            self._settings = dict(config["hyperdrive"])
        return self._settings

    @property
    def primary_metric_name(self) -> str:
        return str(self._stored_settings["primary_metric_config"]["name"])

    @property
    def primary_metric_goal(self) -> PrimaryMetricGoal:
        return PrimaryMetricGoal.from_str(self._stored_settings["primary_metric_config"]["goal"])

    @property
    def hyperdrive_config(self) -> HyperDriveConfig:
        """The sweep's HyperDriveConfig (rebuilt from the run history when this object was
        not the one submitted; its run_config is then the child's script and arguments)."""
        if self._hyperdrive_config is None:
            from runyard.train import ScriptRunConfig

            config = self._cached["config"] or {}
            child = config["child"]["config"]
            run_config = ScriptRunConfig(source_directory=config["source_directory"],
                                         script=child.get("script"),
                                         arguments=list(child.get("arguments") or []))
            with warnings.catch_warnings():  # v1's Bayesian advice was given at submit
                warnings.simplefilter("ignore")
                self._hyperdrive_config = HyperDriveConfig(
                    run_config=run_config,
                    **HyperDriveConfig.settings_from_json(self._stored_settings))
        return self._hyperdrive_config

    # -- v1's results ---------------------------------------------------------------------
    def get_hyperparameters(self) -> dict[str, Any]:
        """{child run id: its hyperparameters as a JSON string} (v1: the parent's tags)."""
        prefix = self.id + "_"
        return {k: v for k, v in self.get_tags().items()
                if k.startswith(prefix) and k[len(prefix):].isdigit()}

    def _children_best(self) -> builtins.list[dict[str, Any]]:
        name, goal = self.primary_metric_name, self.primary_metric_goal
        hyperparameters = self.get_hyperparameters()
        found = []
        for child in self.get_children():
            values = [r["value"] for r in self.workspace.store.get_metrics(child.id, name)
                      if r["value"] is not None or r["text"] is None]
            numbers = [float("nan") if v is None else float(v) for v in values]
            best = goal.best(numbers) if numbers else None
            if best is not None and math.isinf(best):
                best = float("nan")  # a child that only logged NaN
            found.append({"run_id": child.id,
                          "hyperparameters": hyperparameters.get(child.id),
                          "best_primary_metric": best, "status": child.get_status()})
        return found

    def get_children_sorted_by_primary_metric(self, top: int = 0, reverse: bool = False,
                                              discard_no_metric: bool = False
                                              ) -> builtins.list[dict[str, Any]]:
        """The children as v1's dicts (run_id, hyperparameters, best_primary_metric,
        status), best first by the goal (`reverse` flips that); children without the
        primary metric come last, or not at all with `discard_no_metric`; `top` > 0 keeps
        the first `top`."""
        if isinstance(top, bool) or not isinstance(top, int) or top < 0:
            raise ValidationError(f"top must be 0 (all) or a positive int, not {top!r}",
                                  parameter="top", value=top)
        goal = self.primary_metric_goal
        children = self._children_best()
        with_metric = [c for c in children if c["best_primary_metric"] is not None]
        without = [c for c in children if c["best_primary_metric"] is None]
        maximize = goal is PrimaryMetricGoal.MAXIMIZE
        ordered = sorted(with_metric, key=lambda c: goal.score(c["best_primary_metric"]),
                         reverse=maximize != reverse)
        if not discard_no_metric:
            ordered += without
        return ordered if top == 0 else ordered[:top]

    def get_best_run_by_primary_metric(self, include_failed: bool = True,
                                       include_canceled: bool = True,
                                       include_resume_from_runs: bool = True,  # noqa: ARG002
                                       ) -> Run | None:
        """The child with the best primary metric (its best over every value it logged);
        None, with a warning naming the metric and what the children logged, when no
        child logged it."""
        ranked = self.get_children_sorted_by_primary_metric(discard_no_metric=True)
        for child in ranked:
            if child["status"] == _status.FAILED and not include_failed:
                continue
            if child["status"] == _status.CANCELED and not include_canceled:
                continue
            return Run(self.experiment, child["run_id"])
        if ranked:  # the children with the metric were left out by include_*
            return None
        logged = sorted({r["name"] for child in self.get_children()
                         for r in self.workspace.store.get_metrics(child.id)})
        warnings.warn(
            f"no child of {self.id} logged the primary metric {self.primary_metric_name!r}; "
            f"the children logged: {', '.join(logged) if logged else 'no metrics'}",
            UserWarning, stacklevel=2)
        return None

    def get_metrics(self, name: str | None = None, recursive: bool = False,
                    run_type: str | None = None, populate: bool = False) -> dict[str, Any]:
        """The parent's metrics, with v1's `best_child_by_primary_metric` table (each new
        best child as it was found, the last row final=True); recursive=True gives
        {run_id: metrics} for the parent and every child (v1's HyperDriveRun.get_metrics
        gave the children's)."""
        return super().get_metrics(name, recursive=recursive, run_type=run_type,
                                   populate=populate)

    def histories(self) -> builtins.list[ChildHistory]:
        """Every child's primary-metric history, for `replay`."""
        from runyard.hyperdrive.replay import ChildHistory

        name = self.primary_metric_name
        found = []
        for child in sorted(self.get_children(), key=lambda r: r._cached["number"]):
            row = child._cached
            points = [p for p in self.workspace.store.get_metrics(child.id, name)
                      if p["value"] is not None or p["text"] is None]
            start = row["start_time"] or row["created_at"]
            end = row["end_time"] or time.time()
            values = [float("nan") if p["value"] is None else float(p["value"]) for p in points]
            times = [max(start, p["time"]) for p in points]
            found.append(ChildHistory(child.id, tuple(values), tuple(times), start,
                                      max(end, times[-1] if times else start),
                                      str(row["status"])))
        return found

    def replay(self, policy: EarlyTerminationPolicy | str) -> ReplayReport:
        """Replay `policy` (or its CLI form, 'Bandit(evaluation_interval=2,
        slack_factor=0.1)') over the children's stored histories: which it would have
        stopped and when, the compute-seconds saved, whether the best child survives."""
        from runyard.hyperdrive.replay import parse_policy, replay

        if isinstance(policy, str):
            policy = parse_policy(policy)
        return replay(policy, self.histories(), self.primary_metric_goal)

    # -- lifecycle --------------------------------------------------------------------------
    def fail(self, error_details: Any = None, error_code: str | None = None,  # noqa: ARG002
             _set_status: bool = True) -> None:
        """Not for a sweep (as v1): cancel() it."""
        raise NotSupportedError("HyperDriveRun.fail is not supported (as in v1); cancel() "
                                "the sweep, which cancels its children", name="fail")

    def get_diagnostics(self) -> None:
        raise NotSupportedError("HyperDriveRun.get_diagnostics is not supported (as in v1)",
                                name="get_diagnostics")

    def wait_for_completion(self, show_output: bool = False,
                            wait_post_processing: bool = False,  # noqa: ARG002 - v1's
                            raise_on_error: bool = True,
                            timeout_seconds: float | None = None) -> dict[str, Any]:
        """Wait for the sweep's end; with show_output, print each child's start, progress,
        early stop and end as they happen (the parent's logs/hyperdrive.txt)."""
        out: TextIO | None = sys.stdout if show_output else None
        deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
        offset = 0
        while True:
            status = self.get_status()
            offset = self._show(out, offset)
            if status in _status.TERMINAL:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"sweep {self.id} is still {status} after "
                                   f"{timeout_seconds} s")
            time.sleep(POLL_SECONDS)
        self._show(out, offset)
        row = self._fetch()
        if out is not None:
            out.write(f"sweep {self.id}: {row['status']}\n")
            out.flush()
        if raise_on_error and row["status"] == _status.FAILED:
            raise RunFailedError(f"sweep {self.id} ended Failed: {row['error']}",
                                 run_id=self.id, status=row["status"], error=row["error"],
                                 log_tail=[])
        return self.get_details()

    def _show(self, out: TextIO | None, offset: int) -> int:
        if out is None:
            return offset
        data = self.read_log(LOG_NAME, offset)
        complete = data[:data.rfind(b"\n") + 1]
        if complete:
            out.write(complete.decode("utf-8", errors="replace"))
            out.flush()
        return offset + len(complete)

