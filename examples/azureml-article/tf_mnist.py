"""A training script as Azure ML v1 users wrote them, kept unchanged under runyard.

It imports `Run` from `azureml.core` (inside a runyard run, a small shim provides it when
azureml-core is not installed), finds the MNIST files under --data-folder (the mounted
datastore), trains a 784-300-100-10 network, logs `training_acc` and `validation_acc` every
epoch and `final_acc` at the end, and saves the model to ./outputs/model, which the run
keeps. TensorFlow 2 with tf.keras: TensorFlow 1.x does not install on today's Pythons.
"""

import argparse
import glob
import os

import numpy as np
import tensorflow as tf

from azureml.core import Run
from utils import load_data

parser = argparse.ArgumentParser()
parser.add_argument("--data-folder", type=str, dest="data_folder", required=True,
                    help="data folder mounting point")
parser.add_argument("--batch-size", type=int, dest="batch_size", default=50,
                    help="mini batch size for training")
parser.add_argument("--first-layer-neurons", type=int, dest="n_hidden_1", default=100,
                    help="# of neurons in the first layer")
parser.add_argument("--second-layer-neurons", type=int, dest="n_hidden_2", default=100,
                    help="# of neurons in the second layer")
parser.add_argument("--learning-rate", type=float, dest="learning_rate", default=0.01,
                    help="learning rate")
parser.add_argument("--epochs", type=int, dest="epochs", default=20)
parser.add_argument("--steps-per-epoch", type=int, dest="steps_per_epoch", default=None,
                    help="stop each epoch after this many batches (quick runs)")
args = parser.parse_args()


def find(name):
    """The MNIST file `name` anywhere under the data folder (the datastore's mnist/)."""
    found = glob.glob(os.path.join(args.data_folder, "**", name), recursive=True)
    if not found:
        raise SystemExit(f"--data-folder {args.data_folder}: no {name} in it or below")
    return found[0]


print("TensorFlow version:", tf.__version__)
print("Data folder:", args.data_folder)
X_train = load_data(find("train-images-idx3-ubyte.gz"), False) / 255.0
X_test = load_data(find("t10k-images-idx3-ubyte.gz"), False) / 255.0
y_train = load_data(find("train-labels-idx1-ubyte.gz"), True).reshape(-1)
y_test = load_data(find("t10k-labels-idx1-ubyte.gz"), True).reshape(-1)
print(X_train.shape, y_train.shape, X_test.shape, y_test.shape, sep="\n")

# start an Azure ML run
run = Run.get_context()

tf.random.set_seed(0)
model = tf.keras.Sequential([
    tf.keras.Input(shape=(28 * 28,)),
    tf.keras.layers.Dense(args.n_hidden_1, activation="relu", name="h1"),
    tf.keras.layers.Dense(args.n_hidden_2, activation="relu", name="h2"),
    tf.keras.layers.Dense(10, name="output"),
])
model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=args.learning_rate),
              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])


class LogAccuracies(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        # log accuracies
        run.log("training_acc", float(logs["accuracy"]))
        run.log("validation_acc", float(logs["val_accuracy"]))
        print(epoch, "-- Training accuracy:", logs["accuracy"],
              "\b Validation accuracy:", logs["val_accuracy"])


train = tf.data.Dataset.from_tensor_slices((X_train.astype(np.float32), y_train)).shuffle(
    len(X_train), seed=0).batch(args.batch_size).repeat()
steps = args.steps_per_epoch or len(X_train) // args.batch_size
model.fit(train, epochs=args.epochs, steps_per_epoch=steps,
          validation_data=(X_test.astype(np.float32), y_test), callbacks=[LogAccuracies()],
          verbose=2)

_, acc_val = model.evaluate(X_test.astype(np.float32), y_test, verbose=0)
run.log("final_acc", float(acc_val))

os.makedirs("./outputs/model", exist_ok=True)
# files saved in the "./outputs" folder are automatically uploaded into run history
model.save("./outputs/model/mnist-tf.keras")
print("final accuracy", acc_val, "- model saved in ./outputs/model")
