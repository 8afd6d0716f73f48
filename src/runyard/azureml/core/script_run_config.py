"""`azureml.core.script_run_config`: ScriptRunConfig with v1's arguments, and its
`run_config`.

As in v1, a ScriptRunConfig keeps its settings in a RunConfiguration, `src.run_config`
(made when none is given): `compute_target`, `environment`, `distributed_job_config`,
`max_run_duration_seconds` and `docker_runtime_config` are written into it, and a submit
reads it, so `src.run_config.environment = env` or `src.run_config.node_count = 2` after
construction is what the run gets. Where `run_config=` is given with other arguments, the
arguments given win (v1 ignored them with a warning; runyard applies them).
"""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING, Any

from runyard.azureml._ignored import warn_ignored
from runyard.azureml._surface import module_getattr
from runyard.azureml.core.runconfig import RunConfiguration
from runyard.errors import ValidationError
from runyard.train import ScriptRunConfig as _ScriptRunConfig
from runyard.train.script_run_config import DEFAULT_MAX_RUN_DURATION_SECONDS, Submission

if TYPE_CHECKING:
    from runyard.run import Run
    from runyard.workspace import Workspace

_IGNORED = {"_telemetry_values": None, "resume_from": None}


class ScriptRunConfig(_ScriptRunConfig):
    """Run `script` from `source_directory` (v1's signature); `run_config` holds where
    and how.

    Example:
        >>> config = ScriptRunConfig(source_directory="./train", script="train.py",
        ...                          compute_target="local")  # doctest: +SKIP
        >>> config.run_config.environment = env                  # doctest: +SKIP
    """

    MAX_DURATION_SECONDS_DEFAULT = DEFAULT_MAX_RUN_DURATION_SECONDS
    DELIM = "."

    def __init__(self, source_directory: str | os.PathLike[str], script: str | None = None,
                 arguments: list[Any] | None = None,
                 run_config: RunConfiguration | None = None, _telemetry_values: Any = None,
                 compute_target: Any = None, environment: Any = None,
                 distributed_job_config: Any = None, resume_from: Any = None,
                 max_run_duration_seconds: int | None = DEFAULT_MAX_RUN_DURATION_SECONDS,
                 command: str | list[str] | None = None,
                 docker_runtime_config: Any = None) -> None:
        warn_ignored("ScriptRunConfig", locals(), _IGNORED)
        if command:
            raise ValidationError("ScriptRunConfig(command=...) is not supported; give the "
                                  "script and its arguments (script=, arguments=)")
        given = run_config is not None
        if run_config is None:
            run_config = RunConfiguration()
        elif not isinstance(run_config, RunConfiguration):
            raise ValidationError(f"run_config must be a RunConfiguration, got "
                                  f"{type(run_config).__name__}")
        if compute_target is not None:
            run_config.target = compute_target
        if environment is not None:
            run_config.environment = environment
        if distributed_job_config is not None:
            run_config._set_distributed(distributed_job_config)
        if max_run_duration_seconds != DEFAULT_MAX_RUN_DURATION_SECONDS or not given or \
                run_config.max_run_duration_seconds is None:
            run_config.max_run_duration_seconds = max_run_duration_seconds
        if docker_runtime_config is not None:
            run_config.docker = docker_runtime_config
        self.source_directory = source_directory
        self.script = script or run_config.script
        self.arguments = list(arguments if arguments is not None else run_config.arguments)
        self.run_config: RunConfiguration = run_config
        self.command = command

    # the core ScriptRunConfig's settings, read from and written to run_config
    @property
    def compute_target(self) -> Any:
        return self.run_config.compute_target()

    @compute_target.setter
    def compute_target(self, value: Any) -> None:
        self.run_config.target = "local" if value is None else value

    @property
    def environment(self) -> Any:
        return self.run_config._environment_for_submit()

    @environment.setter
    def environment(self, value: Any) -> None:
        self.run_config.environment = value

    @property
    def distributed_job_config(self) -> Any:
        return self.run_config.distributed_job_config()

    @distributed_job_config.setter
    def distributed_job_config(self, value: Any) -> None:
        if value is None:
            self.run_config.communicator = "None"
        else:
            self.run_config._set_distributed(value)

    @property
    def max_run_duration_seconds(self) -> int | None:
        return self.run_config.max_run_duration_seconds

    @max_run_duration_seconds.setter
    def max_run_duration_seconds(self, value: int | None) -> None:
        self.run_config.max_run_duration_seconds = value

    @property
    def environment_variables(self) -> dict[str, str]:
        return self.run_config.environment_variables

    @environment_variables.setter
    def environment_variables(self, value: dict[str, str]) -> None:
        self.run_config.environment_variables = dict(value or {})

    @property
    def identity(self) -> str:
        """v1's logging identity of the configuration."""
        return f"ScriptRunConfig{self.DELIM}{self.script}"

    def _submission(self) -> Submission:
        self.run_config._check_for_submit()
        return super()._submission()


def get_run_config_from_script_run(script_run_config: ScriptRunConfig) -> RunConfiguration:
    """A copy of the ScriptRunConfig's run configuration with its script and arguments,
    as v1 gives it."""
    run_config = copy.deepcopy(script_run_config.run_config)
    if script_run_config.arguments:
        run_config.arguments = copy.deepcopy(script_run_config.arguments)
    if script_run_config.script:
        run_config.script = script_run_config.script
    return run_config


def submit(script_run_config: ScriptRunConfig, workspace: Workspace, experiment_name: str,
           run_id: str | None = None, _parent_run_id: str | None = None,
           credential_passthrough: bool = False) -> Run:
    """v1's module-level submit: `Experiment(workspace, experiment_name).submit(config)`."""
    from runyard.azureml.core.experiment import Experiment

    warn_ignored("submit", locals(), {"run_id": None, "_parent_run_id": None,
                                      "credential_passthrough": False})
    return Experiment(workspace, experiment_name).submit(script_run_config)


__getattr__ = module_getattr(__name__)

__all__ = ["ScriptRunConfig", "get_run_config_from_script_run", "submit"]
