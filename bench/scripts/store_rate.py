"""Logs POINTS metric points as fast as it can; the benchmark times their way to the store.

Usage (as a submitted script): store_rate.py POINTS FILE
The time.time() of the first log call and of the end of the loop go to FILE (written after
the loop, so the write costs the loop nothing); the run logs exactly POINTS points and
nothing else.
"""

import os
import sys
import time

from runyard import Run


def main() -> None:
    points = int(sys.argv[1])
    target = sys.argv[2]
    run = Run.get_context()
    first = time.time()
    for i in range(points):
        run.log("x", float(i))
    last = time.time()
    with open(target + ".tmp", "w") as handle:
        handle.write(f"{first!r} {last!r}")
    os.replace(target + ".tmp", target)


main()
