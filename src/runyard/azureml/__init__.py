"""Azure ML v1 compatibility: `azureml...` imports become `runyard.azureml...`.

The modules below mirror azureml-core v1's paths and names with v1's signatures and
defaults, so a v1 notebook runs with only its imports changed (docs/migration.md):

    runyard.azureml.core                    Workspace, Experiment, Run, Datastore, Environment,
                                            ScriptRunConfig, RunConfiguration, Model, ComputeTarget
    runyard.azureml.core.compute            ComputeTarget, AmlCompute, ComputeInstance (Ray)
    runyard.azureml.core.compute_target     ComputeTargetException
    runyard.azureml.core.runconfig          RunConfiguration, MpiConfiguration,
                                            TensorflowConfiguration, PyTorchConfiguration
    runyard.azureml.core.conda_dependencies CondaDependencies
    runyard.azureml.core.authentication     the v1 sign-in classes (accepted, ignored)
    runyard.azureml.train.dnn               TensorFlow, PyTorch
    runyard.azureml.train.estimator         Estimator
    runyard.azureml.data.data_reference     DataReference

Invariants:
- runyard's own classes are re-exported wherever they already take v1's arguments; a class
  here wraps one only to give it v1's signature or defaults.
- Arguments that cannot mean anything here (subscriptions, resource groups, sign-in,
  networks, Docker registries) are accepted and ignored with one warning line naming them
  (`AzureArgumentIgnoredWarning`); what the machine cannot give is refused at submit.
- Importing this package, or `runyard.azureml.core`, loads no heavy dependency.
- Training scripts keep `from azureml.core import Run`: inside a run, a small `azureml`
  package (`runyard._azureml_shim`) is last on the processes' path, never installed.
- runyard's own classes that are v1's too (`runyard.Run`, `runyard.Experiment`, ...) get
  their ignored and refused v1 members when this package is imported (`runyard._v1`):
  the core never imports this package.
"""

from runyard import _v1
from runyard.azureml._surface import v1_members as _v1_members

_v1.complete_with(_v1_members)
