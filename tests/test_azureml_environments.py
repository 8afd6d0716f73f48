"""v1 environments through `runyard.azureml`: Docker settings accepted and ignored, conda
packages from PyPI where no conda is on PATH, conda files read and written, Azure's
curated names."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard import Experiment, Workspace
from runyard.azureml.core import Environment, ScriptRunConfig
from runyard.azureml.core.conda_dependencies import CondaDependencies
from runyard.azureml.core.container_registry import ContainerRegistry
from runyard.environment import (
    DockerConfiguration,
    DockerIgnoredWarning,
    EnvironmentCache,
    EnvironmentFallbackWarning,
)
from runyard.errors import ValidationError

NO_CONDA = not any(shutil.which(t) for t in ("conda", "mamba", "micromamba"))
needs_no_conda = pytest.mark.skipif(not NO_CONDA, reason="a conda tool is on PATH here")

CONDA_FILE = """\
# a v1 sample's environment file
name: sklearn-env
channels:
  - conda-forge
dependencies:
  - python=3.11
  - conda-forge::numpy=1.26   # channel prefix and conda's version syntax
  - pytorch
  - cudatoolkit=11.8
  - pip
  - pip:
    - six==1.16.0
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EnvironmentCache:
    monkeypatch.setenv("RUNYARD_ENV_CACHE", str(tmp_path / "env-cache"))
    return EnvironmentCache()


def test_docker_settings_are_kept_and_ignored_with_one_warning_line(
        experiment: Experiment, source: Callable[..., Path]) -> None:
    env = Environment("dockered")
    env.docker.enabled = True
    env.docker.base_image = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"
    env.docker.base_dockerfile = "FROM ubuntu:22.04\n"
    env.docker.shm_size = "16g"
    env.docker.shared_volumes = False
    registry = ContainerRegistry()
    registry.address, registry.username, registry.password = "my.azurecr.io", "me", "secret"
    env.docker.base_image_registry = registry
    with pytest.warns(DockerIgnoredWarning) as record:
        run = experiment.submit(ScriptRunConfig(str(source("print('in a uv environment')")),
                                                "train.py", environment=env))
    assert len(record) == 1
    message = str(record[0].message)
    assert "\n" not in message
    assert "the run uses a uv environment instead" in message
    for named in ("base_image=", "base_dockerfile=", "shm_size='16g'", "shared_volumes=False",
                  "base_image_registry.address"):
        assert named in message
    assert "secret" not in message
    run.wait_for_completion()  # no packages: the interpreter runyard runs in
    assert "password" not in str(env.to_dict()["docker"])
    assert Environment.from_dict(env.to_dict()).docker.shm_size == "16g"
    with pytest.warns(DockerIgnoredWarning, match=r"use_docker=True.*uv environment"):
        DockerConfiguration(use_docker=True)
    DockerConfiguration()  # v1's defaults ask for nothing: no warning
    from runyard.azureml.core.environment import DEFAULT_GPU_IMAGE, EnvironmentReference

    env.register(experiment.workspace)
    gpu = EnvironmentReference("dockered").get_environment(experiment.workspace)
    gpu.docker.base_image = DEFAULT_GPU_IMAGE
    with pytest.warns(DockerIgnoredWarning, match="cuda11.8"):
        gpu.check_buildable()


@needs_no_conda
def test_conda_packages_map_to_pypi_in_one_warning_line(tmp_path: Path) -> None:
    (tmp_path / "env.yml").write_text(CONDA_FILE)
    env = Environment.from_conda_specification("sklearn-env", tmp_path / "env.yml")
    with pytest.warns(EnvironmentFallbackWarning) as record:
        env.check_buildable()
    message = str(record[0].message)
    assert len(record) == 1
    assert "\n" not in message
    assert "conda-forge::numpy=1.26 → numpy==1.26.*" in message
    assert "pytorch → torch" in message
    assert "cudatoolkit=11.8 dropped" in message
    spec = env.build_spec()
    assert spec["builder"] == "uv"
    assert spec["python"] == "3.11"
    assert spec["pip"] == ["numpy==1.26.*", "six==1.16.0", "torch"]
    assert spec["conda"] == []
    assert spec["channels"] == []
    refused = Environment("mpi")
    refused.python.conda_dependencies.add_conda_package("openmpi=4.1")
    with pytest.raises(ValidationError, match=r"'openmpi=4.1' has no PyPI counterpart"):
        refused.check_buildable()


