"""`azureml.core.compute`: compute targets. AmlCompute and ComputeInstance are Ray clusters
(`runyard.compute.RayCompute`); `ComputeTarget(ws, "local")` is this machine."""

from runyard.azureml.core.compute.amlcompute import AmlCompute
from runyard.azureml.core.compute.computeinstance import ComputeInstance
from runyard.compute import ComputeTarget

__all__ = ["AmlCompute", "ComputeInstance", "ComputeTarget"]
