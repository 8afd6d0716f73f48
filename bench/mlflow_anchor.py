"""The MLflow anchor: runs in bench/.venv-mlflow, with a temporary folder as cwd.

Usage: mlflow_anchor.py CALLS POINTS BATCH
Measures `mlflow.log_metric` calls/s (CALLS calls) and `MlflowClient.log_batch` points/s
(POINTS points in batches of BATCH) on MLflow's default tracking store, the one used when
no tracking URI is set. Prints one JSON line last: tracking_uri, versions and both rates.
"""

import json
import sys
import time


def say(message: str) -> None:
    print(f"  [mlflow] {message}", file=sys.stderr, flush=True)


def main() -> None:
    calls, points, batch = (int(a) for a in sys.argv[1:4])
    started = time.perf_counter()
    import mlflow
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    import_s = time.perf_counter() - started
    uri = mlflow.get_tracking_uri()
    say(f"mlflow {mlflow.__version__} imported in {import_s:.1f} s; tracking URI: {uri}")

    with mlflow.start_run() as active:
        run_id = active.info.run_id
        mlflow.log_metric("warmup", 0.0, step=0)  # the store's first write, untimed

        say(f"timing {calls:,} mlflow.log_metric calls")
        started = time.perf_counter()
        for i in range(calls):
            mlflow.log_metric("x", float(i), step=i)
        log_metric_s = time.perf_counter() - started

        client = MlflowClient()
        stamp = int(time.time() * 1000)
        batches = [[Metric("y", float(i), stamp, i) for i in range(start, min(start + batch,
                                                                                  points))]
                   for start in range(0, points, batch)]
        say(f"timing {points:,} points through MlflowClient.log_batch, {batch:,} a batch")
        started = time.perf_counter()
        for metrics in batches:
            client.log_batch(run_id, metrics=metrics)
        log_batch_s = time.perf_counter() - started
        stored = len(client.get_metric_history(run_id, "y"))

    print(json.dumps({
        "tracking_uri": uri,
        "mlflow_version": mlflow.__version__,
        "python": sys.version.split()[0],
        "import_s": import_s,
        "log_metric_calls": calls,
        "log_metric_s": log_metric_s,
        "log_metric_calls_per_s": calls / log_metric_s,
        "log_batch_points": points,
        "log_batch_size": batch,
        "log_batch_s": log_batch_s,
        "log_batch_points_per_s": points / log_batch_s,
        "log_batch_points_stored": stored,
    }))


main()
