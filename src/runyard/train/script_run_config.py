"""ScriptRunConfig: a script, its arguments and where to run it (azureml-core v1 names)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard._validation import process_argument
from runyard.errors import SourceNotFoundError, ValidationError

if TYPE_CHECKING:
    from runyard.compute import ComputeTarget

DEFAULT_MAX_RUN_DURATION_SECONDS = 2_592_000  # v1's default: 30 days


@dataclass
class Submission:
    """What `Experiment.submit` needs from any runnable config, validated."""

    source_directory: Path
    compute_target: str | ComputeTarget | None
    config: dict[str, Any] = field(default_factory=dict)


def _argument(value: Any, position: int, references: dict[str, Any] | None = None) -> str:
    # A DataReference (runyard.data) travels as its config under "data_references" and as
    # the token str(value), which the supervisor replaces with the local path.
    to_config = getattr(value, "to_config", None)
    if references is not None and callable(to_config):
        config = to_config()
        if references.setdefault(config["name"], config) != config:
            raise ValidationError(
                f"argument {position} is a second DataReference named {config['name']!r} "
                f"for another path; give one a data_reference_name=", position=position)
        return str(value)
    if isinstance(value, bool | int | float | str):
        return str(value)
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    raise ValidationError(
        f"argument {position} ({value!r}) is a {type(value).__name__}; arguments must be "
        f"strings or numbers", position=position,
    )


def _environment(environment: Any) -> dict[str, Any] | None:
    """The environment as the supervisor needs it, checked now rather than at Preparing."""
    if environment is None:
        return None
    from runyard.environment import Environment

    if not isinstance(environment, Environment):
        raise ValidationError(f"environment must be a runyard Environment, got "
                              f"{type(environment).__name__}")
    environment.check_buildable()
    return {"definition": environment.to_dict(), "user_managed": environment.user_managed,
            "spec": None if environment.user_managed else environment.build_spec()}


class ScriptRunConfig:
    """Run `script` from `source_directory` with `arguments` on `compute_target`.

    Example:
        >>> config = ScriptRunConfig(source_directory="./train", script="train.py",
        ...                          arguments=["--epochs", 2])  # doctest: +SKIP
        >>> run = Experiment(ws, "demo").submit(config)            # doctest: +SKIP
    """

    def __init__(self, source_directory: str | os.PathLike[str] = ".",
                 script: str | None = None, arguments: list[Any] | None = None,
                 run_config: Any = None, compute_target: str | ComputeTarget | None = None,
                 environment: Any = None, distributed_job_config: Any = None,
                 max_run_duration_seconds: int | None = DEFAULT_MAX_RUN_DURATION_SECONDS,
                 environment_variables: dict[str, str] | None = None,
                 **ignored: Any) -> None:
        self.source_directory = source_directory
        self.script = script
        self.arguments = list(arguments or [])
        self.run_config = run_config
        self.compute_target = compute_target
        self.environment = environment
        self.distributed_job_config = distributed_job_config
        self.max_run_duration_seconds = max_run_duration_seconds
        self.environment_variables = dict(environment_variables or {})
        if ignored:
            import warnings

            warnings.warn(f"runyard ignores these ScriptRunConfig arguments: "
                          f"{', '.join(sorted(ignored))}", stacklevel=2)

    def _submission(self) -> Submission:
        source = Path(self.source_directory).resolve()
        if not source.is_dir():
            raise SourceNotFoundError(
                f"source_directory {str(self.source_directory)!r} is not a folder "
                f"(resolved to {source})", path=str(source))
        if not self.script:
            raise ValidationError("ScriptRunConfig needs script=, the file to run, "
                                  "relative to source_directory")
        process_argument(str(self.script), what="script")
        script = (source / self.script).resolve()
        if not script.is_relative_to(source):
            raise ValidationError(
                f"script {self.script!r} is outside source_directory {str(source)!r}; "
                f"only the source directory is snapshotted, so the script must be inside it",
                script=self.script)
        if not script.is_file():
            raise SourceNotFoundError(
                f"script {self.script!r} not found in source_directory {str(source)!r}",
                path=str(script))
        environment = _environment(self.environment)
        from runyard.distributed import configuration_from

        # v1: `config.run_config.node_count = 2` spreads the processes over two nodes
        node_count = getattr(self.run_config, "node_count", None) or 1
        distributed = configuration_from(self.distributed_job_config, node_count=node_count)
        limit = self.max_run_duration_seconds
        references: dict[str, Any] = {}  # filled by _argument from DataReferences
        # v1 drops empty arguments: `["--verbose", ""]` (how v1 spells a bare flag, from
        # script_params={"--verbose": ""}) reaches the script as `--verbose`
        arguments = [converted for i, a in enumerate(self.arguments)
                     if (converted := _argument(a, i, references)) != ""]
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)
                                  or limit <= 0):
            raise ValidationError(
                f"max_run_duration_seconds must be a positive integer, got {limit!r}")
        return Submission(
            source_directory=source,
            compute_target=self.compute_target,
            config={
                "kind": "script",
                "script": script.relative_to(source).as_posix(),
                "arguments": arguments,
                **({"data_references": references} if references else {}),
                "max_run_duration_seconds": limit,
                "interpreter": sys.executable,
                "environment": environment,
                "distributed": distributed,
                "environment_variables": {str(k): str(v) for k, v in
                                          self.environment_variables.items()},
            },
        )
