"""RunSpec: what was submitted for a script run, as one typed record (standard library only).

It is made at submit (`runyard.experiment.Experiment.submit`, from the ScriptRunConfig's
or estimator's validated config), written once as the run row's `config` (JSON, the same
keys the run row held before plus `plan`), and read back by the run driver and its
executor (`RunSpec.from_json`), which use its attributes instead of probing a dict.

The plan (`runyard.distributed.plan.Plan`) is made once, at submit (`with_plan`), and
travels here; a spec written before plans traveled (no `plan` key: a run submitted by the
previous version) still reads, with `plan` None, and the driver makes its plan then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from runyard.distributed.plan import Plan, plan_for
from runyard.errors import ValidationError


@dataclass(frozen=True)
class RunEnvironment:
    """The run's environment as submitted: its definition (`Environment.to_dict()`), and
    the build spec unless the environment is user-managed."""

    definition: dict[str, Any]
    user_managed: bool
    spec: dict[str, Any] | None = None

    @property
    def environment_variables(self) -> dict[str, str]:
        variables = self.definition.get("environment_variables") or {}
        return {str(k): str(v) for k, v in variables.items()}

    @property
    def interpreter_path(self) -> str | None:
        """The user-managed interpreter the definition names, if any."""
        path = (self.definition.get("python") or {}).get("interpreter_path")
        return None if path is None else str(path)

    def to_json(self) -> dict[str, Any]:
        return {"definition": self.definition, "user_managed": self.user_managed,
                "spec": self.spec}

    @classmethod
    def from_json(cls, data: Any) -> RunEnvironment:
        if not isinstance(data, Mapping):
            raise ValidationError(f"run spec: environment is a JSON object, got "
                                  f"{type(data).__name__}")
        _check_keys("run spec environment", data, required=("definition", "user_managed"),
                    optional=("spec",))
        return cls(dict(data["definition"] or {}), bool(data["user_managed"]),
                   None if data.get("spec") is None else dict(data["spec"]))


@dataclass(frozen=True)
class EstimatorInfo:
    """Which estimator submitted the run (v1's estimators: `runyard.train.estimator`)."""

    framework: str
    framework_version: str | None = None
    use_gpu: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"framework": self.framework, "framework_version": self.framework_version,
                "use_gpu": self.use_gpu}

    @classmethod
    def from_json(cls, data: Any) -> EstimatorInfo:
        if not isinstance(data, Mapping):
            raise ValidationError(f"run spec: estimator is a JSON object, got "
                                  f"{type(data).__name__}")
        _check_keys("run spec estimator", data, required=("framework",),
                    optional=("framework_version", "use_gpu"))
        version = data.get("framework_version")
        return cls(str(data["framework"]), None if version is None else str(version),
                   bool(data.get("use_gpu", False)))


_REQUIRED = ("kind", "script")
_OPTIONAL = ("arguments", "data_references", "max_run_duration_seconds", "interpreter",
             "environment", "distributed", "environment_variables", "estimator",
             "source_directory", "snapshot", "plan")


