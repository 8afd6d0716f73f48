"""Azure ML v1 compatibility: v1's module paths, names and signatures under
`runyard.azureml`, the Azure-only arguments ignored with one warning line, AmlCompute as a
Ray provisioning configuration, `from azureml.core import Run` inside runs (never shadowing
a real azureml-core), clear refusals at submit, and the article's notebook end to end."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import runyard
from runyard import ComputeTarget, Experiment, Run, Workspace
from runyard._azureml_shim import ensure_azureml_shim
from runyard.azureml._ignored import AzureArgumentIgnoredWarning
from runyard.errors import ValidationError, WorkspaceNotFoundError

from .conftest import _processes_mentioning

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "examples" / "azureml-article"


# -- module paths, names and v1's signatures ---------------------------------------------

V1_NAMES = {
    "runyard.azureml.core": ["Workspace", "Experiment", "Run", "Datastore", "Environment",
                             "ScriptRunConfig", "Model", "RunConfiguration", "ComputeTarget"],
    "runyard.azureml.core.run": ["Run"],
    "runyard.azureml.core.workspace": ["Workspace"],
    "runyard.azureml.core.experiment": ["Experiment"],
    "runyard.azureml.core.datastore": ["Datastore"],
    "runyard.azureml.core.model": ["Model"],
    "runyard.azureml.core.environment": ["Environment"],
    "runyard.azureml.core.script_run_config": ["ScriptRunConfig"],
    "runyard.azureml.core.compute": ["ComputeTarget", "AmlCompute", "ComputeInstance"],
    "runyard.azureml.core.compute.amlcompute": ["AmlCompute"],
    "runyard.azureml.core.compute.computeinstance": ["ComputeInstance"],
    "runyard.azureml.core.compute_target": ["ComputeTargetException"],
    "runyard.azureml.core.runconfig": ["RunConfiguration", "MpiConfiguration",
                                       "TensorflowConfiguration", "PyTorchConfiguration"],
    "runyard.azureml.core.conda_dependencies": ["CondaDependencies"],
    "runyard.azureml.core.authentication": ["InteractiveLoginAuthentication",
                                            "ServicePrincipalAuthentication",
                                            "AzureCliAuthentication", "MsiAuthentication"],
    "runyard.azureml.exceptions": ["ComputeTargetException", "UserErrorException"],
    "runyard.azureml.train.dnn": ["TensorFlow", "PyTorch"],
    "runyard.azureml.train.estimator": ["Estimator"],
    "runyard.azureml.data.data_reference": ["DataReference"],
}


@pytest.mark.parametrize("module", sorted(V1_NAMES))
def test_v1_module_paths_and_names_exist(module: str) -> None:
    imported = importlib.import_module(module)
    for name in V1_NAMES[module]:
        assert hasattr(imported, name), f"{module}.{name}"
    assert set(V1_NAMES[module]) <= set(imported.__all__)


def test_the_mirror_reuses_runyards_classes_where_they_already_fit() -> None:
    from runyard.azureml import core
    from runyard.azureml.core import compute_target, runconfig
    from runyard.azureml.data import data_reference

    assert core.Run is runyard.Run
    assert core.Experiment is runyard.Experiment
    assert core.Datastore is runyard.Datastore
    assert core.Model is runyard.Model
    assert core.Environment is runyard.Environment
    assert core.ComputeTarget is runyard.ComputeTarget
    assert data_reference.DataReference is runyard.DataReference
    assert compute_target.ComputeTargetException is runyard.errors.ComputeTargetException
    assert runconfig.TensorflowConfiguration is runyard.distributed.TensorflowConfiguration
    assert issubclass(core.Workspace, runyard.Workspace)


# v1's documented signatures (docs.microsoft.com/python/api/azureml-core, azureml-train-core)
V1_SIGNATURES: dict[str, str] = {
    "core.Workspace": "subscription_id, resource_group, workspace_name, auth=None, "
                      "_location=None, _disable_service_check=False, _workspace_id=None, "
                      "sku='basic', tags=None, _cloud='AzureCloud'",
    "core.Workspace.from_config": "path=None, auth=None, _logger=None, _file_name=None",
    "core.Workspace.get": "name, auth=None, subscription_id=None, resource_group=None, "
                          "location=None, cloud='AzureCloud', id=None",
    "core.Workspace.create": (
        "name, auth=None, subscription_id=None, resource_group=None, location=None, "
        "create_resource_group=True, sku='basic', tags=None, friendly_name=None, "
        "storage_account=None, key_vault=None, app_insights=None, container_registry=None, "
        "adb_workspace=None, primary_user_assigned_identity=None, cmk_keyvault=None, "
        "resource_cmk_uri=None, hbi_workspace=False, default_cpu_compute_target=None, "
        "default_gpu_compute_target=None, private_endpoint_config=None, "
        "private_endpoint_auto_approval=True, exist_ok=False, show_output=True, "
        "user_assigned_identity_for_cmk_encryption=None, "
        "system_datastores_auth_mode='accessKey', v1_legacy_mode=None"),
    "core.Workspace.write_config": "path=None, file_name=None",
    "core.Experiment": "workspace, name, _skip_name_validation=False, _id=None, "
                       "_archived_time=None, _create_in_cloud=True, _experiment_dto=None, "
                       "**kwargs",
    "core.Experiment.submit": "config, tags=None, **kwargs",
    "core.Run": "experiment, run_id, outputs=None, **kwargs",
    "core.Run.get_context": "allow_offline=True, used_for_context_manager=False, **kwargs",
    "core.Run.log": "name, value, description='', step=None",
    "core.Run.log_list": "name, value, description=''",
    "core.Run.log_row": "name, description=None, **kwargs",
    "core.Run.log_table": "name, value, description=''",
    "core.Run.log_image": "name, path=None, plot=None, description=''",
    "core.Run.tag": "key, value=None",
    "core.Run.get_metrics": "name=None, recursive=False, run_type=None, populate=False",
    "core.Run.wait_for_completion": "show_output=False, wait_post_processing=False, "
                                    "raise_on_error=True",
    "core.Run.register_model": (
        "model_name, model_path=None, tags=None, properties=None, model_framework=None, "
        "model_framework_version=None, description=None, datasets=None, "
        "sample_input_dataset=None, sample_output_dataset=None, resource_configuration=None, "
        "**kwargs"),
    "core.Run.download_file": "name, output_file_path=None, _validate_checksum=False",
    "core.Run.download_files": "prefix=None, output_directory=None, output_paths=None, "
                               "batch_size=100, append_prefix=True, timeout_seconds=None",
    "core.Datastore": "workspace, name=None",
    "core.Datastore.get": "workspace, datastore_name",
    "core.Datastore.upload": "src_dir, target_path=None, overwrite=False, show_progress=True",
    "core.Environment": "name",
    "core.Environment.from_pip_requirements": "name, file_path, pip_version=None",
    "core.ScriptRunConfig": (
        "source_directory, script=None, arguments=None, run_config=None, "
        "_telemetry_values=None, compute_target=None, environment=None, "
        "distributed_job_config=None, resume_from=None, max_run_duration_seconds=2592000, "
        "command=None, docker_runtime_config=None"),
    "core.RunConfiguration": "script=None, arguments=None, framework=None, communicator=None, "
                             "conda_dependencies=None, _history_enabled=None, _path=None, "
                             "_name=None, command=None",
    "core.Model": "workspace, name=None, id=None, tags=None, properties=None, version=None, "
                  "run_id=None, model_framework=None, expand=True, **kwargs",
    "core.Model.register": (
        "workspace, model_path, model_name, tags=None, properties=None, description=None, "
        "datasets=None, model_framework=None, model_framework_version=None, child_paths=None, "
        "sample_input_dataset=None, sample_output_dataset=None, resource_configuration=None"),
    "core.Model.download": "target_dir='.', exist_ok=False, exists_ok=None",
    "core.compute.ComputeTarget": "workspace, name",
    "core.compute.ComputeTarget.create": "workspace, name, provisioning_configuration",
    "core.compute.AmlCompute": "workspace, name",
    "core.compute.AmlCompute.provisioning_configuration": (
        "vm_size='', vm_priority='dedicated', min_nodes=0, max_nodes=None, "
        "idle_seconds_before_scaledown=1800, admin_username=None, admin_user_password=None, "
        "admin_user_ssh_key=None, vnet_resourcegroup_name=None, vnet_name=None, "
        "subnet_name=None, tags=None, description=None, "
        "remote_login_port_public_access='NotSpecified', identity_type=None, "
        "identity_id=None, location=None, enable_node_public_ip=True"),
    "core.compute.AmlCompute.wait_for_completion": "show_output=False, min_node_count=None, "
                                                   "timeout_in_minutes=20, "
                                                   "is_delete_operation=False",
    "core.compute.ComputeInstance.provisioning_configuration": (
        "vm_size='', ssh_public_access=False, admin_user_ssh_public_key=None, "
        "vnet_resourcegroup_name=None, vnet_name=None, subnet_name=None, tags=None, "
        "description=None, assigned_user_object_id=None, assigned_user_tenant_id=None"),
    "core.runconfig.MpiConfiguration": "process_count_per_node=1, node_count=1",
    "core.runconfig.TensorflowConfiguration": "worker_count=1, parameter_server_count=1",
    "core.runconfig.PyTorchConfiguration": "communication_backend='Nccl', "
                                           "process_count=None, node_count=1",
    "core.conda_dependencies.CondaDependencies.create": (
        "pip_indexes=None, pip_packages=None, conda_packages=None, python_version='3.8.13', "
        "pin_sdk_version=True"),
    "data.data_reference.DataReference": (
        "datastore, data_reference_name=None, path_on_datastore=None, mode='mount', "
        "path_on_compute=None, overwrite=False"),
    "train.estimator.Estimator": (
        "source_directory, *, compute_target=None, vm_size=None, vm_priority=None, "
        "entry_script=None, script_params=None, node_count=1, process_count_per_node=1, "
        "distributed_backend=None, distributed_training=None, use_gpu=False, use_docker=True, "
        "custom_docker_base_image=None, custom_docker_image=None, image_registry_details=None, "
        "user_managed=False, conda_packages=None, pip_packages=None, "
        "conda_dependencies_file_path=None, pip_requirements_file_path=None, "
        "conda_dependencies_file=None, pip_requirements_file=None, environment_variables=None, "
        "environment_definition=None, inputs=None, source_directory_data_store=None, "
        "shm_size=None, resume_from=None, max_run_duration_seconds=None, "
        "_disable_validation=True, _show_lint_warnings=False, _show_package_warnings=False"),
    "train.dnn.TensorFlow": (
        "source_directory, *, compute_target=None, vm_size=None, vm_priority=None, "
        "entry_script=None, script_params=None, node_count=1, process_count_per_node=1, "
        "worker_count=1, parameter_server_count=1, distributed_backend=None, "
        "distributed_training=None, use_gpu=False, use_docker=True, "
        "custom_docker_base_image=None, custom_docker_image=None, image_registry_details=None, "
        "user_managed=False, conda_packages=None, pip_packages=None, "
        "conda_dependencies_file_path=None, pip_requirements_file_path=None, "
        "conda_dependencies_file=None, pip_requirements_file=None, environment_variables=None, "
        "environment_definition=None, inputs=None, source_directory_data_store=None, "
        "shm_size=None, resume_from=None, max_run_duration_seconds=None, "
        "framework_version=None, _enable_optimized_mode=False, _disable_validation=True, "
        "_show_lint_warnings=False, _show_package_warnings=False"),
    "train.dnn.PyTorch": (
        "source_directory, *, compute_target=None, vm_size=None, vm_priority=None, "
        "entry_script=None, script_params=None, node_count=1, process_count_per_node=1, "
        "distributed_backend=None, distributed_training=None, use_gpu=False, use_docker=True, "
        "custom_docker_base_image=None, custom_docker_image=None, image_registry_details=None, "
        "user_managed=False, conda_packages=None, pip_packages=None, "
        "conda_dependencies_file_path=None, pip_requirements_file_path=None, "
        "conda_dependencies_file=None, pip_requirements_file=None, environment_variables=None, "
        "environment_definition=None, inputs=None, source_directory_data_store=None, "
        "shm_size=None, resume_from=None, max_run_duration_seconds=None, "
        "framework_version=None, _enable_optimized_mode=False, _disable_validation=True, "
        "_show_lint_warnings=False, _show_package_warnings=False"),
}
# Where runyard's default differs from v1's on purpose, and why.
DIFFERENT_DEFAULTS = {
    ("core.conda_dependencies.CondaDependencies.create", "python_version"):
        "v1 pinned its own Python; None means the Python runyard runs on",
}


def _resolve(path: str) -> Any:
    """`core.Workspace.from_config` → runyard.azureml.core's Workspace.from_config."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):  # the longest importable module, then attributes
        try:
            target: Any = importlib.import_module("runyard.azureml." + ".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            target = getattr(target, name)
        return target
    raise AssertionError(f"nothing at runyard.azureml.{path}")


def _v1(parameters: str) -> inspect.Signature:
    namespace: dict[str, Any] = {}
    exec(f"def v1({parameters}): pass", namespace)  # the v1 signatures above
    return inspect.signature(namespace["v1"])


def _mismatches(ours: inspect.Signature, v1: inspect.Signature,
                different_defaults: frozenset[str] = frozenset()) -> list[str]:
    """What a v1 call could not do with `ours`: an argument not accepted (by name, or by
    **kwargs), a default that is not v1's, a v1 keyword that is positional-only here, or
    v1's required positional arguments out of their places."""
    mine = ours.parameters
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in mine.values())
    problems = []
    for name, wanted in v1.parameters.items():
        if wanted.kind in (wanted.VAR_KEYWORD, wanted.VAR_POSITIONAL):
            continue
        if name not in mine:
            if not takes_kwargs:
                problems.append(f"{name} is not accepted")
            continue
        have = mine[name]
        if have.kind not in (have.KEYWORD_ONLY, have.POSITIONAL_OR_KEYWORD):
            problems.append(f"{name} cannot be given by name")
        if name not in different_defaults and wanted.default is not wanted.empty and \
                have.default != wanted.default:
            problems.append(f"{name} defaults to {have.default!r}, v1: {wanted.default!r}")
    required = [n for n, p in v1.parameters.items()
                if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty]
    positional = [n for n, p in mine.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    if positional[:len(required)] != required:
        problems.append(f"positional arguments {positional} do not start with v1's {required}")
    return problems


@pytest.mark.parametrize("path", sorted(V1_SIGNATURES))
def test_v1_calls_fit_the_mirrors_signature(path: str) -> None:
    """Every v1 argument is accepted (by name, or by **kwargs where v1 had one or runyard
    ignores it), with v1's default, and v1's required positional arguments keep their
    places."""
    different = frozenset(name for where, name in DIFFERENT_DEFAULTS if where == path)
    ours = inspect.signature(_resolve(path))
    if next(iter(ours.parameters), None) == "self":  # a method, looked up on its class
        ours = ours.replace(parameters=list(ours.parameters.values())[1:])
    problems = _mismatches(ours, _v1(V1_SIGNATURES[path]), different)
    assert not problems, f"{path}: " + "; ".join(problems)


def test_the_signature_check_finds_what_a_v1_call_would_trip_on() -> None:
    def off(max_nodes: int = 9, /, vm_size: str = "", *, min_nodes: int = 0) -> None: ...

    problems = _mismatches(inspect.signature(off),
                           _v1("workspace, vm_size='', max_nodes=None, location=None"))
    assert "location is not accepted" in problems
    assert "max_nodes cannot be given by name" in problems
    assert "max_nodes defaults to 9, v1: None" in problems
    assert any(p.startswith("positional arguments") for p in problems)


def test_importing_the_mirror_loads_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "import runyard.azureml.core, runyard.azureml.core.compute, "
        "runyard.azureml.core.runconfig, runyard.azureml.core.authentication, "
        "runyard.azureml.train.dnn, runyard.azureml.train.estimator, "
        "runyard.azureml.data.data_reference\n"
        "heavy = {'tensorflow', 'ray', 'torch', 'numpy', 'sqlalchemy', 'alembic', 'fsspec', "
        "'rich'}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & heavy)))\n")
    out = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True,
                         text=True, check=True).stdout
    assert json.loads(out) == []


