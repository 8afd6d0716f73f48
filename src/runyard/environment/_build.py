"""`env.build(ws)` / `env.build_local(ws)`: build an environment now, into this machine's
cache, the way a run would at Preparing (v1 built a Docker image; runyard builds the uv
environment the runs will use, so the first run finds it cached)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runyard.environment._definition import Environment


class EnvironmentBuild:
    """What v1's `ImageBuildDetails` gave: a status, the build log, wait_for_completion."""

    def __init__(self, status: str, log: str, path: str | None, error: str | None) -> None:
        self.status = status
        self.path = path
        self.error = error
        self._log = log

    def __repr__(self) -> str:
        return f"EnvironmentBuild(status={self.status!r}, path={self.path!r})"

    def get_log(self) -> str:
        return self._log

    def wait_for_completion(self, show_output: bool = True) -> None:
        """The build has ended already; with show_output, print its log."""
        if show_output:
            print(self._log, end="" if self._log.endswith("\n") else "\n", file=sys.stdout,
                  flush=True)


def build_now(environment: Environment, show_output: bool = False) -> EnvironmentBuild:
    """Build `environment` into the cache (nothing for a user-managed one)."""
    from runyard.environment._cache import EnvironmentCache
    from runyard.errors import EnvironmentBuildError

    environment.check_buildable()
    if environment.user_managed:
        text = (f"environment {environment.name!r} lists no packages: runs use "
                f"{environment.python.interpreter_path or sys.executable} as it is\n")
        return EnvironmentBuild("Succeeded", text, None, None)
    with tempfile.TemporaryDirectory(prefix="runyard-build-") as folder:
        log_path = Path(folder) / "build.txt"
        with open(log_path, "w+", encoding="utf-8") as log:
            try:
                prepared = EnvironmentCache().prepare(environment.build_spec(), log)
            except EnvironmentBuildError as e:
                log.flush()
                result = EnvironmentBuild("Failed", log_path.read_text(), None, str(e))
            else:
                prepared.release()
                log.flush()
                result = EnvironmentBuild("Succeeded", log_path.read_text(),
                                          str(prepared.path), None)
    if show_output:
        result.wait_for_completion(show_output=True)
    return result
