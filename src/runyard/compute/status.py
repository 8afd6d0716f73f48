"""A compute target's status as v1 gives it: `get_status()` returns a `ComputeStatus`.

The shape is azureml-core's `AmlComputeStatus` (its thirteen attributes, its `serialize()`
keys in camelCase, `deserialize()`), with `ScaleSettings` and `NodeStateCounts` as v1's,
plus what runyard knows besides: the target's name and type and its nodes (id, address,
resources in total and in use). `runyard.azureml.core.compute.amlcompute` exports these
classes under v1's names.

Node states are v1's: a Ray node that runs something is `running`, one that runs nothing
`idle`, a node process started but not yet in Ray `preparing`. Durations are v1's ISO 8601
seconds ("PT1800S").
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from runyard.errors import ComputeTargetException


def seconds_to_duration(seconds: int | None) -> str:
    """1800 -> "PT1800S", as v1 writes durations ("" for none)."""
    return "" if not seconds else f"PT{int(seconds)}S"


_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def duration_to_seconds(text: str | None) -> int | None:
    """"PT1800S", "PT30M", "P1DT2H" -> seconds; None or "" stays None."""
    if not text or not text.strip():
        return None
    found = _DURATION.fullmatch(text.strip())
    if found is None or not any(found.groups()):
        raise ComputeTargetException(f"{text!r} is not an ISO 8601 duration such as 'PT1800S'")
    days, hours, minutes, seconds = (float(part or 0) for part in found.groups())
    return int(days * 86400 + hours * 3600 + minutes * 60 + seconds)


def _time(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_time(value: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(value) if value else None


def from_timestamp(seconds: float | None) -> datetime.datetime | None:
    if seconds is None:
        return None
    return datetime.datetime.fromtimestamp(float(seconds), tz=datetime.UTC)


@dataclass
class ScaleSettings:
    """A cluster's node bounds and how long an idle node stays (v1's ScaleSettings)."""

    minimum_node_count: int
    maximum_node_count: int
    idle_seconds_before_scaledown: int | None

    def serialize(self) -> dict[str, Any]:
        return {"minNodeCount": self.minimum_node_count,
                "maxNodeCount": self.maximum_node_count,
                "nodeIdleTimeBeforeScaleDown":
                    seconds_to_duration(self.idle_seconds_before_scaledown)}

    @staticmethod
    def deserialize(object_dict: dict[str, Any] | None) -> ScaleSettings | None:
        if not object_dict:
            return None
        missing = [key for key in ("minNodeCount", "maxNodeCount",
                                   "nodeIdleTimeBeforeScaleDown") if key not in object_dict]
        if missing:
            raise ComputeTargetException(f"invalid scale settings, missing "
                                         f"{', '.join(missing)}: {object_dict}")
        return ScaleSettings(object_dict["minNodeCount"], object_dict["maxNodeCount"],
                             duration_to_seconds(object_dict["nodeIdleTimeBeforeScaleDown"]))


@dataclass
class NodeStateCounts:
    """How many of a cluster's nodes are in each of v1's node states."""

    idle_node_count: int = 0
    leaving_node_count: int = 0
    preempted_node_count: int = 0
    preparing_node_count: int = 0
    running_node_count: int = 0
    unusable_node_count: int = 0

    def serialize(self) -> dict[str, Any]:
        return {"preparingNodeCount": self.preparing_node_count,
                "runningNodeCount": self.running_node_count,
                "idleNodeCount": self.idle_node_count,
                "unusableNodeCount": self.unusable_node_count,
                "leavingNodeCount": self.leaving_node_count,
                "preemptedNodeCount": self.preempted_node_count}

    @staticmethod
    def deserialize(object_dict: dict[str, Any] | None) -> NodeStateCounts | None:
        if not object_dict:
            return None
        return NodeStateCounts(
            object_dict.get("idleNodeCount", 0), object_dict.get("leavingNodeCount", 0),
            object_dict.get("preemptedNodeCount", 0), object_dict.get("preparingNodeCount", 0),
            object_dict.get("runningNodeCount", 0), object_dict.get("unusableNodeCount", 0))


def node_state(node: dict[str, Any]) -> str:
    """v1's state of one Ray node (as `_ray_status` or the dashboard lists it)."""
    used = {k: v for k, v in (node.get("used") or {}).items()
            if v and not k.startswith("runyard_node_")}
    if node.get("status") == "RUNNING" or used:
        return "running"
    return "idle"


