"""v1's RunConfiguration on runyard: `ScriptRunConfig.run_config` is one, what is set on it
before submit is what the run gets, it saves and loads, and v1's bare flags (`"--flag": ""`)
reach the script as flags. The runs are real (the local compute, runyard's interpreter).
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard.azureml._ignored import AzureArgumentIgnoredWarning
from runyard.azureml.core import Environment, Experiment, RunConfiguration, ScriptRunConfig
from runyard.azureml.core.runconfig import (
    DEFAULT_CPU_IMAGE,
    DataReferenceConfiguration,
    DockerConfiguration,
    HistoryConfiguration,
    TensorflowConfiguration,
)
from runyard.azureml.core.script_run_config import get_run_config_from_script_run, submit
from runyard.azureml.train.dnn import PyTorch, TensorFlow
from runyard.azureml.train.estimator import Estimator, MMLBaseEstimatorRunConfig
from runyard.environment import DockerIgnoredWarning
from runyard.errors import ValidationError
from runyard.workspace import Workspace

TIMEOUT = 120

ECHO = """
import json, os, sys
from runyard import Run
run = Run.get_context()
run.log("argv", json.dumps(sys.argv[1:]))
run.log("answer", os.environ.get("ANSWER", "unset"))
run.log("role", os.environ.get("RUNYARD_ROLE", "") + os.environ.get("RUNYARD_ROLE_INDEX", ""))
"""


def _bare_environment(name: str = "bare") -> Environment:
    """runyard's own interpreter: no packages to install."""
    env = Environment(name)
    env.python.user_managed_dependencies = True
    env.python.interpreter_path = sys.executable
    return env


def _texts(run: object, name: str) -> list[str]:
    rows = run.workspace.store.get_metrics(run.id, name)  # type: ignore[attr-defined]
    return sorted(row["text"] for row in rows)


def test_a_script_run_config_always_has_a_run_configuration(tmp_path: Path) -> None:
    src = ScriptRunConfig(str(tmp_path), "train.py", arguments=["--n", 1])
    assert isinstance(src.run_config, RunConfiguration)
    assert src.run_config.target == "local"
    assert src.run_config.max_run_duration_seconds == \
        ScriptRunConfig.MAX_DURATION_SECONDS_DEFAULT == 2_592_000
    assert isinstance(src.run_config.history, HistoryConfiguration)
    assert isinstance(src.run_config.docker, DockerConfiguration)
    assert src.run_config.history.output_collection is True
    assert DEFAULT_CPU_IMAGE.startswith("mcr.microsoft.com/azureml/")
    # the arguments given to ScriptRunConfig are written into it (v1's behaviour)
    src = ScriptRunConfig(str(tmp_path), "train.py", compute_target="cpu",
                          distributed_job_config=TensorflowConfiguration(2, 1))
    assert src.run_config.target == "cpu"
    assert (src.run_config.framework, src.run_config.communicator) == \
        ("TensorFlow", "ParameterServer")
    (tmp_path / "train.py").write_text("print('hi')\n")
    src.run_config.node_count = 2  # v1 notebooks spread the tasks over nodes this way
    distributed = src._submission().config["distributed"]
    assert (distributed["framework"], distributed["node_count"], distributed["worker_count"]) \
        == ("tensorflow", 2, 2)
    copied = get_run_config_from_script_run(src)
    assert copied is not src.run_config
    assert (copied.script, copied.target) == ("train.py", "cpu")


def test_settings_made_on_run_config_after_construction_reach_the_run(
        workspace: Workspace, source: Callable[..., Path]) -> None:
    src = ScriptRunConfig(str(source(ECHO)), "train.py", arguments=["--x", 1])
    env = _bare_environment()
    env.environment_variables = {"ANSWER": "42"}
    src.run_config.environment = env   # v1 notebooks set these after construction
    src.run_config.target = "local"
    src.run_config.communicator = "ParameterServer"
    src.run_config.tensorflow.worker_count = 2
    src.run_config.tensorflow.parameter_server_count = 0
    run = submit(src, workspace, "runconfig")  # v1's module-level submit
    details = run.wait_for_completion(timeout_seconds=TIMEOUT)
    assert details["status"] == "Completed", details.get("error")
    assert _texts(run, "answer") == ["42", "42"]          # the environment set later
    assert _texts(run, "role") == ["worker0", "worker1"]  # the communicator set later
    assert _texts(run, "argv") == [json.dumps(["--x", "1"])] * 2