# -- Azure-only arguments: accepted, one warning line ------------------------------------

def _one_warning(record: pytest.WarningsRecorder, *names: str) -> str:
    messages = [str(w.message) for w in record if issubclass(w.category,
                                                             AzureArgumentIgnoredWarning)]
    assert len(messages) == 1, messages
    assert "\n" not in messages[0]
    for name in names:
        assert name in messages[0]
    return messages[0]


def test_azure_only_compute_arguments_are_ignored_with_one_warning_line() -> None:
    from runyard.azureml.core.compute import AmlCompute

    with pytest.warns(AzureArgumentIgnoredWarning) as record:
        config = AmlCompute.provisioning_configuration(
            vm_size="STANDARD_D2_V2", max_nodes=2, admin_username="azureuser",
            admin_user_password="secret", vnet_name="vnet", subnet_name="default",
            location="eastus2", identity_type="SystemAssigned")
    message = _one_warning(record, "admin_username", "admin_user_password", "vnet_name",
                           "subnet_name", "location", "identity_type")
    assert "secret" not in message      # names, never values
    assert config.max_nodes == 2


def test_passing_v1_defaults_explicitly_warns_about_nothing(recwarn: pytest.WarningsRecorder,
                                                            tmp_path: Path) -> None:
    from runyard.azureml.core.compute import AmlCompute
    from runyard.azureml.train.dnn import TensorFlow

    AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", vm_priority="dedicated",
                                          remote_login_port_public_access="NotSpecified",
                                          enable_node_public_ip=True)
    TensorFlow(str(tmp_path), entry_script="t.py", use_docker=True, _disable_validation=True)
    assert [str(w.message) for w in recwarn] == []


