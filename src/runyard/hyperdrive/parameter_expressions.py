"""Parameter expressions: the distributions a hyperparameter is sampled from (v1's names).

Each function checks its arguments as azureml-train-core 1.62 does (the same conditions,
with runyard's messages naming the value) and returns a `ParameterExpression`, a frozen
record whose `to_json()` is v1's list form (`["uniform", [0.0, 1.0]]`), so a search space
stored on a parent run reads like v1's `generator_config`.

Sampling semantics, as v1 (and hyperopt, where v1's names come from):

- `choice(*options)`: one of the options (`choice(1, 2)`, `choice([1, 2])`, `choice(range(3))`).
- `randint(upper)`: an integer in [0, upper).
- `uniform(a, b)`: a float in [a, b]; `quniform(a, b, q)`: round(uniform(a, b) / q) * q.
- `loguniform(a, b)`: exp(uniform(a, b)), so in [e^a, e^b] (a and b are exponents);
  `qloguniform(a, b, q)`: round(exp(uniform(a, b)) / q) * q.
- `normal(mu, sigma)`, `qnormal(mu, sigma, q)`: unbounded; `lognormal(mu, sigma)`:
  exp(normal(mu, sigma)), `qlognormal`: its quantized form.

Runyard's choices where v1 is silent: a quantized value is an `int` when `q` is an int
(so `quniform(16, 128, 16)` gives 32, not 32.0, which `argparse` `type=int` accepts), a
`float` when `q` is a float; rounding is Python's (half to even, like numpy's); booleans
are refused where a number is expected.

Invariant: an expression never holds a value it would refuse; `from_json` rebuilds through
the same checks.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from runyard.errors import ValidationError

#: the kinds Grid sampling can enumerate
DISCRETE_KINDS = frozenset({"choice"})
#: every kind, in v1's order
KINDS = ("choice", "randint", "uniform", "quniform", "loguniform", "qloguniform",
         "normal", "qnormal", "lognormal", "qlognormal")

# the normal family is sampled as a uniform u in (0, 1) mapped through the inverse CDF;
# keeping u off 0 and 1 bounds a draw to about ±7.9 sigma (a 1-in-10^15 tail)
_UNIT_EPSILON = 1e-15


@dataclass(frozen=True)
class ParameterExpression:
    """One hyperparameter's distribution: `kind` (v1's name) and its arguments.

    Example:
        >>> uniform(0.0, 1.0).to_json()
        ['uniform', [0.0, 1.0]]
        >>> choice(16, 32).options
        (16, 32)
    """

    kind: str
    args: tuple[Any, ...]

    # -- v1's list form ---------------------------------------------------------------------
    def to_json(self) -> list[Any]:
        """v1's form: `["choice", [[1, 2]]]`, `["uniform", [0.0, 1.0]]`."""
        if self.kind == "choice":
            return ["choice", [list(self.options)]]
        return [self.kind, list(self.args)]

    @classmethod
    def from_json(cls, data: Any) -> ParameterExpression:
        """Rebuild an expression from v1's list form (or pass an expression through)."""
        if isinstance(data, ParameterExpression):
            return data
        if (not isinstance(data, list | tuple) or len(data) != 2
                or not isinstance(data[0], str) or not isinstance(data[1], list | tuple)):
            raise ValidationError(
                f"{data!r} is not a parameter expression; build one with choice(...), "
                f"uniform(...) and the other functions of runyard.hyperdrive", value=data)
        kind, args = data[0], list(data[1])
        if kind not in _BUILDERS:
            raise ValidationError(f"unknown parameter expression {kind!r}; valid: "
                                  f"{', '.join(KINDS)}", value=kind, valid=list(KINDS))
        if kind == "choice":
            if len(args) != 1 or not isinstance(args[0], list | tuple):
                raise ValidationError(f"a stored choice holds one list of options, not {args!r}",
                                      value=data)
            return choice(list(args[0]))
        return _BUILDERS[kind](*args)

    # v1's expressions are lists; code that reads `expression[0]` keeps working
    def __getitem__(self, index: int) -> Any:
        return self.to_json()[index]

    def __len__(self) -> int:
        return 2

    # -- what samplers need -----------------------------------------------------------------
    @property
    def options(self) -> tuple[Any, ...]:
        """The options of a `choice` (empty for other kinds)."""
        return tuple(self.args[0]) if self.kind == "choice" else ()

    @property
    def is_discrete(self) -> bool:
        """True for `choice`, the only kind Grid sampling enumerates (as v1)."""
        return self.kind in DISCRETE_KINDS

    def value_from_raw(self, raw: float | int) -> Any:
        """The hyperparameter's value for a raw draw from `raw_distribution()`.

        A sampler draws the raw variable (an option index, the uniform before `exp` or
        rounding, or a unit uniform for the normal family) and this applies the kind's
        transform.
        """
        kind, args = self.kind, self.args
        if kind == "choice":
            return self.options[int(raw)]
        if kind == "randint":
            return int(raw)
        if kind == "uniform":
            return float(raw)
        if kind == "quniform":
            return _quantize(float(raw), args[2])
        if kind == "loguniform":
            return math.exp(float(raw))
        if kind == "qloguniform":
            return _quantize(math.exp(float(raw)), args[2])
        draw = _normal(args[0], args[1], float(raw))
        if kind == "normal":
            return draw
        if kind == "qnormal":
            return _quantize(draw, args[2])
        if kind == "lognormal":
            return math.exp(draw)
        return _quantize(math.exp(draw), args[2])  # qlognormal

    def raw_range(self) -> tuple[str, float, float]:
        """The raw variable a sampler draws: ("index", 0, n-1), ("int", low, high) or
        ("float", low, high), both bounds inclusive."""
        kind, args = self.kind, self.args
        if kind == "choice":
            return ("index", 0, len(self.options) - 1)
        if kind == "randint":
            return ("int", 0, args[0] - 1)
        if kind in ("uniform", "quniform", "loguniform", "qloguniform"):
            return ("float", float(args[0]), float(args[1]))
        return ("float", _UNIT_EPSILON, 1.0 - _UNIT_EPSILON)


