"""The process plan, as data: roles, ranks, ports, TF_CONFIG, torchrun's variables."""

from __future__ import annotations

import itertools
import json

import pytest

from runyard.distributed import (
    MpiConfiguration,
    PyTorchConfiguration,
    TensorflowConfiguration,
    configuration_from,
    make_plan,
)
from runyard.errors import ValidationError


def _plan(config: object, hosts: tuple[str, ...] = ("10.0.0.1",)):  # type: ignore[no-untyped-def]
    return make_plan(configuration_from(config), list(hosts), itertools.count(5000))


def _tf_config(process) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return json.loads(process.env["TF_CONFIG"])


def test_one_process_without_a_configuration() -> None:
    plan = _plan(None)
    assert [(p.role, p.rank, p.log_name) for p in plan.processes] == [
        ("driver", 0, "logs/driver_0.txt")]
    assert plan.processes[0].env["WORLD_SIZE"] == "1"
    assert "TF_CONFIG" not in plan.processes[0].env


def test_multi_worker_mirrored_gets_workers_only() -> None:
    plan = _plan(TensorflowConfiguration(worker_count=2, parameter_server_count=0))
    assert [p.name for p in plan.processes] == ["worker_0", "worker_1"]
    assert [_tf_config(p) for p in plan.processes] == [
        {"cluster": {"worker": ["10.0.0.1:5000", "10.0.0.1:5001"]},
         "task": {"type": "worker", "index": 0}},
        {"cluster": {"worker": ["10.0.0.1:5000", "10.0.0.1:5001"]},
         "task": {"type": "worker", "index": 1}},
    ]
    assert [p.decides for p in plan.processes] == [True, False]
    assert [(p.env["RANK"], p.env["WORLD_SIZE"]) for p in plan.processes] == [
        ("0", "2"), ("1", "2")]


def test_parameter_servers_get_the_articles_layout_with_worker_0_as_chief() -> None:
    plan = _plan(TensorflowConfiguration(worker_count=2, parameter_server_count=1))
    configs = [_tf_config(p) for p in plan.processes]
    assert configs[0] == {"cluster": {"worker": ["10.0.0.1:5000", "10.0.0.1:5001"],
                                      "ps": ["10.0.0.1:5002"]},
                          "task": {"type": "worker", "index": 0}, "environment": "cloud"}
    assert configs[2]["task"] == {"type": "ps", "index": 0}
    assert [(p.name, p.rank, p.decides, p.is_ps, p.serves) for p in plan.processes] == [
        ("worker_0", 0, True, False, False), ("worker_1", 1, False, False, False),
        ("ps_0", 2, False, True, True)]


def test_chief_count_adds_the_coordinator_that_decides() -> None:
    plan = _plan(TensorflowConfiguration(worker_count=2, parameter_server_count=1,
                                         chief_count=1))
    assert [p.name for p in plan.processes] == ["chief_0", "worker_0", "worker_1", "ps_0"]
    cluster = _tf_config(plan.processes[0])["cluster"]
    assert cluster == {"chief": ["10.0.0.1:5000"], "worker": ["10.0.0.1:5001", "10.0.0.1:5002"],
                       "ps": ["10.0.0.1:5003"]}
    assert [p.decides for p in plan.processes] == [True, False, False, False]
    # workers of a chief + ps cluster serve until stopped, like the parameter servers
    assert [p.serves for p in plan.processes] == [False, True, True, True]
    assert all(_tf_config(p)["environment"] == "cloud" for p in plan.processes)


def test_processes_spread_over_nodes_in_blocks() -> None:
    plan = _plan(TensorflowConfiguration(worker_count=4, parameter_server_count=0),
                 hosts=("a", "b"))
    assert [(p.host, p.node_rank, p.local_rank) for p in plan.processes] == [
        ("a", 0, 0), ("a", 0, 1), ("b", 1, 0), ("b", 1, 1)]
    assert _tf_config(plan.processes[0])["cluster"]["worker"] == [
        "a:5000", "a:5001", "b:5002", "b:5003"]


def test_mpi_ranks_are_started_by_one_mpirun() -> None:
    plan = _plan(MpiConfiguration(process_count_per_node=3))
    assert plan.launcher == "mpirun"
    assert [(p.name, p.rank, p.local_rank) for p in plan.processes] == [
        ("worker_0", 0, 0), ("worker_1", 1, 1), ("worker_2", 2, 2)]
    assert all(p.decides for p in plan.processes)


def test_pytorch_gets_what_torchrun_sets() -> None:
    plan = _plan(PyTorchConfiguration(process_count=2))
    envs = [p.env for p in plan.processes]
    assert [(e["RANK"], e["LOCAL_RANK"], e["WORLD_SIZE"]) for e in envs] == [
        ("0", "0", "2"), ("1", "1", "2")]
    assert {(e["MASTER_ADDR"], e["MASTER_PORT"]) for e in envs} == {("10.0.0.1", "5000")}
    assert envs[0]["RUNYARD_TORCH_BACKEND"] == "gloo"


def test_v1_backend_strings_and_estimator_counts() -> None:
    assert configuration_from("mpi", process_count_per_node=4) == {
        "framework": "mpi", "process_count_per_node": 4, "node_count": 1}
    with pytest.raises(ValidationError, match="'horovod'"):
        configuration_from("horovod")
    with pytest.raises(ValidationError, match="TensorflowConfiguration"):
        configuration_from({"framework": "tensorflow"})


@pytest.mark.parametrize(("make", "message"), [
    (lambda: TensorflowConfiguration(worker_count=0), "worker_count"),
    (lambda: TensorflowConfiguration(chief_count=2), "chief_count"),
    (lambda: MpiConfiguration(process_count_per_node=0), "process_count_per_node"),
    (lambda: PyTorchConfiguration(process_count=3, node_count=2), "multiple of node_count"),
    (lambda: PyTorchConfiguration(communication_backend="carrier-pigeon"), "Gloo"),
])
def test_bad_configurations_fail_at_construction(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match=message):
        make()