def test_azure_sign_in_and_workspace_arguments_are_ignored_with_one_warning_line(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from runyard.azureml.core import Workspace as V1Workspace
    from runyard.azureml.core.authentication import (
        InteractiveLoginAuthentication,
        ServicePrincipalAuthentication,
    )

    monkeypatch.chdir(workspace.path)
    with pytest.warns(AzureArgumentIgnoredWarning) as record:
        auth = InteractiveLoginAuthentication(tenant_id="tenant")
    _one_warning(record, "InteractiveLoginAuthentication")
    with pytest.warns(AzureArgumentIgnoredWarning) as record:
        ServicePrincipalAuthentication(tenant_id="t", service_principal_id="id",
                                       service_principal_password="password")
    assert "password" not in _one_warning(record, "ServicePrincipalAuthentication")
    with pytest.warns(AzureArgumentIgnoredWarning) as record:
        ws = V1Workspace(subscription_id="0000-1111", resource_group="rg",
                         workspace_name="test", auth=auth)
    _one_warning(record, "subscription_id", "resource_group", "auth")
    assert ws == workspace
    with pytest.warns(AzureArgumentIgnoredWarning) as record:
        V1Workspace.create(name="test", subscription_id="0000-1111", resource_group="rg",
                           create_resource_group=True, location="eastus2", exist_ok=True)
    _one_warning(record, "subscription_id", "resource_group", "location")


def test_ignored_estimator_arguments_warn_once_and_v1_aliases_still_work(
        tmp_path: Path) -> None:
    from runyard.azureml.train.estimator import Estimator

    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six==1.16.0\n")
    with pytest.warns(AzureArgumentIgnoredWarning) as record:
        est = Estimator(str(tmp_path), entry_script="t.py", shm_size="2g", use_docker=False,
                        vm_size="STANDARD_NC6", pip_requirements_file_path=str(requirements))
    _one_warning(record, "shm_size", "use_docker", "vm_size")
    assert est._environment().build_spec()["pip"] == ["six==1.16.0"]
    with pytest.raises(ValidationError, match="conda environment files are not read"):
        Estimator(str(tmp_path), entry_script="t.py", conda_dependencies_file="env.yml")


# -- workspaces ----------------------------------------------------------------------------

def test_v1_workspace_constructors_find_the_workspace_folder(
        workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runyard.azureml.core import Workspace as V1Workspace

    below = workspace.path / "notebooks" / "deep"
    below.mkdir(parents=True)
    monkeypatch.chdir(below)
    ws = V1Workspace.from_config()
    assert isinstance(ws, V1Workspace)
    assert ws == workspace
    assert (ws.name, ws.subscription_id, ws.resource_group, ws.location) == \
        ("test", "local", "local", "local")
    assert V1Workspace.get("test") == workspace
    assert V1Workspace.from_config(path=str(workspace.config_dir / "config.json")) == workspace
    with pytest.raises(WorkspaceNotFoundError, match=r"is 'test' .* not 'other'"):
        V1Workspace.get("other")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkspaceNotFoundError, match="no workspace found"):
        V1Workspace.from_config()
    made = V1Workspace.create(name="fresh")
    assert isinstance(made, V1Workspace)
    assert (tmp_path / ".runyard" / "config.json").is_file()
    assert V1Workspace.from_config().name == "fresh"


# -- compute: AmlCompute is a Ray provisioning configuration ---------------------------------

def test_vm_sizes_become_ray_node_resources() -> None:
    from runyard.azureml.core.compute import AmlCompute, ComputeInstance
    from runyard.compute import RayProvisioningConfiguration

    gpu = AmlCompute.provisioning_configuration(vm_size="STANDARD_NC6", max_nodes=4)
    assert isinstance(gpu, RayProvisioningConfiguration)
    assert gpu.target_type == "ray"
    assert gpu.resources == {"CPU": 6, "GPU": 1, "memory_gib": 56}
    assert (gpu.min_nodes, gpu.max_nodes, gpu.idle_seconds_before_scaledown,
            gpu.vm_priority) == (0, 4, 1800, "dedicated")
    cpu = AmlCompute.provisioning_configuration(vm_size="Standard_D2_v2", min_nodes=1,
                                                max_nodes=3, vm_priority="lowpriority",
                                                idle_seconds_before_scaledown=120)
    assert cpu.resources == {"CPU": 2, "GPU": 0, "memory_gib": 7}
    assert (cpu.min_nodes, cpu.max_nodes, cpu.idle_seconds_before_scaledown,
            cpu.vm_priority) == (1, 3, 120, "lowpriority")
    default = AmlCompute.provisioning_configuration()  # v1: Standard_NC6, 4 nodes
    assert (default.vm_size, default.max_nodes) == ("STANDARD_NC6", 4)
    instance = ComputeInstance.provisioning_configuration()
    assert (instance.min_nodes, instance.max_nodes) == (1, 1)
    assert instance.resources == {"CPU": 4, "GPU": 0, "memory_gib": 14}  # STANDARD_DS3_V2
    sizes = {row["name"]: row for row in AmlCompute.supported_vmsizes(workspace=None)}
    assert sizes["STANDARD_NC6"]["gpus"] == 1


def test_an_unknown_vm_size_is_an_error_listing_the_known_ones() -> None:
    from runyard.azureml.core.compute import AmlCompute

    with pytest.raises(ValidationError, match="unknown vm_size 'STANDARD_XL9000'") as error:
        AmlCompute.provisioning_configuration(vm_size="STANDARD_XL9000")
    assert "STANDARD_D2_V2" in str(error.value)
    assert "STANDARD_NC6" in str(error.value)
    assert "node_resources" in str(error.value)
    assert "STANDARD_NC6" in error.value.valid  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match="max_nodes"):
        AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=0)


