"""The in-script runtime: light, fast, offline-capable, and loses nothing it flushed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runyard.errors import InvalidMetricError
from runyard.runtime import OfflineRun, _wire
from runyard.runtime._run import RuntimeRun, _Channel


def test_import_runyard_and_get_context_load_nothing_heavy() -> None:
    code = (
        "import sys, runyard\n"
        "from runyard import Run\n"
        "run = Run.get_context()\n"
        "run.log('x', 1.0)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'sqlalchemy', 'alembic', 'fsspec', 'rich', 'click', 'pathspec', 'numpy', 'ray'})\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "HEAVY []" in out


def test_azureml_core_through_the_shim_loads_only_the_standard_library_and_the_runtime(
        tmp_path: Path) -> None:
    import json
    import os

    from runyard._azureml_shim import ensure_azureml_shim

    env = {**os.environ, "PYTHONPATH": str(ensure_azureml_shim(tmp_path))}

    def loaded(code: str) -> set[str]:
        out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys, json\n"
                              f"print(json.dumps(sorted(sys.modules)))"], env=env,
                             capture_output=True, text=True, check=True).stdout
        return set(json.loads(out.splitlines()[-1]))

    runtime = loaded("import runyard.runtime; runyard.runtime.get_context().log('x', 1.0)")
    shim = loaded("from azureml.core import Run\nfrom azureml.core.run import Run as R\n"
                  "Run.get_context().log('x', 1.0)")
    beyond = {m for m in shim - runtime if m.split(".")[0] not in sys.stdlib_module_names}
    assert beyond == {"azureml", "azureml.core", "azureml.core.run"}


def test_offline_run_prints_what_it_is_told(capsys: pytest.CaptureFixture[str]) -> None:
    run = OfflineRun()
    run.log("acc", 0.5)
    run.log("acc", 0.75)
    run.log_list("sizes", [1, 2])
    assert "Attempted to log scalar metric acc:\n0.5" in capsys.readouterr().out
    assert run.get_metrics() == {"acc": [0.5, 0.75], "sizes": [1, 2]}


@pytest.mark.parametrize("value", [[1, 2], {"a": 1}, object(), None, b"bytes"])
def test_a_metric_value_that_is_not_a_number_or_string_is_refused(value: object) -> None:
    with pytest.raises(InvalidMetricError, match="not a number or a string"):
        OfflineRun().log("m", value)


def test_numpy_like_scalars_and_bools_are_accepted() -> None:
    class Scalar:
        def item(self) -> float:
            return 2.5

    run = OfflineRun()
    run.log("a", Scalar())
    run.log("b", True)
    assert run.get_metrics() == {"a": 2.5, "b": 1}


def test_frames_carry_plain_data_only() -> None:
    import pickle

    body = pickle.dumps(("r", [Path("/etc")]), protocol=4)
    with pytest.raises(pickle.UnpicklingError, match="plain data only"):
        _wire.decode(body)


def test_the_reader_keeps_an_incomplete_tail_for_the_next_feed() -> None:
    [one] = _wire.encode("r", [("a", 1.0, None, 0.0)])
    [two] = _wire.encode("r", [("b", 2.0, None, 0.0)])
    reader = _wire.Reader()
    frames = reader.feed(one + two[:5])
    assert len(frames) == 1
    assert reader.pending == two[:5]
    assert _wire.decode(frames[0]) == ("r", [("a", 1.0, None, 0.0)])
    assert [_wire.decode(f) for f in reader.feed(two[5:])] == [("r", [("b", 2.0, None, 0.0)])]
    assert reader.pending == b""
    assert reader.skipped == []


def test_the_reader_skips_bytes_that_are_not_frames_and_finds_the_next_one() -> None:
    [one] = _wire.encode("r", [("a", 1.0, None, 0.0)])
    [two] = _wire.encode("r", [("b", 2.0, None, 0.0)])
    impossible = _wire.HEADER.pack(_wire.MAGIC, _wire.MAX_FRAME + 1)
    reader = _wire.Reader()
    frames = reader.feed(one + b"garbage written by the script" + two + impossible + one)
    assert [_wire.decode(f)[1][0][0] for f in frames] == ["a", "b", "a"]
    assert [(size, why) for _, size, why in reader.skipped] == [
        (29, "not a frame"), (len(impossible), f"a frame length of {_wire.MAX_FRAME + 1} bytes")]
    assert reader.skipped[0][0] == len(one)


def test_flush_writes_everything_logged_in_order(tmp_path: Path) -> None:
    channel = _Channel(str(tmp_path / "0.bin"), interval=3600)
    run = RuntimeRun("r1", channel, staging=str(tmp_path / "staged"), experiment="e")
    for index in range(120_000):
        run.log("x", float(index))
    run.flush()
    reader = _wire.Reader()
    frames = reader.feed((tmp_path / "0.bin").read_bytes())
    assert reader.pending == b""
    assert reader.skipped == []
    values = [record[1] for body in frames for record in _wire.decode(body)[1]]
    assert values == [float(i) for i in range(120_000)]


def test_log_does_not_wait_for_the_channel(tmp_path: Path) -> None:
    import time

    channel = _Channel(str(tmp_path / "0.bin"), interval=0.1)
    run = RuntimeRun("r1", channel, staging=str(tmp_path / "staged"), experiment="e")
    started = time.perf_counter()
    for index in range(100_000):
        run.log("x", float(index))
    per_call = (time.perf_counter() - started) / 100_000
    run.flush()
    assert per_call < 20e-6  # microseconds, even on a loaded 2-core machine
