"""Entry point of a run's supervisor process."""

from __future__ import annotations

import sys

from runyard.supervisor._supervisor import Supervisor
from runyard.workspace import Workspace


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m runyard.supervisor WORKSPACE_PATH RUN_ID", file=sys.stderr)
        return 2
    workspace = Workspace.from_config(argv[0])
    target = workspace.store.get_run(argv[1])["compute_target"]
    row = workspace.store.get_compute_target(target) if target else None
    if row is not None and row["type"] == "ray":
        from runyard.supervisor._ray import RaySupervisor

        return RaySupervisor(workspace, argv[1]).main()
    return Supervisor(workspace, argv[1]).main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
