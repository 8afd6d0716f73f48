"""Records when its first line ran: the time.time() taken there goes to the file
argv[1] + "." + $RANK (rank 0 when RANK is not set).

Each process of a distributed run writes its own file; plain `python first_line_rank.py
PREFIX` processes started with RANK set are measured the same way.
"""

import time

STARTED = time.time()  # the first thing the script does

import os  # noqa: E402 - after the timestamp on purpose
import sys  # noqa: E402

target = f"{sys.argv[1]}.{os.environ.get('RANK', '0')}"
with open(target + ".tmp", "w") as handle:
    handle.write(repr(STARTED))
os.replace(target + ".tmp", target)  # the benchmark never reads a half-written file
