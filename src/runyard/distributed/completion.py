"""The completion policy: from the processes' exit codes, whether a run has ended and how.

A pure function of data, the same on every compute (an executor reports exit codes, the
run driver asks `judge`):
- Any process that fails (a non-zero exit, or killed) fails the run at once, naming it;
  except a server (`serves`, a parameter server) that ends after the run was decided:
  it was stopped because of the decision.
- The run succeeds once every deciding process (`decides`; a launcher such as mpirun
  stands for all its ranks and decides) exited 0 and every other non-server process
  exited 0 too, or STRAGGLER_SECONDS after the deciders succeeded, whichever is first.
- What is still running when the run is decided (servers, stragglers) is stopped then;
  the verdict names it (`stop`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

STRAGGLER_SECONDS = 10.0  # after the deciding process succeeded, how long the rest may take


@dataclass(frozen=True)
class Member:
    """One process (or one launcher for many) as the policy sees it."""

    decides: bool
    serves: bool = False
    returncode: int | None = None  # None while it runs


@dataclass(frozen=True)
class Verdict:
    """`ok` None: still running. `failed`: the index of the member that failed the run.
    `decided_at`: when the deciders succeeded (kept by the caller for the next call).
    `stop`: indexes of members still running once the run is decided."""

    ok: bool | None
    decided_at: float | None = None
    failed: int | None = None
    stop: tuple[int, ...] = ()

    @property
    def decided(self) -> bool:
        return self.ok is not None


def judge(members: Sequence[Member], decided_at: float | None, now: float,
          straggler_seconds: float = STRAGGLER_SECONDS) -> Verdict:
    """The run's verdict now, given the members' exit codes and when (if ever) its
    deciders succeeded."""
    running = tuple(i for i, m in enumerate(members) if m.returncode is None)
    for index, member in enumerate(members):
        if member.returncode is None or member.returncode == 0:
            continue
        if member.serves and decided_at is not None:
            continue  # stopped after the decision
        return Verdict(False, decided_at, failed=index, stop=running)
    if not all(m.returncode == 0 for m in members if m.decides):
        return Verdict(None, decided_at)
    if decided_at is None:
        decided_at = now
    stragglers = [m for m in members if not m.serves and m.returncode != 0]
    if not stragglers or now - decided_at > straggler_seconds:
        return Verdict(True, decided_at, stop=running)
    return Verdict(None, decided_at)
