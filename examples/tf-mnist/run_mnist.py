"""The seed article's workflow, step by step, on this machine (`make demo` runs it).

workspace → experiment → upload MNIST to the default datastore → compute target →
TensorFlow estimator → submit → wait with output → register the model → download it.
"""

import argparse
import sys
from pathlib import Path

from runyard import ComputeTarget, Experiment, Workspace
from runyard.train import TensorFlow

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from utils import download  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--workspace", type=Path, default=HERE.parent.parent / "demo-workspace")
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--steps-per-epoch", type=int, default=None)
parser.add_argument("--data", type=Path, default=HERE / "data" / "mnist",
                    help="folder with the four MNIST .gz files (the repository ships them)")
parser.add_argument("--download", action="store_true",
                    help="download the MNIST files first (original names, checksums checked)")
args = parser.parse_args()

if args.download:
    download(args.data)

# 1. workspace and experiment
ws = Workspace.create("tf-mnist", path=args.workspace, exist_ok=True)
exp = Experiment(workspace=ws, name="tf-mnist")

# 2. the data, in the workspace's default datastore (unchanged files are skipped)
ds = ws.get_default_datastore()
ds.upload(src_dir=str(args.data), target_path="mnist", overwrite=False, show_progress=True)

# 3. the compute target: this machine
compute_target = ComputeTarget(ws, "local")

# 4. the estimator: the script, its parameters, TensorFlow
script_params = {
    "--data-folder": ds.path("mnist").as_mount(),
    "--batch-size": 50,
    "--first-layer-neurons": 300,
    "--second-layer-neurons": 100,
    "--learning-rate": 0.01,
    "--epochs": args.epochs,
}
if args.steps_per_epoch:
    script_params["--steps-per-epoch"] = args.steps_per_epoch
est = TensorFlow(source_directory=str(HERE), entry_script="tf_mnist.py",
                 script_params=script_params, compute_target=compute_target)

# 5. submit and follow
run = exp.submit(est)
details = run.wait_for_completion(show_output=True)

# 6. register the model and download it
model = run.register_model(model_name="tf-dnn-mnist", model_path="outputs/model")
target = Path(args.workspace) / "downloads" / run.id
run.download_files(prefix="outputs/model", output_directory=str(target))

metrics = run.get_metrics()
print("\n== summary ==")
print("run id:          ", run.id)
for stage in details["stages"][:-1]:
    print(f"  {stage['status']:<12} {stage['durationSeconds']:9.2f} s")
print(f"final accuracy:   {metrics['final_acc']:.4f}")
print(f"model:            {model.name} version {model.version}")
print(f"model files:      {target / 'outputs' / 'model'}")
