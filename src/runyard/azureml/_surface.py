"""The v1 names runyard does not implement: each one ignored or refused, why, what instead.

Every public name of the v1 modules `runyard.azureml` mirrors (the manifest
tests/data/azureml_v1_surface.json, which tools/azureml_surface.py reads from the v1
wheels) is one of:

- implemented: `runyard.azureml.<same path>` has it, taking v1's parameter names;
- ignored: an Azure-only knob; using it does nothing but warn, one line per call
  (`AzureArgumentIgnoredWarning`);
- refused: importable, so `from azureml.x import Y` works, but calling it raises
  `NotSupportedError` with the reason and what to use instead.

`ENTRIES` is the one table of ignored and refused names (and of implemented ones worth a
note). docs/migration.md's surface table is written from it
(`python tools/azureml_surface.py docs`); tests/test_azureml_surface.py checks the manifest
against the code and this table, so neither can drift.

How a v1 module uses it:

- `__getattr__ = module_getattr(__name__)` at its end serves the module's ignored and
  refused names, v1's exception classes (`from azureml.core.model import
  ModelNotFoundException`), `VERSION` and `__version__`;
- `@v1_members("azureml.core.workspace.Workspace")` on a class gives it its ignored and
  refused methods and properties (never replacing one the class defines).

Invariants: light to import (the standard library and runyard.errors); the object made
for an entry is made once, so importing it twice gives the same object; refused and
ignored objects carry their entry as `__runyard_surface__`.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from runyard.azureml._ignored import AzureArgumentIgnoredWarning
from runyard.errors import NotSupportedError

Category = Literal["implemented", "ignored", "refused"]
Kind = Literal["class", "function", "method", "property", "constant"]
T = TypeVar("T", bound=type)
MARKER = "__runyard_surface__"


@dataclass(frozen=True)
class Entry:
    """One v1 name: `path` is its v1 dotted path (module, name, and member for a class's
    method or property); `also` the other v1 modules that export the same name."""

    path: str
    category: Category
    kind: Kind
    reason: str
    also: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.path.rpartition(".")[2]

    @property
    def owner(self) -> str:
        """The module (for a name) or the class (for a member) the entry belongs to."""
        return self.path.rpartition(".")[0]

    @property
    def message(self) -> str:
        verb = "ignores" if self.category == "ignored" else "does not support"
        return f"runyard {verb} {self.path}: {self.reason} (see docs/migration.md)"


# -- the table ----------------------------------------------------------------------------
# (category, kind, v1 paths, reason and what to use instead, other v1 modules exporting them)

_DEPLOY = ("deployment is not in runyard yet (issue 16); register the model "
           "(run.register_model or Model.register), fetch it with Model(ws, name).download() "
           "and serve it with your own web server")
_AZURE_COMPUTE = ("an Azure service runyard cannot provision or attach; train on AmlCompute "
                  "(a Ray cluster), ComputeInstance (one Ray node) or 'local'")
_LEGACY_COMPUTE = ("v1's deprecated pre-ComputeTarget API; use a compute target "
                   "('local', AmlCompute, ComputeTarget(ws, name)) and exp.submit, which "
                   "prepares the environment itself")
_REMOTE = ("attaching a machine over SSH is not supported; start Ray on it "
           "(`ray start --head --dashboard-host=0.0.0.0`) and attach that cluster: "
           "ComputeTarget.attach(ws, name, "
           "RayCompute.provisioning_configuration(address='http://HOST:8265'))")
_SECRETS = ("runyard keeps no secrets; give a run its secrets as environment variables "
            "(RunConfiguration.environment_variables) from your own secret store, and read "
            "them with run.get_secret(name)")
_CONNECTIONS = ("workspace connections are Azure resources; put the connection's settings "
                "in a datastore URL (Datastore.register) or in the run's environment variables")
_NETWORK = "private endpoints are Azure networking; a runyard workspace is a folder"
_AZURE_META = "Azure resource metadata; a runyard workspace has none"
_SYNAPSE = ("Synapse linked services are Azure resources; read the data through a datastore "
            "URL (Datastore.register) instead")
_AZURE_DATASTORE = ("register the storage by URL instead: Datastore.register(ws, name, url), "
                    "with any fsspec URL (az://container/path with adlfs, s3://..., a folder)")
_TOKEN = "there is no Azure sign-in, hence no token; runyard needs none"
_LEGACY_DATASET = ("v1's deprecated pre-1.0 Dataset API (Dataset.from_* files, definitions, "
                   "snapshots, profiles); use Dataset.File.from_files or "
                   "Dataset.Tabular.from_delimited_files(path=(datastore, 'file.csv')), "
                   ".register(ws, name) and Dataset.get_by_name(ws, name)")
_DATACACHE = ("the datacache is an Azure service; mount or download the dataset instead "
              "(dataset.as_mount(), dataset.as_download())")
_PARTITIONS = ("partitions and file-metadata filters are not in runyard's datasets; pick files "
               "with a glob in the path ((datastore, 'data/2024-*/*.csv')) or take/skip/"
               "random_split")
_TIME_SERIES = ("timestamp columns and time filters are not in runyard's datasets; filter "
                "the table from to_pandas_dataframe() with pandas")
_PROFILES = ("dataset profiles are computed by an Azure service; describe the table from "
             "to_pandas_dataframe() with pandas (df.describe())")
_OUTPUT_DATASETS = ("output datasets are v1 pipeline plumbing; write outputs to ./outputs "
                    "(uploaded with the run) or upload them to a datastore "
                    "(datastore.upload) and register a dataset on that path")
_NO_IMAGE = ("runyard builds uv environments, not Docker images; list the Dockerfile's "
             "Python packages in CondaDependencies (pip or conda packages) instead")
_AZURE_DOCS = "links to docs.microsoft.com; runyard's documentation is docs/ in its repository"

TABLE: list[tuple[Category, Kind, tuple[str, ...], str, tuple[str, ...]]] = [
    # deployment (issue 16)
    ("refused", "class", ("azureml.core.webservice.Webservice",), _DEPLOY, ("azureml.core",)),
    ("refused", "class", tuple(f"azureml.core.webservice.{n}" for n in (
        "AciWebservice", "AksEndpoint", "AksWebservice", "LocalWebservice",
        "UnknownWebservice")), _DEPLOY, ()),
    ("refused", "class", ("azureml.core.Image",), _DEPLOY, ()),
    ("refused", "class", ("azureml.core.model.InferenceConfig", "azureml.core.model.ModelPackage"),
     _DEPLOY, ()),
    ("refused", "property", ("azureml.core.workspace.Workspace.images",
                           "azureml.core.workspace.Workspace.webservices"), _DEPLOY, ()),
    # hyperparameter tuning (issue 14): runyard.hyperdrive, but for v1's deprecated alias
    ("refused", "class", ("azureml.train.hyperdrive.HyperDriveRunConfig",),
     "v1's deprecated name for an estimator's sweep; use HyperDriveConfig(estimator=... or "
     "run_config=...)", ()),
    ("refused", "class", ("azureml.train.hyperdrive.EarlyTerminationPolicy",
                          "azureml.train.hyperdrive.HyperParameterSampling"),
     "v1's abstract base class, built by its subclasses only; use BanditPolicy, "
     "MedianStoppingPolicy, TruncationSelectionPolicy or NoTerminationPolicy, and "
     "RandomParameterSampling, GridParameterSampling or BayesianParameterSampling "
     "(runyard.hyperdrive has the bases for isinstance checks)", ()),
    # compute that only Azure has
    ("refused", "class", tuple(f"azureml.core.compute.{n}" for n in (
        "AdlaCompute", "AksCompute", "BatchCompute", "DataFactoryCompute", "DatabricksCompute",
        "DsvmCompute", "HDInsightCompute", "KubernetesCompute", "KustoCompute",
        "SynapseCompute")), _AZURE_COMPUTE, ()),
    ("refused", "method", tuple(f"azureml.core.compute.amlcompute.AmlCompute.{n}" for n in (
        "list_usages", "list_quotas", "update_quotas")),
     "Azure subscription quotas; a runyard cluster has no quota: it is at most max_nodes "
     "nodes of its vm_size (AmlCompute.supported_vmsizes lists the sizes and their "
     "resources), and ComputeTarget.get_status() shows what is in use", ()),
    ("refused", "method", tuple(f"azureml.core.compute.amlcompute.AmlCompute.{n}" for n in (
        "add_identity", "remove_identity")),
     "managed identities are Azure sign-ins; give runs the credentials they need as "
     "environment variables (RunConfiguration.environment_variables)", ()),
    ("ignored", "method", ("azureml.core.compute.computeinstance.ComputeInstance"
                           ".update_sso_settings",),
     "Azure single sign-on; a runyard compute instance signs nobody in", ()),
    ("refused", "class", tuple(f"azureml.core.runconfig.{n}" for n in (
        "Data", "DataLocation", "DataPath", "DatacacheConfiguration", "Dataset",
        "DatasetRegistrationOptions", "GlobsOptions", "MountOptions", "OutputData",
        "OutputOptions", "RegistrationOptions", "UploadOptions", "Uri")),
     "v1's internal records of a run's dataset inputs and outputs; pass inputs as "
     "arguments (datastore.path('folder').as_mount(), "
     "dataset.as_named_input('name').as_mount()) and write outputs to ./outputs, which "
     "runyard uploads", ()),
    ("refused", "class", ("azureml.core.runconfig.ApplicationEndpointConfiguration",),
     "interactive endpoints (Jupyter, SSH, TensorBoard) on a run's compute are an Azure "
     "service; start such a server from the script and reach it on the node's address "
     "(ComputeTarget.list_nodes())", ()),
    ("refused", "class", ("azureml.core.compute.remote.RemoteCompute",), _REMOTE,
     ("azureml.core.compute",)),
    ("refused", "class", ("azureml.core.compute.remote.RemoteComputeAttachConfiguration",),
     _REMOTE, ()),
    ("refused", "class", ("azureml.core.compute_target.AbstractComputeTarget",
                          "azureml.core.compute_target.LocalTarget"), _LEGACY_COMPUTE, ()),
    ("refused", "function", tuple(f"azureml.core.compute_target.{n}" for n in (
        "attach_legacy_compute_target", "is_compute_target_prepared", "prepare_compute_target",
        "remove_legacy_compute_target")), _LEGACY_COMPUTE, ("azureml.core",)),
    # frameworks
    ("refused", "class", ("azureml.train.dnn.Chainer",),
     "Chainer has been unmaintained since 2019 and has no build for current Pythons; use "
     "azureml.train.dnn.PyTorch, or Estimator with pip_packages", ()),
    # secrets, connections, networks, Synapse
    ("refused", "class", ("azureml.core.Keyvault",), _SECRETS, ()),
    ("refused", "method", ("azureml.core.workspace.Workspace.get_default_keyvault",
                           "azureml.core.workspace.Workspace.list_keys"), _SECRETS, ()),
    ("refused", "method", tuple(f"azureml.core.workspace.Workspace.{n}" for n in (
        "delete_connection", "get_connection", "list_connections", "set_connection")),
     _CONNECTIONS, ()),
    ("ignored", "class", ("azureml.core.PrivateEndPoint", "azureml.core.PrivateEndPointConfig"),
     _NETWORK, ()),
    ("ignored", "method", ("azureml.core.workspace.Workspace.add_private_endpoint",
                           "azureml.core.workspace.Workspace.delete_private_endpoint_connection"),
     _NETWORK, ()),
    ("ignored", "property", ("azureml.core.workspace.Workspace.private_endpoints",), _NETWORK, ()),
    ("refused", "class", ("azureml.core.LinkedService",
                          "azureml.core.SynapseWorkspaceLinkedServiceConfiguration"),
     _SYNAPSE, ()),
    ("ignored", "property", ("azureml.core.workspace.Workspace.linked_services",), _SYNAPSE, ()),
    # the workspace as an Azure resource
    ("ignored", "method", ("azureml.core.workspace.Workspace.update",
                           "azureml.core.workspace.Workspace.update_dependencies",
                           "azureml.core.workspace.Workspace.sync_keys",
                           "azureml.core.workspace.Workspace.diagnose_workspace"),
     _AZURE_META, ()),
    ("ignored", "property", ("azureml.core.workspace.Workspace.sku",
                             "azureml.core.workspace.Workspace.tags",
                             "azureml.core.workspace.Workspace.discovery_url",
                             "azureml.core.workspace.Workspace.service_context"),
     _AZURE_META, ()),
    ("refused", "method", ("azureml.core.workspace.Workspace.delete",),
     "runyard never deletes a workspace; remove its folder (with .runyard/) yourself", ()),
    ("refused", "method", ("azureml.core.workspace.Workspace.list",),
     "workspaces are folders, not resources of a subscription; use Workspace.from_config(path) "
     "or Workspace.get(name) from the workspace's folder", ()),
    ("refused", "method", ("azureml.core.workspace.Workspace.setup",),
     "v1's deprecated setup; use Workspace.create(name, exist_ok=True)", ()),
    ("refused", "method", ("azureml.core.workspace.Workspace.get_default_compute_target",),
     "v1's deprecated default compute; name the target: ComputeTarget(workspace=ws, name=...) "
     "or 'local'", ()),
    ("refused", "method", ("azureml.core.workspace.Workspace.get_mlflow_tracking_uri",),
     "runyard runs no MLflow tracking server; log with run.log and read with "
     "run.get_metrics()", ()),
    # datastores: any fsspec URL instead of one register_* per Azure service
    ("refused", "method", tuple(f"azureml.core.datastore.Datastore.{n}" for n in (
        "register_azure_blob_container", "register_azure_data_lake",
        "register_azure_data_lake_gen2", "register_azure_file_share", "register_azure_my_sql",
        "register_azure_postgre_sql", "register_azure_sql_database", "register_dbfs",
        "register_hdfs")), _AZURE_DATASTORE, ()),
    # datasets (v1's legacy Dataset class, datacache, partitions, time series, profiles)
    ("refused", "method", ("azureml.core.dataset.Dataset.Scenario",), _LEGACY_DATASET, ()),
    ("refused", "method", tuple(f"azureml.core.dataset.Dataset.{n}" for n in (
        "archive", "auto_read_files", "compare_profiles", "create_snapshot", "delete_snapshot",
        "deprecate", "diff", "from_binary_files", "from_delimited_files", "from_excel_files",
        "from_json_files", "from_pandas_dataframe", "from_parquet_files", "from_sql_query",
        "generate_profile", "get_all_snapshots", "get_definition", "get_definitions",
        "get_profile", "get_snapshot", "head", "reactivate", "register", "sample",
        "to_pandas_dataframe", "to_spark_dataframe", "update", "update_definition")),
     _LEGACY_DATASET, ()),
    ("refused", "property", tuple(f"azureml.core.dataset.Dataset.{n}" for n in (
        "definition", "definition_version", "description", "id", "is_visible", "name",
        "state", "tags", "workspace")), _LEGACY_DATASET, ()),
    ("refused", "class", ("azureml.data.DatacacheStore",), _DATACACHE, ()),
    ("refused", "method", ("azureml.data.FileDataset.as_cache",
                           "azureml.data.FileDataset.hydrate"), _DATACACHE, ()),
    ("refused", "method", ("azureml.data.FileDataset.as_hdfs",),
     "HDFS inputs are for Synapse Spark pools, an Azure service; use dataset.as_mount() or "
     "dataset.as_download()", ()),
    ("refused", "method", ("azureml.data.FileDataset.filter",
                           "azureml.data.FileDataset.get_partition_key_values",
                           "azureml.data.FileDataset.file_metadata",
                           "azureml.data.TabularDataset.filter",
                           "azureml.data.TabularDataset.get_partition_key_values",
                           "azureml.data.TabularDataset.partition_by"), _PARTITIONS, ()),
    ("refused", "property", ("azureml.data.FileDataset.partition_keys",
                             "azureml.data.TabularDataset.partition_keys"), _PARTITIONS, ()),
    ("refused", "property", ("azureml.data.FileDataset.data_changed_time",
                             "azureml.data.TabularDataset.data_changed_time"),
     "runyard does not track when a datastore's files change; register the dataset again "
     "(a changed definition is a new version) and compare versions", ()),
    ("refused", "method", tuple(f"azureml.data.TabularDataset.{n}" for n in (
        "time_after", "time_before", "time_between", "time_recent",
        "with_timestamp_columns")), _TIME_SERIES, ()),
    ("refused", "property", ("azureml.data.TabularDataset.timestamp_columns",), _TIME_SERIES,
     ()),
    ("refused", "method", tuple(f"azureml.data.TabularDataset.{n}" for n in (
        "get_profile", "get_profile_runs", "submit_profile_run")), _PROFILES, ()),
    ("refused", "method", ("azureml.data.TabularDataset.to_dask_dataframe",
                           "azureml.data.TabularDataset.to_spark_dataframe"),
     "runyard reads tables with pandas only; convert the result of to_pandas_dataframe() "
     "(dask.dataframe.from_pandas(df), spark.createDataFrame(df))", ()),
    ("refused", "method", ("azureml.data.DataType.to_stream",),
     "stream columns (file handles in a table) are not in runyard's tabular datasets; use a "
     "FileDataset and open its files", ()),
    ("refused", "class", tuple(f"azureml.data.{n}" for n in (
        "HDFSOutputDatasetConfig", "LinkFileOutputDatasetConfig",
        "LinkTabularOutputDatasetConfig", "OutputFileDatasetConfig")), _OUTPUT_DATASETS, ()),
    ("refused", "class", ("azureml.core.run.OutputDatasets", "azureml.core.run.LinkOutput"),
     _OUTPUT_DATASETS, ()),
    # environments: Docker images, R, Spark
    ("refused", "class", ("azureml.core.environment.DockerBuildContext",
                          "azureml.core.environment.DockerImageDetails"), _NO_IMAGE, ()),
    ("refused", "method", ("azureml.core.environment.Environment.from_docker_build_context",
                           "azureml.core.environment.Environment.get_image_details"),
     _NO_IMAGE, ()),
    ("refused", "method", ("azureml.core.environment.Environment.label",),
     "environment labels are not kept; name a version instead: "
     "Environment.get(ws, name, version=2)", ()),
    ("refused", "class", tuple(f"azureml.core.environment.{n}" for n in (
        "RCranPackage", "RGitHubPackage", "RSection")),
     "R environments are not supported; runyard builds Python environments (with uv)", ()),
    ("refused", "class", tuple(f"azureml.core.environment.{n}" for n in (
        "SparkEnvironment", "SparkPackage", "SparkSection")),
     "Spark is not in runyard; install pyspark as a pip package and start a local session "
     "in the script", ()),
    # models: deployment and Azure-only access
    ("refused", "method", tuple(f"azureml.core.model.Model.{n}" for n in (
        "deploy", "package", "print_configuration", "profile")), _DEPLOY, ()),
    ("ignored", "method", ("azureml.core.model.Model.add_dataset_references",),
     "runyard keeps no dataset lineage on models (as Model.register(datasets=) is ignored); "
     "note the datasets in the model's tags or properties", ()),
    ("refused", "method", ("azureml.core.model.Model.get_sas_urls",),
     "SAS URLs are Azure Storage links; a model's files are in the workspace's artifact "
     "store: model.download(target_dir) copies them, Model.get_model_path(name) finds "
     "them", ()),
    # runs and experiments
    ("refused", "method", ("azureml.core.run.Run.add_type_provider",),
     "runyard has one Run class for every kind of run; Run.list and get_children return "
     "it, and run.type tells the kinds apart", ()),
    ("ignored", "method", ("azureml.core.run.Run.get_docs_url",
                           "azureml.core.experiment.Experiment.get_docs_url"), _AZURE_DOCS, ()),
    ("refused", "method", ("azureml.core.experiment.Experiment.from_directory",),
     "v1's deprecated project folders (aml_config/project.json); use "
     "Experiment(Workspace.from_config(path), name)", ()),
    # sign-in
    # sign-in
    ("refused", "method", ("azureml.core.authentication.AbstractAuthentication.get_token",
                           "azureml.core.authentication.AbstractAuthentication.signed_session"),
     _TOKEN, ()),
    ("refused", "method", ("azureml.core.authentication.AzureMLTokenAuthentication.create",),
     _TOKEN, ()),
    ("refused", "property", ("azureml.core.authentication.AzureMLTokenAuthentication.token",
                             "azureml.core.authentication.AzureMLTokenAuthentication.expiry_time"),
     _TOKEN, ()),
    ("ignored", "method", ("azureml.core.authentication.AzureMLTokenAuthentication.set_token",
                           "azureml.core.authentication.ArmTokenAuthentication"
                           ".update_arm_access_token"), _TOKEN, ()),
]


def _entries() -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for category, kind, paths, reason, also in TABLE:
        for path in paths:
            if path in entries:
                raise ValueError(f"_surface_table.py lists {path} twice")
            entries[path] = Entry(path, category, kind, reason, also)
    return entries


ENTRIES: dict[str, Entry] = _entries()
_BY_MODULE: dict[tuple[str, str], Entry] = {}
for _entry in ENTRIES.values():
    if _entry.kind in ("class", "function", "constant"):
        for _module in (_entry.owner, *_entry.also):
            _BY_MODULE[(_module, _entry.name)] = _entry
_MADE: dict[str, Any] = {}


def entry_for(module: str, name: str) -> Entry | None:
    """The entry of v1's `module.name` (`module` as v1 spells it: "azureml.core"), if any."""
    return _BY_MODULE.get((module, name))


