# ruff: noqa: E402 - a notebook imports in the cell that first needs a name
# A v1-style notebook, ported by changing `azureml` to `runyard.azureml` in its imports.
#
# Written in the style of Azure ML's v1 sample notebooks (the logging API, training with
# an estimator, environments, managing runs, registering a model), not copied from them.
# Cells are separated by `# %%` lines; Jupyter (jupytext), VS Code and
# tests/test_azureml_notebook.py run them in order in one namespace. Run it as a plain
# script too: `python notebook.py` in an empty folder.

# %% [markdown]
# ## Check the SDK version and set up diagnostics

# %%
import os

import numpy as np

import runyard.azureml.core
from runyard.azureml.core import Environment, Experiment, Run, ScriptRunConfig, Workspace

print("SDK version:", runyard.azureml.core.VERSION)

from runyard.azureml.telemetry import set_diagnostics_collection

set_diagnostics_collection(send_diagnostics=True)

# %% [markdown]
# ## Initialize the workspace (a local one here: `runyard init` writes its config)

# %%
if not os.path.isfile(".runyard/config.json"):
    Workspace.create(name="notebook-ws", exist_ok=True)
ws = Workspace.from_config()
print("Workspace name: " + ws.name,
      "Azure region: " + ws.location,
      "Subscription id: " + ws.subscription_id,
      "Resource group: " + ws.resource_group, sep="\n")

# %% [markdown]
# ## Log interactively from the notebook

# %%
experiment = Experiment(workspace=ws, name="logging-api-test")
run = experiment.start_logging(snapshot_directory=None)
run.log(name="an int", value=17)
run.log(name="a float", value=np.mean([0.5, 0.75, 1.0]))
run.log(name="a string", value="runyard")
run.log_list(name="fibonacci", value=[0, 1, 1, 2, 3, 5, 8])
for index in range(3):
    run.log_row(name="squares", x=index, y=index * index)
run.log_table(name="a table", value={"a": [1, 2, 3], "b": [0.1, 0.2, 0.3]})
run.tag("context", "notebook")
with open("outputs/notes.txt", "w") as handle:  # start_logging made ./outputs
    handle.write("kept with the run at complete()")
run.complete()
print(run.get_status(), sorted(run.get_metrics()))

# %% [markdown]
# ## A training script and an estimator with a bare flag

# %%
script_folder = os.path.join(os.getcwd(), "train-script")
os.makedirs(script_folder, exist_ok=True)
with open(os.path.join(script_folder, "train.py"), "w") as handle:
    handle.write('''
import argparse, os
import numpy as np
from azureml.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float, default=0.5)
parser.add_argument("--verbose", action="store_true")
args = parser.parse_args()
run = Run.get_context()
rng = np.random.default_rng(0)
x = rng.normal(size=200)
y = 3 * x + rng.normal(scale=args.alpha, size=200)
slope = float(np.dot(x, y) / np.dot(x, x))
mse = np.mean((y - slope * x) ** 2)
run.log("alpha", args.alpha)
run.log("mse", mse)
run.log("verbose", args.verbose)
os.makedirs("outputs", exist_ok=True)
with open("outputs/model.txt", "w") as handle:
    handle.write(str(slope))
print("slope", slope, "mse", mse)
''')

from runyard.azureml.train.estimator import Estimator

estimator = Estimator(source_directory=script_folder, entry_script="train.py",
                      script_params={"--alpha": 0.25, "--verbose": ""},
                      compute_target="local", pip_packages=["numpy"])
est_run = experiment.submit(estimator)
est_run.wait_for_completion(show_output=True)
print(est_run.get_metrics())

# %% [markdown]
# ## An environment from conda packages, set on a ScriptRunConfig's run_config

# %%
from runyard.azureml.core.conda_dependencies import CondaDependencies

env = Environment("notebook-env")
env.python.conda_dependencies = CondaDependencies.create(conda_packages=["numpy"],
                                                         pip_packages=["six"])
src = ScriptRunConfig(source_directory=script_folder, script="train.py",
                      arguments=["--alpha", 0.1])
src.run_config.environment = env
src.run_config.target = "local"
src_run = experiment.submit(src)
src_run.wait_for_completion(show_output=True)
print(src_run.get_details()["status"])

# %% [markdown]
# ## Manage runs

# %%
from runyard.azureml.widgets import RunDetails

RunDetails(src_run).show()
print(src_run.get_details_with_logs()["status"])
src_run.tag("quality", "good")
print(src_run.get_tags())
print(src_run.get_file_names())
src_run.download_files(prefix="outputs", output_directory="./downloaded")
src_run.get_all_logs(destination="./logs")
completed = list(Run.list(experiment, status="Completed"))
print(len(completed), "completed runs in", experiment.name)
parent = experiment.start_logging()
for child in parent.create_children(tag_key="fold", tag_values=["0", "1"]):
    child.log("fold_mse", 0.5)
    child.complete()
parent.complete()
print(len(list(parent.get_children())), "children")

# %% [markdown]
# ## Register the model

# %%
from runyard.azureml.core import Model

model = src_run.register_model(model_name="notebook-linear", model_path="outputs/model.txt",
                               tags={"alpha": "0.1"})
print(model.name, model.version, [m.name for m in Model.list(ws)])
print(Model.get_model_path("notebook-linear", _workspace=ws))
