"""`azureml.tensorboard`: v1's TensorBoard launcher, refused until runyard's web UI.

`Tensorboard(runs)` imports; making one raises `NotSupportedError` saying what to do
instead: download the runs' event files and point TensorBoard at them.
"""

from runyard.azureml._surface import module_getattr

__getattr__ = module_getattr(__name__)

# the names module_getattr serves
__all__ = ["Tensorboard"]
