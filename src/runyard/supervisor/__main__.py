"""Entry point of a run's supervisor process, and the keeper that outlives it.

`python -m runyard.supervisor WORKSPACE RUN_ID` forks at once: the child is the run's
supervisor; the parent, the *keeper*, is a child subreaper that only waits. Every process
of the run is below the keeper (orphans are re-parented to the nearest subreaper: the
supervisor while it lives, then the keeper), so when the supervisor dies by `kill -9`,
the OOM killer or a crash, the keeper still finds them all, including a script's
`setsid` double-forked daemons, and then:
1. kills every process left below it (SIGTERM, SIGKILL after a grace period);
2. records the end state, Failed with the stage it died in and how it died (where the
   disk is full, after freeing the run's scratch space, so the store can be written);
3. keeps the logs (uploaded to the run's files), drops half-written artifacts
   (`.tmp-*`) and the run's scratch folder.
The keeper loads nothing heavy until it has to (the supervisor child imports the rest).

`runyard.supervisor._start.start_supervisor` starts it: by exec, or forked by the fork
server (`runyard.supervisor._zygote`), which calls `main` in a process set up as that
command would be (environment, cwd, stdio, signals, command line), its imports loaded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

KEEPER_GRACE_SECONDS = 2.0


def _supervise(workspace_path: str, run_id: str) -> int:
    from runyard.supervisor._driver import RunDriver
    from runyard.workspace import Workspace

    workspace = Workspace.from_config(workspace_path)
    if (workspace.store.get_run(run_id)["config"] or {}).get("kind") == "sweep":
        from runyard.supervisor._sweep import SweepDriver  # a sweep's parent run

        return SweepDriver(workspace, run_id).main()
    return RunDriver(workspace, run_id).main()


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(number).name}"
        return f"was killed by signal {number}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"


def _keep(child: int, workspace_path: str, run_id: str) -> int:
    """Wait for the supervisor `child`; if it did not end the run itself, end it."""
    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGHUP):
        signal.signal(signum, forward)
    while True:  # reap orphans handed to us until the supervisor itself ends
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 1
        except InterruptedError:
            continue
        if pid == child:
            break
    from runyard.supervisor import _processes

    _processes.kill_tree(os.getpid(), KEEPER_GRACE_SECONDS)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return 0  # the supervisor decided the run and cleaned up
    from runyard.supervisor._recover import recover

    recover(workspace_path, run_id, child, _how(status))
    return 1


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m runyard.supervisor WORKSPACE_PATH RUN_ID", file=sys.stderr)
        return 2
    from runyard.supervisor import _processes

    _processes.become_subreaper()
    child = os.fork()
    if child == 0:
        code = 1
        try:
            code = _supervise(*argv)
        except BaseException:  # noqa: BLE001 - said on stderr; the keeper ends the run
            import traceback

            traceback.print_exc()
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    return _keep(child, *argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
