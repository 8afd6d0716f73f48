"""The Azure ML v1 article "Build a TensorFlow deep learning model at scale with Azure
Machine Learning": its code, in order, with `azureml` changed to `runyard.azureml` in the
imports, and its two bugs in the parameter-server part fixed.

    python article.py                   # the article's values: "gpucluster" (an AmlCompute,
                                        # here a Ray cluster of STANDARD_NC6 nodes),
                                        # use_gpu=True, node_count=2
    python article.py --compute local --no-gpu --nodes 1 --quick
                                        # the nearest values a laptop without a GPU can run

Where the machine cannot give what a line asks (a GPU, two nodes, TensorFlow 1.13), runyard
refuses at submit and says why; the options choose the nearest runnable values, and each
place they change is marked "# runyard:". Everything happens in --workdir: its
.runyard/config.json is the local config that `Workspace.from_config()` reads.
"""

import argparse
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MNIST = HERE.parent / "tf-mnist" / "data" / "mnist"

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--workdir", default="article-workdir",
                    help="folder of the workspace, the data and the scripts")
parser.add_argument("--compute", default="gpucluster",
                    help="the compute target: 'gpucluster' as in the article (created as an "
                         "AmlCompute when missing) or 'local' (this machine, one node)")
parser.add_argument("--no-gpu", dest="use_gpu", action="store_false",
                    help="use_gpu=False (the article says True)")
parser.add_argument("--nodes", type=int, default=2,
                    help="node_count of the parameter-server estimator (the article: 2)")
parser.add_argument("--quick", action="store_true",
                    help="2 epochs of 150 steps at learning rate 0.05 instead of 20 full "
                         "epochs at 0.01 (minutes instead of an hour on 2 cores)")
args = parser.parse_args()

# -- what the article assumes done: a workspace config, the MNIST files, the scripts ------
workdir = Path(args.workdir).resolve()
workdir.mkdir(parents=True, exist_ok=True)
os.chdir(workdir)
from runyard.azureml.core import Workspace  # noqa: E402 - after the options

if not Path(".runyard/config.json").is_file():
    Workspace.create(name="tf-mnist-article", exist_ok=True)  # `runyard init` does the same
shutil.copytree(MNIST, "data/mnist", dirs_exist_ok=True)     # the article downloads them
for script in ("tf_mnist.py", "utils.py"):
    shutil.copy(HERE / script, ".")
project_folder = "./tf-distr"                                  # the article leaves it to you
os.makedirs(project_folder, exist_ok=True)
for script in ("script.py", "utils.py"):
    shutil.copy(HERE / script, project_folder)
shutil.rmtree("./model", ignore_errors=True)  # download_file does not overwrite (see docs)

# ======================== the article ====================================================
import os  # noqa: E402 - the article's imports, as they are
import urllib  # noqa: E402, F401
import shutil  # noqa: E402
import runyard.azureml  # noqa: E402, F401 - the article: import azureml

from runyard.azureml.core import Experiment  # noqa: E402
from runyard.azureml.core import Workspace, Run  # noqa: E402, F401

from runyard.azureml.core.compute import ComputeTarget, AmlCompute  # noqa: E402
from runyard.azureml.core.compute_target import ComputeTargetException  # noqa: E402
from runyard.azureml.train.dnn import TensorFlow  # noqa: E402
from runyard.errors import ValidationError  # noqa: E402 - runyard: to show its refusals

ws = Workspace.from_config()

script_folder = './tf-mnist'
os.makedirs(script_folder, exist_ok=True)

exp = Experiment(workspace=ws, name='tf-mnist')

ds = ws.get_default_datastore()
ds.upload(src_dir='./data/mnist', target_path='mnist', overwrite=True, show_progress=True)

shutil.copy('./tf_mnist.py', script_folder)
shutil.copy('./utils.py', script_folder)

cluster_name = args.compute  # runyard: the article says "gpucluster"

try:
    compute_target = ComputeTarget(workspace=ws, name=cluster_name)
    print('Found existing compute target')
except ComputeTargetException:
    print('Creating a new compute target...')
    compute_config = AmlCompute.provisioning_configuration(vm_size='STANDARD_NC6',
                                                           max_nodes=4)

    compute_target = ComputeTarget.create(ws, cluster_name, compute_config)

    compute_target.wait_for_completion(show_output=True, min_node_count=None,
                                       timeout_in_minutes=20)

script_params = {
    '--data-folder': ws.get_default_datastore().as_mount(),
    '--batch-size': 50,
    '--first-layer-neurons': 300,
    '--second-layer-neurons': 100,
    '--learning-rate': 0.01
}
if args.quick:  # runyard: a short run
    script_params.update({'--learning-rate': 0.05, '--epochs': 2, '--steps-per-epoch': 150})

est = TensorFlow(source_directory=script_folder,
                 entry_script='tf_mnist.py',
                 script_params=script_params,
                 compute_target=compute_target,
                 use_gpu=args.use_gpu)  # runyard: the article says True

run = exp.submit(est)
run.wait_for_completion(show_output=True)

model = run.register_model(model_name='tf-dnn-mnist', model_path='outputs/model')

# Create a model folder in the current directory
os.makedirs('./model', exist_ok=True)

for f in run.get_file_names():
    if f.startswith('outputs/model'):
        output_file_path = os.path.join('./model', f.split('/')[-1])
        print('Downloading from {} to {} ...'.format(f, output_file_path))  # noqa: UP032
        run.download_file(name=f, output_file_path=output_file_path)

# -- distributed training: Horovod --------------------------------------------------------
from runyard.azureml.core.runconfig import MpiConfiguration  # noqa: E402
from runyard.azureml.train.dnn import TensorFlow  # noqa: E402

# Tensorflow constructor
estimator = TensorFlow(source_directory=project_folder,
                       compute_target=compute_target,
                       script_params=script_params,
                       entry_script='script.py',
                       node_count=2,
                       process_count_per_node=1,
                       distributed_training=MpiConfiguration(),
                       framework_version='1.13',
                       use_gpu=True)
try:  # runyard: the article does not submit it; here is what runyard would say
    exp.submit(estimator)
except ValidationError as refused:
    print(f"runyard refuses the Horovod estimator: {refused}")

# -- distributed training: parameter server ----------------------------------------------
from runyard.azureml.core.runconfig import TensorflowConfiguration  # noqa: E402 - missing in the article

distributed_training = TensorflowConfiguration()
distributed_training.worker_count = 2

# Tensorflow constructor
estimator = TensorFlow(source_directory=project_folder,
                       compute_target=compute_target,
                       script_params=script_params,
                       entry_script='script.py',
                       node_count=args.nodes,  # runyard: the article says 2
                       process_count_per_node=1,
                       distributed_training=distributed_training,
                       use_gpu=args.use_gpu)  # runyard: the article says True

# submit the TensorFlow job
run = exp.submit(estimator)  # the article says exp.submit(tf_est): there is no tf_est
run.wait_for_completion(show_output=True)
print(f"parameter-server run {run.id}: {run.get_status()}", file=sys.stderr)