def v1_path(runyard_module: str) -> str:
    """v1's spelling of a runyard.azureml module: "runyard.azureml.core" -> "azureml.core"."""
    return runyard_module.removeprefix("runyard.")


# -- the objects that stand for ignored and refused names ---------------------------------

def _refuse(entry: Entry) -> Callable[..., Any]:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise NotSupportedError(entry.message, name=entry.path)

    return _mark(refused, entry)


def _ignore(entry: Entry) -> Callable[..., Any]:
    def ignored(*args: Any, **kwargs: Any) -> None:
        warnings.warn(entry.message, AzureArgumentIgnoredWarning, stacklevel=2)

    return _mark(ignored, entry)


def _mark(function: Callable[..., Any], entry: Entry) -> Callable[..., Any]:
    function.__name__ = function.__qualname__ = entry.name
    function.__doc__ = entry.message
    setattr(function, MARKER, entry)
    return function


class _StandInMeta(type):
    """The class of refused and ignored v1 classes: any public attribute of the class
    (`AciWebservice.deploy_configuration`, `PrimaryMetricGoal.MAXIMIZE`) is refused or
    ignored as the class is, so v1's static constructors fail with the reason too."""

    def __getattr__(cls, name: str) -> Any:
        entry: Entry | None = cls.__dict__.get(MARKER)
        if entry is None or name.startswith("_"):
            raise AttributeError(name)
        member = Entry(f"{entry.path}.{name}", entry.category, "method", entry.reason)
        return _refuse(member) if entry.category == "refused" else _ignore(member)


