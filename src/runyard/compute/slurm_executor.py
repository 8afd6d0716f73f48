"""The Slurm compute's executor: a run is one batch job holding its nodes, and one job
step per process of the plan, started with srun from the run driver on the submit host
(`runyard.compute._slurm_jobs`; docs/slurm.md, "The Slurm compute").

- Preparing: the environment is built (or found in the cache) on the submit host; the
  workspace and the environment cache are on a filesystem every node mounts at the same
  path (docs/slurm.md, "What a real cluster needs"), so it is there on every node.
- Queued: the batch job is submitted and the run stays Queued while Slurm keeps it
  PENDING, with Slurm's reason in the stage detail; a reason that never clears by
  waiting (`NEVER_STARTS`) fails the run, naming it. CONFIGURING shows as Scaling.
- Starting: the job's nodes (their names and NodeAddr), the working directory (the
  snapshot; on the shared filesystem, so once for every node), the run's plan (made at
  submit; it also shaped the batch job) bound to the nodes' real addresses.
- Running: one srun per step; a step's exit code is its process's, except that srun
  exits 0 when its node failed (`node_failure` reads its words first); the job's own
  state (NODE_FAIL, TIMEOUT, a cancel from outside runyard) is read every few seconds.
- Stopping: steps still running get TERM (`scancel --signal=TERM <step>`: a parameter
  server once the run is decided, as on the local compute), KILL after the grace period;
  a canceled run's job is `scancel`ed. Release: the job is released (it ends COMPLETED)
  after a run that succeeded, cancelled otherwise.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from runyard import _status
from runyard._local import free_ports
from runyard.compute import _slurm_jobs as jobs
from runyard.compute._node import (
    NodeEnvironment,
    WorkingDirectory,
    prepare_environment,
    prepare_working_directory,
)
from runyard.compute._process_group import outcome_of
from runyard.compute.executor import (
    KILL_GRACE_SECONDS,
    Executor,
    Outcome,
    StopRun,
    failed,
    with_shim,
)
from runyard.distributed.plan import Plan
from runyard.supervisor import _processes

if TYPE_CHECKING:
    from runyard.compute.base import ComputeTarget
    from runyard.compute.executor import RunHandle

JOB_CHECK_SECONDS = 2.0     # how often a running run's job state is read from Slurm
# a pending job is read often at first (most start on Slurm's next scheduling pass, within
# a second or two: every tenth of a second lost there is a sweep's, per trial), then less
PENDING_CHECK_SECONDS = (0.05, 0.5)
PENDING_FAST_SECONDS = 10.0


class SlurmExecutor(Executor):
    """One run on a Slurm compute (see the module's docstring)."""

    poll_seconds = 0.2

    def __init__(self, compute: ComputeTarget, run: RunHandle) -> None:
        from runyard.compute.slurm import SlurmCompute

        super().__init__(compute, run)
        if not isinstance(compute, SlurmCompute):
            raise TypeError(f"SlurmExecutor runs on a SlurmCompute, not {compute!r}")
        self.slurm = compute
        self.env = compute.slurm_environment()
        self.environment: NodeEnvironment | None = None
        self.workdir: WorkingDirectory | None = None
        self.job_id: str | None = None
        self.request: jobs.JobRequest | None = None
        self.node_names: list[str] = []
        self.plan: Plan | None = None
        self.command: list[str] = []
        self.steps: list[jobs.Step] = []
        self.sruns: list[subprocess.Popen[bytes]] = []
        self.succeeded = False
        self._decided_at: float | None = None
        self._ended: set[int] = set()
        self._last_job_check = 0.0

    def _say(self, message: str) -> None:
        self.run.say(message)

    # -- Preparing, Queued ----------------------------------------------------------------
    def preflight(self) -> None:
        run = self.run
        self.environment = prepare_environment(run.spec, run.logs, run.say, run.check_cancel)

    def acquire(self) -> None:
        run = self.run
        plan = run.spec.plan
        assert plan is not None, "the driver's spec has its plan"
        # the batch step runs in the run folder (shared), the steps in its wd
        self.request = self.slurm.job_request(
            run.run_id, plan, workdir=run.dir, output=run.dir / jobs.BATCH_LOG,
            environment={"RUNYARD_RUN_ID": run.run_id}, use_gpu=run.spec.use_gpu)
        self.job_id = jobs.submit(jobs.batch_script(self.request), self.env)
        run.say(f"submitted Slurm job {self.job_id} ({' '.join(self.request.sbatch_options())})")
        run.transition(_status.QUEUED, detail=f"Slurm job {self.job_id} submitted")
        shown: tuple[str, str | None] = (run.status, f"Slurm job {self.job_id} submitted")
        submitted = time.monotonic()
        while True:
            run.check_cancel()
            info = jobs.job_info(self.job_id, self.env)
            view = jobs.job_view(info)
            if view.status == _status.RUNNING:
                assert info is not None, "a running job is known"
                self.node_names = jobs.hostnames(info.nodes or "", self.env)
                run.say(f"Slurm job {self.job_id} holds {', '.join(self.node_names)}")
                return
            if view.status in (_status.QUEUED, _status.SCALING):
                if (view.status, view.detail) != shown:
                    run.transition(view.status, detail=view.detail)
                    shown = view.status, view.detail
                if info is not None and info.reason in jobs.NEVER_STARTS:
                    raise failed(f"{view.detail}: Slurm will never start it; change the "
                                 f"run or the compute's settings")
            elif view.status == _status.CANCELED:
                raise StopRun(_status.CANCELED, view.detail or "cancelled in Slurm")
            else:   # ended before it ran (FAILED, NODE_FAIL, ...)
                raise failed(view.error or f"Slurm job {self.job_id} ended before it ran")
            fast, slow = PENDING_CHECK_SECONDS
            run.sleep(fast if time.monotonic() - submitted < PENDING_FAST_SECONDS else slow)

    # -- Starting -------------------------------------------------------------------------
    def prepare(self) -> Plan:
        run = self.run
        self.workdir = prepare_working_directory(run.ws, run.spec, run.run["snapshot_id"],
                                                 run.dir / "wd", run.say)
        addresses = jobs.node_addresses(self.node_names, self.env)
        assert run.spec.plan is not None, "the driver's spec has its plan"
        plan = run.spec.plan.bind(addresses, iter(free_ports(64)))
        run.say(f"plan on {', '.join(addresses)} ({', '.join(self.node_names)})")
        return plan

    # -- Running --------------------------------------------------------------------------
    def start(self, plan: Plan) -> None:
        run, environment, workdir = self.run, self.environment, self.workdir
        assert environment is not None, "prepared before start"
        assert workdir is not None, "prepared before start"
        assert self.job_id is not None, "acquired before start"
        assert self.request is not None, "acquired before start"
        self.plan = plan
        self.command = [environment.interpreter, run.spec.script, *workdir.arguments]
        base = {**with_shim(run.process_environment(), environment.shim),
                **workdir.data_environment}
        env = jobs.command_environment(self.env, base=base)
        channels = run.dir / "channel"
        channels.mkdir(parents=True, exist_ok=True)
        self.steps = jobs.plan_steps(
            plan, self.command, job_id=self.job_id, node_names=self.node_names, env=env,
            run_dir=run.dir, channels=channels, workdir=workdir.path,
            tasks_per_node=self.request.tasks_per_node)
        self.started = True
        run.say(f"starting {plan.world_size} process(es) ({plan.kind}) as "
                f"{len(self.steps)} step(s) of Slurm job {self.job_id}: "
                f"{' '.join(self.command)}")
        for step in self.steps:
            for log in step.logs:   # the logs exist from the start, in rank order
                (run.dir / log).touch()
            with open(self._srun_log(step), "ab") as said:
                self.sruns.append(subprocess.Popen(
                    step.argv, env=step.env, stdin=subprocess.DEVNULL, stdout=said,
                    stderr=subprocess.STDOUT, start_new_session=True,
                    preexec_fn=_processes.die_with_parent()))

    def _srun_log(self, step: jobs.Step) -> Path:
        """srun's own messages for `step` (its exit, a node failure), beside the logs."""
        return self.run.logs / f"srun_{step.name}.txt"

    def poll(self) -> Outcome | None:
        assert self.plan is not None, "polled after start"
        codes = [process.poll() for process in self.sruns]
        newly_ended = {i for i, code in enumerate(codes) if code is not None} - self._ended
        self._ended |= newly_ended
        for i in newly_ended:
            node = jobs.node_failure(self._srun_log(self.steps[i]).read_text(errors="replace"))
            if node is not None:
                return Outcome(False, self._node_failed(node))
        now = time.monotonic()
        if newly_ended or now - self._last_job_check > JOB_CHECK_SECONDS:
            self._last_job_check = now
            ended = self._job_ended()
            if ended is not None:
                return ended
        states = [(step.process, code) for step, code in zip(self.steps, codes, strict=True)]
        outcome, self._decided_at = outcome_of(self.plan, self.command, self.run.logs,
                                               states, self._decided_at)
        if outcome is not None:
            self.succeeded = outcome.ok
        return outcome

    def _job_ended(self) -> Outcome | None:
        """The run's outcome when its job ended under it (NODE_FAIL, TIMEOUT, cancelled
        in Slurm, ...), else None."""
        assert self.job_id is not None
        info = jobs.job_info(self.job_id, self.env)
        if info is not None and info.active:
            return None
        failed_nodes: list[jobs.NodeInfo] = []
        if info is not None and info.state == "NODE_FAIL" and info.nodes:
            failed_nodes = jobs.failed_nodes(jobs.hostnames(info.nodes, self.env),
                                             {n.name: n for n in jobs.nodes(self.env)})
        view = jobs.job_view(info, failed=failed_nodes)
        if view.status == _status.CANCELED:
            raise StopRun(_status.CANCELED, view.detail or "cancelled in Slurm")
        if view.status == _status.COMPLETED:   # the batch step ended: nothing holds nodes
            return Outcome(False, f"Slurm job {self.job_id} ended while the run's "
                                  f"processes ran")
        return Outcome(False, view.error)

    def _node_failed(self, node: str) -> str:
        assert self.job_id is not None
        known = {n.name: n for n in jobs.nodes(self.env)}
        named = [known[node]] if node in known else []
        info = jobs.JobInfo(self.job_id, "NODE_FAIL", None, node)
        return jobs.job_view(info, failed=named).error or f"Slurm node {node} failed"

    # -- Finalizing -----------------------------------------------------------------------
    def stop(self) -> int:
        """Steps still running get TERM (the whole job is cancelled for a canceled run),
        KILL after KILL_GRACE_SECONDS; then whatever else the driver's tree holds."""
        running = [i for i, p in enumerate(self.sruns) if p.poll() is None]
        if running and self.job_id is not None:
            if self.run.status == _status.CANCEL_REQUESTED:
                jobs.cancel(self.job_id, self.env)
            else:
                self._signal([self.steps[i] for i in running], "TERM")
            deadline = time.monotonic() + KILL_GRACE_SECONDS
            while time.monotonic() < deadline and any(self.sruns[i].poll() is None
                                                      for i in running):
                time.sleep(0.05)
            still = [i for i in running if self.sruns[i].poll() is None]
            if still:
                self._signal([self.steps[i] for i in still], "KILL")
        leftovers = _processes.kill_tree(os.getpid(), KILL_GRACE_SECONDS,
                                         waited_elsewhere={p.pid for p in self.sruns})
        for process in self.sruns:
            try:
                process.wait(KILL_GRACE_SECONDS * 3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return len(running) + len(leftovers)

    def _signal(self, steps: list[jobs.Step], signal: str) -> None:
        assert self.job_id is not None
        ids = jobs.step_ids(self.job_id, self.env)
        for step in steps:
            if step.name in ids:
                self._say(f"{signal} to step {step.name} ({ids[step.name]})")
                jobs.signal_step(ids[step.name], signal, self.env)
            else:   # not a step yet (srun still starting): srun passes it on
                process = self.sruns[self.steps.index(step)]
                if signal == "TERM":
                    process.terminate()
                else:
                    process.kill()

    def collect_outputs(self) -> None:
        assert self.workdir is not None, "outputs are collected after start"
        self.run.upload_folder(self.workdir.path / "outputs", "outputs")
        # what the script wrote to ./logs (TensorBoard's event files, as v1 keeps them)
        self.run.upload_folder(self.workdir.path / "logs", "logs")

    def release(self) -> None:
        try:
            if self.job_id is not None:
                if self.succeeded:
                    jobs.release(self.job_id, self.env)
                else:
                    jobs.cancel(self.job_id, self.env)
                self._say(f"Slurm job {self.job_id} "
                          f"{'released' if self.succeeded else 'cancelled'}")
        finally:
            if self.environment is not None:
                self.environment.release()
