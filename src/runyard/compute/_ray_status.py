"""`python -m runyard.compute._ray_status GCS_ADDRESS`: the cluster's alive nodes as JSON.

Run as a child process with the cluster's RAY_AUTH_* settings in its environment (Ray
reads them when first imported).
"""

from __future__ import annotations

import json
import sys
from typing import Any


def main(gcs_address: str) -> None:
    from ray.autoscaler.v2.sdk import get_cluster_status

    from runyard.compute._ray_nodes import _runyard_index

    status = get_cluster_status(gcs_address, timeout=30)
    nodes: list[dict[str, Any]] = []
    for node in [*status.active_nodes, *status.idle_nodes]:
        if node.resource_usage is None:
            continue
        total = {u.resource_name: u.total for u in node.resource_usage.usage}
        used = {u.resource_name: u.used for u in node.resource_usage.usage}
        nodes.append({"node_id": node.node_id, "address": node.ip_address,
                      "status": node.node_status, "runyard_index": _runyard_index(total),
                      "total": {k: v for k, v in total.items() if not k.startswith("node:")},
                      "used": {k: v for k, v in used.items()
                               if v and not k.startswith("node:")},
                      "idle_seconds": node.resource_usage.idle_time_ms / 1000})
    nodes.sort(key=lambda n: (n["runyard_index"] is None, n["runyard_index"] or 0))
    json.dump(nodes, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
