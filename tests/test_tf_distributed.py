"""Real TensorFlow clusters under runyard, on the CPU: MultiWorkerMirroredStrategy,
ParameterServerStrategy (chief as coordinator), a TF1-style parameter-server script, a
failing worker, and the MNIST example with two workers.

Every run uses the TensorFlow estimator's environment (tensorflow-cpu and tf-keras,
TF_USE_LEGACY_KERAS=1), built by the module's first run into an environment cache of its
own (uv's download cache is shared and warm); whichever test comes first gets the longer
time limit. After each test no process of that environment is left. The models and step
counts are tiny: the point is the cluster, not the training, and these machines have 2
cores.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runyard import Experiment, Run, Workspace
from runyard._procfs import alive
from runyard.distributed import TensorflowConfiguration
from runyard.train import TensorFlow

from .conftest import wait_for

FIRST_RUN_TIMEOUT = 600  # the first run of the module builds the environment
RUN_TIMEOUT = 180

pytestmark = [pytest.mark.slow, pytest.mark.tf, pytest.mark.timeout(FIRST_RUN_TIMEOUT + 60)]

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "tf-mnist"

# Every script starts by writing its pid to <folder>/<type>_<index>.pid (--folder).
PID_FILE = """
    import json, os, sys, time
    TASK = json.loads(os.environ["TF_CONFIG"])["task"]
    FOLDER = sys.argv[sys.argv.index("--folder") + 1]
    MODE = sys.argv[sys.argv.index("--mode") + 1] if "--mode" in sys.argv else ""
    with open(os.path.join(FOLDER, f"{TASK['type']}_{TASK['index']}.pid"), "w") as f:
        f.write(str(os.getpid()))
