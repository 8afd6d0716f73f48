"""The sweep driver: the supervisor of a HyperDrive sweep's parent run (runyard.hyperdrive).

It reuses the run driver's lifecycle (compare-and-set transitions, cancel by request or
SIGTERM, the heartbeat, the logs and the end state) and drives children instead of
processes: it asks the sampler for points, submits each as an ordinary run named
`<parent>_<n>` through `Experiment.submit` (the parent's snapshot, the child's compute
target, the hyperparameters appended to the script's arguments), at most
`max_concurrent_runs` at a time, reads each child's primary metric from the store as it is
logged, asks the policy at each new interval and cancels a child it stops (recording why,
with the numbers), tells the sampler how each child ended, and ends when the budget
(`max_total_runs`, an exhausted grid, `max_duration_minutes`) is spent.

Invariants:
- Children are runs like any other: their own supervisors decide their end states; this
  process only asks them to stop (`Run.cancel`). A child that fails does not stop the sweep.
- The parent ends only after every child it started has ended; cancelling the parent
  cancels every child first.
- Children start as any submit starts them (on the local compute, forked by the
  supervisors' fork server, `runyard.supervisor._start`), so a child's supervisor is not
  below this one: if this process dies, its keeper ends the sweep Failed and asks every
  child still active to stop (`cancel_orphans`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from runyard import _status
from runyard.compute.executor import StopRun
from runyard.hyperdrive.policy import PolicyDecision
from runyard.hyperdrive.run import (
    BEST_TABLE,
    FINISHED_FIRST_TAG,
    HYPERPARAMETERS_TAG,
    NO_METRIC_TAG,
    STOP_PROPERTY,
    STOP_TAG,
)
from runyard.hyperdrive.runconfig import HyperDriveConfig
from runyard.hyperdrive.sampling import ParameterSampler, SampledTrial, TrialOutcome
from runyard.supervisor import _processes
from runyard.supervisor._driver import HEARTBEAT_SECONDS, RunDriver
from runyard.workspace import Workspace

POLL_SECONDS = 0.02       # how often the running children's statuses are read
METRICS_SECONDS = 0.1     # how often their new primary-metric values are
CANCEL_SECONDS = 0.25     # how often the sweep's own cancel request is looked for
CHILDREN_STOP_SECONDS = 120.0   # how long a canceled sweep waits for its children to end


@dataclass
class _Child:
    number: int
    run_id: str
    trial: SampledTrial
    values: list[float] = field(default_factory=list)
    seen: int = 0                      # metric points read so far (strings included)
    stop: PolicyDecision | None = None  # the policy's decision to cancel it
    status: str = _status.NOT_STARTED

    @property
    def stopped_early(self) -> bool:
        """The policy's cancel took effect: the child ended Canceled, not Completed (or
        Failed) before the cancel reached it."""
        return self.stop is not None and self.status == _status.CANCELED


def cancel_orphans(workspace: Workspace, run_id: str) -> int:
    """Cancel the active children of the sweep `run_id`, whose driver died (the keeper
    calls it); returns how many were asked. Nothing for a run that is not a sweep."""
    from runyard.experiment import Experiment
    from runyard.run import Run

    row = workspace.store.get_run(run_id)
    if (row["config"] or {}).get("kind") != "sweep":
        return 0
    experiment = Experiment(workspace, row["experiment"])
    asked = 0
    for child in workspace.store.list_runs(parent_id=run_id):
        if child["status"] in _status.TERMINAL:
            continue
        workspace.store.set_tags(child["id"], {
            "canceled_by_sweep": f"the sweep {run_id}'s driver died ({row['error'] or 'gone'})"})
        Run(experiment, child["id"]).cancel()
        asked += 1
    return asked


class _ChildConfig:
    """What `Experiment.submit` takes for one child: the parent's script run with the
    trial's arguments appended (duck-typed like ScriptRunConfig: `_submission()`)."""

    def __init__(self, source: Path, template: dict[str, Any], arguments: list[str],
                 compute_target: str) -> None:
        self.source, self.template = source, template
        self.arguments, self.compute_target = arguments, compute_target

    def _submission(self) -> Any:
        from runyard.train.script_run_config import Submission

        config = copy.deepcopy(self.template)
        config["arguments"] = [*(config.get("arguments") or []), *self.arguments]
        return Submission(source_directory=self.source, compute_target=self.compute_target,
                          config=config)


