"""Submit → script start on a Ray cluster, against Ray Jobs' own submit → start on the same
cluster, and against runyard's local compute.

A cluster this benchmark owns (`RayCompute`, head + 1 worker node, 2 CPUs each, token
authentication) is created in a temporary workspace. The script's first statement takes
time.time() and writes it to the file named by its argument; the measure is that stamp
minus the time just before submitting. Rows:
- runyard, ray compute: `Experiment.submit(ScriptRunConfig(..., compute_target=cluster))`
  (the run's supervisor is a Ray job, which asks for a placement group and starts the
  script from a node agent);
- Ray Jobs REST: POST /api/jobs/ with `python first_line.py STAMP` as the entrypoint (what
  runyard does to start its supervisor, without the supervisor);
- `ray job submit --no-wait`: the same through Ray's CLI (what a Ray user types);
- runyard, local compute: the same ScriptRunConfig on this machine.
Interleaved, 1 warm-up round, median of --repeats.

Usage: .venv/bin/python bench/ray.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import SCRIPT, wait_stamp


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()

    from runyard import Experiment, ScriptRunConfig, Workspace
    from runyard.compute import ComputeTarget, RayCompute

    with tempfile.TemporaryDirectory(prefix="runyard-bench-ray-") as folder:
        root = Path(folder)
        (root / "src").mkdir()
        (root / "src" / "first_line.py").write_text(SCRIPT)
        ws = Workspace.create("bench", path=root / "ws")
        say("creating a Ray cluster: head + 1 worker node, 2 CPUs each")
        started = time.monotonic()
        cluster = ComputeTarget.create(ws, "cluster", RayCompute.provisioning_configuration(
            min_nodes=2, max_nodes=2, node_resources={"CPU": 2}))
        try:
            cluster.wait_for_completion(show_output=False, timeout_in_minutes=5)
            say(f"  up in {time.monotonic() - started:.1f} s")
            experiment = Experiment(ws, "bench")
            runs = []
            counter = iter(range(10_000))

            def stamp_path() -> Path:
                return root / f"stamp-{next(counter)}"

            def runyard_on(target: object) -> Callable[[], float]:
                def measure() -> float:
                    stamp = stamp_path()
                    before = time.time()
                    run = experiment.submit(ScriptRunConfig(
                        str(root / "src"), "first_line.py", arguments=[str(stamp)],
                        compute_target=target))  # type: ignore[arg-type]
                    runs.append(run)
                    seconds = wait_stamp(stamp) - before
                    run.wait_for_completion(timeout_seconds=120)
                    return seconds
                return measure

            def ray_jobs_rest() -> float:
                stamp = stamp_path()
                before = time.time()
                cluster.jobs.request("POST", "/api/jobs/", {
                    "entrypoint": f"{sys.executable} {root / 'src' / 'first_line.py'} {stamp}",
                    "entrypoint_num_cpus": 0})
                return wait_stamp(stamp) - before

            def ray_job_cli() -> float:
                stamp = stamp_path()
                env = {**os.environ, **cluster.ray_environment(),
                       "RAY_ADDRESS": cluster.dashboard_url}
                before = time.time()
                subprocess.run(
                    [str(Path(sys.executable).parent / "ray"), "job", "submit", "--no-wait",
                     "--entrypoint-num-cpus", "0", "--", sys.executable,
                     str(root / "src" / "first_line.py"), str(stamp)],
                    env=env, check=True, capture_output=True)
                return wait_stamp(stamp) - before

            rows: dict[str, Callable[[], float]] = {
                "runyard, ray compute": runyard_on(cluster),
                "Ray Jobs REST (POST /api/jobs/)": ray_jobs_rest,
                "`ray job submit --no-wait`": ray_job_cli,
                "runyard, local compute": runyard_on("local"),
            }
            times: dict[str, list[float]] = {name: [] for name in rows}
            for round_ in range(options.repeats + 1):
                for name, measure in rows.items():
                    seconds = measure()
                    if round_:
                        times[name].append(seconds)
                    say(f"  {'warm-up ' if not round_ else ''}{name}: {seconds:.3f} s")
                    time.sleep(0.5)
        finally:
            cluster._stop_all_nodes()
            cluster._remove_folders()  # its state and Ray temp folders
            ws.store.close()

    anchor = statistics.median(times["Ray Jobs REST (POST /api/jobs/)"])
    cli = statistics.median(times["`ray job submit --no-wait`"])
    print(f"\n| submit → script's first line (median of {options.repeats}) | seconds | "
          f"vs Ray Jobs REST | vs `ray job submit` |")
    print("|---|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.3f} | {median / anchor:.2f}× | {median / cli:.2f}× |")


if __name__ == "__main__":
    main()
