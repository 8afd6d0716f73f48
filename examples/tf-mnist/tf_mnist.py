"""Train a DNN on MNIST: the seed article's script contract, in TensorFlow 2 (tf.keras).

Logs training_acc and validation_acc every epoch and final_acc at the end through
runyard's Run (or azureml.core's, unchanged), and saves the model to ./outputs/model.
"""

import argparse
import os
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
tf.random.set_seed(0)
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
    """Logs the epoch's accuracies, and its training speed (validation left out)."""

    def on_epoch_begin(self, *_args, **_kwargs):
        self.started = self.trained = time.perf_counter()

    def on_train_batch_end(self, *_args, **_kwargs):
        self.trained = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = self.trained - self.started
        steps = args.steps_per_epoch or int(np.ceil(len(X_train) / args.batch_size))
        run.log("training_acc", float(logs["accuracy"]))
        run.log("validation_acc", float(logs["val_accuracy"]))
        run.log("samples_per_second", steps * args.batch_size / seconds)
        print(f"epoch {epoch}: training_acc {logs['accuracy']:.4f}, validation_acc "
              f"{logs['val_accuracy']:.4f}, {steps * args.batch_size / seconds:,.0f} samples/s")


train = tf.data.Dataset.from_tensor_slices((X_train, y_train)).shuffle(
    len(X_train), seed=0).batch(args.batch_size).repeat()
steps = args.steps_per_epoch or int(np.ceil(len(X_train) / args.batch_size))
model.fit(train, epochs=args.epochs, steps_per_epoch=steps,
          validation_data=(X_test, y_test), callbacks=[LogToRun()], verbose=2)

_, final_acc = model.evaluate(X_test, y_test, verbose=0)
run.log("final_acc", float(final_acc))
print("final accuracy", final_acc)

os.makedirs("./outputs/model", exist_ok=True)
model.save("./outputs/model/mnist.keras")
print("model saved in ./outputs/model")
