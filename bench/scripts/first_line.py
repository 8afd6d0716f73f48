"""Records when its first line ran: the time.time() taken there goes to the file argv[1].

Submitted by runyard and started as plain `python first_line.py FILE` alike, so the two
start-up times are measured the same way.
"""

import time

STARTED = time.time()  # the first thing the script does

import os  # noqa: E402 - after the timestamp on purpose
import sys  # noqa: E402

target = sys.argv[1]
with open(target + ".tmp", "w") as handle:
    handle.write(repr(STARTED))
os.replace(target + ".tmp", target)  # the benchmark never reads a half-written file