def test_conda_dependencies_read_edit_and_write_v1s_file(tmp_path: Path) -> None:
    (tmp_path / "env.yml").write_text(CONDA_FILE)
    deps = CondaDependencies(conda_dependencies_file_path=str(tmp_path / "env.yml"))
    assert deps.get_python_version() == "3.11"
    assert deps.conda_channels == ["conda-forge"]
    assert deps.pip_packages == ["six==1.16.0"]
    deps.add_pip_package("six==1.17.0")  # the same package again replaces it, as in v1
    deps.add_tensorflow_pip_package(version="2.16.1")
    deps.add_tensorflow_conda_package(core_type="gpu")
    deps.remove_conda_package("pytorch")
    deps.remove_channel("conda-forge")
    deps.add_channel("defaults")
    deps.set_python_version("3.12")
    assert deps.pip_packages == ["six==1.17.0", "tensorflow==2.16.1"]
    assert "tensorflow-gpu" in deps.conda_packages
    assert "pytorch" not in deps.conda_packages
    deps.remove_pip_package("tensorflow")
    with pytest.raises(ValidationError, match="python must not be removed"):
        deps.remove_conda_package("python")
    with pytest.raises(ValidationError, match="'tpu'"):
        deps.add_tensorflow_pip_package(core_type="tpu")
    text = deps.serialize_to_string()
    assert "  - python=3.12\n" in text
    assert "    - six==1.17.0\n" in text
    relative = deps.save_to_file(str(tmp_path / "project"))
    assert relative == ".azureml/conda_dependencies.yml"
    again = CondaDependencies(str(tmp_path / "project" / relative))
    assert again.to_dict() == deps.to_dict()
    env = Environment("from-file")
    env.python.conda_dependencies_file = str(tmp_path / "env.yml")  # v1's older way
    assert env.python.conda_dependencies.pip_packages == ["six==1.16.0"]
    (tmp_path / "bad.yml").write_text("name: x\nbuild: [gcc]\n")
    with pytest.raises(ValidationError, match=r"bad.yml:2: unknown key 'build'"):
        CondaDependencies(str(tmp_path / "bad.yml"))


def test_curated_names_become_runyard_pip_specs(workspace: Workspace,
                                                experiment: Experiment,
                                                source: Callable[..., Path]) -> None:
    with pytest.warns(EnvironmentFallbackWarning, match="no packages"):
        minimal = Environment.get(workspace, "AzureML-Minimal")
    assert minimal.user_managed
    experiment.submit(ScriptRunConfig(str(source("print('minimal')")), "train.py",
                                      environment=minimal)).wait_for_completion()
    with pytest.warns(EnvironmentFallbackWarning, match="scikit-learn, pandas"):
        sklearn = Environment.get(workspace, "AzureML-sklearn-1.0-ubuntu20.04-py38-cpu")
    assert sklearn.build_spec()["pip"] == ["pandas", "scikit-learn"]
    with pytest.warns(EnvironmentFallbackWarning, match=r"tensorflow\[and-cuda\]"):
        Environment.get(workspace, "AzureML-TensorFlow-2.3-GPU")
    with pytest.raises(ValidationError, match=r"no local counterpart.*from_pip_requirements"):
        Environment.get(workspace, "AzureML-AutoML")
    with pytest.raises(ValidationError, match="registered: none"):
        Environment.get(workspace, "my-env")


@needs_no_conda
def test_an_existing_conda_environment_needs_conda_and_says_what_to_do_instead() -> None:
    with pytest.raises(ValidationError, match=r"pip freeze.*from_pip_requirements"):
        Environment.from_existing_conda_environment("mine", "base")


