"""Runs on a real Ray cluster (Ray 2.60, token authentication) on this machine: a head and
one worker node started by `ComputeTarget.create`, each node with 2 CPUs of its own.

The cluster is made once for the module (`shared_cluster`); the `cluster` fixture puts it
back in shape before each test that uses it (no run of an earlier test active, no
attachment left, exactly its two nodes), so every test passes alone and in any order.
The tests of isolation, time limits and readiness make small clusters of their own
(head only, 1 CPU), in workspaces of their own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runyard import Experiment, Run, ScriptRunConfig, Workspace
from runyard._procfs import alive
from runyard.compute import ComputeTarget, NodeOversubscribedWarning, RayCompute
from runyard.distributed import MpiConfiguration, TensorflowConfiguration
from runyard.errors import ComputeTargetException, ValidationError

from .conftest import _processes_mentioning, wait_for

ray = pytest.importorskip("ray")

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(900)]

RUN_TIMEOUT = 300

# every process writes its pid to <folder>/<role>_<index>.pid and says on which Ray node
# its agent runs
WHO = """
    import json, os, sys, time
    from runyard import Run
    run = Run.get_context()
    FOLDER = sys.argv[sys.argv.index("--folder") + 1]
    ME = os.environ["RUNYARD_ROLE"] + "_" + os.environ["RUNYARD_ROLE_INDEX"]
    with open(os.path.join(FOLDER, ME + ".pid"), "w") as f:
        f.write(str(os.getpid()))
    run.log("ray_node", os.environ["RUNYARD_RAY_NODE_ID"])
    print(ME, "on ray node", os.environ["RUNYARD_RAY_NODE_ID"][:12], flush=True)
