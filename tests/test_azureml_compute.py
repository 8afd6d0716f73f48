"""v1's compute targets on runyard: status objects, nodes, scale settings, listing, v1's
node resource rules (processes share a node's CPUs and GPUs; parameter servers need no GPU).

The cluster tests use a real owned Ray cluster made as the article makes one,
`AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2")` (2 CPUs a node), once
for the module; the compute-instance test makes one node of its own and stops and starts it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard import Workspace as RunyardWorkspace
from runyard._procfs import alive
from runyard.azureml.core import Experiment, ScriptRunConfig, Workspace
from runyard.azureml.core.compute import AmlCompute, ComputeInstance, ComputeTarget
from runyard.azureml.core.compute.amlcompute import (
    AmlComputeNodeStateCounts,
    AmlComputeProvisioningConfiguration,
    AmlComputeStatus,
    ScaleSettings,
)
from runyard.azureml.core.compute.computeinstance import ComputeInstanceStatus
from runyard.azureml.core.runconfig import TensorflowConfiguration
from runyard.azureml.exceptions import ComputeTargetException
from runyard.compute import NodeOversubscribedWarning, RayCompute
from runyard.errors import NotSupportedError, ValidationError

from .conftest import _processes_mentioning

RUN_TIMEOUT = 300


# -- status objects and settings, no cluster needed ---------------------------------------

def test_the_local_target_has_a_status_object_with_v1_attributes(
        workspace: Workspace) -> None:
    local = ComputeTarget(workspace, "local")
    status = local.get_status()
    assert isinstance(status, AmlComputeStatus)
    assert status.provisioning_state == local.provisioning_state == "Succeeded"
    assert status.current_node_count == 1
    assert status.node_state_counts.idle_node_count == 1
    assert status.errors is None
    serialized = status.serialize()
    assert serialized["provisioningState"] == "Succeeded"
    assert serialized["currentNodeCount"] == 1
    assert AmlComputeStatus.deserialize(serialized) == status
    assert [n["nodeState"] for n in local.list_nodes()] == ["idle"]


def test_scale_settings_and_node_counts_serialize_as_v1() -> None:
    settings = ScaleSettings(0, 4, 1800)
    assert settings.serialize() == {"minNodeCount": 0, "maxNodeCount": 4,
                                    "nodeIdleTimeBeforeScaleDown": "PT1800S"}
    assert ScaleSettings.deserialize({"minNodeCount": 1, "maxNodeCount": 2,
                                      "nodeIdleTimeBeforeScaleDown": "PT30M"}) == \
        ScaleSettings(1, 2, 1800)
    with pytest.raises(ComputeTargetException, match="missing maxNodeCount"):
        ScaleSettings.deserialize({"minNodeCount": 1, "nodeIdleTimeBeforeScaleDown": ""})
    counts = AmlComputeNodeStateCounts(1, 0, 0, 2, 3, 0)
    assert AmlComputeNodeStateCounts.deserialize(counts.serialize()) == counts


def test_provisioning_configuration_is_v1s_class_with_scale_settings() -> None:
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=3,
                                                   idle_seconds_before_scaledown=600)
    assert isinstance(config, AmlComputeProvisioningConfiguration)
    assert config.scale_settings == ScaleSettings(0, 3, 600)
    assert config.resources == {"CPU": 2, "GPU": 0, "memory_gib": 7}
    with pytest.warns(UserWarning, match="ignores these Azure-only arguments of "
                                          "AmlComputeProvisioningConfiguration: vnet_name"):
        AmlComputeProvisioningConfiguration(vm_size="STANDARD_D2_V2", vnet_name="v")
    config.max_nodes = 0
    with pytest.raises(ValidationError, match="max_nodes must be at least 1"):
        config.validate_configuration()


def test_azure_quotas_and_identities_are_refused_with_the_reason(
        workspace: Workspace) -> None:
    with pytest.raises(NotSupportedError, match="no quota"):
        AmlCompute.list_usages(workspace)
    with pytest.raises(NotSupportedError, match="managed identities"):
        AmlCompute.add_identity(None, "SystemAssigned")  # type: ignore[arg-type]


def test_a_target_serializes_and_deserializes(workspace: Workspace) -> None:
    config = {"address": "http://127.0.0.1:9", "min_nodes": 0, "max_nodes": 2,
              "idle_seconds_before_scaledown": 60, "vm_size": "STANDARD_D2_V2",
              "resources": {"CPU": 2, "GPU": 0}, "provisioning_state": "Succeeded",
              "compute_type": "AmlCompute"}
    workspace.store.put_compute_target("far", "ray", config)
    target = ComputeTarget(workspace, "far")
    serialized = target.serialize()  # the cluster does not answer: the status says so
    assert serialized["properties"]["computeType"] == "AmlCompute"
    assert serialized["properties"]["properties"]["scaleSettings"]["maxNodeCount"] == 2
    assert serialized["properties"]["status"]["errors"][0]["code"] == "ClusterUnreachable"
    again = ComputeTarget.deserialize(workspace, serialized)
    assert isinstance(again, RayCompute)
    assert (again.name, again.config) == ("far", target.config)
    assert isinstance(AmlCompute.deserialize(workspace, serialized), AmlCompute)
    with pytest.raises(ComputeTargetException, match="not a serialized runyard compute"):
        ComputeTarget.deserialize(workspace, {"name": "x"})
    # listing: ComputeTarget.list and ws.compute_targets give the same targets
    assert {t.name for t in ComputeTarget.list(workspace)} == {"far", "local"}
    assert type(workspace.compute_targets["far"]) is type(ComputeTarget(workspace, "far"))
    # an attached cluster is detached, an owned one (or this machine) is not
    with pytest.raises(ComputeTargetException, match="use delete"):
        ComputeTarget(workspace, "local").detach()
    target.detach()
    assert "far" not in workspace.compute_targets
    with pytest.raises(ComputeTargetException, match="address of an existing cluster"):
        ComputeTarget.attach(workspace, "x", AmlCompute.provisioning_configuration())


def test_update_checks_the_new_scale_settings(workspace: Workspace) -> None:
    workspace.store.put_compute_target("far", "ray", {
        "address": "http://127.0.0.1:9", "min_nodes": 0, "max_nodes": 2,
        "idle_seconds_before_scaledown": 60, "resources": {"CPU": 1}})
    target = AmlCompute(workspace, "far")
    with pytest.raises(ValidationError, match=r"min_nodes \(3\) is more than max_nodes"):
        target.update(min_nodes=3)
    target.update(max_nodes=5, idle_seconds_before_scaledown=120)
    again = AmlCompute(workspace, "far")
    assert again.scale_settings == ScaleSettings(0, 5, 120)


# -- v1's node resource rules, as data (no GPU on this machine) -----------------------

def _target(workspace: Workspace, vm_size: str, owned: bool = False) -> RayCompute:
    from runyard.compute._vm_sizes import node_resources_for

    return RayCompute(workspace, "c", {
        "address": None if owned else "http://head:8265", "min_nodes": 0, "max_nodes": 4,
        "vm_size": vm_size, "resources": node_resources_for(vm_size)})


def _ps(workers: int, servers: int, nodes: int) -> dict[str, object]:
    return {"distributed": {"framework": "tensorflow", "worker_count": workers,
                            "parameter_server_count": servers, "chief_count": 0,
                            "node_count": nodes},
            "estimator": {"use_gpu": True}}


def test_parameter_servers_need_no_gpu_and_tasks_on_a_node_share_its_gpus(
        workspace: Workspace) -> None:
    nc6 = _target(workspace, "STANDARD_NC6")  # 6 CPUs, 1 GPU
    nc6.check_submission(_ps(2, 1, 2))  # refused before: "needs 2 GPU(s) per node"
    # two workers share node 0's one GPU; the parameter server's node asks for none
    assert nc6.run_bundles(_ps(2, 1, 2)) == ([{"CPU": 2, "GPU": 1}, {"CPU": 1}], [0, 1])
    assert nc6.run_bundles(_ps(2, 1, 1)) == ([{"CPU": 3, "GPU": 1}], [0])
    nc12 = _target(workspace, "STANDARD_NC12")  # 2 GPUs: one each
    assert nc12.run_bundles(_ps(2, 1, 2))[0] == [{"CPU": 2, "GPU": 2}, {"CPU": 1}]
    pytorch = {"distributed": {"framework": "pytorch", "backend": "nccl", "process_count": 4,
                               "node_count": 1}, "estimator": {"use_gpu": True}}
    assert nc12.run_bundles(pytorch)[0] == [{"CPU": 4, "GPU": 2}]
    # a node with a GPU task needs a GPU
    with pytest.raises(ValidationError, match=r"needs a GPU on node 0.*its nodes have none"):
        _target(workspace, "STANDARD_D2_V2").check_submission(_ps(2, 1, 2))


def test_an_owned_cluster_on_a_machine_without_gpus_refuses_use_gpu(
        workspace: Workspace) -> None:
    from runyard.compute._gpus import gpu_count as _gpu_count

    if _gpu_count():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValidationError, match=r"gives 1 per node, but this machine has 0"):
        _target(workspace, "STANDARD_NC6", owned=True).check_submission(_ps(2, 1, 2))


def test_processes_share_a_nodes_cpus_with_a_warning(workspace: Workspace) -> None:
    d2 = _target(workspace, "STANDARD_D2_V2")
    plain = {"distributed": _ps(2, 1, 1)["distributed"]}
    with pytest.warns(NodeOversubscribedWarning,
                      match=r"puts 3 processes on one node .* has 2 CPUs: they share them"):
        d2.check_submission(plain)
    assert d2.run_bundles(plain) == ([{"CPU": 2}], [0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d2.check_submission({"distributed": _ps(2, 0, 1)["distributed"]})  # 2 on 2: fine


# -- a real cluster ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunyardWorkspace]:
    root = tmp_path_factory.mktemp("amlcompute")
    workspace = RunyardWorkspace.create("amlcompute", path=root / "ws")
    yield workspace
    for pid in _processes_mentioning(str(workspace.path)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _delete(target: RayCompute) -> None:
    try:
        target.delete()
    except ComputeTargetException:
        target._stop_all_nodes()
        target.workspace.store.delete_compute_target(target.name)
        target._remove_folders()


@pytest.fixture(scope="module")
def cpu_cluster(cluster_workspace: Workspace) -> Iterator[AmlCompute]:
    pytest.importorskip("ray")
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", min_nodes=1,
                                                   max_nodes=2)
    created = ComputeTarget.create(cluster_workspace, "cpu-cluster", config)
    try:
        created.wait_for_completion(show_output=True, timeout_in_minutes=3)
        yield AmlCompute(cluster_workspace, "cpu-cluster")
    finally:
        _delete(created)


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_clusters_status_nodes_and_settings_as_v1_gives_them(
        cpu_cluster: AmlCompute, cluster_workspace: Workspace) -> None:
    status = cpu_cluster.get_status()
    assert isinstance(status, AmlComputeStatus)
    assert status.provisioning_state == cpu_cluster.provisioning_state == "Succeeded"
    assert status.current_node_count == 1
    assert status.allocation_state == "Steady"
    assert status.node_state_counts.idle_node_count + \
        status.node_state_counts.running_node_count == 1
    assert status.errors is None
    assert status.vm_size == "STANDARD_D2_V2"
    assert status.scale_settings == ScaleSettings(1, 2, 1800)
    assert status.creation_time is not None
    assert status.serialize()["scaleSettings"]["maxNodeCount"] == 2
    nodes = cpu_cluster.list_nodes()
    assert len(nodes) == 1
    assert nodes[0]["privateIpAddress"]
    assert nodes[0]["nodeState"] in ("idle", "running")
    assert nodes[0]["resources"]["CPU"] == 2
    # ws.compute_targets and ComputeTarget.list give targets with the same status
    listed = cluster_workspace.compute_targets["cpu-cluster"]
    assert listed.get_status().current_node_count == 1
    assert listed.provisioning_state == "Succeeded"
    assert (listed.vm_size, listed.vm_priority) == ("STANDARD_D2_V2", "dedicated")
    assert listed.scale_settings == ScaleSettings(1, 2, 1800)
    assert listed.status.current_node_count == 1  # v1's attribute, read now
    assert "cpu-cluster" in {t.name for t in ComputeTarget.list(cluster_workspace)}
    assert cpu_cluster.get()["properties"]["computeType"] == "AmlCompute"
    assert list(cpu_cluster.get_active_runs()) == []
    # update: the new bounds are kept; another object sees them after refresh_state
    other = ComputeTarget(cluster_workspace, "cpu-cluster")
    cpu_cluster.update(max_nodes=3, idle_seconds_before_scaledown=900)
    other.refresh_state()
    assert other.get_status().scale_settings == ScaleSettings(1, 3, 900)
    cpu_cluster.update(max_nodes=2, idle_seconds_before_scaledown=1800)


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_articles_parameter_server_job_shares_a_two_cpu_node(
        cpu_cluster: AmlCompute, tmp_path: Path) -> None:
    """2 workers + 1 parameter server on one STANDARD_D2_V2 node: refused before ("3
    processes on one node and a node has 2 CPUs"), v1 ran it and so does runyard now."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(textwrap.dedent("""
        import json, os, time
        from runyard import Run
        run = Run.get_context()
        task = json.loads(os.environ["TF_CONFIG"])["task"]
        run.log("task", task["type"] + str(task["index"]))
        if task["type"] == "ps":
            time.sleep(600)  # a parameter server serves until stopped
    """))
    config = ScriptRunConfig(str(tmp_path / "src"), "train.py", compute_target=cpu_cluster,
                             distributed_job_config=TensorflowConfiguration(
                                 worker_count=2, parameter_server_count=1))
    with pytest.warns(NodeOversubscribedWarning, match="3 processes on one node"):
        run = Experiment(cpu_cluster.workspace, "ps").submit(config)
    assert [r.id for r in cpu_cluster.get_active_runs()] in ([run.id], [])  # may be done
    details = run.wait_for_completion(timeout_seconds=RUN_TIMEOUT)
    assert details["status"] == "Completed", details.get("error")
    tasks = {row["text"] for row in run.workspace.store.get_metrics(run.id, "task")}
    assert tasks == {"worker0", "worker1", "ps0"}
    queued = [e for e in run.workspace.store.status_events(run.id) if e["status"] == "Queued"]
    assert "1 node with 2 CPU free" in queued[0]["detail"]


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_compute_instance_stops_and_starts(cluster_workspace: Workspace) -> None:
    pytest.importorskip("ray")
    config = ComputeInstance.provisioning_configuration(vm_size="STANDARD_DS1_V2")
    created = ComputeTarget.create(cluster_workspace, "instance", config)
    try:
        created.wait_for_completion(timeout_in_minutes=3)
        instance = ComputeInstance(cluster_workspace, "instance")
        status = instance.get_status()
        assert isinstance(status, ComputeInstanceStatus)
        assert status.state == "Running"
        assert status.serialize()["vmSize"] == "STANDARD_DS1_V2"
        with pytest.raises(ComputeTargetException, match="is Running, not Stopped"):
            instance.start()
        head = instance._node_processes()[0]["pid"]
        instance.stop()
        assert instance.get_status().state == "Stopped"
        assert not alive(head)
        assert ComputeTarget(cluster_workspace, "instance").provisioning_state == "Stopped"
        with pytest.raises(ComputeTargetException, match="stopped already"):
            instance.stop()
        instance.start(wait_for_completion=True)
        assert instance.get_status().state == "Running"
        assert instance.get_status().errors is None
    finally:
        _delete(created)
