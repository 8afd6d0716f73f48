"""`azureml.core.compute`: compute targets. AmlCompute and ComputeInstance are Ray clusters
(`runyard.compute.RayCompute`); `ComputeTarget(ws, "local")` is this machine; a Slurm
cluster is attached through v1's attach pattern, `ComputeTarget.attach(ws, "hpc",
SlurmCompute.attach_configuration(...))` (docs/slurm.md). The compute kinds only Azure has
(AKS, Databricks, HDInsight, ...) and SSH-attached machines are refused with what to use
instead (`runyard.azureml._surface`)."""

from runyard.azureml._surface import module_getattr
from runyard.azureml.core.compute.amlcompute import AmlCompute
from runyard.azureml.core.compute.computeinstance import ComputeInstance
from runyard.compute import ComputeTarget, SlurmCompute

__getattr__ = module_getattr(__name__)

__all__ = ["AmlCompute", "ComputeInstance", "ComputeTarget", "SlurmCompute"]
