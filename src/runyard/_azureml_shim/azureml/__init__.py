"""runyard's stand-in for azureml-core inside a run (`from azureml.core import Run`).

Every other `azureml` folder on sys.path (a real azureml-core, azureml-dataprep, ...) comes
before this one in the package's path, so their modules are the ones imported; this
package only answers for what is missing.
"""

import os
import pkgutil

__path__ = pkgutil.extend_path(__path__, __name__)
_here = os.path.dirname(os.path.abspath(__file__))
__path__ = [p for p in __path__ if os.path.abspath(p) != _here] + [_here]
