"""Samplings (v1's classes) and the samplers a sweep's driver asks for hyperparameters.

A *sampling* (`RandomParameterSampling`, `GridParameterSampling`,
`BayesianParameterSampling`) describes the search; its `sampler(goal)` makes the stateful
`ParameterSampler` the driver uses:

    sampler = sampling.sampler(PrimaryMetricGoal.MAXIMIZE)
    trial = sampler.ask()              # SampledTrial, or None once a grid is exhausted
    ...                                # run a child with trial.arguments()
    sampler.tell(trial, 0.97)          # or tell(trial, None, TrialOutcome.FAILED)

Random and Bayesian sampling run on Optuna 5 (`RandomSampler`, `TPESampler` with
`constant_liar=True` so that trials asked before earlier ones are told get distinct
points), through ask/tell only, on an in-memory study that lives in the driver's process:
never Optuna's storage. Optuna is imported when a sampler is made, never at
`import runyard`; without it, making one raises `MissingExtraError` naming the extra.
Grid sampling is plain Python: every combination of the choices, in the order of the
space's keys, the last key varying fastest (`itertools.product`).

Each sampler draws a *raw* variable per hyperparameter (`ParameterExpression.raw_range`)
and maps it with `value_from_raw` (exp, rounding, inverse normal CDF), so TPE models the
same variable hyperopt would.
"""

from __future__ import annotations

import enum
import itertools
import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from runyard.errors import MissingExtraError, ValidationError
from runyard.hyperdrive._goal import PrimaryMetricGoal
from runyard.hyperdrive.parameter_expressions import (
    ParameterExpression,
    arguments_for,
    check_parameter_space,
)

if TYPE_CHECKING:
    import optuna

#: v1's property for a seeded sampling: `properties={"rngSeed": 42}`
SEED_PROPERTY = "rngSeed"


class TrialOutcome(enum.StrEnum):
    """How a child ended, as the driver tells its sampler."""

    COMPLETED = "Completed"
    CANCELED = "Canceled"   # stopped early by the policy (or by a user)
    FAILED = "Failed"


@dataclass(frozen=True)
class SampledTrial:
    """One point of the search: its number (0, 1, ...) and hyperparameters by key."""

    number: int
    hyperparameters: dict[str, Any] = field(hash=False)

    def arguments(self) -> list[str]:
        """The child's script arguments: ["--learning-rate", "0.01", ...]."""
        return arguments_for(self.hyperparameters)


class HyperParameterSampling(ABC):
    """Base of the samplings: the checked search space and v1's `to_json()`."""

    SAMPLING_NAME: ClassVar[str]
    _SUPPORTED: ClassVar[frozenset[str] | None] = None   # None: every kind

    def __init__(self, parameter_space: Any, properties: Mapping[str, Any] | None = None) -> None:
        space = check_parameter_space(parameter_space)
        if self._SUPPORTED is not None:
            for key, expression in space.items():
                if expression.kind not in self._SUPPORTED:
                    raise ValidationError(
                        f"{type(self).__name__} supports only "
                        f"{', '.join(sorted(self._SUPPORTED))}; hyperparameter {key!r} is "
                        f"{expression.kind}(...){self._hint(expression)}",
                        parameter=key, value=expression.to_json(),
                        valid=sorted(self._SUPPORTED))
        self._check_expressions(space)
        self._parameter_space = space
        self._properties = _check_properties(type(self).__name__, properties)

    @staticmethod
    def _hint(expression: ParameterExpression) -> str:  # noqa: ARG004
        return ""

    def _check_expressions(self, space: dict[str, ParameterExpression]) -> None:  # noqa: B027
        """A subclass's further checks of the expressions (none by default)."""

    @property
    def parameter_space(self) -> dict[str, ParameterExpression]:
        """{key: expression}, keys as given ("--learning-rate" or "learning_rate")."""
        return dict(self._parameter_space)

    @property
    def properties(self) -> dict[str, Any]:
        return dict(self._properties)

    @property
    def seed(self) -> int | None:
        """`properties["rngSeed"]`, or None (a different sequence each sweep)."""
        seed = self._properties.get(SEED_PROPERTY)
        return None if seed is None else int(seed)

    def to_json(self) -> dict[str, Any]:
        """v1's form: {"name": "RANDOM", "parameter_space": {...}, "properties": {...}}."""
        data: dict[str, Any] = {
            "name": self.SAMPLING_NAME,
            "parameter_space": {k: e.to_json() for k, e in self._parameter_space.items()}}
        if self._properties:
            data["properties"] = dict(self._properties)
        return data

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, HyperParameterSampling)
                and self.to_json() == other.to_json())

    def __hash__(self) -> int:
        return hash(self.SAMPLING_NAME)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_json()['parameter_space']!r})"

    @abstractmethod
    def sampler(self, goal: PrimaryMetricGoal | str = PrimaryMetricGoal.MAXIMIZE
                ) -> ParameterSampler:
        """A new sampler over this space (each one starts the search afresh)."""