def test_a_missing_cluster_raises_v1s_compute_target_exception(workspace: Workspace) -> None:
    from runyard.azureml.core.compute import AmlCompute, ComputeTarget
    from runyard.azureml.core.compute_target import ComputeTargetException

    with pytest.raises(ComputeTargetException, match="unknown compute target 'gpucluster'"):
        ComputeTarget(workspace=workspace, name="gpucluster")
    with pytest.raises(ComputeTargetException, match="'local' is a local compute"):
        AmlCompute(workspace, "local")
    assert ComputeTarget(workspace, "local").type == "local"


# -- inside runs: `from azureml.core import Run` ------------------------------------------

V1_SCRIPT = """
    import os, sys
    from azureml.core import Run
    from azureml.core.run import Run as RunToo, _OfflineRun

    run = Run.get_context()
    assert RunToo is Run and not isinstance(run, _OfflineRun)
    run.log("accuracy", 0.5)
    run.log("accuracy", 0.75)
    run.log_list("layers", [300, 100])
    run.log_row("curve", epoch=1, loss=0.5)
    run.tag("framework", "v1")
    with open("notes.txt", "w") as f:
        f.write("uploaded")
    run.upload_file("extra/notes.txt", "notes.txt")
    run.log("experiment", run.experiment.name)
    run.log("interpreter", sys.executable)
    run.log("argument", sys.argv[1] if len(sys.argv) > 1 else "")
    run.log("answer", os.environ.get("ANSWER", ""))
"""


