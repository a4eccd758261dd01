"""One check for every public number: type, finiteness and range, with a clear message.

A range written as ``x < 0`` lets NaN through (every comparison with NaN is False), so
a NaN threshold would prune every weight. :func:`check_number` refuses NaN, infinities,
booleans and non-numbers before it compares, and names the parameter and its range.

Example:
    >>> check_number("sparsity", 0.5, 0, 1, high_open=True)
    0.5
    >>> check_number("sparsity", float("nan"), 0, 1, high_open=True)
    Traceback (most recent call last):
    ...
    ValueError: sparsity=nan is out of range; allowed: [0, 1)
    >>> check_number("iterations", 2.0, 1, integer=True)
    Traceback (most recent call last):
    ...
    ValueError: iterations=2.0 must be an integer; allowed: [1, inf)
"""

from __future__ import annotations

import math
import numbers
from typing import Any


def describe_range(
    low: float | None, high: float | None, low_open: bool = False, high_open: bool = False
) -> str:
    """``[low, high)`` and the like; a missing bound is written as an infinity."""
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    low_text = "-inf" if low is None else repr(low)
    high_text = "inf" if high is None else repr(high)
    return f"{left}{low_text}, {high_text}{right}"


def check_number(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> Any:
    """Return ``value`` when it is a finite number in the range, else raise ValueError.

    Args:
        name: the parameter's name, as the caller wrote it (``"rate"``, ``"train.steps"``).
        value: the value to check.
        low, high: the bounds; None means unbounded on that side (infinity is still refused).
        low_open, high_open: exclude the bound itself.
        integer: the value must be an ``int`` (not a float that happens to be whole).

    Returns:
        ``value`` unchanged.
    """
    allowed = describe_range(low, high, low_open, high_open)
    if integer:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{name}={value!r} must be an integer; allowed: {allowed}")
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}={value!r} must be a number; allowed: {allowed}")
    if not math.isfinite(value):
        raise ValueError(f"{name}={value!r} is out of range; allowed: {allowed}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(f"{name}={value!r} is out of range; allowed: {allowed}")
    return value


def check_fraction(name: str, value: Any) -> float:
    """A fraction in [0, 1): a sparsity or a pruning rate (1 would remove every weight)."""
    return check_number(name, value, 0, 1, high_open=True)