def _quantize(value: float, q: int | float) -> int | float:
    steps = round(value / q)
    return steps * q if isinstance(q, int) else float(steps * q)


def _normal(mu: float, sigma: float, unit: float) -> float:
    if sigma == 0:
        return float(mu)
    return statistics.NormalDist(mu, sigma).inv_cdf(unit)


# -- argument checks (v1's conditions) --------------------------------------------------------
def _number(function: str, name: str, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{function}(): {name} must be a number, not {value!r}",
                              parameter=name, value=value)
    if not math.isfinite(value):
        raise ValidationError(f"{function}(): {name} must be finite, not {value!r}",
                              parameter=name, value=value)
    return value


def _step(function: str, value: Any) -> int | float:
    q = _number(function, "q", value)
    if isinstance(q, float) and not q.is_integer():
        raise ValidationError(f"{function}(): q must be an integer (as in v1), not {q!r}",
                              parameter="q", value=q)
    if q <= 0:
        raise ValidationError(f"{function}(): q must be positive, not {q!r}",
                              parameter="q", value=q)
    return q


def _sigma(function: str, value: Any) -> float | int:
    sigma = _number(function, "sigma", value)
    if sigma < 0:
        raise ValidationError(f"{function}(): sigma must not be negative, not {sigma!r}",
                              parameter="sigma", value=sigma)
    return sigma


def _ordered(function: str, low: Any, high: Any, *, strict: bool) -> None:
    _number(function, "min_value", low)
    _number(function, "max_value", high)
    if low > high or (strict and low == high):
        relation = "<" if strict else "<="
        raise ValidationError(
            f"{function}({low!r}, {high!r}): min_value must be {relation} max_value",
            parameter="min_value, max_value", value=(low, high))


