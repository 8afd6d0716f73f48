"""A small training script: linear regression by SGD, standard library only.

Runs the same way submitted (metrics go to the run) or by hand (metrics are printed).
"""

import argparse
import json
import os
import random

from runyard import Run

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=20)
parser.add_argument("--learning-rate", type=float, default=0.05)
args = parser.parse_args()

run = Run.get_context()
rng = random.Random(0)
data = [(x, 3.0 * x + 1.0 + rng.gauss(0, 0.1)) for x in (rng.uniform(-1, 1) for _ in range(500))]
weight, bias = 0.0, 0.0
for epoch in range(args.epochs):
    rng.shuffle(data)
    total = 0.0
    for x, y in data:
        error = weight * x + bias - y
        weight -= args.learning_rate * error * x
        bias -= args.learning_rate * error
        total += error * error
    run.log("mse", total / len(data), step=epoch)
    print(f"epoch {epoch}: mse {total / len(data):.5f}")
run.log("weight", weight)
run.log("bias", bias)
run.log_row("fit", slope=weight, intercept=bias)
os.makedirs("outputs", exist_ok=True)
with open("outputs/model.json", "w") as handle:
    json.dump({"weight": weight, "bias": bias}, handle)
print(f"fitted y = {weight:.3f} x + {bias:.3f}")