def test_a_v1_script_logs_through_azureml_core_run_on_the_local_compute(
        submit: Callable[..., Run]) -> None:
    run = submit(V1_SCRIPT)
    assert run.wait_for_completion(timeout_seconds=60)["status"] == "Completed"
    metrics = run.get_metrics()
    assert metrics["accuracy"] == [0.5, 0.75]
    assert metrics["layers"] == [300, 100]
    assert metrics["curve"] == {"epoch": [1], "loss": [0.5]}
    assert metrics["experiment"] == "tests"
    assert metrics["interpreter"] == sys.executable
    assert run.get_tags()["framework"] == "v1"
    assert "extra/notes.txt" in run.get_file_names()


def _bare_python() -> str:
    """A Python 3.10+ without runyard and azureml (the system's), or skip."""
    candidate = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    if candidate is None:
        pytest.skip("no system python3")
    probe = subprocess.run(
        [candidate, "-c", "import sys, importlib.util as u; print(sys.version_info >= (3, 10) "
                          "and not u.find_spec('runyard') and not u.find_spec('azureml'))"],
        capture_output=True, text=True, env={"PATH": os.environ.get("PATH", "")})
    if probe.stdout.strip() != "True":
        pytest.skip(f"{candidate} is older than 3.10 or has runyard/azureml installed")
    return candidate


