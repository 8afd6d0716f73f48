"""Tune the MNIST model's hyperparameters with HyperDrive, then register the best run's model:
the tuning section of Azure ML v1's TensorFlow MNIST notebook, on this machine.

workspace → experiment → MNIST in the default datastore → TensorFlow estimator (the fixed
arguments) → RandomParameterSampling over batch size, both layer sizes and the learning
rate → BanditPolicy → HyperDriveConfig → submit → follow the sweep → the best run →
register its model.

    python tune_mnist.py                       # 8 runs, 2 at a time, 4 short epochs each
    python tune_mnist.py --epochs 20 --steps-per-epoch 0 --concurrent 4   # the notebook's

The policy compares runs at every second `validation_acc` (evaluation_interval=2), so
each run needs at least 2 epochs for the policy to apply.
"""

import argparse
import sys
from pathlib import Path

from runyard import ComputeTarget, Experiment, Workspace
from runyard.hyperdrive import (
    BanditPolicy,
    HyperDriveConfig,
    PrimaryMetricGoal,
    RandomParameterSampling,
    choice,
    loguniform,
)
from runyard.train import TensorFlow

HERE = Path(__file__).resolve().parent

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--workspace", type=Path, default=HERE.parent.parent / "demo-workspace")
parser.add_argument("--data", type=Path, default=HERE / "data" / "mnist",
                    help="folder with the four MNIST .gz files (the repository ships them)")
parser.add_argument("--epochs", type=int, default=4, help="epochs per run (≥ 2)")
parser.add_argument("--steps-per-epoch", type=int, default=75,
                    help="batches per epoch (0: the whole training set, as the notebook)")
parser.add_argument("--runs", type=int, default=8, help="max_total_runs (the notebook: 8)")
parser.add_argument("--concurrent", type=int, default=2,
                    help="max_concurrent_runs (the notebook: 4; this machine has 2 cores)")
parser.add_argument("--seed", type=int, default=7, help="the sampling's rngSeed")
parser.add_argument("--model-name", default="tf-dnn-mnist-tuned")
args = parser.parse_args()
if args.epochs < 2:
    sys.exit("--epochs must be ≥ 2: the Bandit policy applies at every 2nd validation_acc")

# 1. workspace, experiment, the data in the default datastore
ws = Workspace.create("tf-mnist", path=args.workspace, exist_ok=True)
exp = Experiment(workspace=ws, name="tf-mnist-hyperdrive")
ds = ws.get_default_datastore()
ds.upload(src_dir=str(args.data), target_path="mnist", overwrite=False, show_progress=False)

# 2. the estimator: the script and the arguments every run shares
script_params = {"--data-folder": ds.path("mnist").as_mount(), "--epochs": args.epochs}
if args.steps_per_epoch:
    script_params["--steps-per-epoch"] = args.steps_per_epoch
est = TensorFlow(source_directory=str(HERE), entry_script="tf_mnist.py",
                 script_params=script_params, compute_target=ComputeTarget(ws, "local"))

# 3. the search: the notebook's space, policy and metric
ps = RandomParameterSampling({
    "--batch-size": choice(25, 50, 100),
    "--first-layer-neurons": choice(10, 50, 200, 300, 500),
    "--second-layer-neurons": choice(10, 50, 200, 500),
    "--learning-rate": loguniform(-6, -1),   # exp(uniform(-6, -1)): 0.0025 to 0.37
}, properties={"rngSeed": args.seed})
policy = BanditPolicy(evaluation_interval=2, slack_factor=0.1)
htc = HyperDriveConfig(estimator=est, hyperparameter_sampling=ps, policy=policy,
                       primary_metric_name="validation_acc",
                       primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
                       max_total_runs=args.runs, max_concurrent_runs=args.concurrent)

# 4. submit the sweep and follow it: each child's start, progress, early stop and end
htr = exp.submit(config=htc)
htr.wait_for_completion(show_output=True)

# 5. the best run, and its model registered
best_run = htr.get_best_run_by_primary_metric()
if best_run is None:
    sys.exit(f"no run of sweep {htr.id} logged validation_acc")
print("\n== children, best first ==")
for child in htr.get_children_sorted_by_primary_metric():
    stopped = child["status"] == "Canceled"
    print(f"  {child['run_id']:<48} {child['status']:<10} validation_acc "
          f"{child['best_primary_metric']:.4f}  {child['hyperparameters']}"
          + ("  (stopped early)" if stopped else ""))
best_metrics = best_run.get_metrics()
print("\n== best run ==")
print("run id:          ", best_run.id)
print("hyperparameters: ", best_run.get_hyperparameters())
print(f"validation_acc:   {max(best_metrics['validation_acc']):.4f}")
print(f"final accuracy:   {best_metrics['final_acc']:.4f}")
model = best_run.register_model(model_name=args.model_name, model_path="outputs/model")
print(f"model:            {model.name} version {model.version} (from {model.run_id})")