def _check_properties(owner: str, properties: Mapping[str, Any] | None) -> dict[str, Any]:
    if properties is None:
        return {}
    if not isinstance(properties, Mapping):
        raise ValidationError(f"{owner}: properties must be a dict such as "
                              f"{{'{SEED_PROPERTY}': 42}}, not {properties!r}", value=properties)
    unknown = sorted(str(k) for k in properties if k != SEED_PROPERTY)
    if unknown:
        raise ValidationError(f"{owner}: unknown properties {', '.join(unknown)}; the only "
                              f"one is '{SEED_PROPERTY}' (the random seed)",
                              value=unknown, valid=[SEED_PROPERTY])
    seed = properties.get(SEED_PROPERTY)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValidationError(f"{owner}: {SEED_PROPERTY} must be an int ≥ 0, not {seed!r}",
                              parameter=SEED_PROPERTY, value=seed)
    return dict(properties)


class RandomParameterSampling(HyperParameterSampling):
    """Random search over any expressions; seeded with `properties={"rngSeed": N}`.

    Example:
        >>> from runyard.hyperdrive import choice, loguniform
        >>> sampling = RandomParameterSampling(
        ...     {"--batch-size": choice(25, 50, 100), "--learning-rate": loguniform(-6, -1)},
        ...     properties={"rngSeed": 7})
    """

    SAMPLING_NAME = "RANDOM"

    def sampler(self, goal: PrimaryMetricGoal | str = PrimaryMetricGoal.MAXIMIZE
                ) -> ParameterSampler:
        optuna = _optuna()
        return OptunaSampler(self._parameter_space, PrimaryMetricGoal.from_str(goal),
                             optuna.samplers.RandomSampler(seed=self.seed))


class GridParameterSampling(HyperParameterSampling):
    """Every combination of `choice` expressions (the only kind, as v1).

    Example:
        >>> from runyard.hyperdrive import choice
        >>> sampling = GridParameterSampling({"--lr": choice(0.1, 0.01), "--batch": choice(8, 9)})
        >>> sampling.size
        4
    """

    SAMPLING_NAME = "GRID"
    _SUPPORTED = frozenset({"choice"})

    @staticmethod
    def _hint(expression: ParameterExpression) -> str:
        if expression.kind == "randint":
            return f"; write choice(range({expression.args[0]})) to enumerate it"
        return ", a continuous expression a grid cannot enumerate; list values with choice(...)"

    @property
    def size(self) -> int:
        """How many combinations the grid has (the most children it can run)."""
        return math.prod(len(e.options) for e in self._parameter_space.values())

    def combinations(self) -> Iterator[dict[str, Any]]:
        """The grid's points in order: the last key varies fastest."""
        keys = list(self._parameter_space)
        for values in itertools.product(*(e.options for e in self._parameter_space.values())):
            yield dict(zip(keys, values, strict=True))

    def sampler(self, goal: PrimaryMetricGoal | str = PrimaryMetricGoal.MAXIMIZE
                ) -> ParameterSampler:
        return GridSampler(self, PrimaryMetricGoal.from_str(goal))