@needs_no_conda
@pytest.mark.slow
def test_a_run_with_conda_packages_builds_them_from_pypi(
        experiment: Experiment, source: Callable[..., Path], cache: EnvironmentCache) -> None:
    env = Environment("conda-six")
    env.python.conda_dependencies = CondaDependencies.create(
        conda_packages=["conda-forge::six=1.16", "mkl"])
    folder = source("""
        import six
        from azureml.core import Run
        Run.get_context().log("six", six.__version__)
    """)
    with pytest.warns(EnvironmentFallbackWarning, match=r"six=1.16 → six==1.16.\*; mkl dropped"):
        run = experiment.submit(ScriptRunConfig(str(folder), "train.py", environment=env))
    run.wait_for_completion(raise_on_error=True)
    assert str(run.get_metrics()["six"]).startswith("1.16")
    assert [entry["spec"]["pip"] for entry in cache.entries()] == [["six==1.16.*"]]


def _wheel(folder: Path) -> Path:
    """A minimal, valid wheel of the package `tinypkg` (answer = 42)."""
    import zipfile

    path = folder / "tinypkg-0.1-py3-none-any.whl"
    files = {"tinypkg/__init__.py": "answer = 42\n",
             "tinypkg-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinypkg\n"
                                               "Version: 0.1\n",
             "tinypkg-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\n"
                                            "Root-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{name},,\n" for name in files) + "tinypkg-0.1.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in {**files, "tinypkg-0.1.dist-info/RECORD": record}.items():
            archive.writestr(name, text)
    return path


@pytest.mark.slow
def test_an_environment_saves_loads_builds_and_installs_a_private_wheel(
        workspace: Workspace, experiment: Experiment, source: Callable[..., Path],
        tmp_path: Path, cache: EnvironmentCache, capsys: pytest.CaptureFixture[str]) -> None:
    requirement = Environment.add_private_pip_wheel(workspace, _wheel(tmp_path))
    assert requirement.startswith("tinypkg @ file://")
    with pytest.raises(FileExistsError, match="exist_ok=True"):
        Environment.add_private_pip_wheel(workspace, _wheel(tmp_path))
    env = Environment("private")
    env.python.conda_dependencies.add_pip_package(requirement)
    env.docker.base_dockerfile = "FROM ubuntu:22.04\n"
    env.environment_variables = {"MODE": "private"}
    env.save_to_directory(str(tmp_path / "saved"))
    assert sorted(p.name for p in (tmp_path / "saved").iterdir()) == \
        ["BaseDockerfile", "azureml_environment.json", "conda_dependencies.yml"]
    loaded = Environment.load_from_directory(str(tmp_path / "saved"))
    assert loaded.to_dict() == env.to_dict()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        env.save_to_directory(str(tmp_path / "saved"))
    with pytest.warns(DockerIgnoredWarning):
        built = loaded.build_local(workspace)
    assert built.status == "Succeeded"
    assert "tinypkg" in capsys.readouterr().out
    assert [entry["hash"] for entry in cache.entries()] == [Path(built.path).name]
    folder = source("""
        import os, tinypkg
        from azureml.core import Run
        Run.get_context().log("answer", tinypkg.answer)
        Run.get_context().log("mode", os.environ["MODE"])
    """)
    with pytest.warns(DockerIgnoredWarning):
        run = experiment.submit(ScriptRunConfig(str(folder), "train.py", environment=loaded))
    run.wait_for_completion(raise_on_error=True)
    assert run.get_metrics() == {"answer": 42, "mode": "private"}
    assert "found in the cache" in run.read_log("logs/environment.txt").decode()


def test_v1s_smaller_conda_dependencies_helpers() -> None:
    assert CondaDependencies.merge_requirements(["numpy>=1.2", "six", "numpy<2"]) == \
        ["numpy>=1.2,<2", "six"]
    assert CondaDependencies().get_default_number_of_packages() == (0, 0)
    assert CondaDependencies.sdk_origin_url() == "https://pypi.python.org/simple"
    with pytest.raises(ValidationError, match="CNTK"):
        CondaDependencies().add_cntk_package()