"""


@pytest.fixture(scope="module")
def cluster_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("ray")
    workspace = Workspace.create("raytest", path=root / "ws")
    with pytest.MonkeyPatch.context() as patch:
        # the nodes inherit it from the process that starts them: environments of these
        # tests are built in a cache of their own
        patch.setenv("RUNYARD_ENV_CACHE", str(root / "env-cache"))
        yield workspace
    for pid in _processes_mentioning(str(workspace.path)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _end_active_runs(workspace: Workspace) -> None:
    for row in workspace.store.list_runs():
        if row["status"] not in ("Completed", "Failed", "Canceled"):
            Run.get(workspace, row["id"]).cancel()
    wait_for(lambda: all(r["status"] in ("Completed", "Failed", "Canceled")
                         for r in workspace.store.list_runs()), 120, every=0.5)


def _delete(compute: RayCompute) -> None:
    """Delete an owned cluster, ending its runs first."""
    _end_active_runs(compute.workspace)
    try:
        compute.delete()
    except ComputeTargetException:
        compute._stop_all_nodes()
        compute.workspace.store.delete_compute_target(compute.name)
        compute._remove_folders()


@pytest.fixture(scope="module")
def shared_cluster(cluster_workspace: Workspace) -> Iterator[RayCompute]:
    config = RayCompute.provisioning_configuration(min_nodes=2, max_nodes=3,
                                                   node_resources={"CPU": 2})
    compute = ComputeTarget.create(cluster_workspace, "cluster", config)
    try:
        compute.wait_for_completion(show_output=True, timeout_in_minutes=3)
        yield compute
    finally:
        _delete(compute)


@pytest.fixture
def cluster(shared_cluster: RayCompute, cluster_workspace: Workspace) -> RayCompute:
    """The module's cluster as each test expects it, whatever ran before: no run active,
    no other compute target, its two nodes (head and one worker) and no more, as Ray sees
    them too (a killed node stays listed until Ray notices)."""
    _end_active_runs(cluster_workspace)
    for name, target in cluster_workspace.compute_targets.items():
        if name not in ("local", "cluster") and isinstance(target, RayCompute):
            _delete(target)
    limit = shared_cluster.config["idle_seconds_before_scaledown"]
    shared_cluster.config["idle_seconds_before_scaledown"] = 0  # extra nodes go now

    settled: list[bool] = []

    def two_nodes() -> bool:
        shared_cluster.scale_down_idle()
        shared_cluster.ensure_nodes(2)
        ours = [n for n in shared_cluster._node_processes() if shared_cluster._is_ours(n)]
        # Ray's two views (the dashboard's and the GCS's, which get_status shows) name
        # the same two nodes, twice in a row
        listed = {n["node_id"] for n in shared_cluster.nodes()}
        used = {n["node_id"] for n in shared_cluster.nodes(usage=True)}
        settled.append(len(ours) == len(listed) == 2 and listed == used)
        return settled[-2:] == [True, True]

    try:
        wait_for(two_nodes, timeout=180, every=1)
    finally:
        shared_cluster.config["idle_seconds_before_scaledown"] = limit
    shared_cluster.wait_for_completion(min_node_count=2, timeout_in_minutes=3)
    return shared_cluster


@pytest.fixture
def ray_submit(cluster: RayCompute, cluster_workspace: Workspace,
               tmp_path: Path) -> Callable[..., Run]:
    experiment = Experiment(cluster_workspace, "ray")
    counter = iter(range(1000))

    def go(code: str, arguments: list[str] | None = None, **config: object) -> Run:
        folder = tmp_path / f"src{next(counter)}"
        folder.mkdir()
        (folder / "train.py").write_text(textwrap.dedent(code))
        return experiment.submit(ScriptRunConfig(
            str(folder), "train.py", arguments=arguments, compute_target=cluster,
            **config))  # type: ignore[arg-type]

    return go


def _statuses(run: Run) -> list[str]:
    return [event["status"] for event in run.workspace.store.status_events(run.id)]


def _pids(folder: Path) -> dict[str, int]:
    return {p.stem: int(p.read_text()) for p in folder.glob("*.pid")}


def _nodes_of(run: Run) -> dict[int, str]:
    return {row["rank"]: row["text"]
            for row in run.workspace.store.get_metrics(run.id, "ray_node")}


# -- bad input, no cluster needed --------------------------------------------------------
@pytest.mark.parametrize(("arguments", "message"), [
    ({"min_nodes": 3, "max_nodes": 2}, r"min_nodes \(3\) is more than max_nodes \(2\)"),
    ({"max_nodes": 0}, "max_nodes must be at least 1"),
    ({"min_nodes": -1}, "min_nodes must be a whole number"),
    ({"address": "head:6379"}, "dashboard's URL"),
    ({"vm_size": "STANDARD_XYZ"}, r"unknown vm_size 'STANDARD_XYZ'.*STANDARD_D2_V2"),
    ({"node_resources": {"CPU": -2}}, r"node_resources\['CPU'\] must be a number"),
    ({"node_resources": {"CPU": 0}}, "at least 1 CPU"),
    ({"vm_priority": "cheap"}, "vm_priority must be one of"),
])
def test_bad_provisioning_configurations_are_refused(arguments: dict[str, object],
                                                     message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RayCompute.provisioning_configuration(**arguments)  # type: ignore[arg-type]


def test_vm_sizes_become_node_resources() -> None:
    config = RayCompute.provisioning_configuration(vm_size="standard_nc6")
    assert config.resources == {"CPU": 6, "GPU": 1, "memory_gib": 56}
    config = RayCompute.provisioning_configuration(vm_size="STANDARD_D2_V2",
                                                   node_resources={"CPU": 1})
    assert config.resources == {"CPU": 1, "GPU": 0, "memory_gib": 7}


def test_what_a_cluster_cannot_run_is_refused_at_submit(workspace: Workspace) -> None:
    compute = RayCompute(workspace, "c", {"address": None, "min_nodes": 0, "max_nodes": 2,
                                          "resources": {"CPU": 2, "GPU": 0}})
    with pytest.raises(ValidationError, match=r"asks for 3 nodes.*at most 2"):
        compute.check_submission({"distributed": {"framework": "mpi", "node_count": 3,
                                                  "process_count_per_node": 1}})
    with pytest.raises(ValidationError, match="MPI across several Ray nodes"):
        compute.check_submission({"distributed": {"framework": "mpi", "node_count": 2,
                                                  "process_count_per_node": 1}})
    with pytest.warns(NodeOversubscribedWarning, match=r"puts 3 processes on one node.*2 CPUs"):
        compute.check_submission({"distributed": {"framework": "mpi", "node_count": 1,
                                                  "process_count_per_node": 3}})
    with pytest.raises(ValidationError, match=r"use_gpu=True needs a GPU.*its nodes have none"):
        compute.check_submission({"estimator": {"use_gpu": True}})
    compute.check_submission({"distributed": None})


def test_looking_up_a_missing_cluster_raises_compute_target_exception(
        workspace: Workspace) -> None:
    with pytest.raises(ComputeTargetException, match="unknown compute target 'gpucluster'"):
        ComputeTarget(workspace, "gpucluster")
    with pytest.raises(ComputeTargetException, match="cannot create a compute target from"):
        ComputeTarget.create(workspace, "x", {"max_nodes": 2})
    with pytest.raises(ComputeTargetException, match="'local' exists already"):
        ComputeTarget.create(workspace, "local", RayCompute.provisioning_configuration())


def test_attaching_to_nothing_is_a_clear_error(workspace: Workspace) -> None:
    config = RayCompute.provisioning_configuration(address="http://127.0.0.1:9")
    from runyard.errors import ComputeUnreachableError

    # the refused connection leaves the Jobs REST client mapped (runyard._foreign)
    with pytest.raises(ComputeUnreachableError,
                       match=r"Ray cluster 'far' at http://127.0.0.1:9 .*cannot be reached"):
        ComputeTarget.create(workspace, "far", config)
    assert "far" not in workspace.compute_targets


# -- clusters of their own: isolation, time limits, readiness ---------------------------
@contextlib.contextmanager
def _small_cluster(workspace: Workspace, wait: bool = True) -> Iterator[RayCompute]:
    """A head-only owned cluster of 1 CPU in `workspace`, deleted afterwards."""
    config = RayCompute.provisioning_configuration(min_nodes=1, max_nodes=1,
                                                   node_resources={"CPU": 1})
    compute = ComputeTarget.create(workspace, "cluster", config)
    try:
        if wait:
            compute.wait_for_completion(timeout_in_minutes=3)
        yield compute
    finally:
        _delete(compute)


def _submit_to(compute: RayCompute, code: str) -> Run:
    folder = compute.workspace.path.parent / f"src-{time.monotonic_ns()}"
    folder.mkdir()
    (folder / "train.py").write_text(textwrap.dedent(code))
    return Experiment(compute.workspace, "ray").submit(
        ScriptRunConfig(str(folder), "train.py", compute_target=compute))


def _no_direct_jobs(compute: RayCompute) -> None:
    """Runs on `compute` connect to its GCS and ask for a placement group, even those that
    could be direct (one node's bundle as the job's entrypoint resources)."""
    compute.config["direct_jobs"] = False
    compute._save()


def _post_bare_job(compute: RayCompute) -> int:
    """POST a job straight to the cluster's Jobs REST API, once; its HTTP status."""
    import json
    import urllib.error
    import urllib.request

    token = (compute.state_dir / "token").read_text().strip()
    request = urllib.request.Request(
        compute.dashboard_url + "/api/jobs/", method="POST",
        data=json.dumps({"entrypoint": "true", "entrypoint_num_cpus": 0}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as e:
        with e:
            return e.code


def test_owned_clusters_of_two_workspaces_run_a_job_each_at_the_same_time(
        tmp_path: Path) -> None:
    where_am_i = """
        import os, time
        from runyard import Run
        Run.get_context().log("ray_node", os.environ["RUNYARD_RAY_NODE_ID"])
        time.sleep(3)
    """
    a = Workspace.create("a", path=tmp_path / "a" / "ws")
    b = Workspace.create("b", path=tmp_path / "b" / "ws")
    with _small_cluster(a, wait=False) as first, _small_cluster(b) as second:
        first.wait_for_completion(timeout_in_minutes=3)
        clusters = (first, second)
        for compute in clusters:  # supervisors that connect (not direct runs): see below
            _no_direct_jobs(compute)
        # each node listens on ports of its own, and each cluster has its own temp folder
        ports = [{port for node in c._node_processes() for name, port in node["ports"].items()
                  if name != "workers"} for c in clusters]
        assert not ports[0] & ports[1]
        assert first.temp_dir != second.temp_dir
        for compute in clusters:
            assert compute.temp_dir is not None
            assert (compute.temp_dir / "session_latest" / "logs" / "raylet.out").exists()
        runs = [_submit_to(compute, where_am_i) for compute in clusters]
        for run in runs:
            details = run.wait_for_completion(timeout_seconds=RUN_TIMEOUT)
            assert details["status"] == "Completed", details.get("error")
        # at the same time: each was Running before the other finished
        times = [{e["status"]: e["time"] for e in run.workspace.store.status_events(run.id)}
                 for run in runs]
        assert times[0]["Running"] < times[1]["Finalizing"]
        assert times[1]["Running"] < times[0]["Finalizing"]
        # and each on its own cluster: its node, its GCS address
        for run, compute in zip(runs, clusters, strict=True):
            assert run.get_metrics()["ray_node"] == compute.nodes()[0]["node_id"]
            supervisor = run.read_log("logs/supervisor.txt").decode()
            assert f"connecting to Ray cluster 'cluster' at {compute.gcs_address}" in \
                supervisor
        folders = [compute.temp_dir for compute in clusters]
        sessions = [node["pid"] for c in clusters for node in c._node_processes()]
    # deleted: every process of their nodes (Ray's workers included) and their temp folders
    from runyard.compute._ray_nodes import _session_members

    assert not [pid for session in sessions for pid in _session_members(session)
                if alive(pid)]
    time.sleep(2)  # nothing writes into them afterwards
    assert not any(folder is not None and folder.exists() for folder in folders)


def test_a_cluster_reported_succeeded_takes_a_job_at_once(workspace: Workspace) -> None:
    with _small_cluster(workspace) as compute:
        assert compute.config["provisioning_state"] == "Succeeded"
        assert _post_bare_job(compute) == 200  # no "No available agent"


def test_a_run_submitted_right_after_create_waits_for_the_job_api(
        workspace: Workspace) -> None:
    with _small_cluster(workspace, wait=False) as compute:
        run = _submit_to(compute, "from runyard import Run\n"
                                  "Run.get_context().log('early', 1)\n")
        details = run.wait_for_completion(timeout_seconds=RUN_TIMEOUT)
        assert details["status"] == "Completed", details.get("error")
        assert run.get_metrics()["early"] == 1


@pytest.mark.parametrize("gcs", ["nothing listens", "never answers"])
def test_a_cluster_whose_gcs_does_not_answer_fails_the_run_with_its_address(
        workspace: Workspace, gcs: str) -> None:
    """The cluster's recorded GCS address is stale: the supervisor (a Ray job on the
    cluster, whose RAY_ADDRESS names the real one) connects to the recorded one only, and
    gives up within its time limit."""
    import socket

    from runyard.compute.ray_executor import CONNECT_TIMEOUT

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    stale = f"127.0.0.1:{listener.getsockname()[1]}"
    if gcs == "nothing listens":
        listener.close()
    else:
        listener.listen(8)
    try:
        with _small_cluster(workspace) as compute:
            real = compute.gcs_address
            _no_direct_jobs(compute)  # a direct run connects to no GCS
            compute.config["gcs_address"] = stale
            compute._save()
            try:
                run = _submit_to(compute, "print('never')\n")
                details = run.wait_for_completion(timeout_seconds=CONNECT_TIMEOUT + 90,
                                                  raise_on_error=False)
            finally:
                compute.config["gcs_address"] = real
                compute._save()
            assert details["status"] == "Failed"
            error = details["error"]["error"]["message"]
            assert f"cannot connect to Ray cluster 'cluster' at {stale}" in error
            assert ("nothing listens there" if gcs == "nothing listens" else
                    "does not answer as a GCS") in error
            assert "Running" not in _statuses(run)
    finally:
        listener.close()


# -- the cluster -------------------------------------------------------------------------
def test_the_cluster_reports_its_nodes_and_their_resources(cluster: RayCompute,
                                                           cluster_workspace: Workspace) -> None:
    status = cluster.get_status()
    assert status.provisioning_state == "Succeeded"
    assert status.current_node_count == 2
    assert status.nodes[0]["runyard_index"] == 0  # the head, first
    assert all(n["total"]["CPU"] == 2 for n in status.nodes)
    assert ComputeTarget(cluster_workspace, "cluster").get_status().current_node_count == 2
    assert cluster_workspace.compute_targets["cluster"].type == "ray"
    with pytest.raises(ComputeTargetException, match="exists already"):
        ComputeTarget.create(cluster_workspace, "cluster",
                             RayCompute.provisioning_configuration())


def test_job_submission_without_the_token_is_refused(cluster: RayCompute) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(cluster.dashboard_url + "/api/jobs/", timeout=10)
    refused.value.close()
    assert refused.value.code == 401


def test_a_single_process_run(ray_submit: Callable[..., Run], tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    run = ray_submit(WHO + """
    run.log("loss", 0.25)
    os.makedirs("outputs", exist_ok=True)
    with open("outputs/model.txt", "w") as f:
        f.write("weights")
    """, ["--folder", str(tmp_path)])
    details = run.wait_for_completion(show_output=True, timeout_seconds=RUN_TIMEOUT)
    assert details["status"] == "Completed", details.get("error")
    assert run.get_metrics()["loss"] == 0.25
    assert {"outputs/model.txt", "logs/driver_0.txt"} <= set(run.get_file_names())
    assert _statuses(run)[:6] == ["NotStarted", "Preparing", "Queued", "Starting",
                                  "Running", "Finalizing"]
    out = capsys.readouterr().out
    assert "driver_0 on ray node" in out
    assert "asking cluster for 1 node with 1 CPU free" in out
    assert not any(alive(pid) for pid in _pids(tmp_path).values())


def test_a_run_that_fits_one_node_is_a_direct_job(ray_submit: Callable[..., Run],
                                                 cluster: RayCompute, tmp_path: Path) -> None:
    """One node's run: the supervisor's Ray job holds the node (its entrypoint resources
    are the run's bundle) and starts the processes itself: no ray.init, no placement
    group, no node agent; the stages are the same."""
    run = ray_submit(WHO + """
    while not os.path.exists(os.path.join(FOLDER, "go")):
        time.sleep(0.1)
    """, ["--folder", str(tmp_path)], distributed_job_config=TensorflowConfiguration(
        worker_count=2, parameter_server_count=0))
    wait_for(lambda: len(_pids(tmp_path)) == 2, timeout=120)
    job = cluster.job_status(run.id)
    # while it runs, Ray holds the bundle (both processes' CPUs) on the job's node
    held = {n["node_id"]: n["used"] for n in cluster.nodes(usage=True)}
    assert held[job["driver_node_id"]].get("CPU") == 2, held
    (tmp_path / "go").write_text("")
    details = run.wait_for_completion(timeout_seconds=RUN_TIMEOUT)
    assert details["status"] == "Completed", details.get("error")
    assert _statuses(run) == ["NotStarted", "Preparing", "Queued", "Starting", "Running",
                              "Finalizing", "Completed"]
    supervisor = run.read_log("logs/supervisor.txt").decode()
    assert "a direct run" in supervisor
    assert "connecting to Ray cluster" not in supervisor
    assert "asking cluster for 1 node with 2 CPU free" in supervisor
    nodes = set(_nodes_of(run).values())
    assert len(nodes) == 1
    assert nodes <= {n["node_id"] for n in cluster.nodes()}
    assert job["driver_node_id"] in nodes
    assert not any(alive(pid) for pid in _pids(tmp_path).values())


def test_a_direct_job_ray_keeps_pending_is_no_failure(
        ray_submit: Callable[..., Run], cluster: RayCompute, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Bare Ray jobs that runyard does not count hold every CPU: the run's direct job is
    PENDING in Ray, with no supervisor yet; past the liveness limit readers do not fail
    it (the compute says its supervisor is pending), and it runs once the CPUs free."""
    import runyard._liveness

    monkeypatch.setattr(runyard._liveness, "STALE_SECONDS", 2.0)
    release = tmp_path / "release"
    blocker = (f"{sys.executable} -c \"import os, time\n"
               f"while not os.path.exists('{release}'): time.sleep(0.1)\"")
    for _ in range(2):  # both nodes, 2 CPUs each
        cluster.jobs.request("POST", "/api/jobs/", {"entrypoint": blocker,
                                                    "entrypoint_num_cpus": 2})
    wait_for(lambda: sum(n["used"].get("CPU", 0) for n in cluster.nodes(usage=True)) == 4,
             timeout=60)
    run = ray_submit(WHO, ["--folder", str(tmp_path)])
    try:
        time.sleep(4)  # twice the (patched) liveness limit
        assert run.get_status() == "NotStarted"
        assert cluster.supervisor_pending(run.id)
    finally:
        release.write_text("")
    details = run.wait_for_completion(timeout_seconds=RUN_TIMEOUT)
    assert details["status"] == "Completed", details.get("error")
    assert "a direct run" in run.read_log("logs/supervisor.txt").decode()


@pytest.mark.parametrize("how", ["run.cancel()", "Ray stops the job"])
def test_a_direct_run_is_canceled_by_its_run_or_by_ray(
        ray_submit: Callable[..., Run], cluster: RayCompute, tmp_path: Path, how: str) -> None:
    """A direct run's supervisor (forked by the fork server when one answers, the job's
    entrypoint standing in for it) is canceled by run.cancel(), and by Ray stopping the
    job (its SIGTERM passed on); its processes are gone, the job ends."""
    from runyard.compute.ray import job_id

    run = ray_submit(WHO + """
    time.sleep(600)
    """, ["--folder", str(tmp_path)])
    wait_for(lambda: len(_pids(tmp_path)) == 1, timeout=120)
    pids = _pids(tmp_path)
    if how == "run.cancel()":
        run.cancel()
    else:
        cluster.jobs.request("POST", f"/api/jobs/{job_id(run.id)}/stop")
    details = run.wait_for_completion(timeout_seconds=60, raise_on_error=False)
    assert details["status"] == "Canceled", details.get("error")
    assert wait_for(lambda: not any(alive(pid) for pid in pids.values()), timeout=15)
    assert wait_for(lambda: cluster.job_status(run.id)["status"] in
                    ("SUCCEEDED", "STOPPED", "FAILED"), timeout=30)


def test_a_run_without_a_free_node_at_submit_asks_for_a_placement_group(
        ray_submit: Callable[..., Run], cluster: RayCompute, tmp_path: Path) -> None:
    """Runs that hold both nodes are counted at submit: the third is not direct (Ray would
    keep its job pending with no supervisor to show Scaling); it waits as before, the
    cluster scaling up for it."""
    hold = WHO + """
    while not os.path.exists(os.path.join(FOLDER, "go")):
        time.sleep(0.1)
    """
    two = TensorflowConfiguration(worker_count=2, parameter_server_count=0)
    holders = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        holders.append(ray_submit(hold, ["--folder", str(tmp_path / name)],
                                  distributed_job_config=two))
    wait_for(lambda: all(r.get_status() == "Running" for r in holders), timeout=120)
    (tmp_path / "c").mkdir()
    third = ray_submit(WHO, ["--folder", str(tmp_path / "c")], distributed_job_config=two)
    wait_for(lambda: "Scaling" in _statuses(third) or third.get_status() == "Running",
             timeout=120)
    for folder in ("a", "b"):
        (tmp_path / folder / "go").write_text("")
    for run in (*holders, third):
        details = run.wait_for_completion(timeout_seconds=RUN_TIMEOUT)
        assert details["status"] == "Completed", details.get("error")
    for run in holders:
        assert "a direct run" in run.read_log("logs/supervisor.txt").decode()
    supervisor = third.read_log("logs/supervisor.txt").decode()
    assert "a direct run" not in supervisor
    assert f"connecting to Ray cluster 'cluster' at {cluster.gcs_address}" in supervisor
    assert "Scaling" in _statuses(third)
    # The worker node the third run's driver started belongs to the cluster, not to the
    # run: it outlives the run's end (its keeper kills only the run's own processes).
    from runyard.supervisor._processes import alive

    time.sleep(3)
    nodes = cluster._node_processes()
    assert len(nodes) > 2, nodes
    assert all(alive(node["pid"]) for node in nodes), nodes


def test_the_environment_is_prepared_once_on_each_node_and_not_on_the_driver(
        ray_submit: Callable[..., Run], tmp_path: Path) -> None:
    """A run with a built environment on two nodes: each node's agent prepares it once
    (from its node's cache), the driver not at all; the processes run in it."""
    from runyard.environment import CondaDependencies, Environment

    env = Environment("on-the-nodes")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["six==1.16.0"])
    run = ray_submit(WHO + """
    print("interpreter", sys.executable, flush=True)
    """, ["--folder", str(tmp_path)], distributed_job_config=TensorflowConfiguration(
        worker_count=2, parameter_server_count=0), run_config=_TwoNodes(), environment=env)
    details = run.wait_for_completion(timeout_seconds=RUN_TIMEOUT, raise_on_error=False)
    assert details["status"] == "Completed", details.get("error")
    assert len(set(_nodes_of(run).values())) == 2
    lines = run.read_log("logs/supervisor.txt").decode().splitlines()
    prepared = [line for line in lines if "environment " in line
                and ("cache hit" in line or "built in" in line)]
    assert sorted(line.split("] ")[1] for line in prepared) == ["[node 0", "[node 1"], \
        "\n".join(lines)
    # the plan: made once, at submit, and bound once to the two nodes, never made again
    plans = [line.split("] ", 1)[1] for line in lines if "] plan: " in line]
    assert len(plans) == 2, plans
    assert plans[0].startswith("plan: made at submit (tensorflow, 2 process(es) on 2 node")
    assert plans[1].startswith("plan: bound to 2 node(s): ")
    for name in ("worker_0", "worker_1"):
        log = run.read_log(f"logs/{name}.txt").decode()
        assert "interpreter " in log
        assert sys.executable not in log  # the environment's, not runyard's


def test_a_run_survives_the_client_that_submitted_it(cluster: RayCompute,
                                                     cluster_workspace: Workspace,
                                                     tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(textwrap.dedent("""
        import time
        from runyard import Run
        time.sleep(3)
        Run.get_context().log("survived", 1)
    """))
    client = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        from runyard import Experiment, ScriptRunConfig, Workspace
        ws = Workspace.from_config({str(cluster_workspace.path)!r})
        run = Experiment(ws, "ray").submit(ScriptRunConfig({str(tmp_path / 'src')!r},
                                           "train.py", compute_target="cluster"))
        print(run.id)
    """)], capture_output=True, text=True, check=True, timeout=120)
    run = Run.get(cluster_workspace, client.stdout.strip())  # the client is gone
    details = run.wait_for_completion(timeout_seconds=RUN_TIMEOUT)
    assert details["status"] == "Completed", details.get("error")
    assert run.get_metrics()["survived"] == 1


def _tensorflow_on_two_nodes(cluster: RayCompute, script: str, tmp_path: Path,
                             config: TensorflowConfiguration) -> Run:
    """`script` (one of test_tf_distributed's, which log through `run`) with the
    TensorFlow estimator on two nodes of the cluster, also logging its Ray node; the run
    Completed."""
    from runyard.train import TensorFlow

    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "train.py").write_text(textwrap.dedent(script) + textwrap.dedent("""
        run.log("ray_node", os.environ["RUNYARD_RAY_NODE_ID"])
    """))
    est = TensorFlow(source_directory=str(folder), entry_script="train.py",
                     script_params={"--folder": str(tmp_path)}, compute_target=cluster,
                     node_count=2, distributed_training=config)
    run = Experiment(cluster.workspace, "ray").submit(est)
    details = run.wait_for_completion(timeout_seconds=600)
    assert details["status"] == "Completed", details.get("error")
    return run


@pytest.mark.tf
def test_multi_worker_mirrored_strategy_across_the_two_nodes(
        cluster: RayCompute, cluster_workspace: Workspace, tmp_path: Path) -> None:
    from .test_tf_distributed import MWMS

    run = _tensorflow_on_two_nodes(cluster, MWMS, tmp_path, TensorflowConfiguration(
        worker_count=2, parameter_server_count=0))
    nodes = _nodes_of(run)
    assert set(nodes) == {0, 1}
    assert nodes[0] != nodes[1]
    hashes = {row["rank"]: row["text"]
              for row in cluster_workspace.store.get_metrics(run.id, "weights_hash")}
    assert set(hashes) == {0, 1}
    assert hashes[0] == hashes[1]
    assert not any(alive(pid) for pid in _pids(tmp_path).values())


@pytest.mark.tf
def test_parameter_servers_across_nodes(cluster: RayCompute, cluster_workspace: Workspace,
                                        tmp_path: Path) -> None:
    from .test_tf_distributed import TF1

    run = _tensorflow_on_two_nodes(cluster, TF1, tmp_path, TensorflowConfiguration(
        worker_count=2, parameter_server_count=1))
    totals = sorted(row["value"] for row in
                    cluster_workspace.store.get_metrics(run.id, "total"))
    assert len(totals) == 2
    assert totals[-1] == 6.0
    devices = {row["text"] for row in
               cluster_workspace.store.get_metrics(run.id, "variable_device")}
    assert devices == {"/job:ps/task:0"}
    assert {"logs/worker_0.txt", "logs/worker_1.txt", "logs/ps_0.txt"} <= \
        set(run.get_file_names())
    supervisor = run.read_log("logs/supervisor.txt").decode()
    assert "node 0: ray node" in supervisor
    assert "node 1: ray node" in supervisor
    assert not any(alive(pid) for pid in _pids(tmp_path).values())  # the ps too


@pytest.mark.mpi
def test_mpi_on_one_node(ray_submit: Callable[..., Run], tmp_path: Path) -> None:
    import shutil

    if shutil.which("mpirun") is None:
        pytest.skip("no mpirun (make system-deps installs OpenMPI)")
    run = ray_submit("""
        import os
        from runyard import Run
        rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        assert os.environ["OMPI_COMM_WORLD_SIZE"] == "2"
        Run.get_context().log("rank_seen", rank)
        print("rank", rank, "of", size, flush=True)
    """, distributed_job_config=MpiConfiguration(process_count_per_node=2))
    details = run.wait_for_completion(timeout_seconds=RUN_TIMEOUT)
    assert details["status"] == "Completed", details.get("error")
    ranks = sorted(p["value"] for p in run.workspace.store.get_metrics(run.id, "rank_seen"))
    assert ranks == [0.0, 1.0]
    assert {"logs/worker_0.txt", "logs/worker_1.txt"} <= set(run.get_file_names())


def test_cancel_stops_every_process_on_every_node(ray_submit: Callable[..., Run],
                                                  tmp_path: Path) -> None:
    run = ray_submit(WHO + """
    time.sleep(600)
    """, ["--folder", str(tmp_path)], distributed_job_config=TensorflowConfiguration(
        worker_count=2, parameter_server_count=0), run_config=_TwoNodes())
    wait_for(lambda: len(_pids(tmp_path)) == 2, timeout=120)
    pids = _pids(tmp_path)
    assert len(set(_nodes_of_wait(run).values())) == 2
    run.cancel()
    details = run.wait_for_completion(timeout_seconds=60, raise_on_error=False)
    assert details["status"] == "Canceled"
    assert wait_for(lambda: not any(alive(pid) for pid in pids.values()), timeout=15)


class _TwoNodes:
    """v1's RunConfiguration, as far as node_count goes."""

    node_count = 2


def _nodes_of_wait(run: Run) -> dict[int, str]:
    return wait_for(lambda: len(_nodes_of(run)) == 2 and _nodes_of(run), timeout=30)  # type: ignore[return-value]


def test_a_killed_supervisor_fails_the_run_and_leaves_no_process_on_any_node(
        ray_submit: Callable[..., Run], cluster_workspace: Workspace, tmp_path: Path) -> None:
    run = ray_submit(WHO + """
    time.sleep(600)
    """, ["--folder", str(tmp_path)], distributed_job_config=TensorflowConfiguration(
        worker_count=2, parameter_server_count=0), run_config=_TwoNodes())
    wait_for(lambda: len(_pids(tmp_path)) == 2, timeout=120)
    pids = _pids(tmp_path)
    supervisor = cluster_workspace.store.get_run(run.id)["supervisor_pid"]
    os.kill(supervisor, signal.SIGKILL)
    details = run.wait_for_completion(timeout_seconds=60, raise_on_error=False)
    assert details["status"] == "Failed"
    assert "supervisor" in details["error"]["error"]["message"]
    # its node agents are Ray actors owned by the supervisor: Ray removes them, and their
    # processes die with them
    assert wait_for(lambda: not any(alive(pid) for pid in pids.values()), timeout=60)


def test_the_cli_shows_attaches_to_and_deletes_clusters(
        cluster: RayCompute, cluster_workspace: Workspace, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from .test_cli import assert_one_line_error, invoke

    shown = invoke(cluster_workspace, "compute", "show", "cluster")
    assert "Succeeded" in shown.stdout
    assert shown.stdout.count("CPU 2") == 2  # both nodes and their resources
    listed = invoke(cluster_workspace, "compute", "list")
    assert "cluster" in listed.stdout
    assert "ray" in listed.stdout
    # without the token, attaching is refused with Ray's own answer
    refused = invoke(cluster_workspace, "compute", "create", "attached", "--address",
                     cluster.dashboard_url, code=2,
                     env={"RAY_AUTH_TOKEN_PATH": None, "HOME": str(tmp_path)})  # type: ignore[dict-item]
    assert_one_line_error(refused, "HTTP 401", "RAY_AUTH_TOKEN")
    token = {"RAY_AUTH_TOKEN_PATH": str(cluster.state_dir / "token")}
    created = invoke(cluster_workspace, "compute", "create", "attached", "--address",
                     cluster.dashboard_url, env=token)
    assert "attached: 2 node(s) up" in created.stdout
    assert "created compute target attached (ray)" in created.stdout
    # a run on the attached cluster: the client reads the token as Ray's own tools do, the
    # supervisor finds it on the node
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", token["RAY_AUTH_TOKEN_PATH"])
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("from runyard import Run\n"
                                               "Run.get_context().log('attached', 1)\n")
    run = Experiment(cluster_workspace, "ray").submit(
        ScriptRunConfig(str(tmp_path / "src"), "train.py", compute_target="attached"))
    details = run.wait_for_completion(timeout_seconds=RUN_TIMEOUT)
    assert details["status"] == "Completed", details.get("error")
    assert run.get_metrics()["attached"] == 1
    invoke(cluster_workspace, "compute", "delete", "attached")
    assert "attached" not in cluster_workspace.compute_targets
    assert cluster.get_status().current_node_count == 2  # deleting an attachment stops nothing
    missing = invoke(cluster_workspace, "compute", "show", "attached", code=2)
    assert_one_line_error(missing, "unknown compute target 'attached'")


def test_a_killed_worker_node_fails_the_run_and_the_cluster_scales_back(
        ray_submit: Callable[..., Run], cluster: RayCompute, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    run = ray_submit(WHO + """
    time.sleep(600)
    """, ["--folder", str(tmp_path / "a")], distributed_job_config=TensorflowConfiguration(
        worker_count=2, parameter_server_count=0), run_config=_TwoNodes())
    wait_for(lambda: len(_pids(tmp_path / "a")) == 2, timeout=120)
    pids = _pids(tmp_path / "a")
    # every worker node goes (there may be more than one if an earlier test scaled up):
    # one of the run's two nodes is among them, the head stays
    workers = [n for n in cluster._node_processes() if not n["head"]]
    indexes = {n["index"] for n in workers}
    killed = [n["node_id"] for n in cluster.get_status().nodes
              if n["runyard_index"] in indexes]
    for worker in workers:
        os.killpg(worker["pid"], signal.SIGKILL)
    details = run.wait_for_completion(timeout_seconds=180, raise_on_error=False)
    assert details["status"] == "Failed"
    error = details["error"]["error"]["message"]
    assert "node 1 (ray node" in error or "node 0 (ray node" in error
    assert any(f"{node_id[:12]} at " in error for node_id in killed)
    assert "died during the run" in error
    assert wait_for(lambda: not any(alive(pid) for pid in pids.values()), timeout=30)
    # the head and the next run go on: it needs two nodes again, so the cluster scales up
    (tmp_path / "b").mkdir()
    again = ray_submit(WHO, ["--folder", str(tmp_path / "b")],
                       distributed_job_config=TensorflowConfiguration(
        worker_count=2, parameter_server_count=0), run_config=_TwoNodes())
    details = again.wait_for_completion(timeout_seconds=RUN_TIMEOUT)
    assert details["status"] == "Completed", details.get("error")
    events = again.workspace.store.status_events(again.id)
    scaling = [e for e in events if e["status"] == "Scaling"]
    assert scaling
    assert "waiting for 2 separate nodes with 1 CPU free each" in \
        scaling[0]["detail"]
    # the one node the run lacked, no more
    assert len([n for n in cluster._node_processes() if cluster._is_ours(n)]) == 2


def test_a_killed_node_fails_the_direct_run_on_it_naming_the_node(
        ray_submit: Callable[..., Run], cluster: RayCompute, tmp_path: Path) -> None:
    """Two direct runs fill the two nodes; the worker node is killed: the run whose job
    was on it fails naming the node, its processes gone; the other run goes on."""
    hold = WHO + """
    while not os.path.exists(os.path.join(FOLDER, "go")):
        time.sleep(0.1)
    """
    two = TensorflowConfiguration(worker_count=2, parameter_server_count=0)
    runs = {}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        runs[name] = ray_submit(hold, ["--folder", str(tmp_path / name)],
                                distributed_job_config=two)
    for name in runs:
        wait_for(lambda name=name: len(_pids(tmp_path / name)) == 2, timeout=120)
    workers = [n for n in cluster._node_processes() if not n["head"]]
    indexes = {n["index"] for n in workers}
    worker_ids = {n["node_id"] for n in cluster.get_status().nodes
                  if n["runyard_index"] in indexes}
    on_worker = [name for name, run in runs.items()
                 if cluster.job_status(run.id)["driver_node_id"] in worker_ids]
    assert len(on_worker) == 1, (on_worker, worker_ids)
    doomed, survivor = on_worker[0], ({"a", "b"} - set(on_worker)).pop()
    pids = _pids(tmp_path / doomed)
    for worker in workers:
        os.killpg(worker["pid"], signal.SIGKILL)
    details = runs[doomed].wait_for_completion(timeout_seconds=180, raise_on_error=False)
    assert details["status"] == "Failed"
    error = details["error"]["error"]["message"]
    node_id = cluster.job_status(runs[doomed].id)["driver_node_id"]
    assert f"node 0 (ray node {node_id[:12]} at " in error
    assert "died during the run" in error
    assert wait_for(lambda: not any(alive(pid) for pid in pids.values()), timeout=30)
    (tmp_path / survivor / "go").write_text("")
    details = runs[survivor].wait_for_completion(timeout_seconds=RUN_TIMEOUT)
    assert details["status"] == "Completed", details.get("error")


def test_delete_stops_the_nodes(cluster_workspace: Workspace, tmp_path: Path) -> None:
    config = RayCompute.provisioning_configuration(min_nodes=1, max_nodes=2,
                                                   idle_seconds_before_scaledown=1)
    compute = ComputeTarget.create(cluster_workspace, "small", config)
    compute.wait_for_completion(min_node_count=2, timeout_in_minutes=3)
    head = compute._node_processes()[0]["pid"]
    worker = compute._node_processes()[1]["pid"]
    assert alive(head)
    assert alive(worker)
    # idle for more than a second beyond min_nodes: the worker node goes
    time.sleep(2)
    assert compute.get_status().current_node_count == 1
    assert wait_for(lambda: not alive(worker), timeout=30)
    compute.delete()
    assert not alive(head)
    assert "small" not in cluster_workspace.compute_targets
    with pytest.raises(ComputeTargetException, match="unknown compute target 'small'"):
        ComputeTarget(cluster_workspace, "small")
