"""Any value ML code produces is a metric (issue 11, items 1-3): numpy, torch, Decimal,
Fraction, enums, str subclasses become plain int/float/str in the script; what cannot be
stored is refused in the `log` call, naming the metric and the value."""

from __future__ import annotations

import decimal
import enum
import fractions
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from runyard import Run
from runyard.errors import InvalidMetricError
from runyard.runtime import _values, _wire
from runyard.runtime._run import RuntimeRun, _Channel


class Color(enum.IntEnum):
    RED = 3


class Label(enum.StrEnum):
    CAT = "cat"


class MyFloat(float):
    pass


PLAIN: list[tuple[str, Any, Any]] = [
    ("np.float64 (np.mean)", np.mean(np.array([1.0, 2.0])), 1.5),
    ("np.float32", np.float32(0.25), 0.25),
    ("np.float16", np.float16(0.5), 0.5),
    ("np.int64", np.int64(7), 7),
    ("np.int8", np.int8(-3), -3),
    ("np.uint64", np.uint64(2 ** 63), float(2 ** 63)),
    ("np.bool_", np.bool_(True), 1),
    ("np.str_", np.str_("adam"), "adam"),
    ("0-d array", np.array(4.5), 4.5),
    ("1-element array", np.array([9]), 9),
    ("torch scalar", torch.tensor(0.5), 0.5),
    ("torch int scalar", torch.tensor(3), 3),
    ("torch .item()", torch.tensor([2.0]).mean().item(), 2.0),
    ("Decimal", decimal.Decimal("0.125"), 0.125),
    ("Fraction", fractions.Fraction(1, 4), 0.25),
    ("IntEnum", Color.RED, 3),
    ("str enum", Label.CAT, "cat"),
    ("float subclass", MyFloat(1.5), 1.5),
    ("bool", False, 0),
    ("int beyond 64 bits", 2 ** 80, float(2 ** 80)),
    ("nan", float("nan"), "nan"),
    ("inf", float("inf"), math.inf),
]


@pytest.mark.parametrize(("label", "value", "expected"), PLAIN, ids=[p[0] for p in PLAIN])
def test_every_scalar_becomes_a_plain_int_float_or_str(label: str, value: Any,
                                                       expected: Any) -> None:
    plain = _values.scalar("m", value)
    assert type(plain) in (int, float, str)
    if expected == "nan":
        assert math.isnan(plain)  # type: ignore[arg-type]
    else:
        assert plain == expected
        assert type(plain) is type(expected)


@pytest.mark.parametrize(("value", "says"), [
    (10 ** 400, "too large for a float"),
    (np.array([1.0, 2.0]), "not a number or a string"),
    (torch.tensor([1.0, 2.0]), "not a number or a string"),
    (complex(1, 2), "not a number or a string"),
    ([1, 2], "use log_list"),
    ("a\x00b", "NUL"),
    ("\ud800", "surrogate"),
    (decimal.Decimal("sNaN"), "not a number or a string"),
    (np.datetime64("2026-01-01"), "not a number or a string"),
])
def test_a_value_that_cannot_be_stored_is_refused_in_the_log_call(
        tmp_path: Path, value: Any, says: str) -> None:
    channel = _Channel(str(tmp_path / "0.bin"), interval=3600)
    run = RuntimeRun("r1", channel, staging=str(tmp_path / "staged"), experiment="e")
    with pytest.raises(InvalidMetricError, match=says) as raised:
        run.log("loss", value)
    assert "'loss'" in str(raised.value)
    assert isinstance(raised.value, ValueError)
    run.flush()
    assert not (tmp_path / "0.bin").exists()  # nothing about it reaches the supervisor


@pytest.mark.parametrize(("name", "step", "says"), [
    ("", None, "is empty"),
    ("x" * 256, None, "256 characters long"),
    ("a\x00", None, "NUL"),
    (3, None, "must be a string"),
    ("loss", 2 ** 80, "does not fit in 64 bits"),
    ("loss", [1, 2], "not an integer"),
    ("loss", 1.5, "not an integer"),
    ("loss", "3", "not an integer"),
    ("loss", True, "not an integer"),
])
def test_a_name_or_step_that_cannot_be_stored_is_refused(
        tmp_path: Path, name: Any, step: Any, says: str) -> None:
    channel = _Channel(str(tmp_path / "0.bin"), interval=3600)
    run = RuntimeRun("r1", channel, staging=str(tmp_path / "staged"), experiment="e")
    with pytest.raises(InvalidMetricError, match=says):
        run.log(name, 1.0, step=step)
    with pytest.raises(InvalidMetricError, match=says):
        run.log_list(name, [1.0]) if step is None else run.log(name, 2.0, step=step)


def test_numpy_steps_and_the_longest_name_are_accepted(tmp_path: Path) -> None:
    channel = _Channel(str(tmp_path / "0.bin"), interval=3600)
    run = RuntimeRun("r1", channel, staging=str(tmp_path / "staged"), experiment="e")
    run.log("x" * 255, 1.0, step=np.int64(5))
    run.log("y", 1.0, step=2 ** 63 - 1)
    run.flush()
    [frame] = _wire.Reader().feed((tmp_path / "0.bin").read_bytes())
    records = _wire.decode(frame)[1]
    assert [(r[0][:3], r[2], type(r[2])) for r in records] == [
        ("xxx", 5, int), ("y", 2 ** 63 - 1, int)]


@pytest.mark.slow
def test_a_submitted_script_logging_real_library_values_keeps_every_metric(
        submit: Callable[..., Run]) -> None:
    run = submit("""
        import decimal, enum, fractions
        import numpy as np, torch
        from runyard import Run

        class Color(enum.IntEnum):
            RED = 3

        run = Run.get_context()
        x = np.array([0.5, 1.0, 1.5])
        run.log("acc", np.mean(x))
        run.log("count", np.int64(3), step=np.int64(0))
        run.log("f32", np.float32(0.25))
        run.log("optimizer", np.str_("adam"))
        run.log("loss", torch.tensor(0.5))
        run.log("dec", decimal.Decimal("0.125"))
        run.log("frac", fractions.Fraction(1, 4))
        run.log("color", Color.RED)
        run.log("big", 2 ** 80)
        run.log_list("hist", np.array([1, 2, 3]))
        run.log_row("curve", epoch=np.int32(1), acc=np.float64(0.9))
        run.log_table("t", {"a": np.arange(3)})
        run.tag(np.str_("phase"), np.str_("train"))
        run.add_properties({"seed": np.int64(42)})
        try:
            run.log("bad", [1, 2])
        except ValueError as e:
            print("refused:", e)
        run.log("after", 1.0)
    """)
    details = run.wait_for_completion()
    assert details["status"] == "Completed", details.get("error")
    assert "warnings" not in details
    metrics = run.get_metrics()
    assert metrics["acc"] == 1.0
    assert metrics["count"] == 3
    assert metrics["f32"] == 0.25
    assert metrics["optimizer"] == "adam"
    assert metrics["loss"] == 0.5
    assert metrics["dec"] == 0.125
    assert metrics["frac"] == 0.25
    assert metrics["color"] == 3
    assert metrics["big"] == float(2 ** 80)
    assert metrics["hist"] == [1, 2, 3]
    assert metrics["curve"] == {"epoch": [1], "acc": [0.9]}
    assert metrics["t"] == {"a": [0, 1, 2]}
    assert metrics["after"] == 1.0
    assert "bad" not in metrics
    assert run.get_tags()["phase"] == "train"
    assert run.get_properties()["seed"] == "42"
    assert b"refused: metric 'bad'" in run.read_log("logs/driver_0.txt")