class SweepDriver(RunDriver):
    """A sweep's lifecycle (see the module's docstring)."""

    def __init__(self, workspace: Workspace, run_id: str) -> None:
        super().__init__(workspace, run_id)
        from runyard.experiment import Experiment

        settings = HyperDriveConfig.settings_from_json(self.config["hyperdrive"])
        self.sampling = settings["hyperparameter_sampling"]
        self.policy = settings["policy"]
        self.metric: str = settings["primary_metric_name"]
        self.goal = settings["primary_metric_goal"]
        self.max_total: int = settings["max_total_runs"]
        self.max_concurrent: int = settings["max_concurrent_runs"]
        self.max_minutes: float = settings["max_duration_minutes"]
        self.child_config: dict[str, Any] = self.config["child"]["config"]
        self.child_target: str = self.config["child"]["compute_target"]
        self.experiment = Experiment(workspace, self.run["experiment"])
        self.children: dict[str, _Child] = {}
        self.active: list[_Child] = []
        self.sampler: ParameterSampler | None = None
        self.source: Path | None = None
        self.best: tuple[str, float] | None = None
        self._last_beat = 0.0
        self._events: IO[str] = open(self.logs / "hyperdrive.txt", "a", buffering=1)  # noqa: SIM115

    def event(self, message: str) -> None:
        """A line of the sweep's own log (what wait_for_completion shows), and ours."""
        stamp = time.strftime("%H:%M:%S", time.gmtime())
        with contextlib.suppress(OSError, ValueError):
            self._events.write(f"[{stamp}] {message}\n")
        self.say(message)

    # -- the sweep ---------------------------------------------------------------------------
    def main(self) -> int:
        _processes.become_subreaper()
        self.install_signal_handlers()
        self.store.claim_supervisor(self.run_id, os.getpid(), socket.gethostname())
        try:
            if self.status in _status.TERMINAL:
                raise StopRun(self.status, f"run is {self.status} already; supervisor stops")
            self.check_cancel()
            self.transition(_status.PREPARING)
            self.source = self._restore_source()
            self.sampler = self.sampling.sampler(self.goal)
            self.transition(_status.RUNNING)
            ended = self._sweep()
            self._record_results()
            self.transition(_status.FINALIZING)
            self._upload()
            self.transition(_status.COMPLETED, detail=ended)
        except StopRun as stop:
            self._stop(stop)
        except Exception as e:  # noqa: BLE001 - any failure ends the sweep as Failed, with why
            self.say(traceback.format_exc())
            self._stop(StopRun(_status.FAILED,
                               f"runyard sweep driver error: {type(e).__name__}: {e}"))
        finally:
            self._done.set()
            with contextlib.suppress(OSError, ValueError):
                self._events.close()
            self._cleanup()
        return 0

    def _restore_source(self) -> Path:
        """The parent's snapshot as a folder: every child runs the source as submitted."""
        from runyard.artifacts import snapshot

        folder = self.dir / "source"
        if not folder.is_dir():
            snapshot.materialize(self.run["snapshot_id"], self.ws.artifacts, folder)
        return folder

    def _sweep(self) -> str:
        started = time.monotonic()
        last_metrics = last_cancel_check = 0.0
        exhausted = False
        while True:
            self._beat()
            if self._cancel_seen or time.monotonic() - last_cancel_check >= CANCEL_SECONDS:
                last_cancel_check = time.monotonic()   # a cancel also wakes us (SIGUSR1)
                self.check_cancel()
            if time.monotonic() - started > self.max_minutes * 60:
                reason = f"max_duration_minutes={self.max_minutes:g} reached"
                self.event(f"{reason}: no more children; canceling the {len(self.active)} "
                           f"still running")
                self._cancel_children(reason)
                return f"{reason} after {len(self.children)} child run(s)"
            while (len(self.active) < self.max_concurrent
                   and len(self.children) < self.max_total and not exhausted):
                assert self.sampler is not None
                trial = self.sampler.ask()
                if trial is None:
                    exhausted = True
                    self.event(f"the grid is exhausted after {len(self.children)} point(s)")
                    break
                self._start(trial)
            now = time.monotonic()
            read_metrics = now - last_metrics >= METRICS_SECONDS
            if read_metrics:
                last_metrics = now
            for child in list(self.active):
                # a child's end frees its slot at once; its metrics are read as often
                # as the policy needs them
                if read_metrics or self.store.get_run(child.run_id)["status"] in \
                        _status.TERMINAL:
                    self._watch(child)
            if not self.active and (exhausted or len(self.children) >= self.max_total):
                return f"{len(self.children)} child run(s) ended"
            self.sleep(POLL_SECONDS)

    def _beat(self) -> None:
        now = time.monotonic()
        if now - self._last_beat >= HEARTBEAT_SECONDS:
            self._last_beat = now
            try:
                self.store.heartbeat(self.run_id)
            except Exception as e:  # noqa: BLE001 - a missed beat must not end the sweep
                self.say(f"heartbeat failed: {e}")

    # -- children ----------------------------------------------------------------------------
    def _start(self, trial: SampledTrial) -> None:
        assert self.source is not None
        number = len(self.children)
        child = _Child(number, f"{self.run_id}_{number}", trial)
        self.children[child.run_id] = child
        self.active.append(child)
        shown = json.dumps(trial.hyperparameters)
        self.store.set_tags(self.run_id, {child.run_id: shown})
        try:
            self.experiment.submit(
                _ChildConfig(self.source, self.child_config, trial.arguments(),
                             self.child_target),
                tags={HYPERPARAMETERS_TAG: shown}, _parent_id=self.run_id,
                _run_id=child.run_id)
        except Exception as e:  # noqa: BLE001 - a child that cannot start fails alone
            self.event(f"{child.run_id} could not start: {type(e).__name__}: {e}")
            with contextlib.suppress(KeyError, LookupError):
                self.store.set_status(child.run_id, _status.FAILED,
                                      error=f"could not start: {e}",
                                      only_if=list(_status.ACTIVE))
            self._ended(child, _status.FAILED, f"could not start: {e}")
            return
        self.event(f"{child.run_id} started with {shown}")

    def _watch(self, child: _Child) -> None:
        """Read the child's new primary-metric values and its status; apply the policy."""
        from runyard.run import reconcile

        row = reconcile(self.ws, self.store.get_run(child.run_id))
        points = self.store.get_metrics(child.run_id, self.metric)
        for point in points[child.seen:]:
            child.seen += 1
            if point["value"] is None and point["text"] is not None:
                continue  # a string under the metric's name is no value
            value = math.nan if point["value"] is None else float(point["value"])
            child.values.append(value)
            interval = len(child.values)
            self.event(f"{child.run_id}: {self.metric} = {value:.6g} (interval {interval})")
            self._note_best(child, value)
            if child.stop is None and row["status"] not in _status.TERMINAL:
                self._apply_policy(child)
        if row["status"] in _status.TERMINAL:
            self._ended(child, row["status"], row["error"])

    def _apply_policy(self, child: _Child) -> None:
        histories = {c.run_id: c.values for c in self.children.values() if c.values}
        finished = {c.run_id for c in self.children.values()
                    if c.status in _status.TERMINAL or c.stop is not None}
        decision = self.policy.evaluate(child.run_id, histories, self.goal,
                                        finished=finished - {child.run_id})
        if decision is None or not decision.cancel:
            return
        child.stop = decision   # its property is written when its end says it took effect
        self.store.set_tags(child.run_id, {STOP_TAG: decision.reason})
        self.event(f"{child.run_id} stopped early: {decision.reason}")
        from runyard.run import Run

        Run(self.experiment, child.run_id).cancel()

    def _note_best(self, child: _Child, value: float) -> None:
        score = self.goal.score(value)
        if math.isinf(score):
            return
        if self.best is None or self.goal.is_worse(self.best[1], score):
            changed = self.best is None or self.best[0] != child.run_id
            self.best = (child.run_id, score)
            if changed:  # a row per new best child; its later values update the last row
                self._log_best(final=False)

    def _log_best(self, final: bool) -> None:
        if self.best is None:
            return
        from runyard.run import Run

        Run(self.experiment, self.run_id).log_row(
            BEST_TABLE, metric_name=self.metric,
            timestamp=time.strftime("%Y-%m-%d %H:%M:%S+00:00", time.gmtime()),
            run_id=self.best[0], metric_value=self.best[1], final=final)

    def _ended(self, child: _Child, status: str, error: str | None) -> None:
        if child in self.active:
            self.active.remove(child)
        child.status = status
        best = self.goal.best(child.values) if child.values else None
        finite = best if best is not None and math.isfinite(best) else None
        outcome = (TrialOutcome.COMPLETED if status == _status.COMPLETED else
                   TrialOutcome.CANCELED if status == _status.CANCELED else TrialOutcome.FAILED)
        if self.best is not None and self.best[0] == child.run_id:
            self._log_best(final=False)  # the best child's value as it ended
        assert self.sampler is not None
        with contextlib.suppress(Exception):  # a trial told twice (a failed start) is no error
            self.sampler.tell(child.trial, finite, outcome, interval=len(child.values))
        said = f"{child.run_id} {status}"
        if child.stop is not None:
            said += self._settle_stop(child, child.stop, status)
        if best is not None:
            said += f"; best {self.metric} {best:.6g} over {len(child.values)} value(s)"
        else:
            logged = sorted({p["name"] for p in self.store.get_metrics(child.run_id)})
            missing = (f"logged no {self.metric!r} (the primary metric); it logged: "
                       f"{', '.join(logged) if logged else 'no metrics'}")
            with contextlib.suppress(KeyError, LookupError):
                self.store.set_tags(child.run_id, {NO_METRIC_TAG: missing})
            said += f"; {missing}"
        if status == _status.FAILED and error:
            said += f"; error: {error.splitlines()[0] if error.strip() else error}"
        self.event(said)

    def _settle_stop(self, child: _Child, stop: PolicyDecision, status: str) -> str:
        """Record whether the policy's cancel of `child` took effect, now that its end is
        known; what the end's log line adds. A child that ended otherwise than Canceled
        (it completed, or failed, before the cancel reached it) was not stopped early: its
        `early_termination` tag gives way to `early_termination_finished_first`."""
        decision = json.dumps(stop.to_json())
        with contextlib.suppress(KeyError, LookupError):
            if status == _status.CANCELED:
                self.store.add_properties(child.run_id, {STOP_PROPERTY: decision})
                return f" (stopped early at interval {stop.interval})"
            self.store.remove_tags(child.run_id, [STOP_TAG])
            self.store.set_tags(child.run_id, {FINISHED_FIRST_TAG: (
                f"{status} before the policy's cancel took effect, so not stopped early; "
                f"{stop.reason}")})
            self.store.add_properties(child.run_id, {FINISHED_FIRST_TAG: decision})
        return (f" before the policy's cancel at interval {stop.interval} took effect (not "
                f"stopped early)")

    def _cancel_children(self, reason: str) -> None:
        """Ask every running child to stop, then wait (bounded) until each has ended."""
        from runyard.run import Run

        for child in list(self.active):
            with contextlib.suppress(Exception):
                self.store.set_tags(child.run_id, {"canceled_by_sweep": reason})
                Run(self.experiment, child.run_id).cancel()
        deadline = time.monotonic() + CHILDREN_STOP_SECONDS
        while self.active and time.monotonic() < deadline:
            self._beat()
            for child in list(self.active):
                self._watch(child)
            if self.active:
                time.sleep(POLL_SECONDS)
        for child in self.active:
            self.event(f"{child.run_id} did not end within {CHILDREN_STOP_SECONDS:.0f} s of "
                       f"its cancel")

    # -- the end -----------------------------------------------------------------------------
    def _record_results(self) -> None:
        from runyard.hyperdrive.replay import (
            ChildHistory,
            estimate_policy_savings,
            why_savings_unknown,
        )

        histories = []
        for child in self.children.values():
            with contextlib.suppress(KeyError, LookupError):
                row = self.store.get_run(child.run_id)
                points = [p for p in self.store.get_metrics(child.run_id, self.metric)
                          if not (p["value"] is None and p["text"] is not None)]
                start = row["start_time"] or row["created_at"]
                times = [max(start, p["time"]) for p in points]
                for index in range(1, len(times)):
                    times[index] = max(times[index], times[index - 1])
                end = max(row["end_time"] or time.time(), times[-1] if times else start)
                values = [math.nan if p["value"] is None else float(p["value"])
                          for p in points]
                histories.append(ChildHistory(child.run_id, tuple(values), tuple(times),
                                              start, end, str(row["status"])))
        stopped = {c.run_id for c in self.children.values() if c.stopped_early}
        saved = estimate_policy_savings(histories, stopped)
        tags: dict[str, str] = {}
        if self.best is not None:
            self._log_best(final=True)
            tags.update(best_child_run_id=self.best[0], score=f"{self.best[1]:.10g}",
                        best_metric_status="Succeeded")
        else:
            logged = sorted({p["name"] for c in self.children.values()
                             for p in self.store.get_metrics(c.run_id)})
            message = (f"no child logged the primary metric {self.metric!r}; the children "
                       f"logged: {', '.join(logged) if logged else 'no metrics'}")
            self.event(message)
            self.store.add_warning(self.run_id, message, source="hyperdrive")
        saved_text = (f"unknown ({why_savings_unknown(histories, stopped)})" if saved is None
                      else f"{saved:.3f}")
        tags["compute_seconds_saved"] = saved_text
        self.store.set_tags(self.run_id, tags)
        with contextlib.suppress(Exception):  # properties are written once
            self.store.add_properties(self.run_id, {
                "compute_seconds_saved": saved_text,
                "children_stopped_early": str(len(stopped))})
        self.event(f"sweep done: {len(self.children)} child run(s), {len(stopped)} stopped "
                   f"early by {self.policy.POLICY_NAME}, compute-seconds saved: {saved_text}"
                   + (f"; best {self.best[0]} ({self.metric} {self.best[1]:.6g})"
                      if self.best else ""))

    def _wind_down(self, stop: StopRun) -> None:
        """Before the sweep's end is recorded (RunDriver._stop): cancel every child, keep
        what is known."""
        if self.active:
            self.event(f"sweep stopping ({stop.reason}): canceling {len(self.active)} child "
                       f"run(s)")
            try:
                self._cancel_children(f"the sweep {self.run_id} stopped: {stop.reason}")
            except Exception as e:  # noqa: BLE001 - the end state matters more
                self.say(f"could not cancel every child: {e}")
        try:
            if self.sampler is not None:
                self._record_results()
            self._upload()
        except Exception as e:  # noqa: BLE001 - the end state matters more
            self.say(f"could not record the sweep's results: {e}")
