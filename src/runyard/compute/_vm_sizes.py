"""Azure VM sizes as node resources, so `vm_size="STANDARD_NC6"` means what it meant on Azure.

Figures are Azure's published sizes (vCPUs, memory in GiB, GPUs). Lookups ignore case.
"""

from __future__ import annotations

from typing import Any

from runyard.errors import ValidationError

# name: (vCPUs, memory GiB, GPUs, GPU model)
VM_SIZES: dict[str, tuple[int, float, int, str]] = {
    "STANDARD_D1_V2": (1, 3.5, 0, ""),
    "STANDARD_D2_V2": (2, 7, 0, ""),
    "STANDARD_D3_V2": (4, 14, 0, ""),
    "STANDARD_D4_V2": (8, 28, 0, ""),
    "STANDARD_D5_V2": (16, 56, 0, ""),
    "STANDARD_D11_V2": (2, 14, 0, ""),
    "STANDARD_D12_V2": (4, 28, 0, ""),
    "STANDARD_D13_V2": (8, 56, 0, ""),
    "STANDARD_DS1_V2": (1, 3.5, 0, ""),
    "STANDARD_DS2_V2": (2, 7, 0, ""),
    "STANDARD_DS3_V2": (4, 14, 0, ""),
    "STANDARD_DS4_V2": (8, 28, 0, ""),
    "STANDARD_DS11_V2": (2, 14, 0, ""),
    "STANDARD_DS5_V2": (16, 56, 0, ""),
    "STANDARD_DS12_V2": (4, 28, 0, ""),
    "STANDARD_D2_V3": (2, 8, 0, ""),
    "STANDARD_D4_V3": (4, 16, 0, ""),
    "STANDARD_D2S_V3": (2, 8, 0, ""),
    "STANDARD_D4S_V3": (4, 16, 0, ""),
    "STANDARD_D8S_V3": (8, 32, 0, ""),
    "STANDARD_E2S_V3": (2, 16, 0, ""),
    "STANDARD_E4S_V3": (4, 32, 0, ""),
    "STANDARD_F2S_V2": (2, 4, 0, ""),
    "STANDARD_F4S_V2": (4, 8, 0, ""),
    "STANDARD_F8S_V2": (8, 16, 0, ""),
    "STANDARD_NC6": (6, 56, 1, "K80"),
    "STANDARD_NC12": (12, 112, 2, "K80"),
    "STANDARD_NC24": (24, 224, 4, "K80"),
    "STANDARD_NC6S_V2": (6, 112, 1, "P100"),
    "STANDARD_NC12S_V2": (12, 224, 2, "P100"),
    "STANDARD_NC24S_V2": (24, 448, 4, "P100"),
    "STANDARD_NC6S_V3": (6, 112, 1, "V100"),
    "STANDARD_NC12S_V3": (12, 224, 2, "V100"),
    "STANDARD_NC24S_V3": (24, 448, 4, "V100"),
    "STANDARD_NC4AS_T4_V3": (4, 28, 1, "T4"),
    "STANDARD_NC8AS_T4_V3": (8, 56, 1, "T4"),
    "STANDARD_NC16AS_T4_V3": (16, 110, 1, "T4"),
    "STANDARD_NC64AS_T4_V3": (64, 440, 4, "T4"),
    "STANDARD_NC24ADS_A100_V4": (24, 220, 1, "A100"),
    "STANDARD_NC48ADS_A100_V4": (48, 440, 2, "A100"),
    "STANDARD_NC96ADS_A100_V4": (96, 880, 4, "A100"),
    "STANDARD_NV6": (6, 56, 1, "M60"),
    "STANDARD_NV12": (12, 112, 2, "M60"),
    "STANDARD_ND6S": (6, 112, 1, "P40"),
    "STANDARD_ND12S": (12, 224, 2, "P40"),
    "STANDARD_ND24S": (24, 448, 4, "P40"),
    "STANDARD_ND40RS_V2": (40, 672, 8, "V100"),
    "STANDARD_ND96ASR_V4": (96, 900, 8, "A100"),
}


def node_resources_for(vm_size: str) -> dict[str, Any]:
    """The resources of one node of Azure size `vm_size`: CPU, GPU, memory_gib."""
    if not isinstance(vm_size, str):
        raise ValidationError(f"vm_size must be a string such as 'STANDARD_D2_V2', got "
                              f"{type(vm_size).__name__}", value=vm_size)
    found = VM_SIZES.get(vm_size.upper())
    if found is None:
        raise ValidationError(
            f"unknown vm_size {vm_size!r}; runyard knows {', '.join(sorted(VM_SIZES))}, or "
            f"give the node's resources instead: node_resources={{'CPU': 4, 'GPU': 0, "
            f"'memory_gib': 16}}", value=vm_size, valid=sorted(VM_SIZES))
    cpus, memory, gpus, _model = found
    return {"CPU": cpus, "GPU": gpus, "memory_gib": memory}
