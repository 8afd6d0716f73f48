"""`azureml.core.webservice`: refused until runyard deploys models (issue 16).

Every name imports, so a v1 notebook's imports and `isinstance` checks run; creating or
calling one (`AciWebservice.deploy_configuration(...)`, `Webservice(ws, name)`) raises
`NotSupportedError` saying what to do instead: register the model, download it and serve
it yourself.
"""

from runyard.azureml._surface import module_getattr

__getattr__ = module_getattr(__name__)

# the names module_getattr serves (F822: ruff cannot see them)
__all__ = [  # noqa: F822
           "AciWebservice", "AksEndpoint", "AksWebservice", "LocalWebservice",
           "UnknownWebservice", "Webservice"]