def test_a_v1_run_configuration_runs_the_script_unchanged_in_a_bare_interpreter(
        experiment: Experiment, source: Callable[..., Path]) -> None:
    from runyard.azureml.core import RunConfiguration, ScriptRunConfig

    python = _bare_python()
    run_config = RunConfiguration(script="train.py", arguments=["hello"])
    run_config.environment.python.user_managed_dependencies = True
    run_config.environment.python.interpreter_path = python
    run_config.environment_variables = {"ANSWER": "42"}
    run_config.target = "local"
    run = experiment.submit(ScriptRunConfig(source_directory=str(source(V1_SCRIPT)),
                                            run_config=run_config))
    assert run.wait_for_completion(timeout_seconds=60)["status"] == "Completed"
    metrics = run.get_metrics()
    assert (metrics["interpreter"], metrics["argument"], metrics["answer"]) == \
        (python, "hello", "42")
    assert metrics["accuracy"] == [0.5, 0.75]


FAKE_AZUREML = {  # a stand-in for the real azureml-core: a pkgutil namespace, as it ships
    "azureml/__init__.py": "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n",
    "azureml/core/__init__.py": "REAL = True\nfrom azureml.core.run import Run\n",
    "azureml/core/run.py": "class Run:\n    @classmethod\n    def get_context(cls):\n"
                           "        return 'the real azureml-core'\n",
}


def _install(files: dict[str, str], folder: Path) -> Path:
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content)
    return folder


@pytest.mark.parametrize("layout", ["regular", "namespace"])
def test_the_shim_answers_only_where_no_real_azureml_is_installed(
        tmp_path: Path, layout: str) -> None:
    shim = ensure_azureml_shim(tmp_path / "cache")
    real = _install(FAKE_AZUREML, tmp_path / "site")
    if layout == "namespace":  # PEP 420: an azureml folder without __init__.py
        (real / "azureml" / "__init__.py").unlink()
    code = ("import sys; sys.path.append(sys.argv[1])\n"  # later on sys.path: site-packages
            "import azureml.core\n"
            "from azureml.core import Run\n"
            "print('REAL' in vars(azureml.core), Run.get_context())\n")
    env = {**os.environ, "PYTHONPATH": str(shim)}
    with_real = subprocess.run([sys.executable, "-c", code, str(real)], env=env,
                               capture_output=True, text=True, check=True).stdout
    assert with_real.strip() == "True the real azureml-core"
    without = subprocess.run([sys.executable, "-c", code, str(tmp_path / "nowhere")], env=env,
                             capture_output=True, text=True, check=True).stdout
    assert without.startswith("False OfflineRun(")


def test_the_shim_says_what_it_cannot_give(tmp_path: Path) -> None:
    shim = ensure_azureml_shim(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", "from azureml.core import Dataset"],
        env={**os.environ, "PYTHONPATH": str(shim)}, capture_output=True, text=True)
    assert out.returncode == 1
    assert "azureml.core.Dataset is not available inside this run" in out.stderr
    assert "pip_packages=['azureml-core']" in out.stderr


def test_the_shim_folder_is_made_once_per_content(tmp_path: Path) -> None:
    first = ensure_azureml_shim(tmp_path)
    assert ensure_azureml_shim(tmp_path) == first
    assert sorted(p.relative_to(first).as_posix() for p in first.rglob("*.py")) == [
        "azureml/__init__.py", "azureml/core/__init__.py", "azureml/core/run.py"]
    assert [p.name for p in (tmp_path / ".azureml").iterdir()] == [first.name]


# -- the core does not import the mirror ----------------------------------------------------
CORE_MODULES = ["runyard", "runyard.supervisor._driver", "runyard.supervisor.__main__",
                "runyard.run", "runyard.experiment", "runyard.models", "runyard.data",
                "runyard.environment", "runyard.compute", "runyard.train", "runyard.cli",
                "runyard._azureml_shim"]


def _fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_core_loads_no_runyard_azureml_module() -> None:
    """The supervisor (which makes the in-run shim folder) and runyard's own API load no
    module of the v1 mirror: it depends on the core, never the reverse."""
    assert _fresh("import sys, runyard.supervisor._driver\n"
                  "print(sorted(m for m in sys.modules if m.startswith('runyard.azureml')))"
                  ) == "[]"
    loaded = _fresh(f"import sys, {', '.join(CORE_MODULES)}\n"
                    "print(sorted(m for m in sys.modules if m.startswith('runyard.azureml')))")
    assert loaded == "[]"


# Each class runyard.azureml completes, with the v1 members it got, as JSON.
_COMPLETED = """
import json, sys
from runyard import _v1
for name in sys.argv[1].split(","):
    __import__(name)
print(json.dumps({f"{c.__module__}.{c.__qualname__}": sorted(
    n for n, v in vars(c).items() if hasattr(v, "__runyard_surface__"))
    for c in _v1.marked()}, sort_keys=True))
"""


def _completed(*modules: str) -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", _COMPLETED, ",".join(modules)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    completed: dict[str, list[str]] = json.loads(done.stdout)
    return completed


