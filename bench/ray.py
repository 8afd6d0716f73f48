"""Submit → script start on a Ray cluster, against Ray Jobs' own submit → start on the same
cluster, and against runyard's local compute.

A cluster this benchmark owns (`RayCompute`, head + 1 worker node, 2 CPUs each, token
authentication) is created in a temporary workspace. The script's first statement takes
time.time() and writes it to the file named by its argument; the measure is that stamp
minus the time just before submitting. Rows:
- runyard, ray compute: `Experiment.submit(ScriptRunConfig(..., compute_target=cluster))`
  (one process: a direct run, whose supervisor is a Ray job holding the run's CPU through
  its entrypoint resources and starting the script itself);
- Ray Jobs REST: POST /api/jobs/ with `python first_line.py STAMP` as the entrypoint and
  `entrypoint_num_cpus=0` (the anchor: a bare Ray job, no supervisor);
- the same with `entrypoint_num_cpus=1` (what runyard's direct job asks of Ray: the part
  of the difference that is Ray holding a CPU for the job, not runyard);
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

    load_before = os.getloadavg()[0]
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

            def ray_jobs_rest(cpus: int) -> Callable[[], float]:
                def measure() -> float:
                    stamp = stamp_path()
                    before = time.time()
                    cluster.jobs.request("POST", "/api/jobs/", {
                        "entrypoint": f"{sys.executable} {root / 'src' / 'first_line.py'} "
                                      f"{stamp}",
                        "entrypoint_num_cpus": cpus})
                    return wait_stamp(stamp) - before
                return measure

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
                "Ray Jobs REST (POST /api/jobs/)": ray_jobs_rest(0),
                "Ray Jobs REST, entrypoint_num_cpus=1": ray_jobs_rest(1),
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

    load_after = os.getloadavg()[0]
    anchor = statistics.median(times["Ray Jobs REST (POST /api/jobs/)"])
    cli = statistics.median(times["`ray job submit --no-wait`"])
    print(f"\n| submit → script's first line (median of {options.repeats}) | seconds | "
          f"vs Ray Jobs REST | vs `ray job submit` |")
    print("|---|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.3f} | {median / anchor:.2f}× | {median / cli:.2f}× |")
    print(f"\nload average (1 min): {load_before:.2f} before, {load_after:.2f} after; "
          f"every time, in order:")
    for name, values in times.items():
        print(f"- {name}: {', '.join(f'{v:.3f}' for v in values)}")


if __name__ == "__main__":
    main()
