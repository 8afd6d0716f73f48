"""`azureml.core.runconfig`: RunConfiguration and the distributed job configurations.

A RunConfiguration is where a ScriptRunConfig keeps its settings, as in v1: `src.run_config`
always is one, and what is set on it before `exp.submit(src)` is what the run gets:
`target` (a compute target or its name), `environment`, `node_count`, `communicator` with
`framework` and `mpi` / `tensorflow` / `pytorch`, `environment_variables`,
`max_run_duration_seconds`, `script` and `arguments`.

Kept and not acted on, with one warning line at submit when changed from v1's defaults:
`history` (runyard always records a run's outputs, logs and a snapshot of its source: a
cluster's nodes get the code from it), `docker` (no Docker engine runs here; the run uses a
uv environment), `amlcompute` / `spark` / `hdi` / `kubernetescompute` / `paralleltask`
(Azure's run-based clusters and services). `data_references` is refused at submit with
what to use instead (a DataReference as an argument).

`save(path, name)` writes the configuration as JSON (which YAML readers read too) under
`<path>/.azureml/<name>` (or to `path` itself when it names a file); `load` reads it back.

MpiConfiguration and TensorflowConfiguration are runyard's (v1's arguments and defaults);
PyTorchConfiguration keeps v1's default backend, NCCL, which needs GPUs: on CPUs pass
`communication_backend="Gloo"`.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any, ClassVar

from runyard._atomic import atomic_write
from runyard.azureml._ignored import AzureArgumentIgnoredWarning, warn_ignored
from runyard.azureml._surface import module_getattr
from runyard.azureml.core.environment import Environment
from runyard.distributed import MpiConfiguration, TensorflowConfiguration
from runyard.distributed import PyTorchConfiguration as _PyTorchConfiguration
from runyard.environment import CondaDependencies, ContainerRegistry, DockerConfiguration
from runyard.environment._docker import DEFAULT_SHM_SIZE, warn_docker_ignored
from runyard.errors import ValidationError

_COMMUNICATORS = ("None", "ParameterServer", "Mpi", "IntelMpi", "Nccl", "Gloo")
_FRAMEWORKS = ("Python", "PySpark", "CNTK", "TensorFlow", "PyTorch", "PySparkInteractive", "R")

# v1's constants: the images a v1 run used; runyard builds uv environments instead
DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.1-cudnn8-ubuntu20.04"
MPI_CPU_IMAGE = DEFAULT_CPU_IMAGE
MPI_GPU_IMAGE = DEFAULT_GPU_IMAGE
LOCAL_RUNCONFIG_NAME = "local"
SUPPORTED_DATAREF_MODES = ["mount", "download", "upload"]
SUPPORTED_DELIVERY_MECHANISM = ["direct", "mount", "download", "upload"]
SUPPORTED_PYTORCH_BACKENDS = ["nccl", "gloo"]
RUN_CONFIG_FOLDER = ".azureml"  # v1's folder of saved run configurations


class PyTorchConfiguration(_PyTorchConfiguration):
    """torch.distributed processes (v1's defaults: NCCL, one process per node)."""

    def __init__(self, communication_backend: str = "Nccl", process_count: int | None = None,
                 node_count: int = 1) -> None:
        super().__init__(communication_backend, process_count, node_count)


class AzureContainerRegistry(ContainerRegistry):
    """v1's Azure registry connection (kept, never used: no containers run here)."""


class EnvironmentDefinition(Environment):
    """v1's name for the environment of a run configuration: an Environment."""

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name or "default-environment")


class _Section:
    """A v1 run configuration section runyard keeps and does not act on: its fields start
    at v1's defaults, and `_changed()` names the ones set otherwise."""

    _defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        for name, value in self._defaults.items():
            setattr(self, name, copy.deepcopy(value))

    def _changed(self) -> list[str]:
        return [f"{name}={getattr(self, name, None)!r}" for name, value in self._defaults.items()
                if getattr(self, name, None) != value]

    def _to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name, None) for name in self._defaults}

    def _load(self, data: dict[str, Any]) -> None:
        for name in self._defaults:
            if name in data:
                setattr(self, name, data[name])

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._to_dict().items())
        return f"{type(self).__name__}({fields})"


class HistoryConfiguration(_Section):
    """v1's history settings. runyard always collects a run's outputs and logs and
    snapshots its source (a cluster's nodes get the code from the snapshot), so turning
    them off is ignored with a warning at submit."""

    _defaults: ClassVar[dict[str, Any]] = {"output_collection": True, "snapshot_project": True,
                                           "directories_to_watch": ["logs"]}
    output_collection: bool
    snapshot_project: bool
    directories_to_watch: list[str]


