"""v1's Model and Dataset through `runyard.azureml`, against the real registry,
datastores and runs."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Workspace
from runyard.azureml.core import Dataset, Experiment, Model, ScriptRunConfig
from runyard.azureml.data import FileDataset, TabularDataset
from runyard.errors import MissingExtraError, ValidationError

HAS_PANDAS = importlib.util.find_spec("pandas") is not None


@pytest.fixture(autouse=True)
def model_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "model-cache"
    monkeypatch.setenv("RUNYARD_MODEL_CACHE", str(cache))
    return cache


@pytest.fixture
def mnist(workspace: Workspace, tmp_path: Path) -> Workspace:
    """The default datastore holding mnist/{train,test}/*.gz and tables/*.csv."""
    local = tmp_path / "local"
    for name in ("train/images.gz", "train/labels.gz", "test/images.gz", "README.md"):
        (local / "mnist" / name).parent.mkdir(parents=True, exist_ok=True)
        (local / "mnist" / name).write_bytes(name.encode())
    (local / "tables").mkdir()
    (local / "tables" / "a.csv").write_text("x,y\n1,2\n3,4\n")
    (local / "tables" / "b.csv").write_text("x,y\n5,6\n")
    workspace.get_default_datastore().upload(str(local), overwrite=True)
    return workspace


def test_a_model_registers_with_v1s_arguments_and_lists_and_round_trips(
        workspace: Workspace, tmp_path: Path) -> None:
    (tmp_path / "model.pkl").write_bytes(b"weights")
    with pytest.warns(UserWarning, match="datasets, resource_configuration"):
        first = Model.register(workspace, model_path=str(tmp_path / "model.pkl"),
                               model_name="churn", tags={"area": "sales"},
                               properties={"auc": "0.91"}, description="v1",
                               datasets=[("training data", None)],
                               model_framework=Model.Framework.SCIKITLEARN,
                               model_framework_version="1.5.2", child_paths=None,
                               sample_input_dataset=None, sample_output_dataset=None,
                               resource_configuration=object())
    second = Model.register(workspace, str(tmp_path / "model.pkl"), "churn")
    assert [m.version for m in Model.list(workspace, name="churn")] == [2, 1]
    assert [m.id for m in Model.list(workspace, tags=["area"])] == ["churn:1"]
    assert [m.id for m in Model.list(workspace, properties={"auc": "0.91"})] == ["churn:1"]
    assert [m.id for m in Model.list(workspace, latest=True)] == ["churn:2"]
    first.add_tags({"stage": "prod"})
    first.add_properties({"owner": "me"})
    again = Model.deserialize(workspace, first.serialize())
    assert again.tags == {"area": "sales", "stage": "prod"}
    assert again.properties == {"auc": "0.91", "owner": "me"}
    assert again.model_framework == "ScikitLearn"
    path = Model.get_model_path("churn", version=1, _workspace=workspace)
    assert Path(path).read_bytes() == b"weights"
    assert second.id == "churn:2"
    second.update_tags_properties(add_tags={"a": "1", "b": "2"}, remove_tags=["a"],
                                  add_properties={"p": "q"})
    assert (second.tags, second.properties) == ({"b": "2"}, {"p": "q"})
    second.update(tags={"only": "this"}, description="retrained")
    again = Model(workspace, "churn", version=2)
    assert (again.tags, again.description) == ({"only": "this"}, "retrained")


def test_a_file_dataset_lists_downloads_mounts_and_registers_versions(
        mnist: Workspace, tmp_path: Path) -> None:
    store = mnist.get_default_datastore()
    train = Dataset.File.from_files(path=(store, "mnist/train/"))
    assert isinstance(train, FileDataset)
    assert train.to_path() == ["/images.gz", "/labels.gz"]
    images = Dataset.File.from_files(path=[(store, "mnist/*/images.gz")])
    assert images.to_path() == ["/test/images.gz", "/train/images.gz"]
    got = images.download(target_path=str(tmp_path / "got"))
    assert Path(got[1]).read_bytes() == b"train/images.gz"
    with train.mount() as folder:  # a folder on this machine is the folder itself
        assert sorted(p.name for p in Path(folder).iterdir()) == ["images.gz", "labels.gz"]
    with pytest.raises(ValidationError, match="no files found at workspaceblobstore:nothing"):
        Dataset.File.from_files(path=(store, "nothing"))
    with pytest.raises(ValidationError, match="not on a datastore; upload it first"):
        Dataset.File.from_files(path="https://example.org/mnist.gz")

    registered = train.register(mnist, "mnist-train", description="60k digits",
                                tags={"split": "train"})
    assert (registered.name, registered.version, registered.id) == \
        ("mnist-train", 1, "mnist-train:1")
    assert train.register(mnist, "mnist-train").version == 1  # same definition
    with pytest.raises(ValidationError, match="create_new_version=True"):
        images.register(mnist, "mnist-train")
    assert images.register(mnist, "mnist-train", create_new_version=True).version == 2
    latest = Dataset.get_by_name(mnist, "mnist-train")
    assert latest.version == 2
    assert latest.to_path() == images.to_path()
    first = Dataset.get_by_name(mnist, "mnist-train", version=1)
    assert (first.description, first.tags) == ("60k digits", {"split": "train"})
    assert list(Dataset.get_all(mnist)) == ["mnist-train"]
    with pytest.raises(ValidationError, match="registered: mnist-train"):
        Dataset.get_by_name(mnist, "fashion")


