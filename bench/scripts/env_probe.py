"""Imports the module named in argv[1] (tensorflow in the benchmark) and logs its version.

Submitted by bench/environments.py with a built environment: the metrics say which
version was importable there, from which interpreter, and how long the import took.
"""

import importlib
import sys
import time

from runyard import Run

started = time.perf_counter()
module = importlib.import_module(sys.argv[1])
import_seconds = time.perf_counter() - started

run = Run.get_context()
run.log("version", str(module.__version__))
run.log("import_seconds", import_seconds)
run.log("interpreter", sys.executable)
print(f"{sys.argv[1]} {module.__version__} imported in {import_seconds:.2f} s "
      f"by {sys.executable}")