class AmlComputeConfiguration(_Section):
    """v1's run-based cluster (made for one run): kept, ignored. Create the cluster with
    ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(vm_size=...))."""

    _defaults: ClassVar[dict[str, Any]] = {"vm_size": None, "vm_priority": None,
                                           "_retain_cluster": False, "_name": None,
                                           "_cluster_max_node_count": None}
    vm_size: str | None
    vm_priority: str | None


class HdiConfiguration(_Section):
    """v1's HDInsight settings: kept, ignored (no HDInsight here)."""

    _defaults: ClassVar[dict[str, Any]] = {"yarn_deploy_mode": "cluster"}


class SparkConfiguration(_Section):
    """v1's Spark settings: kept, ignored (runyard runs no Spark)."""

    _defaults: ClassVar[dict[str, Any]] = {"repositories": [], "packages": [],
                                           "precache_packages": True, "configuration": {}}


class KubernetesComputeConfiguration(_Section):
    """v1's Kubernetes compute settings: kept, ignored (no Kubernetes compute here)."""

    _defaults: ClassVar[dict[str, Any]] = {"instance_type": None}


class ParallelTaskConfiguration(_Section):
    """v1's ParallelRunStep settings: kept, ignored (no pipelines here)."""

    _defaults: ClassVar[dict[str, Any]] = {"max_retries_per_worker": 0,
                                           "worker_count_per_node": 1,
                                           "terminal_exit_codes": None}


class DataReferenceConfiguration:
    """v1's data reference of a run configuration (`run_config.data_references[name]`).
    runyard resolves data references given as arguments, so a run configuration with
    data_references is refused at submit, saying so."""

    def __init__(self, datastore_name: str | None = None, mode: str = "mount",
                 path_on_datastore: str | None = None, path_on_compute: str | None = None,
                 overwrite: bool = False) -> None:
        if mode not in SUPPORTED_DATAREF_MODES:
            raise ValidationError(f"mode {mode!r} is not one of "
                                  f"{', '.join(SUPPORTED_DATAREF_MODES)}", value=mode)
        self.data_store_name = datastore_name
        self.mode = mode
        self.path_on_data_store = path_on_datastore
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite

    def _to_dict(self) -> dict[str, Any]:
        return {"dataStoreName": self.data_store_name, "mode": self.mode,
                "pathOnDataStore": self.path_on_data_store,
                "pathOnCompute": self.path_on_compute, "overwrite": self.overwrite}


_IGNORED_SECTIONS = ("amlcompute", "spark", "hdi", "kubernetescompute", "paralleltask")


