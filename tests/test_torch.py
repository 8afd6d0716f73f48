"""PyTorch DistributedDataParallel with gloo on the CPU, as runyard launches it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Experiment, ScriptRunConfig
from runyard.distributed import PyTorchConfiguration

pytest.importorskip("torch")

DDP_STEP = """
    import os
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    from runyard import Run

    dist.init_process_group(os.environ["RUNYARD_TORCH_BACKEND"])  # env:// from torchrun's vars
    rank = dist.get_rank()
    torch.manual_seed(rank)  # different weights: DDP must broadcast rank 0's
    model = DistributedDataParallel(torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    inputs = torch.randn(8, 4) * (rank + 1)  # different data: gradients must be averaged
    model(inputs).pow(2).mean().backward()
    optimizer.step()
    run = Run.get_context()
    run.log("checksum", round(sum(p.detach().sum().item() for p in model.parameters()), 6))
    run.log("world_size", dist.get_world_size())
    dist.destroy_process_group()
"""


@pytest.mark.slow
def test_a_two_process_gloo_ddp_step_ends_with_identical_weights(
        experiment: Experiment, source: Callable[..., Path]) -> None:
    run = experiment.submit(ScriptRunConfig(
        source(DDP_STEP), "train.py",
        distributed_job_config=PyTorchConfiguration(communication_backend="Gloo",
                                                    process_count=2)))
    assert run.wait_for_completion(timeout_seconds=120)["status"] == "Completed"
    points = run.workspace.store.get_metrics(run.id, "checksum")
    assert sorted(p["rank"] for p in points) == [0, 1]
    assert points[0]["value"] == points[1]["value"]
    assert run.get_metrics()["world_size"] == [2.0, 2.0]