INPUTS = """
    import os, sys
    from azureml.core import Run
    run = Run.get_context()
    train, tables = run.input_datasets["train"], run.input_datasets["tables"]
    assert sys.argv[2] == train, (sys.argv, train)
    run.log("train files", ",".join(sorted(os.listdir(train))))
    run.log("tables", ",".join(sorted(os.listdir(tables))))
    run.log("tables copied", int(tables.startswith(os.getcwd())))
    run.log("direct", ",".join(sorted(os.listdir(run.input_datasets["mnist_train"]))))
"""


def test_datasets_reach_a_run_as_named_inputs(mnist: Workspace,
                                              source: Callable[..., Path]) -> None:
    store = mnist.get_default_datastore()
    train = Dataset.File.from_files(path=(store, "mnist/train"))
    tables = Dataset.Tabular.from_delimited_files(path=[(store, "tables/*.csv")])
    assert isinstance(tables, TabularDataset)
    registered = train.register(mnist, "mnist-train")
    config = ScriptRunConfig(str(source(INPUTS)), "train.py", arguments=[
        "--data", train.as_named_input("train").as_mount(),
        "--tables", tables.as_named_input("tables").as_download(),
        "--direct", registered])  # the dataset itself: an input named after it
    run = Experiment(mnist, "datasets").submit(config)
    run.wait_for_completion(raise_on_error=True)
    metrics = run.get_metrics()
    assert metrics["train files"] == "images.gz,labels.gz"
    assert metrics["tables"] == "a.csv,b.csv"
    assert metrics["tables copied"] == 1
    assert metrics["direct"] == "images.gz,labels.gz"
    with pytest.raises(ValidationError, match="only a FileDataset can be mounted"):
        tables.as_named_input("t").as_mount()


def test_a_tabular_dataset_reads_as_one_table_where_pandas_is_installed(
        mnist: Workspace) -> None:
    store = mnist.get_default_datastore()
    tables = Dataset.Tabular.from_delimited_files(path=(store, "tables/*.csv"),
                                                  include_path=True)
    if not HAS_PANDAS:
        with pytest.raises(MissingExtraError, match=r"needs pandas.*pip install pandas"):
            tables.to_pandas_dataframe()
        return
    frame = tables.to_pandas_dataframe()
    assert list(frame.columns) == ["Path", "x", "y"]
    assert frame["x"].tolist() == [1, 3, 5]
    assert tables.take(1).to_pandas_dataframe()["y"].tolist() == [2]


