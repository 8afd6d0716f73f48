"""Train a DNN on MNIST: the seed article's script contract, in TensorFlow 2 (tf.keras).

Logs training_acc and validation_acc every epoch and final_acc at the end through
runyard's Run (or azureml.core's, unchanged), and saves the model to ./outputs/model.

With several workers and no parameter server in TF_CONFIG (runyard's
TensorflowConfiguration(worker_count=N, parameter_server_count=0)), the model trains under
MultiWorkerMirroredStrategy: every worker logs its epochs (the metrics carry its rank),
worker 0 (or the chief) alone logs final_acc and saves to ./outputs/model. Without
TF_CONFIG, or with one worker, or with parameter servers, it trains in one process as before.
"""

import argparse
import json
import os
import shutil
import tempfile
import time

import numpy as np
import tensorflow as tf

from runyard import Run
from utils import check_folder, load_data

parser = argparse.ArgumentParser()
parser.add_argument("--data-folder", type=str, dest="data_folder", required=True,
                    help="folder with the four MNIST files")
parser.add_argument("--batch-size", type=int, dest="batch_size", default=50)
parser.add_argument("--first-layer-neurons", type=int, dest="n_hidden_1", default=300)
parser.add_argument("--second-layer-neurons", type=int, dest="n_hidden_2", default=100)
parser.add_argument("--learning-rate", type=float, dest="learning_rate", default=0.01)
parser.add_argument("--epochs", type=int, dest="epochs", default=20)
parser.add_argument("--steps-per-epoch", type=int, dest="steps_per_epoch", default=None,
                    help="stop each epoch after this many batches (quick runs, tests)")
args = parser.parse_args()

data_folder = check_folder(args.data_folder)
X_train = load_data(os.path.join(data_folder, "train-images-idx3-ubyte.gz"))
y_train = load_data(os.path.join(data_folder, "train-labels-idx1-ubyte.gz"), label=True)
X_test = load_data(os.path.join(data_folder, "t10k-images-idx3-ubyte.gz"))
y_test = load_data(os.path.join(data_folder, "t10k-labels-idx1-ubyte.gz"), label=True)
print(X_train.shape, y_train.shape, X_test.shape, y_test.shape, sep="\n")

run = Run.get_context()

# The cluster, if any: MultiWorkerMirroredStrategy for several workers (and an optional
# chief) without parameter servers; one process otherwise.
tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
cluster = tf_config.get("cluster") or {}
task = tf_config.get("task") or {}
workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
multi_worker = workers > 1 and not cluster.get("ps")
if multi_worker:
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    chief_type = "chief" if cluster.get("chief") else "worker"
    is_chief = task.get("type") == chief_type and task.get("index", 0) == 0
else:
    strategy = tf.distribute.get_strategy()  # the default: this process alone
    workers, is_chief = 1, True
# --batch-size is per worker: each step takes batch_size × workers samples in all (the
# global batch), batch_size of them on each worker, so one worker's step costs what it
# costs alone and the workers together see `workers` times as many samples per step.
global_batch = args.batch_size * workers

tf.random.set_seed(0)
with strategy.scope():
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(784,)),
        tf.keras.layers.Dense(args.n_hidden_1, activation="relu"),
        tf.keras.layers.Dense(args.n_hidden_2, activation="relu"),
        tf.keras.layers.Dense(10),
    ])
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=args.learning_rate),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])


class LogToRun(tf.keras.callbacks.Callback):
    """Logs the epoch's accuracies, and its training speed (validation left out): the
    samples this process trained on per second (the sum over the workers is the run's)."""

    def on_epoch_begin(self, *_args, **_kwargs):
        self.started = self.trained = time.perf_counter()

    def on_train_batch_end(self, *_args, **_kwargs):
        self.trained = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        speed = steps * args.batch_size / (self.trained - self.started)
        run.log("training_acc", float(logs["accuracy"]))
        run.log("validation_acc", float(logs["val_accuracy"]))
        run.log("samples_per_second", speed)
        print(f"epoch {epoch}: training_acc {logs['accuracy']:.4f}, validation_acc "
              f"{logs['val_accuracy']:.4f}, {speed:,.0f} samples/s")


# Every worker shuffles alike (seed 0) and takes its share of each global batch.
options = tf.data.Options()
options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
train = tf.data.Dataset.from_tensor_slices((X_train, y_train)).shuffle(
    len(X_train), seed=0).batch(global_batch).repeat().with_options(options)
steps = args.steps_per_epoch or int(np.ceil(len(X_train) / global_batch))
model.fit(train, epochs=args.epochs, steps_per_epoch=steps,
          validation_data=(X_test, y_test), callbacks=[LogToRun()], verbose=2)

_, final_acc = model.evaluate(X_test, y_test, verbose=0)  # every worker takes part
if is_chief:
    run.log("final_acc", float(final_acc))
print("final accuracy", final_acc)

# Under MultiWorkerMirroredStrategy every worker must call save; the others write to a
# temporary folder that is removed afterwards.
target = "./outputs/model" if is_chief else tempfile.mkdtemp(prefix="mnist-worker-")
os.makedirs(target, exist_ok=True)
model.save(os.path.join(target, "mnist.keras"))
if is_chief:
    print("model saved in ./outputs/model")
else:
    shutil.rmtree(target, ignore_errors=True)
