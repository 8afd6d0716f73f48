"""What every `runyard` command gets as its click object: the workspace, opened once.

It is a module of its own so the command modules (`runs`, `compute`, `data`, ...) import it
without importing the root group in `runyard.cli`, which imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from runyard.run import Run
    from runyard.workspace import Workspace


@dataclass
class State:
    """The `--workspace` given (or None: found from the current folder); the workspace is
    opened on first use and its store closed when the command ends."""

    workspace_path: Path | None
    _workspace: Workspace | None = field(default=None, repr=False)

    def workspace(self) -> Workspace:
        if self._workspace is None:
            from runyard.workspace import Workspace

            self._workspace = Workspace.from_config(self.workspace_path)
            click.get_current_context().find_root().call_on_close(self._workspace.store.close)
        return self._workspace

    def run(self, run_id: str) -> Run:
        from runyard.run import Run

        return Run.get(self.workspace(), run_id)
