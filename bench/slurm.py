"""Submit → script's first line on a Slurm cluster, against a bare `sbatch --wrap` of the
same script on the same cluster.

A private one-node cluster (tests/slurm.py: slurmctld, slurmd and munged of its own, in a
folder under /tmp) is started for the benchmark and stopped at the end. The script's first
statement takes time.time() and writes it to the file named by its argument; the measure
is that stamp minus the time just before submitting. Rows:
- runyard, slurm compute: `Experiment.submit(ScriptRunConfig(..., compute_target=hpc))`
  (the run's driver starts on this machine, submits the holding batch job, waits for it to
  run, then starts the script as a job step with srun);
- bare `sbatch --wrap`: `sbatch --wrap "python first_line.py STAMP"`, the same
  interpreter and script (what a Slurm user types).
Both pay Slurm's scheduling pass (about 1 s after sbatch here). Interleaved, 1 warm-up
round, median of --repeats.

Usage: .venv/bin/python bench/slurm.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import SCRIPT, wait_stamp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/slurm.py

# between measurements: the job before has left the node (COMPLETING ends), so every
# submit finds it idle
SETTLE_SECONDS = 2.0


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()

    import os

    from tests import slurm

    from runyard import Experiment, ScriptRunConfig, Workspace
    from runyard.compute import ComputeTarget, SlurmCompute

    slurm.require_slurm()
    with tempfile.TemporaryDirectory(prefix="runyard-bench-slurm-") as folder, \
            slurm.running_cluster() as cluster:
        root = Path(folder)
        (root / "src").mkdir()
        script = root / "src" / "first_line.py"
        script.write_text(SCRIPT)
        ws = Workspace.create("bench", path=root / "ws")
        os.environ["SLURM_CONF"] = cluster.env["SLURM_CONF"]
        hpc = ComputeTarget.attach(ws, "hpc", SlurmCompute.attach_configuration(
            partition=cluster.partition))
        experiment = Experiment(ws, "bench")
        counter = iter(range(10_000))

        def stamp_path() -> Path:
            return root / f"stamp-{next(counter)}"

        def runyard_slurm() -> float:
            stamp = stamp_path()
            before = time.time()
            run = experiment.submit(ScriptRunConfig(
                str(root / "src"), "first_line.py", arguments=[str(stamp)],
                compute_target=hpc))
            seconds = wait_stamp(stamp) - before
            run.wait_for_completion(timeout_seconds=120)
            return seconds

        def bare_sbatch() -> float:
            stamp = stamp_path()
            wrapped = shlex.join([sys.executable, str(script), str(stamp)])
            before = time.time()
            cluster.run("sbatch", "--parsable", f"--chdir={root}",
                        f"--output={root / 'sbatch-%j.txt'}", "--wrap", wrapped)
            return wait_stamp(stamp) - before

        rows: dict[str, Callable[[], float]] = {
            "runyard, slurm compute": runyard_slurm,
            "bare `sbatch --wrap`": bare_sbatch,
        }
        times: dict[str, list[float]] = {name: [] for name in rows}
        try:
            for round_ in range(options.repeats + 1):
                for name, measure in rows.items():
                    seconds = measure()
                    if round_:
                        times[name].append(seconds)
                    say(f"  {'warm-up ' if not round_ else ''}{name}: {seconds:.3f} s")
                    time.sleep(SETTLE_SECONDS)
        finally:
            ws.store.close()

    anchor = statistics.median(times["bare `sbatch --wrap`"])
    print(f"\n| submit → script's first line on Slurm (median of {options.repeats}) | "
          f"seconds | vs bare `sbatch --wrap` |")
    print("|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.3f} | {median / anchor:.2f}× |")


if __name__ == "__main__":
    main()