# -- the expressions ------------------------------------------------------------------------
def choice(*options: Any) -> ParameterExpression:
    """One of `options`: `choice(1, 2, 3)`, `choice([1, 2, 3])` or `choice(range(1, 4))`.

    Example:
        >>> choice(25, 50, 100).options
        (25, 50, 100)
    """
    # as v1: one list or range is the list of options; a tuple is one option
    if len(options) == 1 and isinstance(options[0], list | range):
        values = list(options[0])
        if not values:
            raise ValidationError("choice(): the list of options is empty; give at least one",
                                  parameter="options", value=options[0])
        return ParameterExpression("choice", (tuple(values),))
    if not options:
        raise ValidationError("choice() needs at least one option: choice(16, 32) or "
                              "choice([16, 32])", parameter="options", value=())
    for item in options:
        if isinstance(item, list | range):
            raise ValidationError(
                f"choice(): give one list (or range) of options, or several single options, "
                f"not a mix: {options!r}", parameter="options", value=options)
    return ParameterExpression("choice", (tuple(options),))


def randint(upper: int) -> ParameterExpression:
    """A random integer in [0, upper).

    Example:
        >>> randint(10).to_json()
        ['randint', [10]]
    """
    if isinstance(upper, bool) or not isinstance(upper, int) or upper <= 0:
        raise ValidationError(f"randint(): upper must be a positive int, not {upper!r}",
                              parameter="upper", value=upper)
    return ParameterExpression("randint", (upper,))


def uniform(min_value: float, max_value: float) -> ParameterExpression:
    """A float drawn uniformly from [min_value, max_value] (min_value < max_value).

    Example:
        >>> uniform(0.05, 0.1).to_json()
        ['uniform', [0.05, 0.1]]
    """
    _ordered("uniform", min_value, max_value, strict=True)
    return ParameterExpression("uniform", (min_value, max_value))


def quniform(min_value: float, max_value: float, q: int) -> ParameterExpression:
    """round(uniform(min_value, max_value) / q) * q: a smooth discrete value, bounded.

    Example:
        >>> quniform(16, 128, 16).to_json()
        ['quniform', [16, 128, 16]]
    """
    _ordered("quniform", min_value, max_value, strict=True)
    return ParameterExpression("quniform", (min_value, max_value, _step("quniform", q)))


def loguniform(min_value: float, max_value: float) -> ParameterExpression:
    """exp(uniform(min_value, max_value)): the arguments are exponents (as in v1), so
    `loguniform(-6, -1)` gives values in [e^-6, e^-1] ≈ [0.0025, 0.37].

    Example:
        >>> loguniform(-6, -1).to_json()
        ['loguniform', [-6, -1]]
    """
    _ordered("loguniform", min_value, max_value, strict=False)
    return ParameterExpression("loguniform", (min_value, max_value))


def qloguniform(min_value: float, max_value: float, q: int) -> ParameterExpression:
    """round(exp(uniform(min_value, max_value)) / q) * q.

    Example:
        >>> qloguniform(0, 5, 1).to_json()
        ['qloguniform', [0, 5, 1]]
    """
    _ordered("qloguniform", min_value, max_value, strict=False)
    return ParameterExpression("qloguniform", (min_value, max_value, _step("qloguniform", q)))


def normal(mu: float, sigma: float) -> ParameterExpression:
    """A float drawn from the normal distribution with mean mu and deviation sigma.

    Example:
        >>> normal(0, 1).to_json()
        ['normal', [0, 1]]
    """
    _number("normal", "mu", mu)
    return ParameterExpression("normal", (mu, _sigma("normal", sigma)))