class RunConfiguration:
    """v1's run configuration: where (`target`), with what (`environment`), and how many
    processes (`communicator` with `node_count` and `mpi` / `tensorflow` / `pytorch`).
    `ScriptRunConfig(run_config=...)` keeps it as `src.run_config`; what is set on it
    before submit is what the run gets.

    Example:
        >>> run_config = RunConfiguration()
        >>> run_config.environment.python.conda_dependencies = CondaDependencies.create(
        ...     pip_packages=["scikit-learn"])
        >>> run_config.target = "local"
        >>> run_config.history.output_collection
        True
    """

    def __init__(self, script: str | None = None, arguments: list[Any] | None = None,
                 framework: str | None = None, communicator: str | None = None,
                 conda_dependencies: CondaDependencies | None = None,
                 _history_enabled: bool | None = None, _path: str | None = None,
                 _name: str | None = None, command: str | list[str] | None = None) -> None:
        warn_ignored("RunConfiguration", locals(), {"_history_enabled": None})
        if command:
            raise ValidationError("RunConfiguration(command=...) is not supported; give the "
                                  "script and its arguments (script=, arguments=)")
        self.script = script
        self.arguments = list(arguments or [])
        self.framework = framework or "Python"
        self.communicator = communicator or "None"
        self.node_count = 1
        self.priority: int | None = None
        self.max_run_duration_seconds: int | None = None
        self.environment: Environment = EnvironmentDefinition("default-environment")
        if conda_dependencies is not None:
            self.environment.python.conda_dependencies = conda_dependencies
        self.environment_variables: dict[str, str] = {}
        self.mpi = MpiConfiguration()
        self.tensorflow = TensorflowConfiguration()
        self.pytorch: _PyTorchConfiguration = PyTorchConfiguration()
        self.history = HistoryConfiguration()
        self.docker = DockerConfiguration()
        self.amlcompute = AmlComputeConfiguration()
        self.spark = SparkConfiguration()
        self.hdi = HdiConfiguration()
        self.kubernetescompute = KubernetesComputeConfiguration()
        self.paralleltask = ParallelTaskConfiguration()
        self.data_references: dict[str, DataReferenceConfiguration] = {}
        self.source_directory_data_store: str | None = None
        self.credential_passthrough = False
        self.command: str | list[str] | None = None
        self._target = "local"
        self._compute: Any = None  # the ComputeTarget object `target` was set to, if any
        self._path = _path
        self._name = _name

    # -- v1's properties ------------------------------------------------------------------
    @property
    def target(self) -> str:
        """The compute target's name ("local": this machine); set a compute target or its
        name."""
        return self._target

    @target.setter
    def target(self, target: Any) -> None:
        name = getattr(target, "name", target)
        if not isinstance(name, str) or not name:
            raise ValidationError(f"target must be a compute target or its name, got "
                                  f"{target!r}"[:200])
        self._target = name
        self._compute = target if target is not name else None

    @property
    def auto_prepare_environment(self) -> bool:
        """v1's deprecated switch: environments are always prepared here."""
        return True

    @auto_prepare_environment.setter
    def auto_prepare_environment(self, _: Any) -> None:
        import warnings

        warnings.warn("runyard ignores RunConfiguration.auto_prepare_environment: "
                      "environments are always prepared before a run",
                      AzureArgumentIgnoredWarning, stacklevel=2)

    # -- what submit reads ----------------------------------------------------------------
    def compute_target(self) -> Any:
        """The target to submit to: the ComputeTarget object `target` was set to, or its
        name."""
        compute = self._compute
        return compute if compute is not None and compute.name == self._target else self._target

    def _environment_for_submit(self) -> Environment | None:
        """The environment to run in; None while it is v1's untouched default (no
        packages, nothing set), which means the interpreter runyard runs in."""
        untouched = EnvironmentDefinition("default-environment").to_dict()
        if self.environment.to_dict() == untouched:
            return None
        return self.environment

    def distributed_job_config(self) -> Any:
        """The distributed configuration `communicator` names (None for one process)."""
        communicator = str(self.communicator)
        chosen = communicator.lower()
        if chosen == "none":
            return None
        if chosen == "parameterserver":
            return self.tensorflow
        if chosen in ("mpi", "intelmpi"):
            return MpiConfiguration(self.mpi.process_count_per_node, self.node_count)
        if chosen in ("nccl", "gloo"):
            return PyTorchConfiguration(communicator, self.pytorch.process_count,
                                        self.node_count)
        raise ValidationError(f"communicator {communicator!r} is not one of "
                              f"{', '.join(_COMMUNICATORS)}", value=communicator)

    def _set_distributed(self, config: Any) -> None:
        """What v1's ScriptRunConfig(distributed_job_config=...) sets: the framework, the
        communicator, its section and the node count."""
        if isinstance(config, TensorflowConfiguration):
            self.tensorflow, self.framework, self.communicator = \
                config, "TensorFlow", "ParameterServer"
        elif isinstance(config, MpiConfiguration):
            self.mpi, self.framework, self.communicator = config, "Python", "IntelMpi"
            self.node_count = config.node_count
        elif isinstance(config, _PyTorchConfiguration):
            self.pytorch, self.framework = config, "PyTorch"
            self.communicator = config.communication_backend.capitalize()
            self.node_count = config.node_count
        else:
            raise ValidationError(
                f"distributed_job_config must be a TensorflowConfiguration, "
                f"MpiConfiguration or PyTorchConfiguration, got {type(config).__name__}")

    def _check_for_submit(self) -> None:
        """Refuse what runyard cannot do and warn, one line each, about what it keeps
        but does not act on."""
        if self.framework not in _FRAMEWORKS:
            raise ValidationError(f"framework {self.framework!r} is not one of "
                                  f"{', '.join(_FRAMEWORKS)}", value=self.framework)
        if self.framework in ("PySpark", "PySparkInteractive"):
            raise ValidationError("framework 'PySpark' needs a Spark cluster, which runyard "
                                  "does not run; use framework='Python'")
        if self.command:
            raise ValidationError("RunConfiguration.command is not supported; give the "
                                  "script and its arguments (script=, arguments=)")
        if self.data_references:
            raise ValidationError(
                f"run_config.data_references ({', '.join(sorted(self.data_references))}) is "
                f"not read here; pass the data as an argument instead: "
                f"arguments=['--data', datastore.path('folder').as_mount()]")
        self.distributed_job_config()  # a bad communicator fails now
        history = self.history._changed()
        if history:
            warn_ignored_line("run_config.history", history,
                              "runyard always records a run's outputs, logs and a snapshot "
                              "of its source (a cluster's nodes get the code from it)")
        docker = self.docker
        settings = [f"{name}={value!r}" for name, value, default in (
            ("use_docker", docker.use_docker, False),
            ("shared_volumes", docker.shared_volumes, True),
            ("arguments", list(docker.arguments or []), []),
            ("shm_size", docker.shm_size, DEFAULT_SHM_SIZE)) if value != default]
        warn_docker_ignored("run_config.docker", settings, stacklevel=5)
        sections = [f"{name}.{field}" for name in _IGNORED_SECTIONS
                    for field in getattr(self, name)._changed()]
        if sections:
            warn_ignored_line("these run_config sections", sections,
                              "they configure Azure services runyard does not run")

    # -- files ----------------------------------------------------------------------------
    def _to_dict(self) -> dict[str, Any]:
        return {
            "script": self.script, "arguments": [str(a) for a in self.arguments],
            "target": self._target, "framework": self.framework,
            "communicator": self.communicator,
            "maxRunDurationSeconds": self.max_run_duration_seconds,
            "nodeCount": self.node_count, "priority": self.priority,
            "environment": self.environment.to_dict(),
            "environmentVariables": dict(self.environment_variables),
            "history": {"outputCollection": self.history.output_collection,
                        "snapshotProject": self.history.snapshot_project,
                        "directoriesToWatch": list(self.history.directories_to_watch)},
            "docker": {"useDocker": self.docker.use_docker,
                       "sharedVolumes": self.docker.shared_volumes,
                       "arguments": list(self.docker.arguments or []),
                       "shmSize": self.docker.shm_size},
            "tensorflow": {"workerCount": self.tensorflow.worker_count,
                           "parameterServerCount": self.tensorflow.parameter_server_count},
            "mpi": {"processCountPerNode": self.mpi.process_count_per_node,
                    "nodeCount": self.mpi.node_count},
            "pytorch": {"communicationBackend": self.pytorch.communication_backend,
                        "processCount": self.pytorch.process_count,
                        "nodeCount": self.pytorch.node_count},
            **{name: getattr(self, name)._to_dict() for name in _IGNORED_SECTIONS},
            "dataReferences": {k: v._to_dict() for k, v in self.data_references.items()},
        }

    @staticmethod
    def _from_dict(data: dict[str, Any], path: str | None = None,
                   name: str | None = None) -> RunConfiguration:
        if not isinstance(data, dict):
            raise ValidationError(f"a run configuration is a mapping, got "
                                  f"{type(data).__name__}")
        config = RunConfiguration(data.get("script"), list(data.get("arguments") or []),
                                  data.get("framework"), data.get("communicator"),
                                  _path=path, _name=name)
        config.target = data.get("target") or "local"
        config.max_run_duration_seconds = data.get("maxRunDurationSeconds")
        config.node_count = int(data.get("nodeCount") or 1)
        config.priority = data.get("priority")
        if data.get("environment"):
            config.environment = Environment.from_dict(data["environment"])
        config.environment_variables = dict(data.get("environmentVariables") or {})
        history = data.get("history") or {}
        config.history.output_collection = history.get("outputCollection", True)
        config.history.snapshot_project = history.get("snapshotProject", True)
        config.history.directories_to_watch = list(history.get("directoriesToWatch", ["logs"]))
        docker = data.get("docker") or {}
        config.docker.use_docker = bool(docker.get("useDocker", False))
        config.docker.shared_volumes = docker.get("sharedVolumes", True)
        config.docker.arguments = list(docker.get("arguments") or [])
        config.docker.shm_size = docker.get("shmSize", DEFAULT_SHM_SIZE)
        tensorflow = data.get("tensorflow") or {}
        config.tensorflow = TensorflowConfiguration(tensorflow.get("workerCount", 1),
                                                    tensorflow.get("parameterServerCount", 1))
        mpi = data.get("mpi") or {}
        config.mpi = MpiConfiguration(mpi.get("processCountPerNode", 1), mpi.get("nodeCount", 1))
        pytorch = data.get("pytorch") or {}
        config.pytorch = PyTorchConfiguration(pytorch.get("communicationBackend", "Nccl"),
                                              pytorch.get("processCount"),
                                              pytorch.get("nodeCount", 1))
        for section in _IGNORED_SECTIONS:
            getattr(config, section)._load(data.get(section) or {})
        for key, value in (data.get("dataReferences") or {}).items():
            config.data_references[key] = DataReferenceConfiguration(
                value.get("dataStoreName"), value.get("mode", "mount"),
                value.get("pathOnDataStore"), value.get("pathOnCompute"),
                bool(value.get("overwrite")))
        return config

    def save(self, path: str | os.PathLike[str] | None = None, name: str | None = None,
             separate_environment_yaml: bool = False) -> None:
        """Write this configuration: to `<path>/.azureml/<name>` when `path` is a folder
        (default: the current one), or to `path` itself when it names a file in an
        existing folder. With `separate_environment_yaml`, the conda environment also goes
        to `environment.yml` beside it."""
        target = _config_file(path or self._path, name or self._name, for_saving=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, json.dumps(self._to_dict(), indent=2) + "\n")
        if separate_environment_yaml:
            self.environment.python.conda_dependencies.save_to_file(
                str(target.parent), conda_file_path="environment.yml")

    @staticmethod
    def load(path: str | os.PathLike[str] | None = None,
             name: str | None = None) -> RunConfiguration:
        """Read a configuration `save` wrote: `path` a file, or a project folder with
        `.azureml/<name>` (or `aml_config/<name>`, `<name>.runconfig`, as v1 looks)."""
        found = _config_file(path, name, for_saving=False)
        text = found.read_text()
        try:
            data = json.loads(text)
        except ValueError:
            try:
                import yaml  # type: ignore[import-untyped]  # a v1 YAML file, with PyYAML
            except ImportError as error:
                raise ValidationError(
                    f"{found} is not JSON; runyard reads the run configurations it saves "
                    f"(JSON), and YAML ones where PyYAML is installed (pip install pyyaml)"
                ) from error
            data = yaml.safe_load(text)
        return RunConfiguration._from_dict(data, str(path) if path else None, name)

    @staticmethod
    def delete(path: str | os.PathLike[str], name: str) -> None:
        """Remove the configuration `name` saved in project folder `path`."""
        _config_file(path, name, for_saving=False).unlink()