def _stand_in_class(entry: Entry, module: str) -> type:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if entry.category == "refused":
            raise NotSupportedError(entry.message, name=entry.path)
        warnings.warn(entry.message, AzureArgumentIgnoredWarning, stacklevel=2)

    def __getattr__(self: Any, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return _ignore(Entry(f"{entry.path}.{name}", "ignored", "method", entry.reason))

    namespace: dict[str, Any] = {"__init__": __init__, "__doc__": entry.message,
                                 "__module__": module, MARKER: entry}
    if entry.category == "ignored":
        namespace["__getattr__"] = __getattr__
    return _StandInMeta(entry.name, (), namespace)


def stand_in(entry: Entry) -> Any:
    """The object that stands for `entry`'s name, made once."""
    if entry.path not in _MADE:
        module = "runyard." + entry.owner
        if entry.kind == "class":
            _MADE[entry.path] = _stand_in_class(entry, module)
        else:
            made = _refuse(entry) if entry.category == "refused" else _ignore(entry)
            made.__module__ = module
            _MADE[entry.path] = made
    return _MADE[entry.path]


# -- what v1 modules and classes call -----------------------------------------------------

_VERSION_NAMES = ("VERSION", "__version__")


def module_getattr(runyard_module: str) -> Callable[[str], Any]:
    """A module `__getattr__` serving the module's ignored and refused names, v1's
    exception classes and `VERSION`; any other name is v1's AttributeError."""
    v1_module = v1_path(runyard_module)

    def __getattr__(name: str) -> Any:
        entry = entry_for(v1_module, name)
        if entry is not None and entry.category != "implemented":
            return stand_in(entry)
        if name in _VERSION_NAMES:
            import runyard

            return runyard.__version__
        if not name.startswith("_") and name.endswith(("Exception", "Error")):
            exceptions = importlib.import_module("runyard.azureml.exceptions")
            if name in exceptions.__all__:
                return getattr(exceptions, name)
        raise AttributeError(f"module {runyard_module!r} has no attribute {name!r}")

    return __getattr__


def v1_members(v1_class: str) -> Callable[[T], T]:
    """A class decorator: the class gets the ignored and refused methods and properties
    that `ENTRIES` lists under `v1_class` and that it does not define itself."""

    def complete(cls: T) -> T:
        prefix = v1_class + "."
        for path, entry in ENTRIES.items():
            if not path.startswith(prefix) or "." in path[len(prefix):]:
                continue
            if entry.category == "implemented" or hasattr(cls, entry.name):
                continue
            function = _refuse(entry) if entry.category == "refused" else _ignore(entry)
            if entry.kind == "property":
                setattr(cls, entry.name, _StandInProperty(function, entry))
            else:
                setattr(cls, entry.name, _StandInMethod(function, entry))
        return cls

    return complete


class _StandInMethod:
    """A refused or ignored method: the same function on the class and on instances, so
    `Workspace.list(...)` and `ws.list_keys()` both say why."""

    def __init__(self, function: Callable[..., Any], entry: Entry) -> None:
        self.function = function
        setattr(self, MARKER, entry)

    def __get__(self, instance: Any, owner: Any = None) -> Callable[..., Any]:
        return self.function


class _StandInProperty:
    """A refused or ignored property: reading it on an instance raises or warns (and is
    None); on the class it is this descriptor, so `dir()` and `hasattr` walks survive."""

    def __init__(self, function: Callable[..., Any], entry: Entry) -> None:
        self.function = function
        setattr(self, MARKER, entry)
        self.__doc__ = entry.message

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        return self.function()


def surface_entry(obj: Any) -> Entry | None:
    """The entry an ignored or refused object stands for; None for implemented ones."""
    try:
        entry = getattr(obj, MARKER, None)
    except Exception:  # noqa: BLE001 - a stand-in property read on an instance
        return None
    return entry if isinstance(entry, Entry) else None


__all__ = ["ENTRIES", "Entry", "entry_for", "module_getattr", "stand_in", "surface_entry",
           "v1_members"]
