"""The Ray Tune anchor of bench/hyperdrive.py: the same trivial trials as runyard's sweep
(curve.py's `learning` curve of seed n, 10 values), as a function trainable on a local
Ray, `max_concurrent_trials` at a time. Runs in bench/.venv-tune (ray[tune]), with
bench/scripts on PYTHONPATH so the Ray workers import curve.py too.

Usage: curve_tune.py TRIALS CONCURRENCY REUSE_ACTORS(0|1) STORAGE_DIR
Prints one JSON line: the wall time of `Tuner.fit()` (Ray already started, untimed) and
each trial's own time (the trainable's body, first statement to its last report).
"""

import json
import logging
import sys
import time


def trainable(config: dict) -> None:
    started = time.perf_counter()
    from curve import values
    from ray import tune

    curve = values("learning", config["seed"], 10)
    for value in curve[:-1]:
        tune.report({"score": value})
    tune.report({"score": curve[-1], "script_seconds": time.perf_counter() - started})


def main() -> None:
    trials, concurrency, reuse, storage = (int(sys.argv[1]), int(sys.argv[2]),
                                           sys.argv[3] == "1", sys.argv[4])
    import ray
    from ray import tune

    # a Ray of this helper's own (another one on this machine is never joined)
    ray.init(address="local", logging_level=logging.WARNING)
    tuner = tune.Tuner(
        trainable,
        param_space={"seed": tune.grid_search(list(range(trials)))},
        tune_config=tune.TuneConfig(max_concurrent_trials=concurrency, reuse_actors=reuse,
                                    metric="score", mode="max"),
        run_config=tune.RunConfig(storage_path=storage, name=f"curve-reuse{int(reuse)}",
                                  verbose=0))
    started = time.perf_counter()
    results = tuner.fit()
    wall = time.perf_counter() - started
    own = [float(r.metrics["script_seconds"]) for r in results if r.metrics]
    errors = [str(r.error) for r in results if r.error]
    ray.shutdown()
    print(json.dumps({"ray_version": ray.__version__, "reuse_actors": reuse,
                      "trials": trials, "concurrency": concurrency, "wall_s": wall,
                      "own_s": own, "errors": errors[:3],
                      "best": results.get_best_result().metrics.get("score")}))


if __name__ == "__main__":
    main()