class BayesianParameterSampling(HyperParameterSampling):
    """Bayesian optimization (Optuna's TPE) over `choice`, `uniform` and `quniform`.

    No early-termination policy may be used with it (as v1). `HyperDriveConfig` warns,
    as v1 does, when `max_total_runs` is below 20 × the number of hyperparameters.

    Example:
        >>> from runyard.hyperdrive import choice, uniform
        >>> sampling = BayesianParameterSampling({"--lr": uniform(0.001, 0.1),
        ...                                       "--layers": choice(1, 2, 3)})
    """

    SAMPLING_NAME = "BayesianOptimization"
    _SUPPORTED = frozenset({"choice", "uniform", "quniform"})
    #: v1's recommendation: at least this many runs per hyperparameter
    RECOMMENDED_MIN_RUNS_PER_PARAMETER = 20
    #: v1's recommendation: at most this many concurrent runs
    RECOMMENDED_MAX_CONCURRENT_RUNS = 20

    def _check_expressions(self, space: dict[str, ParameterExpression]) -> None:
        for key, expression in space.items():
            if expression.kind == "choice":
                values = expression.options
                if any(type(v) not in (int, str, float) for v in values):
                    raise ValidationError(
                        f"BayesianParameterSampling: the options of {key!r} must be int, str "
                        f"or float (as v1), not {list(values)!r}", parameter=key)
                strings = sum(isinstance(v, str) for v in values)
                if strings not in (0, len(values)):
                    raise ValidationError(
                        f"BayesianParameterSampling: the options of {key!r} must be all str "
                        f"or none (as v1), not {list(values)!r}", parameter=key)
            elif expression.kind == "quniform":
                low, high, q = expression.args
                if any(type(v) is not int for v in (low, high, q)):
                    raise ValidationError(
                        f"BayesianParameterSampling: quniform arguments of {key!r} must be "
                        f"ints (as v1), not {list(expression.args)!r}", parameter=key)
                if (high - low) / q > 100000:
                    raise ValidationError(
                        f"BayesianParameterSampling: quniform{tuple(expression.args)} of {key!r} "
                        f"has too many points (more than 100000); use a larger q or uniform",
                        parameter=key)

    def sampler(self, goal: PrimaryMetricGoal | str = PrimaryMetricGoal.MAXIMIZE
                ) -> ParameterSampler:
        optuna = _optuna()
        engine = optuna.samplers.TPESampler(seed=self.seed, constant_liar=True)
        return OptunaSampler(self._parameter_space, PrimaryMetricGoal.from_str(goal), engine)


_SAMPLINGS: dict[str, type[HyperParameterSampling]] = {
    cls.SAMPLING_NAME.lower(): cls
    for cls in (RandomParameterSampling, GridParameterSampling, BayesianParameterSampling)}


