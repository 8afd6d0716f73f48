"""A trial that logs a metric curve given by its arguments: the scripted child of the
HyperDrive policy tests (tests/test_hyperdrive_policies_live.py) and benchmarks
(bench/hyperdrive.py).

Usage:
    curve.py --curve 0.1,0.3,0.5 [--metric score] [--sleep S] [--hold S]
    curve.py --kind learning|loss --seed N --steps N [...]
    curve.py ... --sink print      # no runyard: print the values (the anchors' trials)

Each value is logged (`run.log(metric, value)`) one step at a time, `--sleep` seconds
apart (the first right away); `--hold` seconds are slept after the last one, so a policy
decision on the last value still finds the run alive. At the end the script logs (or
prints) `sink_seconds`, what setting up its logging took (`from runyard import Run` and
`Run.get_context()`), and `script_seconds`, its own time from its first statement to its
last.

The seeded families, one curve per seed (`values("learning", seed, steps)`):
- `learning`: rises from a start s to an asymptote a, value(t) = a − (a − s)·exp(−t/τ)
  plus Gaussian noise (σ 0.01), t = 1..steps, with a ~ U(0.55, 0.97), s ~ U(0.05, 0.3),
  τ ~ U(2, 10) drawn from `random.Random(seed)`: some runs good, some bad, some slow.
- `loss`: 1 − the `learning` curve of the same seed (for MINIMIZE).
"""

import time

_STARTED = time.perf_counter()

import argparse  # noqa: E402 - the clock starts at the first statement
import math  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402

KINDS = ("learning", "loss")


def values(kind: str, seed: int, steps: int) -> list[float]:
    """The seeded curve `kind` (see the module doc), rounded to 6 decimals."""
    if kind not in KINDS:
        raise ValueError(f"unknown curve kind {kind!r}; valid: {', '.join(KINDS)}")
    if steps < 1:
        raise ValueError(f"steps must be ≥ 1, not {steps}")
    rng = random.Random(seed)
    asymptote, start, tau = rng.uniform(0.55, 0.97), rng.uniform(0.05, 0.3), rng.uniform(2, 10)
    curve = [asymptote - (asymptote - start) * math.exp(-t / tau) + rng.gauss(0.0, 0.01)
             for t in range(1, steps + 1)]
    if kind == "loss":
        curve = [1.0 - value for value in curve]
    return [round(value, 6) for value in curve]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--curve", help="the values, comma-separated: 0.1,0.3,0.5")
    parser.add_argument("--kind", choices=KINDS, help="a seeded family instead of --curve")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--metric", default="score", help="the metric's name (default score)")
    parser.add_argument("--sleep", type=float, default=0.0, help="seconds between values")
    parser.add_argument("--hold", type=float, default=0.0, help="seconds after the last value")
    parser.add_argument("--sink", choices=("runyard", "print"), default="runyard")
    args = parser.parse_args(argv)
    if (args.curve is None) == (args.kind is None):
        parser.error("give exactly one of --curve and --kind")
    if args.curve is not None:
        try:
            args.values = [float(v) for v in args.curve.split(",")]
        except ValueError:
            parser.error(f"--curve takes comma-separated numbers, not {args.curve!r}")
    else:
        try:
            args.values = values(args.kind, args.seed, args.steps)
        except ValueError as e:
            parser.error(str(e))
    if args.sleep < 0 or args.hold < 0:
        parser.error("--sleep and --hold are seconds ≥ 0")
    return args


def main(argv: list[str]) -> None:
    args = parse(argv)
    setup = time.perf_counter()
    if args.sink == "runyard":
        from runyard import Run

        log = Run.get_context().log
    else:
        def log(name: str, value: float) -> None:
            print(f"{name} {value!r}", flush=True)
    setup = time.perf_counter() - setup

    for step, value in enumerate(args.values):
        if step and args.sleep:
            time.sleep(args.sleep)
        log(args.metric, value)
    if args.hold:
        time.sleep(args.hold)
    log("sink_seconds", setup)
    log("script_seconds", time.perf_counter() - _STARTED)


if __name__ == "__main__":
    main(sys.argv[1:])