@dataclass(frozen=True)
class RunSpec:
    """A submitted script run (see the module's docstring).

    `script` is relative to the snapshot; `arguments` are what the script gets (data
    references as their tokens, replaced on the node by `data_references`' paths);
    `distributed` is the dict form of a Tensorflow/Mpi/PyTorchConfiguration (None: one
    process); `plan` is its process plan, made at submit, bound at Starting.
    """

    script: str
    arguments: tuple[str, ...] = ()
    kind: str = "script"
    environment: RunEnvironment | None = None
    environment_variables: dict[str, str] = field(default_factory=dict)
    interpreter: str | None = None      # the submitting interpreter (user-managed runs)
    data_references: dict[str, dict[str, Any]] = field(default_factory=dict)
    distributed: dict[str, Any] | None = None
    plan: Plan | None = None
    max_run_duration_seconds: int | None = None
    estimator: EstimatorInfo | None = None
    source_directory: str | None = None
    snapshot: dict[str, Any] | None = None

    @property
    def use_gpu(self) -> bool:
        return self.estimator is not None and self.estimator.use_gpu

    def with_plan(self) -> RunSpec:
        """This spec with its process plan made: at submit, once per run (and by the
        driver only for a spec written before plans traveled, which has none)."""
        return replace(self, plan=plan_for(self.distributed))

    @property
    def process_environment_variables(self) -> dict[str, str]:
        """The variables every process of the run gets from the submission: the
        environment definition's, then the run's own (which win)."""
        found = {} if self.environment is None else self.environment.environment_variables
        found.update(self.environment_variables)
        return found

    def to_json(self) -> dict[str, Any]:
        """The spec as JSON-ready data: the run row's `config`."""
        data: dict[str, Any] = {
            "kind": self.kind, "script": self.script, "arguments": list(self.arguments),
            **({"data_references": self.data_references} if self.data_references else {}),
            "max_run_duration_seconds": self.max_run_duration_seconds,
            "interpreter": self.interpreter,
            "environment": None if self.environment is None else self.environment.to_json(),
            "distributed": self.distributed,
            "environment_variables": dict(self.environment_variables),
        }
        if self.estimator is not None:
            data["estimator"] = self.estimator.to_json()
        if self.source_directory is not None:
            data["source_directory"] = self.source_directory
        if self.snapshot is not None:
            data["snapshot"] = self.snapshot
        if self.plan is not None:
            data["plan"] = self.plan.to_json()
        return data

    @classmethod
    def from_json(cls, data: Any) -> RunSpec:
        """The spec `to_json` wrote, or the config a script run's row held before RunSpec
        (its `plan` is None: `with_plan` makes it). Keys missing or not known are a
        ValidationError naming them."""
        if not isinstance(data, Mapping):
            raise ValidationError(f"a run spec is a JSON object, got {type(data).__name__}")
        _check_keys("run spec", data, required=_REQUIRED, optional=_OPTIONAL)
        if data["kind"] != "script":
            raise ValidationError(f"run spec: kind {data['kind']!r} is not a script run's "
                                  f"('script')", kind=data["kind"])
        limit = data.get("max_run_duration_seconds")
        environment = data.get("environment")
        estimator = data.get("estimator")
        distributed = data.get("distributed")
        interpreter = data.get("interpreter")
        source = data.get("source_directory")
        return cls(
            script=str(data["script"]),
            arguments=tuple(str(a) for a in data.get("arguments") or ()),
            environment=None if environment is None else RunEnvironment.from_json(environment),
            environment_variables={str(k): str(v) for k, v in
                                   (data.get("environment_variables") or {}).items()},
            interpreter=None if interpreter is None else str(interpreter),
            data_references={str(k): dict(v) for k, v in
                             (data.get("data_references") or {}).items()},
            distributed=None if distributed is None else dict(distributed),
            plan=None if data.get("plan") is None else Plan.from_json(data["plan"]),
            max_run_duration_seconds=None if limit is None else int(limit),
            estimator=None if estimator is None else EstimatorInfo.from_json(estimator),
            source_directory=None if source is None else str(source),
            snapshot=None if data.get("snapshot") is None else dict(data["snapshot"]),
        )


def _check_keys(what: str, data: Mapping[str, Any], *, required: tuple[str, ...],
                optional: tuple[str, ...] = ()) -> None:
    missing = [key for key in required if key not in data]
    unknown = sorted(str(key) for key in data if key not in required and key not in optional)
    if missing or unknown:
        said = ([f"missing key(s) {', '.join(missing)}"] if missing else []) + \
               ([f"unknown key(s) {', '.join(unknown)}"] if unknown else [])
        raise ValidationError(f"{what}: {'; '.join(said)} (known: "
                              f"{', '.join((*required, *optional))})",
                              missing=missing, unknown=unknown)
