"""The completion policy as data: exit codes in, the run's verdict out
(runyard.distributed.completion.judge), the same on every compute."""

from __future__ import annotations

import pytest

from runyard.distributed.completion import STRAGGLER_SECONDS, Member, Verdict, judge

CHIEF = Member(decides=True)
WORKER = Member(decides=False)
PS = Member(decides=False, serves=True)


def _with(member: Member, returncode: int | None) -> Member:
    return Member(member.decides, member.serves, returncode)


@pytest.mark.parametrize(("members", "decided_at", "now", "verdict"), [
    # one process: runs, succeeds, fails
    ([_with(CHIEF, None)], None, 0.0, Verdict(None)),
    ([_with(CHIEF, 0)], None, 5.0, Verdict(True, 5.0)),
    ([_with(CHIEF, 3)], None, 5.0, Verdict(False, failed=0)),
    ([_with(CHIEF, -9)], None, 5.0, Verdict(False, failed=0)),
    # a failing worker fails the run at once, while the chief still runs (stopped)
    ([_with(CHIEF, None), _with(WORKER, 1), _with(PS, None)], None, 1.0,
     Verdict(False, failed=1, stop=(0, 2))),
    # the first failure in plan order is named
    ([_with(CHIEF, 0), _with(WORKER, 2), _with(WORKER, 1)], None, 1.0,
     Verdict(False, failed=1)),
    # chief done, a worker still running: wait for it (the parameter server serves on)
    ([_with(CHIEF, 0), _with(WORKER, None), _with(PS, None)], None, 1.0, Verdict(None, 1.0)),
    ([_with(CHIEF, 0), _with(WORKER, None), _with(PS, None)], 1.0, 1.0 + STRAGGLER_SECONDS,
     Verdict(None, 1.0)),
    # ... until STRAGGLER_SECONDS after the decision: then it and the ps are stopped
    ([_with(CHIEF, 0), _with(WORKER, None), _with(PS, None)], 1.0,
     1.1 + STRAGGLER_SECONDS, Verdict(True, 1.0, stop=(1, 2))),
    # every worker done: success at once, the parameter server is stopped
    ([_with(CHIEF, 0), _with(WORKER, 0), _with(PS, None)], None, 2.0,
     Verdict(True, 2.0, stop=(2,))),
    # a parameter server stopped after the decision does not fail the run ...
    ([_with(CHIEF, 0), _with(WORKER, None), _with(PS, -15)], 1.0, 2.0, Verdict(None, 1.0)),
    # ... one that dies before it does
    ([_with(CHIEF, None), _with(WORKER, None), _with(PS, 1)], None, 2.0,
     Verdict(False, failed=2, stop=(0, 1))),
    # a straggler that fails within the grace fails the run
    ([_with(CHIEF, 0), _with(WORKER, 1)], 1.0, 2.0, Verdict(False, 1.0, failed=1)),
    # several deciders (PyTorch: every rank decides): all must succeed
    ([_with(CHIEF, 0), _with(CHIEF, None)], None, 1.0, Verdict(None)),
    ([_with(CHIEF, 0), _with(CHIEF, 0)], None, 1.0, Verdict(True, 1.0)),
])
def test_judge(members: list[Member], decided_at: float | None, now: float,
               verdict: Verdict) -> None:
    assert judge(members, decided_at, now) == verdict


def test_decided() -> None:
    assert not Verdict(None).decided
    assert Verdict(True).decided
    assert Verdict(False, failed=0).decided
