"""Times CALLS calls of `run.log("x", float(i))` in a submitted run; logs the rate.

Usage (as a submitted script): log_rate.py CALLS
Logs `log_calls_per_s` and `log_seconds`, which the benchmark reads back from the store.
"""

import sys
import time

from runyard import Run


def main() -> None:
    calls = int(sys.argv[1])
    run = Run.get_context()
    run.log("warmup", 0.0)
    started = time.perf_counter()
    for i in range(calls):
        run.log("x", float(i))
    elapsed = time.perf_counter() - started
    run.log("log_calls_per_s", calls / elapsed)
    run.log("log_seconds", elapsed)
    print(f"{calls} run.log calls in {elapsed:.3f} s: {calls / elapsed:,.0f} calls/s")


main()