"""

# Two MultiWorkerMirroredStrategy workers, each on its own data (shuffled with its own seed,
# no auto-sharding): they can only end with the same weights through the all-reduce.
# --mode fail: worker 1 raises right after the strategy (the cluster) is up.
MWMS = PID_FILE + """
    import hashlib
    import numpy as np
    import tensorflow as tf
    from runyard import Run

    run = Run.get_context()
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    print("replicas in sync:", strategy.num_replicas_in_sync, flush=True)
    if MODE == "fail" and TASK["index"] == 1:
        with open(os.path.join(FOLDER, "failed_at"), "w") as f:
            f.write(repr(time.time()))
        raise RuntimeError("worker 1 gives up on purpose")

    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("int64")
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    data = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(512, seed=TASK["index"])
            .batch(32).repeat().with_options(options))
    with strategy.scope():
        model = tf.keras.Sequential([tf.keras.Input(shape=(8,)),
                                     tf.keras.layers.Dense(16, activation="relu"),
                                     tf.keras.layers.Dense(2)])
        model.compile(optimizer=tf.keras.optimizers.SGD(0.1), metrics=["accuracy"],
                      loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def checksum():
        return sum(float(np.abs(w).sum()) for w in model.get_weights())

    run.log("keras", tf.keras.__name__)
    run.log("weights_before", checksum())
    model.fit(data, epochs=2, steps_per_epoch=8, verbose=2)
    run.log("weights_after", checksum())
    rounded = b"".join(np.round(w, 5).tobytes() for w in model.get_weights())
    run.log("weights_hash", hashlib.sha256(rounded).hexdigest())
"""

# TF2's ParameterServerStrategy: the chief coordinates model.fit (tf-keras), the workers
# and the parameter server are plain servers that block in join() forever.
PSS = PID_FILE + """
    import numpy as np
    import tensorflow as tf
    from runyard import Run

    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    if resolver.task_type in ("worker", "ps"):
        server = tf.distribute.Server(resolver.cluster_spec(), job_name=resolver.task_type,
                                      task_index=resolver.task_id,
                                      protocol=resolver.rpc_layer or "grpc", start=True)
        print("serving", resolver.task_type, resolver.task_id, flush=True)
        server.join()

    run = Run.get_context()
    strategy = tf.distribute.ParameterServerStrategy(resolver)
    with strategy.scope():
        model = tf.keras.Sequential([tf.keras.Input(shape=(8,)),
                                     tf.keras.layers.Dense(16, activation="relu"),
                                     tf.keras.layers.Dense(2)])
        model.compile(optimizer=tf.keras.optimizers.SGD(0.1),
                      loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def dataset_fn(_context):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(256, 8)).astype("float32")
        y = (x.sum(axis=1) > 0).astype("int64")
        return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(256).batch(32).repeat()

    history = model.fit(tf.keras.utils.experimental.DatasetCreator(dataset_fn), epochs=2,
                        steps_per_epoch=5, verbose=2)
    for loss in history.history["loss"]:
        run.log("loss", float(loss))
    run.log("variable_device", model.trainable_variables[0].device)
"""

# TF1 style (tf.compat.v1, graph mode), the article's layout: a variable placed on the
# parameter server by replica_device_setter, three increments from each worker.
TF1 = PID_FILE + """
    import tensorflow as tf
    from runyard import Run

    tf.compat.v1.disable_eager_execution()
    cluster = tf.train.ClusterSpec(json.loads(os.environ["TF_CONFIG"])["cluster"])
    server = tf.compat.v1.train.Server(cluster, job_name=TASK["type"],
                                       task_index=TASK["index"])
    if TASK["type"] == "ps":
        print("parameter server up", flush=True)
        server.join()

    run = Run.get_context()
    with tf.compat.v1.device(tf.compat.v1.train.replica_device_setter(
            worker_device=f"/job:worker/task:{TASK['index']}", cluster=cluster)):
        total = tf.compat.v1.get_variable("total", shape=[],
                                          initializer=tf.compat.v1.zeros_initializer())
        add = total.assign_add(1.0)
    run.log("variable_device", total.device)
    config = tf.compat.v1.ConfigProto(
        device_filters=["/job:ps", f"/job:worker/task:{TASK['index']}"])
    with tf.compat.v1.Session(server.target, config=config) as session:
        if TASK["index"] == 0:
            session.run(tf.compat.v1.global_variables_initializer())
        while not session.run(tf.compat.v1.is_variable_initialized(total)):
            time.sleep(0.1)
        for _ in range(3):
            value = session.run(add)
        run.log("total", float(value))
    print("worker", TASK["index"], "done: total", value, flush=True)
"""


@pytest.fixture(scope="module")
def environment_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One environment cache for the module: the first run builds TensorFlow's
    environment, the others find it. Every supervisor inherits the variable at submit."""
    root = tmp_path_factory.mktemp("env-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNYARD_ENV_CACHE", str(root))
        yield root


@pytest.fixture(autouse=True)
def no_process_left(environment_cache: Path) -> Iterator[None]:
    """After each test, no interpreter of the module's environment is left (every
    process of its runs is gone), whatever ran before or runs next."""
    yield

    def ours() -> list[int]:
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    command = Path(f"/proc/{entry}/cmdline").read_bytes()
                except OSError:
                    continue
                if str(environment_cache).encode() in command and alive(int(entry)):
                    found.append(int(entry))
        return found

    wait_for(lambda: not ours(), timeout=10)


@pytest.fixture
def tf_submit(environment_cache: Path, experiment: Experiment,
              source: Callable[..., Path]) -> Callable[..., Run]:
    def go(code: str, params: dict[str, str], config: TensorflowConfiguration) -> Run:
        est = TensorFlow(source_directory=str(source(code)), entry_script="train.py",
                         script_params=params, distributed_training=config)
        return experiment.submit(est)

    return go


def _timeout(environment_cache: Path) -> int:
    built = any(p.is_dir() and not p.name.startswith(".") for p in environment_cache.iterdir())
    return RUN_TIMEOUT if built else FIRST_RUN_TIMEOUT


def _pids(folder: Path) -> dict[str, int]:
    return {p.stem: int(p.read_text()) for p in folder.glob("*.pid")}


def _by_rank(run: Run, name: str) -> dict[int, object]:
    rows = run.workspace.store.get_metrics(run.id, name)
    return {row["rank"]: row["text"] if row["value"] is None else row["value"]
            for row in rows}


def test_two_mirrored_workers_end_with_identical_weights(
        tf_submit: Callable[..., Run], environment_cache: Path, tmp_path: Path) -> None:
    run = tf_submit(MWMS, {"--folder": str(tmp_path)},
                    TensorflowConfiguration(worker_count=2, parameter_server_count=0))
    details = run.wait_for_completion(timeout_seconds=_timeout(environment_cache))
    assert details["status"] == "Completed", details.get("error")
    keras = _by_rank(run, "keras")  # TF_USE_LEGACY_KERAS=1 from the estimator: tf-keras
    assert set(keras) == {0, 1}
    assert all(str(name).startswith("tf_keras") for name in keras.values())
    before, after = _by_rank(run, "weights_before"), _by_rank(run, "weights_after")
    assert set(after) == {0, 1}
    # no seed: the same initial weights come from worker 0's broadcast
    assert before[0] == pytest.approx(before[1], rel=1e-6)
    assert after[0] != pytest.approx(before[0])              # they trained
    assert after[0] == pytest.approx(after[1], rel=1e-6)    # and stayed in sync
    hashes = _by_rank(run, "weights_hash")
    assert hashes[0] == hashes[1]
    files = set(run.get_file_names())
    assert {"logs/worker_0.txt", "logs/worker_1.txt"} <= files
    assert not any(alive(pid) for pid in _pids(tmp_path).values())


def test_parameter_server_strategy_with_a_chief_completes_and_leaves_nothing(
        tf_submit: Callable[..., Run], environment_cache: Path, tmp_path: Path) -> None:
    # The chief decides; the workers, servers like the ps, never exit by themselves, so the
    # run completes once the other workers' 10 s of grace after the chief are over and the
    # supervisor stops them with the ps.
    run = tf_submit(PSS, {"--folder": str(tmp_path)},
                    TensorflowConfiguration(worker_count=2, parameter_server_count=1,
                                            chief_count=1))
    details = run.wait_for_completion(timeout_seconds=_timeout(environment_cache))
    assert details["status"] == "Completed", details.get("error")
    metrics = run.get_metrics()
    assert len(metrics["loss"]) == 2
    assert metrics["variable_device"].startswith("/job:ps/")
    assert {row["rank"] for row in run.workspace.store.get_metrics(run.id, "loss")} == {0}
    pids = _pids(tmp_path)
    assert set(pids) == {"chief_0", "worker_0", "worker_1", "ps_0"}
    assert not any(alive(pid) for pid in pids.values())
    assert {"logs/chief_0.txt", "logs/worker_0.txt", "logs/worker_1.txt",
            "logs/ps_0.txt"} <= set(run.get_file_names())


def test_a_tf1_parameter_server_script_completes_because_the_ps_is_stopped(
        tf_submit: Callable[..., Run], environment_cache: Path, tmp_path: Path) -> None:
    run = tf_submit(TF1, {"--folder": str(tmp_path)},
                    TensorflowConfiguration(worker_count=2, parameter_server_count=1))
    details = run.wait_for_completion(timeout_seconds=_timeout(environment_cache))
    assert details["status"] == "Completed", details.get("error")
    devices = _by_rank(run, "variable_device")
    assert set(devices) == {0, 1}
    assert all(str(device).startswith("/job:ps/") for device in devices.values())
    totals = _by_rank(run, "total")
    assert set(totals) == {0, 1}
    assert max(totals.values()) == 6.0   # one variable, on the ps, shared by both workers
    pids = _pids(tmp_path)
    assert set(pids) == {"worker_0", "worker_1", "ps_0"}
    assert not alive(pids["ps_0"])
    with run.workspace.artifacts.open(f"runs/{run.id}/logs/ps_0.txt") as log:
        assert b"parameter server up" in log.read()


def test_a_failing_worker_fails_the_run_and_stops_the_cluster_within_10_s(
        tf_submit: Callable[..., Run], environment_cache: Path, tmp_path: Path) -> None:
    run = tf_submit(MWMS, {"--folder": str(tmp_path), "--mode": "fail"},
                    TensorflowConfiguration(worker_count=2, parameter_server_count=0))
    details = run.wait_for_completion(raise_on_error=False,
                                      timeout_seconds=_timeout(environment_cache))
    assert details["status"] == "Failed"
    error = details["error"]["error"]["message"]
    assert "worker 1 (rank 1)" in error
    assert "exited with code 1: RuntimeError: worker 1 gives up on purpose" in error
    failed_at = float((tmp_path / "failed_at").read_text())
    events = {e["status"]: e["time"] for e in run.workspace.store.status_events(run.id)}
    # Finalizing comes once every process of the run is gone
    assert events["Finalizing"] - failed_at < 10
    assert not alive(_pids(tmp_path)["worker_0"])


def test_the_mnist_example_trains_with_two_workers(
        environment_cache: Path, workspace: Workspace) -> None:
    exp = Experiment(workspace, "tf-mnist")
    est = TensorFlow(
        source_directory=str(EXAMPLE), entry_script="tf_mnist.py",
        script_params={"--data-folder": str(EXAMPLE / "data" / "mnist"), "--batch-size": 50,
                       "--learning-rate": 0.05, "--epochs": 2, "--steps-per-epoch": 40},
        distributed_training=TensorflowConfiguration(worker_count=2,
                                                     parameter_server_count=0))
    run = exp.submit(est)
    details = run.wait_for_completion(timeout_seconds=_timeout(environment_cache))
    assert details["status"] == "Completed", details.get("error")
    store = workspace.store
    for name in ("training_acc", "validation_acc", "samples_per_second"):
        ranks = sorted(row["rank"] for row in store.get_metrics(run.id, name))
        assert ranks == [0, 0, 1, 1], name      # every worker logs each epoch
    final = store.get_metrics(run.id, "final_acc")
    assert [row["rank"] for row in final] == [0]  # worker 0 alone, once
    assert final[0]["value"] > 0.7
    assert [name for name in run.get_file_names() if name.startswith("outputs/")] == \
        ["outputs/model/mnist.keras"]
    # both workers saw the same accuracy on the same (synchronised) model
    last = {row["rank"]: row["value"] for row in store.get_metrics(run.id, "validation_acc")}
    assert last[0] == pytest.approx(last[1])
