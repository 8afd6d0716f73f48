"""Distributed runs on this machine: how long until every process runs, and what a second
MultiWorkerMirroredStrategy worker buys the MNIST example.

(a) Submit → every process running: `scripts/first_line_rank.py`, whose first statement
takes time.time() and writes it to a file of its rank, as a 4-worker TensorFlow run
(TensorflowConfiguration(worker_count=4, parameter_server_count=0), this interpreter, no
packages); the measure is the last rank's stamp minus the time just before
`Experiment.submit()`. Beside it: 4 plain `python first_line_rank.py` processes started at
once by subprocess (from just before the first Popen to the last stamp) and a
one-process runyard submit (to its stamp). Interleaved, 1 warm-up, median of --repeats.

(b) MNIST samples/s: the example's tf_mnist.py with the TensorFlow estimator, in one
process and as 2 MWMS workers (--batch-size is per worker, so 2 workers train on twice
the samples per step); each process logs its own samples/s per epoch (training steps
only), the first epoch is dropped, and for 2 workers the two ranks' values of an epoch
are summed (the run's aggregate). Beside them, the same 2 workers started directly (plain
processes with a TF_CONFIG each, from the environment the runs used), to tell runyard's
cost from MultiWorkerMirroredStrategy's. On a 2-core machine the two workers share the
cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tf-mnist"
SCRIPT = Path(__file__).resolve().parent / "scripts" / "first_line_rank.py"
PROCESSES = 4


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def wait_for_stamps(prefix: Path, count: int, timeout: float,
                    still_going: Callable[[], bool]) -> list[float]:
    deadline = time.monotonic() + timeout
    paths = [Path(f"{prefix}.{rank}") for rank in range(count)]
    while time.monotonic() < deadline:
        if all(path.exists() for path in paths):
            return [float(path.read_text()) for path in paths]
        if not still_going():
            time.sleep(0.2)  # a last look: the files may land as the process ends
            if all(path.exists() for path in paths):
                continue
            raise RuntimeError(f"the processes ended before writing {prefix}.*")
        time.sleep(0.002)
    raise RuntimeError(f"no stamps {prefix}.* within {timeout} s")


def finish(run: Any, timeout: float = 120) -> dict[str, Any]:
    try:
        details: dict[str, Any] = run.wait_for_completion(timeout_seconds=timeout,
                                                          raise_on_error=True)
        return details
    except BaseException:
        run.cancel()
        raise


def plain_processes(script: Path, prefix: Path) -> float:
    """PROCESSES plain `python script PREFIX` started at once, RANK set: to the last stamp."""
    before = time.time()
    processes = [subprocess.Popen([sys.executable, str(script), str(prefix)],
                                  cwd=prefix.parent, stdin=subprocess.DEVNULL,
                                  env={**os.environ, "RANK": str(rank)})
                 for rank in range(PROCESSES)]

    def going() -> bool:
        return any(p.poll() is None for p in processes)

    stamps = wait_for_stamps(prefix, PROCESSES, 60, going)
    if any(p.wait() != 0 for p in processes):
        raise RuntimeError("a plain python process failed")
    return max(stamps) - before


def measure_start(folder: Path, repeats: int) -> dict[str, list[float]]:
    from runyard import Experiment, ScriptRunConfig, Workspace
    from runyard.distributed import TensorflowConfiguration

    ws = Workspace.create("bench-distributed", path=folder / "ws")
    exp = Experiment(ws, "start")
    source = folder / "src"
    source.mkdir()
    shutil.copy(SCRIPT, source / SCRIPT.name)
    results: dict[str, list[float]] = defaultdict(list)

    def runyard(name: str, config: Any, count: int) -> float:
        prefix = folder / name
        before = time.time()
        run = exp.submit(ScriptRunConfig(str(source), SCRIPT.name, arguments=[str(prefix)],
                                         distributed_job_config=config))
        stamps = wait_for_stamps(prefix, count, 120,
                                 lambda: run.get_status() not in ("Completed", "Failed",
                                                                  "Canceled"))
        finish(run)
        return max(stamps) - before

    for index in range(repeats + 1):
        label = "warm-up" if index == 0 else f"{index}/{repeats}"
        many = runyard(f"runyard4-{index}", TensorflowConfiguration(
            worker_count=PROCESSES, parameter_server_count=0), PROCESSES)
        one = runyard(f"runyard1-{index}", None, 1)

        plain = plain_processes(source / SCRIPT.name, folder / f"plain-{index}")
        say(f"  start {label}: runyard {PROCESSES} workers {many:.3f} s, runyard 1 process "
            f"{one:.3f} s, {PROCESSES} plain python {plain:.3f} s")
        if index:
            results["many"].append(many)
            results["one"].append(one)
            results["plain"].append(plain)
    return results


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for handle in sockets:
            handle.bind(("127.0.0.1", 0))
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


def direct_workers(folder: Path, interpreter: Path, params: dict[str, Any],
                   environment: dict[str, str], workers: int, round_: int) -> list[float]:
    """The example as `workers` plain processes with a TF_CONFIG each, no runyard: the
    aggregate samples/s of each epoch, from the lines the script prints."""
    work = folder / f"direct-{workers}-{round_}"
    shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns("data", "outputs"))
    addresses = [f"127.0.0.1:{port}" for port in free_ports(workers)]
    command = [str(interpreter), "tf_mnist.py"]
    for flag, value in params.items():
        command += [flag, str(value)]
    processes = []
    for index in range(workers):
        tf_config = {"cluster": {"worker": addresses},
                     "task": {"type": "worker", "index": index}}
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **environment,
               "TF_CONFIG": json.dumps(tf_config)}
        processes.append(subprocess.Popen(command, cwd=work, env=env, text=True,
                                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL))
    by_worker = []
    try:
        for process in processes:
            output, _ = process.communicate(timeout=1800)
            if process.returncode:
                raise RuntimeError(f"a direct worker exited {process.returncode}")
            by_worker.append([float(v.replace(",", "")) for v in re.findall(
                r"^epoch \d+: .*, ([0-9,]+) samples/s$", output, re.MULTILINE)])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return [sum(values) for values in zip(*by_worker, strict=True)]


def measure_mnist(folder: Path, epochs: int, steps: int,
                  rounds: int) -> dict[str, list[float]]:
    from runyard import Experiment, Workspace
    from runyard.distributed import TensorflowConfiguration
    from runyard.environment import EnvironmentCache
    from runyard.train import TensorFlow

    ws = Workspace.create("bench-mnist", path=folder / "ws-mnist")
    exp = Experiment(ws, "mnist-workers")
    params = {"--data-folder": str(EXAMPLE / "data" / "mnist"), "--epochs": epochs,
              "--steps-per-epoch": steps}
    speeds: dict[str, list[float]] = {"1": [], "2": [], "direct 2": []}
    say("building or finding the TensorFlow environment...")
    for round_ in range(rounds):
        for workers in (1, 2):
            config = None if workers == 1 else TensorflowConfiguration(
                worker_count=workers, parameter_server_count=0)
            est = TensorFlow(str(EXAMPLE), entry_script="tf_mnist.py", script_params=params,
                             distributed_training=config)
            run = exp.submit(est)
            finish(run, timeout=1800)
            by_rank: dict[int, list[float]] = defaultdict(list)
            for row in ws.store.get_metrics(run.id, "samples_per_second"):
                by_rank[row["rank"]].append(row["value"])
            if sorted(by_rank) != list(range(workers)) or \
                    any(len(v) != epochs for v in by_rank.values()):
                raise RuntimeError(f"unexpected samples_per_second rows: {dict(by_rank)}")
            aggregate = [sum(values) for values in zip(*by_rank.values(), strict=True)]
            speeds[str(workers)] += aggregate[1:]
            say(f"  mnist round {round_ + 1}/{rounds}, {workers} worker(s): "
                f"{', '.join(f'{v:,.0f}' for v in aggregate)} samples/s by epoch")
        # the very environment the runs used: the cache holds it under its spec hash
        interpreter = EnvironmentCache().root / est._environment().spec_hash() / "bin" / "python"
        aggregate = direct_workers(folder, interpreter, params,
                                   est._framework_environment_variables(), 2, round_)
        speeds["direct 2"] += aggregate[1:]
        say(f"  mnist round {round_ + 1}/{rounds}, 2 workers started directly: "
            f"{', '.join(f'{v:,.0f}' for v in aggregate)} samples/s by epoch")
    return speeds


def spread(values: list[float], digits: int = 3) -> str:
    return f"{min(values):,.{digits}f}–{max(values):,.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps-per-epoch", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=1, help="MNIST runs of each kind")
    parser.add_argument("--skip-mnist", action="store_true")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="runyard-bench-distributed-"))
    try:
        say(f"submit → every process running, {args.repeats} repeats (+1 warm-up)...")
        start = measure_start(folder, args.repeats)
        speeds = None if args.skip_mnist else measure_mnist(
            folder, args.epochs, args.steps_per_epoch, args.rounds)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    many, one, plain = (statistics.median(start[k]) for k in ("many", "one", "plain"))
    print(f"| measure (median of {args.repeats}) | seconds | spread | ratio (÷ {PROCESSES} "
          f"plain python) |")
    print("|---|---|---|---|")
    print(f"| runyard submit → all {PROCESSES} workers running (TF_CONFIG each) | {many:.3f} | "
          f"{spread(start['many'])} | {many / plain:.1f}× |")
    print(f"| {PROCESSES} × plain `python` via subprocess → all running | {plain:.3f} | "
          f"{spread(start['plain'])} | 1.0× |")
    print(f"| runyard submit → the one process running | {one:.3f} | {spread(start['one'])} | "
          f"{one / plain:.1f}× |")
    if speeds is None:
        return
    single, double, direct = (statistics.median(speeds[k]) for k in ("1", "2", "direct 2"))
    print()
    print(f"| MNIST example, {args.steps_per_epoch} steps × {args.epochs} epochs, batch 50 "
          f"per worker | samples/s (median of {len(speeds['1'])} epochs, first dropped) | "
          f"spread | ratio (÷ 1 worker) |")
    print("|---|---|---|---|")
    print(f"| runyard, TensorFlow estimator, 1 worker (one process) | {single:,.0f} | "
          f"{spread(speeds['1'], 0)} | 1.00 |")
    print(f"| runyard, TensorFlow estimator, 2 workers (MWMS, sum over workers) | "
          f"{double:,.0f} | {spread(speeds['2'], 0)} | {double / single:.2f} |")
    print(f"| anchor: the 2 workers started directly, a TF_CONFIG each (same environment) | "
          f"{direct:,.0f} | {spread(speeds['direct 2'], 0)} | {direct / single:.2f} |")
    print(f"\n{os.cpu_count()} CPU cores; the workers share them.")


if __name__ == "__main__":
    main()
