"""What each kind of compute can run is data (runyard.compute.base.Capability, each target
class's `capabilities`), and submit refuses a run that needs what its compute lacks, before
any run exists, naming the compute, its type and the capability."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runyard import Experiment, ScriptRunConfig, Workspace
from runyard.compute.base import (
    COMPUTES,
    REFUSALS,
    Capability,
    ComputeTarget,
    needed_capabilities,
)
from runyard.compute.local import LocalCompute
from runyard.distributed import (
    MpiConfiguration,
    PyTorchConfiguration,
    TensorflowConfiguration,
)
from runyard.errors import ValidationError

C = Capability


# -- the table ----------------------------------------------------------------------------
def test_each_compute_type_declares_its_capabilities() -> None:
    table = {name: COMPUTES.get(name).capabilities for name in ("local", "ray", "slurm")}
    assert table == {
        "local": {C.MPI, C.PARAMETER_SERVER, C.GPU},
        "ray": {C.MULTI_NODE, C.MPI, C.PARAMETER_SERVER, C.GPU},
        "slurm": {C.MULTI_NODE, C.MPI, C.MULTI_NODE_MPI, C.PARAMETER_SERVER, C.GPU},
    }
    assert all(isinstance(c, frozenset) for c in table.values())


def test_every_capability_has_a_refusal_that_says_what_to_do() -> None:
    assert set(REFUSALS) == set(Capability)
    for capability, text in REFUSALS.items():
        filled = text.format(kind="box", nodes=2, servers=1)
        assert ";" in filled, capability  # what was asked; what to do instead


def _distributed(config: object, node_count: int = 1) -> dict[str, Any]:
    to_dict: Callable[[], dict[str, Any]] = config.to_dict  # type: ignore[attr-defined]
    return {"distributed": to_dict() | {"node_count": node_count}}


@pytest.mark.parametrize(("config", "needed"), [
    ({"distributed": None}, set()),
    ({}, set()),
    ({"estimator": {"use_gpu": True}}, {C.GPU}),
    (_distributed(PyTorchConfiguration(process_count=4, node_count=2), 2), {C.MULTI_NODE}),
    (_distributed(MpiConfiguration(process_count_per_node=2)), {C.MPI}),
    (_distributed(MpiConfiguration(node_count=3), 3),
     {C.MPI, C.MULTI_NODE, C.MULTI_NODE_MPI}),
    (_distributed(TensorflowConfiguration(worker_count=2, parameter_server_count=0)), set()),
    (_distributed(TensorflowConfiguration(worker_count=2, parameter_server_count=1), 2),
     {C.PARAMETER_SERVER, C.MULTI_NODE}),
])
def test_what_a_run_needs_is_a_function_of_its_configuration(
        config: dict[str, Any], needed: set[Capability]) -> None:
    assert needed_capabilities(config) == needed


# -- the check at submit ------------------------------------------------------------------
class _OneProcessCompute(LocalCompute):
    """This machine, declared able to run plain single-node runs only; its own check
    (like every target's) is followed by the capability check."""

    type = "one-process"
    capabilities = frozenset()

    def check_submission(self, config: dict[str, Any]) -> None:
        self.own_check_ran = True


def _refused(experiment: Experiment, folder: Path, target: str | ComputeTarget,
             distributed: object) -> ValidationError:
    with pytest.raises(ValidationError) as refused:
        experiment.submit(ScriptRunConfig(folder, "train.py", compute_target=target,
                                          distributed_job_config=distributed))
    assert experiment.workspace.store.list_runs() == []  # no run row, nothing launched
    return refused.value


def test_a_run_on_several_nodes_is_refused_by_the_local_compute_before_any_run(
        experiment: Experiment, source: Callable[..., Path]) -> None:
    error = _refused(experiment, source("print('never')"), "local",
                     PyTorchConfiguration(process_count=2, node_count=2))
    assert str(error).startswith("compute target 'local' (type local) lacks multi-node, "
                                 "which this run needs: the local compute is one node, and "
                                 "this run asks for 2; ")
    assert (error.name, error.type, error.missing) == (  # type: ignore[attr-defined]
        "local", "local", ["multi-node"])


def test_a_targets_own_check_cannot_skip_the_capability_check(
        workspace: Workspace, experiment: Experiment, source: Callable[..., Path]) -> None:
    target = _OneProcessCompute(workspace, "solo", {"max_concurrent_runs": 1})
    error = _refused(experiment, source("print('never')"), target,
                     TensorflowConfiguration(worker_count=1, parameter_server_count=1))
    assert target.own_check_ran
    assert "compute target 'solo' (type one-process) lacks parameter-server" in str(error)
    assert "use parameter_server_count=0" in str(error)
    target.check_submission({"distributed": None})  # a plain run needs nothing


def test_every_missing_capability_is_named_and_the_first_explained(
        workspace: Workspace) -> None:
    target = _OneProcessCompute(workspace, "solo", {})
    with pytest.raises(ValidationError) as refused:
        target.check_submission(_distributed(MpiConfiguration(node_count=2), 2)
                                | {"estimator": {"use_gpu": True}})
    message = str(refused.value)
    assert message.startswith("compute target 'solo' (type one-process) lacks multi-node, "
                              "mpi, multi-node-mpi, gpu, which this run needs: the "
                              "one-process compute is one node, and this run asks for 2")


def test_ray_refuses_mpi_across_nodes_from_its_table(workspace: Workspace) -> None:
    from runyard.compute.ray import RayCompute

    compute = RayCompute(workspace, "c", {"address": None, "min_nodes": 0, "max_nodes": 4,
                                          "resources": {"CPU": 2, "GPU": 0}})
    mpi = _distributed(MpiConfiguration(node_count=2), 2)
    with pytest.raises(ValidationError, match=r"compute target 'c' \(type ray\) lacks "
                                              r"multi-node-mpi, which this run needs: this "
                                              r"run asks for MPI ranks on 2 nodes"):
        compute.check_capabilities(mpi)
    compute.check_capabilities(_distributed(PyTorchConfiguration(process_count=2,
                                                                 node_count=2), 2))
