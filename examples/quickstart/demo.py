"""`make demo`: a workspace, an experiment, one run on this machine, its results.

The MNIST workflow of the seed article replaces this once datastores and estimators land.
"""

from pathlib import Path

from runyard import Experiment, ScriptRunConfig, Workspace

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

ws = Workspace.create("demo", path=ROOT / "demo-workspace", exist_ok=True)
exp = Experiment(workspace=ws, name="quickstart")
config = ScriptRunConfig(source_directory=str(HERE), script="train.py",
                         arguments=["--epochs", 10, "--learning-rate", 0.05])
run = exp.submit(config, tags={"example": "quickstart"})
details = run.wait_for_completion(show_output=True)

print("\nrun id:", run.id)
print("stages:")
for stage in details["stages"][:-1]:
    print(f"  {stage['status']:<12} {stage['durationSeconds']:8.3f} s")
metrics = run.get_metrics()
print(f"final mse: {metrics['mse'][-1]:.5f} after {len(metrics['mse'])} epochs")
print(f"fit: slope {metrics['weight']:.3f}, intercept {metrics['bias']:.3f} (truth: 3, 1)")
print("files:", ", ".join(run.get_file_names()))
target = run.download_files(prefix="outputs/", output_directory=ROOT / "demo-workspace" /
                            "downloads" / run.id)
print("outputs downloaded to:", *target, sep="\n  ")
print(f"\nmore: `cd demo-workspace && runyard runs show {run.id}`")
