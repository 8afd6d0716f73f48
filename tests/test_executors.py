"""The executor contract (runyard.compute.executor): a compute type is a target class and
an executor class, found by name; the run driver (runyard.supervisor._driver) runs any of
them through the same lifecycle. A compute added by a plugin, without editing runyard,
runs a real run end to end."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Experiment, ScriptRunConfig
from runyard.compute import get_compute_target
from runyard.compute.base import COMPUTES
from runyard.compute.executor import Executor
from runyard.compute.local import LocalCompute

# A whole compute type in a plugin: its target (here this machine again) and an executor
# written against the contract from runyard's shared parts.
PLUGIN = '''
import os

from runyard._local import free_ports
from runyard._status import QUEUED
from runyard.compute._node import prepare_environment, prepare_working_directory
from runyard.compute._process_group import ProcessGroup
from runyard.compute.executor import KILL_GRACE_SECONDS, Executor, with_shim
from runyard.compute.local import LocalCompute
from runyard.distributed.plan import make_plan
from runyard.supervisor import _processes


class BoxCompute(LocalCompute):
    type = "box"
    executor = "runyard_box:BoxExecutor"


class BoxExecutor(Executor):
    group = None

    def preflight(self):
        self.environment = prepare_environment(self.run.config, self.run.logs, self.run.say)

    def acquire(self):
        self.run.transition(QUEUED, detail=f"the box {self.compute.name} is free")

    def prepare(self):
        self.workdir = prepare_working_directory(
            self.run.ws, self.run.config, self.run.run["snapshot_id"], self.run.dir / "wd",
            self.run.say)
        return make_plan(self.run.config.get("distributed"), ["127.0.0.1"],
                         iter(free_ports(8)))

    def start(self, plan):
        self.started = True
        env = {**with_shim(self.run.process_environment(), self.environment.shim),
               "BOX_NAME": self.compute.name}
        command = [self.environment.interpreter, self.run.config["script"],
                   *self.workdir.arguments]
        self.group = ProcessGroup(plan, command, self.workdir.path, env, self.run.logs,
                                  self.run.dir / "channel")
        self.group.start()

    def poll(self):
        return self.group.poll()

    def stop(self):
        waited = self.group.pids if self.group is not None else set()
        left = _processes.kill_tree(os.getpid(), KILL_GRACE_SECONDS, waited_elsewhere=waited)
        if self.group is not None:
            self.group.wait()
        return len(left)

    def collect_outputs(self):
        self.run.upload_folder(self.workdir.path / "outputs", "outputs")

    def release(self):
        self.environment.release()
'''


@pytest.fixture
def box_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """runyard_box installed as a distribution on the path (of this process and of the
    supervisors it starts), declaring compute type "box" in `runyard.computes`."""
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "runyard_box.py").write_text(PLUGIN)
    info = folder / "runyard_box-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: runyard-box\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[runyard.computes]\nbox = runyard_box:BoxCompute\n")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(folder), os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setattr(COMPUTES, "_plugins", None)  # read the entry points again
    return folder


def test_a_plugin_compute_runs_a_run_through_its_own_executor(
        box_plugin: Path, experiment: Experiment, source: Callable[..., Path]) -> None:
    ws = experiment.workspace
    ws.store.put_compute_target("box1", "box", {"max_concurrent_runs": 1})
    assert type(get_compute_target(ws, "box1")).__name__ == "BoxCompute"
    folder = source("""
        import os
        from runyard import Run
        print("box", os.environ["BOX_NAME"], flush=True)
        Run.get_context().log("on_box", 1)
        with open("outputs/made.txt", "w") as f:
            f.write("ok")
    """)
    run = experiment.submit(ScriptRunConfig(folder, "train.py", compute_target="box1"))
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Completed", details.get("error")
    assert [e["status"] for e in ws.store.status_events(run.id)] == [
        "NotStarted", "Preparing", "Queued", "Starting", "Running", "Finalizing", "Completed"]
    queued = next(s for s in details["stages"] if s["status"] == "Queued")
    assert "the box box1 is free" in str(queued)
    assert "box box1" in run.read_log("logs/driver_0.txt").decode()
    assert run.get_metrics() == {"on_box": 1}
    assert "outputs/made.txt" in run.get_file_names()


@pytest.mark.parametrize("name", ["local", "ray", "slurm"])
def test_each_compute_names_an_executor_that_keeps_the_contract(name: str) -> None:
    from runyard._registry import load

    for target in [COMPUTES.get(name)]:
        executor = load(target.executor)
        assert isinstance(executor, type)
        assert issubclass(executor, Executor), name
        assert not getattr(executor, "__abstractmethods__", None), name


def test_an_executor_missing_a_verb_fails_at_construction() -> None:
    class Half(Executor):
        def acquire(self) -> None: ...

    with pytest.raises(TypeError, match="abstract"):
        Half(object.__new__(LocalCompute), None)  # type: ignore[abstract, arg-type]
