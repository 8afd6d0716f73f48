"""The channel trusts nothing it reads (issue 11, items 4-8): real scripts under a real
supervisor write garbage, forged frames and bad records into their channel files; the
good records are all stored, the rest reported, and no other run is touched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Run

FORGE = """
    import os
    from runyard import Run
    from runyard.runtime import _wire

    run = Run.get_context()

    def forge(run_id, records):
        run.flush()
        with open(os.environ["RUNYARD_CHANNEL"], "ab") as channel:
            for frame in _wire.encode(run_id, records):
                channel.write(frame)
"""


def _warnings(run: Run) -> list[str]:
    return [w["message"] for w in run.get_details().get("warnings", [])]


@pytest.mark.slow
def test_bytes_that_are_not_frames_cost_no_metric_and_are_reported(
        submit: Callable[..., Run]) -> None:
    run = submit(FORGE + """
    import struct
    for i in range(3):
        run.log("before", i)
    run.flush()
    with open(os.environ["RUNYARD_CHANNEL"], "ab") as channel:
        channel.write(b"this is not a frame")
        channel.write(struct.pack("<4sI", _wire.MAGIC, 0xFFFFFFF0))  # impossible length
    for i in range(3):
        run.log("after", i)
    """)
    details = run.wait_for_completion()
    assert details["status"] == "Completed"
    metrics = run.get_metrics()
    assert metrics["before"] == [0, 1, 2]
    assert metrics["after"] == [0, 1, 2]
    warnings = _warnings(run)
    assert any("19 byte(s)" in w and "not a frame" in w for w in warnings), warnings
    assert any("frame length of 4294967280 bytes" in w for w in warnings), warnings


@pytest.mark.slow
def test_a_record_the_store_cannot_take_costs_only_itself(submit: Callable[..., Run]) -> None:
    run = submit(FORGE + """
    good = [("g", float(i), i, 1.0) for i in range(5)]
    forge(run.id, good[:2] + [("bad", 1.0, 2 ** 80, 1.0), ("x" * 300, 1.0, None, 1.0),
                              ("obj", [1, 2], None, 1.0), ("short",)] + good[2:])
    run.log("later", 1.0)
    """)
    details = run.wait_for_completion()
    assert details["status"] == "Completed"
    metrics = run.get_metrics()
    assert metrics["g"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert metrics["later"] == 1.0
    assert not {"bad", "obj", "short"} & set(metrics)
    assert not any(name.startswith("xxx") for name in metrics)
    warnings = _warnings(run)
    assert any("'bad': step 1208925819614629174706176 is not a 64-bit integer" in w
               for w in warnings), warnings
    assert any("metric name 'xxxx" in w for w in warnings), warnings
    assert any("'obj': value [1, 2]" in w for w in warnings), warnings
    assert any("('short',)" in w for w in warnings), warnings
    supervisor_log = run.read_log("logs/supervisor.txt").decode()
    assert "warning: metric name 'xxxx" in supervisor_log


@pytest.mark.slow
def test_a_frame_naming_another_run_changes_nothing_of_it(
        submit: Callable[..., Run]) -> None:
    victim = submit("from runyard import Run\nRun.get_context().log('v', 1.0)\n")
    assert victim.wait_for_completion()["status"] == "Completed"
    victim_events = victim.get_details()["stages"]
    run = submit(FORGE + f"""
    from runyard.runtime import _wire
    forge({victim.id!r}, [("injected", 666.0, None, 1.0),
                          (_wire.TAGS, {{"owned": "yes"}})])
    forge(run.id, [(_wire.CHILD_END, {victim.id!r}, "Failed", "forged")])
    forge(run.id, [(_wire.CHILD_END, run.id, "Completed", None)])
    run.log("mine", 1.0)
    """)
    details = run.wait_for_completion()
    assert details["status"] == "Completed"
    assert victim.get_metrics() == {"v": 1.0}
    assert "owned" not in victim.get_tags()
    assert victim.get_status() == "Completed"
    assert victim.get_details()["stages"] == victim_events
    assert run.get_metrics() == {"mine": 1.0}
    warnings = _warnings(run)
    assert any(f"for run '{victim.id}'" in w and "were refused" in w for w in warnings)
    assert sum("is not a child run of this run" in w for w in warnings) == 2


@pytest.mark.slow
def test_a_file_record_never_moves_a_file_from_outside_the_staging_folder(
        submit: Callable[..., Run], tmp_path: Path) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    run = submit(FORGE + f"""
    from runyard.runtime import _wire
    staging = os.environ["RUNYARD_STAGING"]
    os.makedirs(staging, exist_ok=True)
    os.symlink({str(precious)!r}, os.path.join(staging, "link"))
    forge(run.id, [(_wire.FILE, "stolen.txt", {str(precious)!r}),
                   (_wire.FILE, "through-link.txt", os.path.join(staging, "link")),
                   (_wire.FILE, "dotdot.txt", staging + "/../../" + "precious.txt")])
    run.upload_file("fine.txt", __file__)
    """)
    details = run.wait_for_completion()
    assert details["status"] == "Completed"
    assert precious.read_text() == "keep me"
    names = run.get_file_names()
    assert "fine.txt" in names
    assert not {"stolen.txt", "through-link.txt", "dotdot.txt"} & set(names)
    warnings = _warnings(run)
    assert sum("not in the run's staging folder" in w or "ELOOP" in w or
               "Too many levels of symbolic links" in w for w in warnings) == 3, warnings


@pytest.mark.slow
def test_a_child_run_id_that_is_taken_or_unsafe_raises_in_the_script(
        submit: Callable[..., Run]) -> None:
    other = submit("print('hello')\n")
    assert other.wait_for_completion()["status"] == "Completed"
    run = submit(f"""
    from runyard import Run
    from runyard.errors import InvalidNameError, RunIdInUseError
    run = Run.get_context()
    for wanted in ({other.id!r}, run.id):
        try:
            run.child_run(run_id=wanted)
        except RunIdInUseError as e:
            print("taken:", e, flush=True)
    for unsafe in ("a/b", "..", "x\\x00"):
        try:
            run.child_run(run_id=unsafe)
        except InvalidNameError as e:
            print("unsafe:", e, flush=True)
    child = run.child_run("fold", run_id="my-fold-0")
    child.log("acc", 0.5)
    child.complete()
    try:
        run.child_run(run_id="my-fold-0")
    except RunIdInUseError as e:
        print("again:", e, flush=True)
    """)
    details = run.wait_for_completion()
    assert details["status"] == "Completed", details.get("error")
    log = run.read_log("logs/driver_0.txt").decode()
    assert log.count("taken:") == 2
    assert f"child run id {other.id!r} is already used by another run" in log
    assert log.count("unsafe:") == 3
    assert "again: child run id 'my-fold-0' is already used" in log
    [child] = run.get_children()
    assert child.id == "my-fold-0"
    assert child.get_status() == "Completed"
    assert child.get_metrics() == {"acc": 0.5}
    assert other.get_status() == "Completed"
    assert other.parent is None


@pytest.mark.slow
def test_a_script_that_closes_every_descriptor_gets_no_frame_in_its_files(
        submit: Callable[..., Run]) -> None:
    run = submit("""
    import os
    from runyard import Run
    run = Run.get_context()
    run.log("first", 1.0)
    run.flush()
    os.closerange(3, 1024)
    with open("outputs/mine.txt", "w") as handle:
        run.log("second", 2.0)
        run.flush()
        handle.write("only my words")
    run.log("third", 3.0)
    """)
    details = run.wait_for_completion()
    assert details["status"] == "Completed", details.get("error")
    assert run.get_metrics() == {"first": 1.0, "second": 2.0, "third": 3.0}
    run.download_file("outputs/mine.txt", str(run.workspace.path / "mine.txt"))
    assert (run.workspace.path / "mine.txt").read_text() == "only my words"