def qnormal(mu: float, sigma: float, q: int) -> ParameterExpression:
    """round(normal(mu, sigma) / q) * q: discrete, around mu, unbounded.

    Example:
        >>> qnormal(10, 2, 1).to_json()
        ['qnormal', [10, 2, 1]]
    """
    _number("qnormal", "mu", mu)
    sigma = _sigma("qnormal", sigma)
    return ParameterExpression("qnormal", (mu, sigma, _step("qnormal", q)))


def lognormal(mu: float, sigma: float) -> ParameterExpression:
    """exp(normal(mu, sigma)): positive, its logarithm normally distributed.

    Example:
        >>> lognormal(0, 1).to_json()
        ['lognormal', [0, 1]]
    """
    _number("lognormal", "mu", mu)
    return ParameterExpression("lognormal", (mu, _sigma("lognormal", sigma)))


def qlognormal(mu: float, sigma: float, q: int) -> ParameterExpression:
    """round(exp(normal(mu, sigma)) / q) * q.

    Example:
        >>> qlognormal(3, 1, 1).to_json()
        ['qlognormal', [3, 1, 1]]
    """
    _number("qlognormal", "mu", mu)
    sigma = _sigma("qlognormal", sigma)
    return ParameterExpression("qlognormal", (mu, sigma, _step("qlognormal", q)))


_BUILDERS = {"choice": choice, "randint": randint, "uniform": uniform, "quniform": quniform,
             "loguniform": loguniform, "qloguniform": qloguniform, "normal": normal,
             "qnormal": qnormal, "lognormal": lognormal, "qlognormal": qlognormal}


def argument_name(key: str) -> str:
    """The script argument a search-space key becomes: "--learning-rate" stays as it is,
    "learning_rate" becomes "--learning_rate" (as v1 passes them).

    Example:
        >>> argument_name("learning_rate"), argument_name("--batch-size")
        ('--learning_rate', '--batch-size')
    """
    return key if key.startswith("-") else f"--{key}"


def check_parameter_space(parameter_space: Any) -> dict[str, ParameterExpression]:
    """The space as {key: expression}, every key and expression checked.

    Keys are the script's argument names ("--learning-rate" or "learning_rate"); two keys
    naming the same argument ("--lr" and "lr") are refused, as is an empty space.
    """
    if not isinstance(parameter_space, dict):
        raise ValidationError(
            f"parameter_space must be a dict of argument name → expression, such as "
            f"{{'--learning-rate': loguniform(-6, -1)}}, not {type(parameter_space).__name__}",
            value=parameter_space)
    if not parameter_space:
        raise ValidationError("parameter_space is empty; give at least one hyperparameter",
                              value=parameter_space)
    space: dict[str, ParameterExpression] = {}
    seen: dict[str, str] = {}
    for key, expression in parameter_space.items():
        if not isinstance(key, str) or not key.lstrip("-") or any(c.isspace() for c in key):
            raise ValidationError(
                f"hyperparameter name {key!r} is not an argument name; use a name such as "
                f"'--learning-rate' or 'learning_rate'", parameter=key)
        bare = key.lstrip("-")
        if bare in seen:
            raise ValidationError(
                f"hyperparameters {seen[bare]!r} and {key!r} name the same script argument",
                parameter=key)
        seen[bare] = key
        try:
            space[key] = ParameterExpression.from_json(expression)
        except ValidationError as error:
            raise ValidationError(f"hyperparameter {key!r}: {error.message}",
                                  parameter=key, value=expression) from error
    return space


def format_value(value: Any) -> str:
    """A sampled value as a script argument: `repr` for floats (no precision lost)."""
    return repr(value) if isinstance(value, float) else str(value)


def arguments_for(hyperparameters: dict[str, Any]) -> list[str]:
    """The script arguments for one trial: ["--learning-rate", "0.01", ...]."""
    arguments: list[str] = []
    for key, value in hyperparameters.items():
        arguments += [argument_name(key), format_value(value)]
    return arguments