def test_history_docker_and_azure_sections_are_ignored_with_one_line_each(
        tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print('hi')\n")
    src = ScriptRunConfig(str(tmp_path), "train.py", environment=_bare_environment())
    src.run_config.history.snapshot_project = False
    src.run_config.docker.use_docker = True
    src.run_config.amlcompute.vm_size = "STANDARD_D2_V2"
    with pytest.warns(AzureArgumentIgnoredWarning) as ignored, \
            pytest.warns(DockerIgnoredWarning, match=r"use_docker=True.*uv environment"):
        src._submission()
    lines = [str(w.message) for w in ignored if w.category is AzureArgumentIgnoredWarning]
    assert any("run_config.history (snapshot_project=False)" in line for line in lines)
    assert any("amlcompute.vm_size='STANDARD_D2_V2'" in line for line in lines)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the defaults warn about nothing
        ScriptRunConfig(str(tmp_path), "train.py",
                        environment=_bare_environment())._submission()


def test_what_a_run_configuration_cannot_do_is_refused_at_submit(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print('hi')\n")
    src = ScriptRunConfig(str(tmp_path), "train.py")
    src.run_config.data_references["data"] = DataReferenceConfiguration("workspaceblobstore")
    with pytest.raises(ValidationError, match=r"data_references \(data\) is not read here"):
        src._submission()
    src = ScriptRunConfig(str(tmp_path), "train.py")
    src.run_config.communicator = "Horovod"
    with pytest.raises(ValidationError, match="communicator 'Horovod' is not one of"):
        src._submission()
    src.run_config.communicator = "None"
    src.run_config.framework = "PySpark"
    with pytest.raises(ValidationError, match="needs a Spark cluster"):
        src._submission()
    with pytest.raises(ValidationError, match="mode 'copy' is not one of"):
        DataReferenceConfiguration("x", mode="copy")


def test_a_run_configuration_saves_and_loads(tmp_path: Path) -> None:
    config = RunConfiguration(script="train.py", arguments=["--lr", 0.1])
    config.target = "cpu-cluster"
    config.node_count = 2
    config.communicator = "ParameterServer"
    config.tensorflow.worker_count = 3
    config.environment_variables = {"A": "1"}
    config.environment.python.conda_dependencies.add_pip_package("scikit-learn")
    config.history.directories_to_watch = ["logs", "tb"]
    config.save(str(tmp_path), name="train")
    assert (tmp_path / ".azureml" / "train").is_file()
    loaded = RunConfiguration.load(str(tmp_path), name="train")
    assert (loaded.script, loaded.arguments, loaded.target, loaded.node_count) == \
        ("train.py", ["--lr", "0.1"], "cpu-cluster", 2)
    assert loaded.tensorflow.worker_count == 3
    assert loaded.distributed_job_config() is loaded.tensorflow
    assert loaded.environment_variables == {"A": "1"}
    assert "scikit-learn" in loaded.environment.python.conda_dependencies.pip_packages
    assert loaded.history.directories_to_watch == ["logs", "tb"]
    # a file path too; and delete
    config.save(str(tmp_path / "my.runconfig"))
    assert RunConfiguration.load(str(tmp_path / "my.runconfig")).target == "cpu-cluster"
    RunConfiguration.delete(str(tmp_path), "train")
    with pytest.raises(FileNotFoundError, match="no run configuration 'train'"):
        RunConfiguration.load(str(tmp_path), name="train")
    with pytest.raises(ValidationError, match="needs a name"):
        config.save(str(tmp_path))
    with pytest.raises(ValidationError, match="neither a folder nor a file"):
        config.save(str(tmp_path / "missing" / "x"))


# -- bare flags ---------------------------------------------------------------------------

FLAGS = """
import argparse, json
from runyard import Run
parser = argparse.ArgumentParser()
parser.add_argument("--verbose", action="store_true")
parser.add_argument("--epochs", type=int)
args = parser.parse_args()
Run.get_context().log("parsed", json.dumps(vars(args), sort_keys=True))
"""


def test_an_empty_script_param_is_a_bare_flag(workspace: Workspace,
                                             source: Callable[..., Path]) -> None:
    """v1 spells a store_true flag `{"--verbose": ""}`; the script got "--verbose ''" and
    argparse failed ("unrecognized arguments: ")."""
    estimator = Estimator(str(source(FLAGS)), entry_script="train.py",
                          script_params={"--verbose": "", "--epochs": 2},
                          environment_definition=_bare_environment())
    run = Experiment(workspace, "flags").submit(estimator)
    details = run.wait_for_completion(timeout_seconds=TIMEOUT)
    assert details["status"] == "Completed", details.get("error")
    assert _texts(run, "parsed") == [json.dumps({"epochs": 2, "verbose": True})]


def test_an_empty_argument_is_dropped_as_v1_does(workspace: Workspace,
                                                source: Callable[..., Path]) -> None:
    src = ScriptRunConfig(str(source(FLAGS)), "train.py",
                          arguments=["--verbose", "", "--epochs", 3],
                          environment=_bare_environment())
    run = Experiment(workspace, "flags").submit(src)
    details = run.wait_for_completion(timeout_seconds=TIMEOUT)
    assert details["status"] == "Completed", details.get("error")
    assert _texts(run, "parsed") == [json.dumps({"epochs": 3, "verbose": True})]


# -- estimators ---------------------------------------------------------------------------

def test_an_estimators_run_config_and_conda_dependencies_reach_the_run(
        workspace: Workspace, source: Callable[..., Path]) -> None:
    estimator = Estimator(str(source(ECHO)), entry_script="train.py",
                          environment_definition=_bare_environment())
    assert isinstance(estimator.run_config, MMLBaseEstimatorRunConfig)
    assert estimator.conda_dependencies is \
        estimator.run_config.environment.python.conda_dependencies
    estimator.run_config.environment_variables["ANSWER"] = "from run_config"
    run = Experiment(workspace, "est").submit(estimator)
    details = run.wait_for_completion(timeout_seconds=TIMEOUT)
    assert details["status"] == "Completed", details.get("error")
    assert _texts(run, "answer") == ["from run_config"]


def test_an_estimators_conda_dependencies_are_its_environments(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print('hi')\n")
    estimator = Estimator(str(tmp_path), entry_script="train.py", pip_packages=["six"])
    estimator.conda_dependencies.add_pip_package("idna")
    estimator.run_config.node_count = 2
    config = estimator._submission().config
    packages = config["environment"]["definition"]["python"]["conda_dependencies"][
        "pip_packages"]
    assert {"six", "idna"} <= set(packages)
    assert (config["distributed"]["framework"], config["distributed"]["node_count"]) == \
        ("mpi", 2)  # v1: node_count > 1 without a backend means MPI


def test_framework_estimators_name_their_framework_and_versions() -> None:
    assert (TensorFlow.FRAMEWORK_NAME, PyTorch.FRAMEWORK_NAME) == ("TensorFlow", "PyTorch")
    assert TensorFlow.DEFAULT_VERSION in TensorFlow.get_supported_versions()
    assert PyTorch.DEFAULT_VERSION in PyTorch.get_supported_versions()
    assert "1.13" in PyTorch.get_supported_versions()
    assert not any(v.startswith("1.") for v in TensorFlow.get_supported_versions())
    config = MMLBaseEstimatorRunConfig(compute_target="cpu", entry_script="train.py",
                                       script_params={"--v": ""}, node_count=2,
                                       distributed_backend="mpi", pip_packages=["six"])
    assert (config.target, config.script, config.arguments, config.node_count,
            config.communicator) == ("cpu", "train.py", ["--v"], 2, "IntelMpi")
    assert "six" in config.environment.python.conda_dependencies.pip_packages
