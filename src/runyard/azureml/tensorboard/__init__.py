"""`azureml.tensorboard`: v1's TensorBoard launcher, runyard's own
(`runyard.tensorboard.Tensorboard`): `Tensorboard([run]).start()` returns the address of
a real TensorBoard over the runs' event files, following active runs; `stop()` ends it.
"""

from runyard.azureml._surface import module_getattr
from runyard.tensorboard import Tensorboard

__all__ = ["Tensorboard"]

__getattr__ = module_getattr(__name__)