def test_a_registered_datasets_tags_description_and_versions_change_as_in_v1(
        mnist: Workspace) -> None:
    store = mnist.get_default_datastore()
    files = Dataset.File.from_files(path=(store, "mnist"))
    registered = files.register(mnist, "digits", tags={"a": "1"})
    registered.add_tags({"b": "2"})
    registered.remove_tags(["a"])
    registered.update(description="all of mnist")
    again = Dataset.get_by_id(mnist, "digits:1")
    assert (again.tags, again.description) == ({"b": "2"}, "all of mnist")
    assert FileDataset.get_by_name(mnist, "digits").id == "digits:1"
    assert [f for f in files.skip(2).to_path()] == ["/train/images.gz", "/train/labels.gz"]
    assert files.take(1).to_path() == ["/README.md"]
    first, rest = files.random_split(0.5, seed=7)
    assert sorted(first.to_path() + rest.to_path()) == files.to_path()
    assert files.take_sample(1.0, seed=1).to_path() == files.to_path()
    registered.unregister_all_versions()
    assert Dataset.get_all(mnist) == {}
    with pytest.raises(ValidationError, match="needs a registered dataset"):
        files.add_tags({"x": "y"})
    with pytest.raises(ValidationError, match="is not 'name:version'"):
        Dataset.get_by_id(mnist, "digits")


TABLES = """
import json, sys
from runyard import Workspace
from runyard.azureml.core import Dataset
from runyard.azureml.data import DataType

ws = Workspace.from_config(sys.argv[1])
store = ws.get_default_datastore()
table = Dataset.Tabular.from_delimited_files(path=(store, "tables/*.csv"), include_path=True,
                                             set_column_types={"y": DataType.to_float()})
frame = table.to_pandas_dataframe()
out = {"columns": list(frame.columns), "x": frame["x"].tolist(), "y": frame["y"].tolist(),
       "take": table.take(1).to_pandas_dataframe()["x"].tolist(),
       "skip": table.skip(1).to_pandas_dataframe()["x"].tolist(),
       "keep": list(table.keep_columns(["x"]).to_pandas_dataframe().columns),
       "drop": list(table.drop_columns("Path").to_pandas_dataframe().columns)}
a, b = table.random_split(0.5, seed=3)
out["split"] = sorted(a.to_pandas_dataframe()["x"].tolist() + b.to_pandas_dataframe()["x"].tolist())
csv = table.drop_columns("Path").to_csv_files()
out["csv"] = csv.to_path()
print(json.dumps(out))
"""


@pytest.mark.slow
def test_a_tabular_dataset_reads_as_one_table_with_pandas(
        mnist: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pandas is not one of runyard's dependencies: build an environment that has it and
    read the table there, with runyard from this checkout."""
    import json
    import subprocess
    import sys

    from runyard.environment import CondaDependencies, Environment, EnvironmentCache

    monkeypatch.setenv("RUNYARD_ENV_CACHE", str(tmp_path / "env-cache"))
    env = Environment("pandas")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["pandas"])
    with open(tmp_path / "build.txt", "w") as log:
        prepared = EnvironmentCache().prepare(env.build_spec(), log)
    try:
        site = next(p for p in sys.path if p.endswith("site-packages"))
        src = str(Path(__file__).resolve().parents[1] / "src")
        out = subprocess.run([str(prepared.interpreter), "-c", TABLES, str(mnist.path)],
                             env={"PYTHONPATH": f"{src}:{site}", "PATH": "/usr/bin:/bin"},
                             capture_output=True, text=True, timeout=120, check=False)
    finally:
        prepared.release()
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.splitlines()[-1])
    assert got["columns"] == ["Path", "x", "y"]
    assert (got["x"], got["y"]) == ([1, 3, 5], [2.0, 4.0, 6.0])
    assert (got["take"], got["skip"]) == ([1], [3, 5])
    assert (got["keep"], got["drop"]) == (["x"], ["x", "y"])
    assert got["split"] == [1, 3, 5]
    assert len(got["csv"]) == 1
    assert got["csv"][0].endswith("part-0.csv")
