"""`azureml.core.script_run_config`: ScriptRunConfig with v1's arguments, `run_config` too.

A RunConfiguration's target, environment, distributed settings, script, arguments,
environment variables and time limit apply wherever the ScriptRunConfig's own arguments
leave them open.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from runyard.azureml._ignored import warn_ignored
from runyard.errors import ValidationError
from runyard.train import ScriptRunConfig as _ScriptRunConfig
from runyard.train.script_run_config import DEFAULT_MAX_RUN_DURATION_SECONDS

if TYPE_CHECKING:
    from runyard.azureml.core.runconfig import RunConfiguration

_IGNORED = {"_telemetry_values": None, "resume_from": None, "docker_runtime_config": None}


class ScriptRunConfig(_ScriptRunConfig):
    """Run `script` from `source_directory` (v1's signature).

    Example:
        >>> config = ScriptRunConfig(source_directory="./train", script="train.py",
        ...                          compute_target="local")  # doctest: +SKIP
    """

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
        variables: dict[str, str] = {}
        if run_config is not None:
            script = script or run_config.script
            arguments = arguments if arguments is not None else (run_config.arguments or None)
            if compute_target is None and run_config.target != "local":
                compute_target = run_config.target
            environment = environment if environment is not None else run_config.environment
            if distributed_job_config is None:
                distributed_job_config = run_config.distributed_job_config()
            if run_config.max_run_duration_seconds is not None and \
                    max_run_duration_seconds == DEFAULT_MAX_RUN_DURATION_SECONDS:
                max_run_duration_seconds = run_config.max_run_duration_seconds
            variables = dict(run_config.environment_variables)
        super().__init__(source_directory, script, arguments, run_config=run_config,
                         compute_target=compute_target, environment=environment,
                         distributed_job_config=distributed_job_config,
                         max_run_duration_seconds=max_run_duration_seconds,
                         environment_variables=variables)


__all__ = ["ScriptRunConfig"]
