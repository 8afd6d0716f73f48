"""The article's parameter-server training script (`script.py`), TF1 style.

It parses TF_CONFIG exactly as the article shows, with the article's bug fixed
(`tf.train.ClusterSpec(cluster)` names an undefined `cluster`; the cluster is
`tf_config_json["cluster"]`), then trains the MNIST network by between-graph replication:
every worker builds the graph, `replica_device_setter` puts the variables on the parameter
server, the workers update them asynchronously. Worker 0 is the chief: it initialises the
variables, logs `final_acc` and saves the weights to ./outputs/model. The parameter server
serves until runyard stops it, once the chief has decided the run.

TensorFlow 2's `tf.compat.v1` runs this TF1 graph code (TensorFlow 1.x does not install on
today's Pythons). Logging goes through `azureml.core.Run`, unchanged.
"""

import argparse
import glob
import json
import os
import time

import numpy as np
import tensorflow as tf

from azureml.core import Run
from utils import load_data

# -- the article's lines, corrected ----------------------------------------------------
tf_config = os.environ.get('TF_CONFIG')
if not tf_config or tf_config == "":
    raise ValueError("TF_CONFIG not found.")
tf_config_json = json.loads(tf_config)
cluster_spec = tf.train.ClusterSpec(tf_config_json["cluster"])
# ---------------------------------------------------------------------------------------

job_name = tf_config_json["task"]["type"]
task_index = tf_config_json["task"]["index"]
tf.compat.v1.disable_eager_execution()
server = tf.compat.v1.train.Server(cluster_spec, job_name=job_name, task_index=task_index)
if job_name == "ps":
    print("parameter server", task_index, "serving", flush=True)
    server.join()

parser = argparse.ArgumentParser()
parser.add_argument("--data-folder", type=str, dest="data_folder", required=True)
parser.add_argument("--batch-size", type=int, dest="batch_size", default=50)
parser.add_argument("--first-layer-neurons", type=int, dest="n_hidden_1", default=100)
parser.add_argument("--second-layer-neurons", type=int, dest="n_hidden_2", default=100)
parser.add_argument("--learning-rate", type=float, dest="learning_rate", default=0.01)
parser.add_argument("--epochs", type=int, dest="epochs", default=20)
parser.add_argument("--steps-per-epoch", type=int, dest="steps_per_epoch", default=None)
args = parser.parse_args()


def find(name):
    found = glob.glob(os.path.join(args.data_folder, "**", name), recursive=True)
    if not found:
        raise SystemExit(f"--data-folder {args.data_folder}: no {name} in it or below")
    return found[0]


X_train = load_data(find("train-images-idx3-ubyte.gz"), False).astype(np.float32) / 255.0
X_test = load_data(find("t10k-images-idx3-ubyte.gz"), False).astype(np.float32) / 255.0
y_train = load_data(find("train-labels-idx1-ubyte.gz"), True).reshape(-1).astype(np.int64)
y_test = load_data(find("t10k-labels-idx1-ubyte.gz"), True).reshape(-1).astype(np.int64)

run = Run.get_context()
is_chief = job_name == "worker" and task_index == 0


def dense(inputs, size, name, activation=None):
    weights = tf.compat.v1.get_variable(
        f"{name}/kernel", [inputs.shape[1], size],
        initializer=tf.compat.v1.glorot_uniform_initializer(seed=0))
    bias = tf.compat.v1.get_variable(f"{name}/bias", [size],
                                     initializer=tf.compat.v1.zeros_initializer())
    out = tf.matmul(inputs, weights) + bias
    return activation(out) if activation else out


with tf.compat.v1.device(tf.compat.v1.train.replica_device_setter(
        worker_device=f"/job:worker/task:{task_index}", cluster=cluster_spec)):
    X = tf.compat.v1.placeholder(tf.float32, shape=(None, 28 * 28), name="X")
    y = tf.compat.v1.placeholder(tf.int64, shape=(None,), name="y")
    h1 = dense(X, args.n_hidden_1, "h1", tf.nn.relu)
    h2 = dense(h1, args.n_hidden_2, "h2", tf.nn.relu)
    output = dense(h2, 10, "output")
    global_step = tf.compat.v1.train.get_or_create_global_step()
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                          logits=output))
    train_op = tf.compat.v1.train.GradientDescentOptimizer(args.learning_rate).minimize(
        loss, global_step=global_step)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(output, 1), y), tf.float32))
    init = tf.compat.v1.global_variables_initializer()
    uninitialized = tf.compat.v1.report_uninitialized_variables()

run.log("variable_device", global_step.device)
config = tf.compat.v1.ConfigProto(device_filters=["/job:ps", f"/job:worker/task:{task_index}"])
rng = np.random.default_rng(task_index)
steps = args.steps_per_epoch or len(X_train) // args.batch_size
with tf.compat.v1.Session(server.target, config=config) as session:
    if is_chief:
        session.run(init)
    while len(session.run(uninitialized)):  # the other workers wait for the chief's init
        time.sleep(0.1)
    for epoch in range(args.epochs):
        order = rng.permutation(len(X_train))
        for step in range(steps):
            batch = order[step * args.batch_size:(step + 1) * args.batch_size]
            session.run(train_op, feed_dict={X: X_train[batch], y: y_train[batch]})
        acc_train = session.run(accuracy, feed_dict={X: X_train[batch], y: y_train[batch]})
        acc_val = session.run(accuracy, feed_dict={X: X_test, y: y_test})
        run.log("training_acc", float(acc_train))
        run.log("validation_acc", float(acc_val))
        print(f"worker {task_index} epoch {epoch}: training_acc {acc_train:.4f}, "
              f"validation_acc {acc_val:.4f}", flush=True)
    run.log("global_step", int(session.run(global_step)))
    if is_chief:
        run.log("final_acc", float(acc_val))
        os.makedirs("./outputs/model", exist_ok=True)
        names = [v.name for v in tf.compat.v1.trainable_variables()]
        values = session.run(tf.compat.v1.trainable_variables())
        np.savez("./outputs/model/weights.npz",
                 **{name.replace("/", "_").replace(":", "_"): v for name, v in
                    zip(names, values, strict=True)})
        print("the chief saved the weights in ./outputs/model", flush=True)
