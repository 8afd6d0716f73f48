"""The MNIST example's training speed under runyard against the same script run directly.

Both use the same built TensorFlow environment (the TensorFlow estimator's), the same
data folder and arguments, one after the other, alternating, in one invocation. The
script logs samples/s for each epoch, timed over its training steps only; the first
epoch (graph tracing, warm-up) is left out.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tf-mnist"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps-per-epoch", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from runyard import Experiment, Workspace
    from runyard.environment import EnvironmentCache
    from runyard.train import TensorFlow

    folder = Path(tempfile.mkdtemp(prefix="runyard-bench-mnist-"))
    try:
        ws = Workspace.create("bench", path=folder / "ws")
        exp = Experiment(ws, "mnist-bench")
        params = {"--data-folder": str(EXAMPLE / "data" / "mnist"), "--epochs": args.epochs,
                  "--steps-per-epoch": args.steps_per_epoch}
        est = TensorFlow(str(EXAMPLE), entry_script="tf_mnist.py", script_params=params)
        print("building or finding the TensorFlow environment...", file=sys.stderr)
        under_runyard: list[float] = []
        direct: list[float] = []
        # the very environment the run used: the cache holds it under its spec hash
        interpreter = EnvironmentCache().root / est._environment().spec_hash() / "bin" / "python"
        for round_ in range(args.rounds):
            run = exp.submit(est)
            run.wait_for_completion(raise_on_error=True)
            speeds = run.get_metrics()["samples_per_second"]
            under_runyard += speeds[1:]
            work = folder / f"direct{round_}"
            shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns("data", "outputs"))
            env = {**os.environ, "PYTHONPATH": str(ROOT / "src"),
                   **est._framework_environment_variables()}
            command = [str(interpreter), "tf_mnist.py"]
            for flag, value in params.items():
                command += [flag, str(value)]
            output = subprocess.run(command, cwd=work, env=env, capture_output=True,
                                    text=True, check=True).stdout
            found = [float(v) for v in re.findall(
                r"metric samples_per_second:\n([0-9.e+-]+)", output)]
            direct += found[1:]
        mine, theirs = statistics.median(under_runyard), statistics.median(direct)
        print("| measure | runyard | anchor (python tf_mnist.py) | ratio | target | met? |")
        print("|---|---|---|---|---|---|")
        print(f"| MNIST example training samples/s (median of {len(under_runyard)} epochs) | "
              f"{mine:,.0f} | {theirs:,.0f} | {mine / theirs:.3f} | ≥ 0.97 | "
              f"{'yes' if mine / theirs >= 0.97 else 'NO'} |")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
