"""What a metric may be: every value ML code produces becomes a plain `int`, `float` or
`str` in the caller's process, or is refused there (standard library only).

Invariants:
- What passes `scalar`, `step` and `metric_name` is of an exact built-in type (never a
  subclass: numpy's float64 subclasses float, IntEnum subclasses int) and storable by
  every store: names of 1-255 characters, text without NUL or lone surrogates, integers
  within 64 bits (larger ones become floats), steps 64-bit integers.
- Nothing here imports numpy, torch or TensorFlow: their scalars are recognised by the
  protocols they implement (`item()`, `__index__`, `__float__`).
"""

from __future__ import annotations

from typing import Any

from runyard.errors import InvalidMetricError

NAME_LIMIT = 255
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def _shown(value: object) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= 80 else text[:77] + "..."


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    if "\x00" in text:
        return "contains a NUL character"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (not valid Unicode text)"
    return None


def metric_name(name: object) -> str:
    """`name` as a plain str if it can name a metric, else InvalidMetricError."""
    if not isinstance(name, str):
        raise InvalidMetricError(f"metric name must be a string, got {_shown(name)} of type "
                                 f"{type(name).__name__}", name=name)
    name = str.__str__(name)  # a str subclass (numpy.str_, StrEnum) as a plain str
    problem = "is empty" if not name else (
        f"is {len(name)} characters long (at most {NAME_LIMIT})" if len(name) > NAME_LIMIT
        else text_problem(name))
    if problem:
        raise InvalidMetricError(f"metric name {_shown(name)} {problem}", name=name)
    return name


def _refuse(name: str, value: object, why: str) -> InvalidMetricError:
    return InvalidMetricError(f"metric {name!r}: value {_shown(value)} of type "
                              f"{type(value).__name__} {why}", name=name,
                              value_type=type(value).__name__)


def _integer(name: str, value: int) -> int | float:
    if INT64_MIN <= value <= INT64_MAX:
        return value
    try:
        return float(value)  # beyond 64 bits: stored as the nearest float
    except OverflowError:
        raise _refuse(name, value, "is too large for a float") from None


def scalar(name: str, value: Any) -> int | float | str:
    """The slow path of `log`: `value` as a plain int (within 64 bits), float or str."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return _integer(name, value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        text = str.__str__(value)
        problem = text_problem(text)
        if problem:
            raise _refuse(name, text, problem)
        return text
    if isinstance(value, bytes | bytearray | list | tuple | dict | set | complex):
        hint = "; use log_list" if isinstance(value, list | tuple) else ""
        raise _refuse(name, value, f"is not a number or a string{hint}")
    if isinstance(value, int):  # IntEnum, numpy integers registered as int subclasses
        return _integer(name, int.__int__(value))
    if isinstance(value, float):  # numpy.float64
        return float.__float__(value)
    item = getattr(value, "item", None)  # numpy scalars and 0-d arrays, torch, TF
    if callable(item):
        try:
            plain = item()
        except Exception:  # noqa: BLE001 - a tensor of many elements: refused below
            plain = value
        if plain is not value and type(plain) in (bool, int, float, str):
            return scalar(name, plain)
    for convert, method in ((int, "__index__"), (float, "__float__")):
        if hasattr(type(value), method):  # integral types, then Decimal, Fraction, tensors
            try:
                return scalar(name, convert(value))
            except (TypeError, ValueError, ArithmeticError, RuntimeError):
                continue
    raise _refuse(name, value, "is not a number or a string (log a number or a string; "
                               "a list with log_list)")


def step(name: str, value: Any) -> int:
    """`value` as a plain 64-bit integer step, else InvalidMetricError."""
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise InvalidMetricError(f"metric {name!r}: step {_shown(value)} of type "
                                 f"{type(value).__name__} is not an integer", name=name)
    number = int(value.__index__())
    if not INT64_MIN <= number <= INT64_MAX:
        raise InvalidMetricError(f"metric {name!r}: step {number} does not fit in 64 bits",
                                 name=name)
    return number


def text(value: object, *, what: str, limit: int | None = None) -> str:
    """`value` as plain, storable text (`str()` of it), for tags, properties and names."""
    plain = str.__str__(value) if isinstance(value, str) else str(value)
    if type(plain) is not str:
        plain = str.__str__(plain)
    problem = text_problem(plain)
    if problem is None and limit is not None and not 0 < len(plain) <= limit:
        problem = "is empty" if not plain else f"is {len(plain)} characters long " \
                                               f"(at most {limit})"
    if problem:
        raise InvalidMetricError(f"{what} {_shown(plain)} {problem}", name=plain)
    return plain


def mapping(values: Any, *, what: str) -> dict[str, str | None]:
    """Tags or properties as plain text: keys of 1-255 characters, values any text."""
    return {text(k, what=f"{what} name", limit=NAME_LIMIT):
            None if v is None else text(v, what=f"{what} {k!r} value")
            for k, v in values.items()}