def warn_ignored_line(what: str, settings: list[str], why: str) -> None:
    import warnings

    warnings.warn(f"runyard ignores {what} ({', '.join(settings)}): {why}",
                  AzureArgumentIgnoredWarning, stacklevel=5)


def _config_file(path: str | os.PathLike[str] | None, name: str | None,
                 for_saving: bool) -> Path:
    folder = Path(path) if path else Path.cwd()
    if folder.is_dir():
        if not name:
            raise ValidationError("a run configuration saved in a folder needs a name "
                                  "(save(path, name=...) / load(path, name=...))")
        if "/" in name or name in (".", ".."):
            raise ValidationError(f"run configuration name {name!r} must be a file name")
        if for_saving:
            return folder / RUN_CONFIG_FOLDER / name
        for candidate in (folder / RUN_CONFIG_FOLDER / name, folder / "aml_config" / name,
                          folder / RUN_CONFIG_FOLDER / f"{name}.runconfig",
                          folder / "aml_config" / f"{name}.runconfig",
                          folder / f"{name}.runconfig"):
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(f"no run configuration {name!r} in {folder} (looked in "
                                f"{RUN_CONFIG_FOLDER}/ and aml_config/)")
    if for_saving:
        if not folder.parent.is_dir():
            raise ValidationError(f"{str(folder)!r} is neither a folder nor a file in an "
                                  f"existing folder")
        return folder
    if not folder.is_file():
        raise FileNotFoundError(f"no run configuration at {folder}")
    return folder


__getattr__ = module_getattr(__name__)

__all__ = [
    "DEFAULT_CPU_IMAGE",
    "DEFAULT_GPU_IMAGE",
    "LOCAL_RUNCONFIG_NAME",
    "MPI_CPU_IMAGE",
    "MPI_GPU_IMAGE",
    "SUPPORTED_DATAREF_MODES",
    "SUPPORTED_DELIVERY_MECHANISM",
    "SUPPORTED_PYTORCH_BACKENDS",
    "AmlComputeConfiguration",
    "AzureContainerRegistry",
    "ContainerRegistry",
    "DataReferenceConfiguration",
    "DockerConfiguration",
    "EnvironmentDefinition",
    "HdiConfiguration",
    "HistoryConfiguration",
    "KubernetesComputeConfiguration",
    "MpiConfiguration",
    "ParallelTaskConfiguration",
    "PyTorchConfiguration",
    "RunConfiguration",
    "SparkConfiguration",
    "TensorflowConfiguration",
]
