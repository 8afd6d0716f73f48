"""TensorBoard over runs: `Tensorboard(runs, local_root=None, port=6006).start()` (v1's
`azureml.tensorboard` API) and `runyard tensorboard RUN...`; `export_to_tensorboard(run,
logdir)` writes runyard's metrics as TensorBoard scalars.

Needs the `tensorboard` extra (`pip install runyard[tensorboard]`); importing this package
imports none of TensorBoard, starting one or exporting does.

- `_sync.py`: a run's event files (under `logs/` and `outputs/`, live from an active
  run's working directory on this machine, else from its stored files) mirrored into a
  local folder, appended to as they grow;
- `_server.py`: the TensorBoard process, and the thread that keeps the copies growing;
- `_export.py`: metrics → scalar events, with TensorBoard's own event writer.
"""

from runyard.tensorboard._export import export_to_tensorboard
from runyard.tensorboard._server import Tensorboard

__all__ = ["Tensorboard", "export_to_tensorboard"]
