"""Typed records across boundaries: RunSpec and the plan it carries, RunStatus."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from runyard import Workspace, _status
from runyard._spec import EstimatorInfo, RunEnvironment, RunSpec
from runyard._status import RunStatus
from runyard.distributed import (
    PyTorchConfiguration,
    TensorflowConfiguration,
    configuration_from,
    make_plan,
    plan_for,
)
from runyard.distributed.plan import Plan
from runyard.errors import ValidationError

# a script run's config as the previous version wrote it in the run row (no plan)
PREVIOUS_CONFIG = {
    "kind": "script", "script": "train.py", "arguments": ["--epochs", "2"],
    "max_run_duration_seconds": 2592000, "interpreter": "/usr/bin/python3",
    "environment": {"definition": {"name": "e", "environment_variables": {"A": "1"},
                                   "python": {"interpreter_path": None}},
                    "user_managed": False, "spec": {"python": "3.11", "pip": ["six"]}},
    "distributed": {"framework": "tensorflow", "worker_count": 2,
                    "parameter_server_count": 1, "chief_count": 0, "node_count": 1},
    "environment_variables": {"B": "2"},
    "data_references": {"d": {"name": "d", "datastore": "workspaceblobstore",
                              "mode": "mount"}},
    "estimator": {"framework": "tensorflow", "framework_version": "2.21", "use_gpu": False},
    "source_directory": "/src", "snapshot": {"files": 3, "bytes": 10, "new_bytes": 10},
}


def test_a_spec_round_trips_through_json_with_its_plan() -> None:
    spec = RunSpec(
        script="train.py", arguments=("--lr", "0.1"),
        environment=RunEnvironment({"name": "e"}, user_managed=True),
        environment_variables={"X": "1"}, interpreter="/usr/bin/python3",
        data_references={"d": {"name": "d", "mode": "download"}},
        distributed=configuration_from(PyTorchConfiguration(process_count=2)),
        max_run_duration_seconds=60, estimator=EstimatorInfo("pytorch", "2.1", use_gpu=True),
        source_directory="/src", snapshot={"files": 1}).with_plan()
    data = spec.to_json()
    assert json.loads(json.dumps(data)) == data        # JSON-ready
    again = RunSpec.from_json(json.loads(json.dumps(data)))
    assert again == spec
    assert again.plan is not None
    assert again.plan.kind == "pytorch"
    assert not again.plan.bound
    assert again.use_gpu


def test_a_spec_the_previous_version_wrote_still_reads() -> None:
    spec = RunSpec.from_json(PREVIOUS_CONFIG)
    assert spec.plan is None      # the driver makes it (and says so in its log)
    assert spec.script == "train.py"
    assert spec.arguments == ("--epochs", "2")
    assert spec.environment is not None
    assert spec.environment.spec == {"python": "3.11",
                                                                      "pip": ["six"]}
    assert spec.process_environment_variables == {"A": "1", "B": "2"}
    assert spec.max_run_duration_seconds == 2592000
    # written back, it is the same row plus the plan made once
    planned = spec.with_plan()
    assert {k: v for k, v in planned.to_json().items() if k != "plan"} == PREVIOUS_CONFIG
    assert planned.plan == plan_for(PREVIOUS_CONFIG["distributed"])  # type: ignore[arg-type]


@pytest.mark.parametrize(("change", "named"), [
    ({"scrpit": "x.py"}, "unknown key(s) scrpit"),
    ({"script": None}, None),
    ({"kind": "interactive"}, "kind 'interactive'"),
])
def test_unknown_or_missing_keys_are_named(change: dict[str, object],
                                           named: str | None) -> None:
    data = {**PREVIOUS_CONFIG, **change}
    if named is None:   # a missing key
        del data["script"]
        named = "missing key(s) script"
    with pytest.raises(ValidationError, match=named.replace("(", r"\(").replace(")", r"\)")):
        RunSpec.from_json(data)


def test_nested_records_name_their_bad_keys() -> None:
    with pytest.raises(ValidationError, match=r"run spec environment: missing key\(s\) "
                                              r"user_managed; unknown key\(s\) usermanaged"):
        RunSpec.from_json({**PREVIOUS_CONFIG, "environment": {"definition": {},
                                                              "usermanaged": True}})
    with pytest.raises(ValidationError, match="plan: missing launcher"):
        RunSpec.from_json({**PREVIOUS_CONFIG, "plan": {"kind": "single", "node_count": 1,
                                                       "processes": []}})
    plan = plan_for(None).to_json()
    plan["processes"][0]["colour"] = "red"
    with pytest.raises(ValidationError, match="plan process 0: unknown colour"):
        Plan.from_json(plan)


def test_the_plan_is_made_without_addresses_and_bound_later() -> None:
    config = configuration_from(TensorflowConfiguration(worker_count=2,
                                                        parameter_server_count=1),
                                node_count=2)
    shape = plan_for(config)
    assert not shape.bound
    assert [(p.role, p.rank, p.node_rank, p.host, p.port) for p in shape.processes] == [
        ("worker", 0, 0, "", None), ("worker", 1, 0, "", None), ("ps", 2, 1, "", None)]
    assert all("TF_CONFIG" not in p.env for p in shape.processes)
    bound = shape.bind(["10.0.0.1", "10.0.0.2"], itertools.count(5000))
    assert bound.bound
    assert bound == make_plan(config, ["10.0.0.1", "10.0.0.2"],
                                              itertools.count(5000))
    assert json.loads(bound.processes[2].env["TF_CONFIG"])["cluster"] == {
        "worker": ["10.0.0.1:5000", "10.0.0.1:5001"], "ps": ["10.0.0.2:5002"]}
    # binding keeps the shape as made, and leaves the made plan as it was
    assert [(p.role, p.rank, p.node_rank) for p in bound.processes] == \
        [(p.role, p.rank, p.node_rank) for p in shape.processes]
    assert not shape.bound
    assert all("TF_CONFIG" not in p.env for p in shape.processes)
    # it travels as JSON, bound or not, and binds again elsewhere
    assert Plan.from_json(json.loads(json.dumps(shape.to_json()))) == shape
    assert Plan.from_json(json.loads(json.dumps(bound.to_json()))) == bound
    moved = bound.bind(["h1", "h2"], iter([7000, 7001, 7002]))
    assert json.loads(moved.processes[0].env["TF_CONFIG"])["cluster"]["ps"] == ["h2:7002"]


def test_bind_says_what_it_lacks() -> None:
    shape = plan_for(configuration_from(PyTorchConfiguration(process_count=4, node_count=2)))
    with pytest.raises(ValidationError, match="runs on 2 node"):
        shape.bind(["10.0.0.1"], iter([1234]))
    with pytest.raises(ValidationError, match="not enough ports"):
        shape.bind(["10.0.0.1", "10.0.0.2"], iter([]))
    bound = shape.bind(["10.0.0.1", "10.0.0.2"], iter([1234]))
    assert {(p.env["MASTER_ADDR"], p.env["MASTER_PORT"]) for p in bound.processes} == {
        ("10.0.0.1", "1234")}
    assert [p.port for p in bound.processes] == [1234, None, None, None]


def test_run_status_is_the_plain_string_the_store_holds(tmp_path: Path) -> None:
    assert [str(s) for s in RunStatus] == list(_status.LIFECYCLE) == [
        "NotStarted", "Preparing", "Queued", "Scaling", "Starting", "Running", "Finalizing",
        "CancelRequested", "Completed", "Failed", "Canceled"]
    assert _status.RUNNING is RunStatus.RUNNING
    assert RunStatus.RUNNING == "Running"
    assert f"{RunStatus.FAILED}" == "Failed"
    assert json.dumps([RunStatus.QUEUED]) == '["Queued"]'
    assert {s for s in RunStatus if s.is_terminal} == _status.TERMINAL == {
        "Completed", "Failed", "Canceled"}
    assert not RunStatus("CancelRequested").is_terminal
    with pytest.raises(ValueError, match="'Runing' is not a valid RunStatus"):
        RunStatus("Runing")
    # the store writes and reads the same strings as before
    ws = Workspace.create("ws", path=tmp_path / "ws")
    ws.store.ensure_experiment("e")
    ws.store.create_run("e_1", "e", compute_target=None, config=None, snapshot_id=None,
                        status=RunStatus.RUNNING)
    assert ws.store.set_status("e_1", RunStatus.COMPLETED, only_if=["Running"])
    row = ws.store.get_run("e_1")
    assert type(row["status"]) is str
    assert row["status"] == "Completed"
    assert RunStatus(row["status"]).is_terminal


def test_metric_points_are_metric_rows_from_the_client_and_the_channel(
        tmp_path: Path) -> None:
    from runyard import Experiment
    from runyard.runtime import _wire
    from runyard.store.base import MetricRow
    from runyard.supervisor._ingest import Ingestor

    assert MetricRow._fields == ("run_id", "name", "kind", "step", "value", "text", "time",
                                 "rank")
    ws = Workspace.create("ws", path=tmp_path / "ws")
    run = Experiment(ws, "e").start_logging(outputs=False)
    run.log("loss", 0.5)                     # the client's path (Run.log)
    ingest = Ingestor(tmp_path / "channel", ws.store, ws.artifacts, run.id, "e",
                      lambda _message: None)
    rows: list[MetricRow] = []               # the script's path (the channel's records)
    ingest._apply(run.id, [("acc", 0.9, 3, 10.0), ("note", "ok", None, 11.0),
                           (_wire.METRIC, "list", "xs", "[1, 2]", None, 12.0)], 2, rows)
    assert all(type(row) is MetricRow for row in rows)
    assert rows[0] == MetricRow(run.id, "acc", "s", 3, 0.9, None, time=10.0, rank=2)
    assert (rows[1].value, rows[1].text, rows[2].kind, rows[2].text) == (None, "ok", "list",
                                                                          "[1, 2]")
    ingest._store_rows(rows)
    stored = {(m["name"], m["kind"], m["step"], m["value"], m["text"], m["rank"])
              for m in ws.store.get_metrics(run.id)}
    assert stored == {("loss", "s", None, 0.5, None, 0), ("acc", "s", 3, 0.9, None, 2),
                      ("note", "s", None, None, "ok", 2), ("xs", "list", None, None, "[1, 2]", 2)}
    run.complete()