@dataclass
class ComputeStatus:
    """A compute target's status: v1's AmlComputeStatus, and the nodes runyard sees.

    Example:
        >>> status = ComputeTarget(ws, "cpu-cluster").get_status()   # doctest: +SKIP
        >>> status.provisioning_state, status.current_node_count     # doctest: +SKIP
        ('Succeeded', 2)
        >>> status.serialize()["nodeStateCounts"]["idleNodeCount"]   # doctest: +SKIP
        2
    """

    allocation_state: str | None = None
    allocation_state_transition_time: datetime.datetime | None = None
    creation_time: datetime.datetime | None = None
    current_node_count: int | None = None
    errors: list[dict[str, Any]] | None = None
    modified_time: datetime.datetime | None = None
    node_state_counts: NodeStateCounts | None = None
    provisioning_state: str | None = None
    provisioning_state_transition_time: datetime.datetime | None = None
    scale_settings: ScaleSettings | None = None
    target_node_count: int | None = None
    vm_priority: str | None = None
    vm_size: str | None = None
    # runyard's, beyond v1's
    name: str | None = None
    type: str | None = None
    nodes: list[dict[str, Any]] = field(default_factory=list)
    node_resources: dict[str, Any] = field(default_factory=dict)

    def serialize(self) -> dict[str, Any]:
        """v1's JSON form (camelCase keys), with runyard's `name`, `type`, `nodes` and
        `nodeResources` besides."""
        return {"currentNodeCount": self.current_node_count,
                "targetNodeCount": self.target_node_count,
                "nodeStateCounts": (self.node_state_counts.serialize()
                                    if self.node_state_counts else None),
                "allocationState": self.allocation_state,
                "allocationStateTransitionTime": _time(self.allocation_state_transition_time),
                "errors": self.errors,
                "creationTime": _time(self.creation_time),
                "modifiedTime": _time(self.modified_time),
                "provisioningState": self.provisioning_state,
                "provisioningStateTransitionTime":
                    _time(self.provisioning_state_transition_time),
                "scaleSettings": self.scale_settings.serialize() if self.scale_settings else None,
                "vmPriority": self.vm_priority, "vmSize": self.vm_size,
                "name": self.name, "type": self.type, "nodes": self.nodes,
                "nodeResources": self.node_resources}

    @staticmethod
    def deserialize(object_dict: dict[str, Any] | None) -> ComputeStatus | None:
        """The status `serialize()` wrote."""
        if not object_dict:
            return None
        if not isinstance(object_dict, dict):
            raise ComputeTargetException(f"a compute status is a dict, got "
                                         f"{type(object_dict).__name__}")
        return ComputeStatus(
            object_dict.get("allocationState"),
            _parse_time(object_dict.get("allocationStateTransitionTime")),
            _parse_time(object_dict.get("creationTime")), object_dict.get("currentNodeCount"),
            object_dict.get("errors"), _parse_time(object_dict.get("modifiedTime")),
            NodeStateCounts.deserialize(object_dict.get("nodeStateCounts")),
            object_dict.get("provisioningState"),
            _parse_time(object_dict.get("provisioningStateTransitionTime")),
            ScaleSettings.deserialize(object_dict.get("scaleSettings")),
            object_dict.get("targetNodeCount"), object_dict.get("vmPriority"),
            object_dict.get("vmSize"), object_dict.get("name"), object_dict.get("type"),
            list(object_dict.get("nodes") or []), dict(object_dict.get("nodeResources") or {}))

    def details(self) -> dict[str, Any]:
        """The plain summary `runyard compute show` prints (snake_case keys)."""
        shown: dict[str, Any] = {
            "name": self.name, "type": self.type, "provisioning_state": self.provisioning_state,
            "allocation_state": self.allocation_state, "node_count": self.current_node_count,
            "node_resources": self.node_resources}
        if self.scale_settings is not None:
            shown.update(min_nodes=self.scale_settings.minimum_node_count,
                         max_nodes=self.scale_settings.maximum_node_count,
                         idle_seconds_before_scaledown=(
                             self.scale_settings.idle_seconds_before_scaledown))
        if self.vm_size:
            shown["vm_size"] = self.vm_size
        if self.errors:
            shown["error"] = "; ".join(str(e.get("message", e)) for e in self.errors)
        shown["nodes"] = self.nodes
        return shown


__all__ = ["ComputeStatus", "NodeStateCounts", "ScaleSettings", "duration_to_seconds",
           "node_state", "seconds_to_duration"]