def test_the_mirror_gives_core_classes_their_v1_members_whichever_is_imported_first(
        ) -> None:
    core = ["runyard.run", "runyard.experiment", "runyard.models", "runyard.data",
            "runyard.environment"]
    before = _completed(*core)
    assert "runyard.run.Run" in before
    assert all(names == [] for names in before.values()), before  # the mirror is not loaded
    core_first = _completed(*core, "runyard.azureml")
    mirror_first = _completed("runyard.azureml", *core)
    assert core_first == mirror_first
    assert set(core_first) == set(before)
    assert all(core_first.values()), core_first  # every marked class got its members
    from runyard.azureml import _surface

    refused = {e.name for path, e in _surface.ENTRIES.items()
               if path.startswith("azureml.core.run.Run.") and e.category == "refused"}
    assert refused & set(core_first["runyard.run.Run"])


def test_a_real_azureml_core_in_the_runs_environment_is_not_shadowed(
        experiment: Experiment, source: Callable[..., Path], tmp_path: Path) -> None:
    from runyard.azureml.core import Environment, ScriptRunConfig

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    _install(FAKE_AZUREML, site)
    env = Environment("with-azureml-core")
    env.python.user_managed_dependencies = True
    env.python.interpreter_path = str(venv / "bin" / "python")
    script = """
        import azureml.core
        from azureml.core import Run
        from runyard import Run as RunyardRun

        run = RunyardRun.get_context()
        run.log("context", Run.get_context())
        run.log("core", azureml.core.__file__)
    """
    run = experiment.submit(ScriptRunConfig(source_directory=str(source(script)),
                                            script="train.py", environment=env))
    assert run.wait_for_completion(timeout_seconds=60)["status"] == "Completed"
    metrics = run.get_metrics()
    assert metrics["context"] == "the real azureml-core"
    assert metrics["core"] == str(site / "azureml" / "core" / "__init__.py")


# -- RunConfiguration and ScriptRunConfig ---------------------------------------------------

def test_a_run_configuration_gives_its_distributed_settings(tmp_path: Path) -> None:
    from runyard.azureml.core import RunConfiguration, ScriptRunConfig

    (tmp_path / "train.py").write_text("pass\n")
    run_config = RunConfiguration(communicator="ParameterServer", framework="TensorFlow")
    run_config.tensorflow.worker_count = 2
    config = ScriptRunConfig(source_directory=str(tmp_path), script="train.py",
                             run_config=run_config)._submission().config
    assert config["distributed"]["framework"] == "tensorflow"
    assert config["distributed"]["worker_count"] == 2
    run_config = RunConfiguration(communicator="Mpi")
    run_config.mpi.process_count_per_node = 3
    config = ScriptRunConfig(str(tmp_path), "train.py", run_config=run_config,
                             )._submission().config
    assert (config["distributed"]["framework"], config["distributed"]["process_count_per_node"]
            ) == ("mpi", 3)
    with pytest.raises(ValidationError, match="communicator 'Carrier-Pigeon' is not one of"):
        RunConfiguration(communicator="Carrier-Pigeon").distributed_job_config()
    with pytest.raises(ValidationError, match=r"command=\.\.\.\) is not supported"):
        ScriptRunConfig(str(tmp_path), command=["python", "train.py"])


# -- what this machine cannot give: refused at submit, clearly, leaving no run -----------

def test_what_the_machine_cannot_give_is_refused_at_submit(
        experiment: Experiment, source: Callable[..., Path]) -> None:
    from runyard.azureml.core.runconfig import MpiConfiguration, TensorflowConfiguration
    from runyard.azureml.train.dnn import PyTorch, TensorFlow
    from runyard.compute._gpus import gpu_count as _gpu_count

    folder = str(source("pass"))
    # the article's Horovod estimator: TensorFlow 1.13 needs Python ≤ 3.7
    horovod = TensorFlow(source_directory=folder, compute_target="local",
                         entry_script="train.py", node_count=2, process_count_per_node=1,
                         distributed_training=MpiConfiguration(), framework_version="1.13",
                         use_gpu=True)
    with pytest.raises(ValidationError, match=r"TensorFlow 1\.x, which installs only on "
                                              r"Python 3\.7 or older.*framework_version="
                                              r"'2\.21'"):
        experiment.submit(horovod)
    with pytest.raises(ValidationError, match=r"TensorFlow 2\.2 has no build for Python "
                                              r"3\.\d+.*the oldest that installs is 2\.\d+"):
        experiment.submit(TensorFlow(folder, entry_script="train.py", framework_version="2.2"))
    with pytest.raises(ValidationError, match=r"PyTorch 1\.4 has no build for Python"):
        experiment.submit(PyTorch(folder, entry_script="train.py", framework_version="1.4"))
    # the article's parameter-server estimator: two nodes on a one-node compute
    ps = TensorflowConfiguration()
    ps.worker_count = 2
    with pytest.raises(ValidationError, match="local compute is one node, and this run asks "
                                              "for 2"):
        experiment.submit(TensorFlow(folder, entry_script="train.py", node_count=2,
                                     process_count_per_node=1, distributed_training=ps))
    if _gpu_count() == 0:
        with pytest.raises(ValidationError, match="use_gpu=True, but this machine has no "
                                                  "NVIDIA GPU"):
            experiment.submit(TensorFlow(folder, entry_script="train.py", use_gpu=True))
    assert experiment.workspace.store.list_runs() == []


