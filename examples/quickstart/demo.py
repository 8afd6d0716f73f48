"""A first run in about a second: a workspace, an experiment, one run on this machine, its
metrics, outputs and a registered model; then the commands that look at them.

    python examples/quickstart/demo.py        # with .venv activated (see the README)

The workspace is ./demo-workspace at the repository's root (`make demo` uses it too);
`--workspace FOLDER` puts it elsewhere.
"""

import argparse
import shlex
from pathlib import Path

from runyard import Experiment, ScriptRunConfig, Workspace

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--workspace", type=Path, default=ROOT / "demo-workspace")
parser.add_argument("--epochs", type=int, default=10)
args = parser.parse_args()

ws = Workspace.create("demo", path=args.workspace, exist_ok=True)
exp = Experiment(workspace=ws, name="quickstart")
config = ScriptRunConfig(source_directory=str(HERE), script="train.py",
                         arguments=["--epochs", args.epochs, "--learning-rate", 0.05])
run = exp.submit(config, tags={"example": "quickstart"})
details = run.wait_for_completion(show_output=True)

print("\nrun id:", run.id)
print("stages:")
for stage in details["stages"][:-1]:
    print(f"  {stage['status']:<12} {stage['durationSeconds']:8.3f} s")
metrics = run.get_metrics()
mse = metrics["mse"] if isinstance(metrics["mse"], list) else [metrics["mse"]]
print(f"final mse: {mse[-1]:.5f} after {len(mse)} epochs")
print(f"fit: slope {metrics['weight']:.3f}, intercept {metrics['bias']:.3f} (truth: 3, 1)")
print("files:", ", ".join(run.get_file_names()))
model = run.register_model(model_name="quickstart-linear", model_path="outputs/model.json",
                           tags={"example": "quickstart"})
print(f"model: {model.name} version {model.version}")

where = shlex.quote(str(ws.path))
print(f"""
Look at it from a shell (`source .venv/bin/activate` first, or call .venv/bin/runyard):
  cd {where}
  runyard runs list
  runyard runs show {run.id}
  runyard logs {run.id}
  runyard metrics {run.id}
  runyard download {run.id} --prefix outputs/ --output results
  runyard models list
  runyard models download {model.name} --output model""")