def sampling_from_json(data: Mapping[str, Any]) -> HyperParameterSampling:
    """Rebuild a sampling from its `to_json()` form (v1's `generator_config`)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        raise ValidationError(f"a stored sampling is a dict with a 'name', not {data!r}",
                              value=data)
    cls = _SAMPLINGS.get(data["name"].lower())
    if cls is None:
        raise ValidationError(f"unknown sampling {data['name']!r}; valid: "
                              f"{', '.join(c.SAMPLING_NAME for c in _SAMPLINGS.values())}",
                              value=data["name"])
    return cls(dict(data.get("parameter_space") or {}), data.get("properties"))


# -- samplers (what the driver holds) -----------------------------------------------------
class ParameterSampler(ABC):
    """The driver's handle on a search: `ask()` a point, `tell()` how it did.

    The public methods check the bookkeeping (a trial is told once, only trials this
    sampler gave out); `_ask` and `_tell` are the engine's.
    """

    def __init__(self, goal: PrimaryMetricGoal) -> None:
        self.goal = goal
        self._asked = 0
        self._pending: dict[int, SampledTrial] = {}
        self._told: dict[int, tuple[TrialOutcome, float | None]] = {}

    def ask(self) -> SampledTrial | None:
        """The next point, or None when the space is exhausted (a grid's last point given)."""
        hyperparameters = self._ask(self._asked)
        if hyperparameters is None:
            return None
        trial = SampledTrial(self._asked, hyperparameters)
        self._pending[trial.number] = trial
        self._asked += 1
        return trial

    def tell(self, trial: SampledTrial | int, value: float | None,
             state: TrialOutcome | str = TrialOutcome.COMPLETED, *,
             interval: int | None = None) -> None:
        """Report how a trial ended.

        Args:
            trial: the trial `ask()` gave (or its number).
            value: its best primary metric (None when it logged none).
            state: COMPLETED, CANCELED (stopped early; `interval` is how far it got) or
                FAILED. A completed trial without a finite value is told as failed.
        """
        number = trial.number if isinstance(trial, SampledTrial) else trial
        if number in self._told:
            raise ValidationError(f"trial {number} was already told", trial=number)
        if number not in self._pending:
            raise ValidationError(f"trial {number} was never asked of this sampler",
                                  trial=number)
        try:
            outcome = TrialOutcome(state)
        except ValueError:
            raise ValidationError(f"unknown trial state {state!r}; valid: "
                                  f"{', '.join(s.value for s in TrialOutcome)}",
                                  value=state) from None
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationError(f"trial {number}: value must be a number or None, not "
                                      f"{value!r}", trial=number, value=value)
            value = float(value)
            if not math.isfinite(value):
                value = None
        if outcome is TrialOutcome.COMPLETED and value is None:
            outcome = TrialOutcome.FAILED
        self._tell(number, value, outcome, interval)
        del self._pending[number]
        self._told[number] = (outcome, value)

    @property
    def pending(self) -> list[int]:
        """Numbers of the trials asked and not yet told."""
        return sorted(self._pending)

    @abstractmethod
    def _ask(self, number: int) -> dict[str, Any] | None:
        """The hyperparameters of trial `number`, or None when exhausted."""

    @abstractmethod
    def _tell(self, number: int, value: float | None, outcome: TrialOutcome,
              interval: int | None) -> None:
        """Record a trial's end."""


class GridSampler(ParameterSampler):
    """The grid's combinations in order; `tell` records only (a grid does not adapt)."""

    def __init__(self, sampling: GridParameterSampling, goal: PrimaryMetricGoal) -> None:
        super().__init__(goal)
        self.size = sampling.size
        self._points = sampling.combinations()

    def _ask(self, number: int) -> dict[str, Any] | None:  # noqa: ARG002
        return next(self._points, None)

    def _tell(self, number: int, value: float | None, outcome: TrialOutcome,
              interval: int | None) -> None:
        pass


class OptunaSampler(ParameterSampler):
    """An in-memory Optuna study driven by ask/tell (RandomSampler or TPESampler)."""

    def __init__(self, space: dict[str, ParameterExpression], goal: PrimaryMetricGoal,
                 engine: optuna.samplers.BaseSampler) -> None:
        super().__init__(goal)
        optuna = _optuna()
        self._space = space
        self._names = {key: f"p{index}" for index, key in enumerate(space)}
        self._distributions = {self._names[key]: _distribution(optuna, expression)
                               for key, expression in space.items()}
        direction = "maximize" if goal is PrimaryMetricGoal.MAXIMIZE else "minimize"
        # storage=None is Optuna's InMemoryStorage: the study lives in this process only
        self._study = optuna.create_study(storage=None, sampler=engine, direction=direction)
        self._trials: dict[int, Any] = {}

    def _ask(self, number: int) -> dict[str, Any]:
        trial = self._study.ask(self._distributions)
        self._trials[number] = trial
        return {key: expression.value_from_raw(trial.params[self._names[key]])
                for key, expression in self._space.items()}

    def _tell(self, number: int, value: float | None, outcome: TrialOutcome,
              interval: int | None) -> None:
        optuna = _optuna()
        trial = self._trials.pop(number)
        if outcome is TrialOutcome.COMPLETED:
            self._study.tell(trial, value)
        elif outcome is TrialOutcome.CANCELED:
            if value is not None:
                trial.report(value, step=interval if interval is not None else 0)
            self._study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            self._study.tell(trial, state=optuna.trial.TrialState.FAIL)


def _distribution(optuna: Any, expression: ParameterExpression) -> Any:
    kind, low, high = expression.raw_range()
    if kind == "index":
        return optuna.distributions.CategoricalDistribution(list(range(int(high) + 1)))
    if kind == "int":
        return optuna.distributions.IntDistribution(int(low), int(high))
    return optuna.distributions.FloatDistribution(low, high)


def _optuna() -> Any:
    try:
        with warnings.catch_warnings():
            # Optuna's own import may warn about optional packages it does not need here
            warnings.simplefilter("ignore", ImportWarning)
            import optuna
    except ImportError as error:
        raise MissingExtraError(
            "Random and Bayesian sampling need Optuna 5: pip install 'runyard[hyperdrive]'",
            package="optuna") from error
    return optuna