def test_the_v1_estimators_build_the_environment_v1_described(tmp_path: Path) -> None:
    from runyard.azureml.train.dnn import PyTorch, TensorFlow

    tf = TensorFlow(str(tmp_path), entry_script="t.py", pip_packages=["pillow"])
    assert tf._environment().build_spec()["pip"] == ["pillow", "tensorflow-cpu==2.21.*",
                                                     "tf-keras==2.21.*"]
    assert TensorFlow(str(tmp_path), entry_script="t.py", framework_version="1.13"
                      ).framework_version == "1.13"   # accepted here, refused at submit
    ps = TensorFlow(str(tmp_path), entry_script="t.py", distributed_backend="ps",
                    worker_count=3, parameter_server_count=2)._distributed()
    assert ps is not None
    assert (ps["worker_count"], ps["parameter_server_count"]) == (3, 2)
    assert PyTorch(str(tmp_path), entry_script="t.py")._environment().build_spec()["pip"] == \
        ["torch==2.13.*"]
    with pytest.raises(ValidationError, match="not a TensorFlow version"):
        TensorFlow(str(tmp_path), entry_script="t.py", framework_version="latest")


# -- the article, end to end on the local compute ------------------------------------------

@pytest.fixture(scope="module")
def article(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Run examples/azureml-article/article.py once, as the article does: AmlCompute
    'gpucluster' (STANDARD_NC6 nodes: a Ray cluster this workspace starts on this machine),
    with the nearest values this machine runs (no GPU, 2 short epochs); the parameter-server
    run asks for two nodes, so the cluster scales from its head to two nodes. Environments
    are built in a cache of its own (uv's download cache is shared and warm)."""
    pytest.importorskip("ray")
    workdir = tmp_path_factory.mktemp("article")
    env = {**os.environ, "RUNYARD_ENV_CACHE": str(workdir / "env-cache")}
    done = subprocess.run(
        [sys.executable, str(ARTICLE / "article.py"), "--workdir", str(workdir / "notebook"),
         "--no-gpu", "--nodes", "2", "--quick"],
        env=env, capture_output=True, text=True, timeout=1500)
    output = done.stdout + done.stderr
    ws = Workspace.from_config(workdir / "notebook")
    try:
        assert done.returncode == 0, output[-6000:]
        runs = {ws.store.get_run(run.id)["config"]["script"]: run
                for run in Experiment(ws, "tf-mnist").get_runs()}
        yield {"workspace": ws, "runs": runs, "output": output,
               "folder": workdir / "notebook"}
    finally:
        with contextlib.suppress(Exception):  # the cluster outlives article.py
            ComputeTarget(ws, "gpucluster").delete()
    for pid in _processes_mentioning(str(workdir)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.tf
@pytest.mark.ray
@pytest.mark.timeout(1600)
def test_the_article_trains_registers_and_downloads_the_model(article: dict[str, Any]) -> None:
    single = article["runs"]["tf_mnist.py"]
    assert single.get_status() == "Completed"
    metrics = single.get_metrics()
    assert len(metrics["training_acc"]) == 2
    assert len(metrics["validation_acc"]) == 2
    assert metrics["final_acc"] > 0.8
    from runyard import Model

    model = Model(article["workspace"], "tf-dnn-mnist")
    assert (model.version, model.run_id) == (1, single.id)
    downloaded = article["folder"] / "model" / "mnist-tf.keras"
    with article["workspace"].artifacts.open(
            f"runs/{single.id}/outputs/model/mnist-tf.keras") as handle:
        assert downloaded.read_bytes() == handle.read()
    assert "Creating a new compute target..." in article["output"]
    assert article["runs"]["tf_mnist.py"].get_details()["target"] == "gpucluster"
    assert "runyard refuses the Horovod estimator: framework_version '1.13'" in \
        article["output"]


@pytest.mark.slow
@pytest.mark.tf
@pytest.mark.ray
@pytest.mark.timeout(1600)
def test_the_article_parameter_server_run_trains_two_workers_through_one_ps(
        article: dict[str, Any]) -> None:
    distributed = article["runs"]["script.py"]
    assert distributed.get_status() == "Completed"
    store = article["workspace"].store
    for name in ("training_acc", "validation_acc", "variable_device", "global_step"):
        assert {row["rank"] for row in store.get_metrics(distributed.id, name)} == {0, 1}, name
    devices = {row["text"] for row in store.get_metrics(distributed.id, "variable_device")}
    assert all(device.startswith("/job:ps/") for device in devices)
    steps = max(row["value"] for row in store.get_metrics(distributed.id, "global_step"))
    assert steps > 300                  # both workers updated the one global step on the ps
    final = store.get_metrics(distributed.id, "final_acc")
    assert [row["rank"] for row in final] == [0]   # the chief, once
    assert final[0]["value"] > 0.5
    files = set(distributed.get_file_names())
    assert {"outputs/model/weights.npz", "logs/worker_0.txt", "logs/worker_1.txt",
            "logs/ps_0.txt"} <= files
    with article["workspace"].artifacts.open(f"runs/{distributed.id}/logs/ps_0.txt") as log:
        assert b"parameter server 0 serving" in log.read()
