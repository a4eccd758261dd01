"""Every parameter as a dataclass, checked before any work starts.

A config is built from a plain dict (a YAML file, papermill parameters) with
:func:`from_dict`. Unknown keys, wrong types and out-of-range values raise a
``ValueError`` that names the key, the value and what is allowed, so a typo in a
parameter file fails in the first second instead of after an hour of training.

Example:
    >>> cfg = from_dict(TrainConfig, {"steps": 10, "learning_rate": 0.01})
    >>> cfg.steps, cfg.batch_size
    (10, 16)
    >>> from_dict(TrainConfig, {"stepz": 10})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: train: unknown key 'stepz'; allowed keys: batch_size, grad_accum_steps, ...
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from .checks import check_number

T = TypeVar("T")


def bounded(
    default: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    high_open: bool = False,
    low_open: bool = False,
) -> Any:
    """A dataclass field whose value must lie in [low, high] (or open at either end)."""
    return field(default=default, metadata={"range": (low, high, low_open, high_open)})


def bounded_items(
    default: list,
    low: float | None = None,
    high: float | None = None,
    *,
    high_open: bool = False,
    empty: bool = False,
) -> Any:
    """A list field, each of whose items must lie in [low, high] (or [low, high)); non-empty
    unless ``empty``."""
    return field(
        default_factory=lambda: list(default),
        metadata={"items": (low, high, False, high_open), "empty": empty},
    )


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _check(section: str, key: str, value: Any, tp: Any) -> Any:
    """Return ``value`` converted to ``tp`` or raise a ValueError naming ``section.key``."""
    where = f"{section}.{key}" if section else key
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _check(section, key, value, option)
            except ValueError as error:
                errors.append(str(error))
        allowed = " or ".join(_type_name(o) for o in options)
        raise ValueError(f"{where}={value!r} has the wrong type; allowed: {allowed}")
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise ValueError(f"{where}={value!r} is not allowed; choose one of {list(choices)}")
        return value
    if origin is list:
        (item_type,) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}={value!r} must be a list of {_type_name(item_type)}")
        return [_check(section, f"{key}[{i}]", v, item_type) for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where}={value!r} must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}={value!r} must be an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where}={value!r} must be a number")
        if not math.isfinite(value):
            raise ValueError(f"{where}={value!r} is out of range; allowed: finite numbers")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ValueError(f"{where}={value!r} must be a string")
        return value
    if tp is Any:
        return value
    raise TypeError(f"config type {tp!r} of {where} is not supported")  # a bug in this file


def validate(config: Any, section: str | None = None) -> None:
    """Check every field of a config dataclass in place; raise ValueError on the first bad one."""
    section = section if section is not None else getattr(config, "section", "")
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value = _check(section, f.name, getattr(config, f.name), hints[f.name])
        object.__setattr__(config, f.name, value)
        if "range" in f.metadata and value is not None:
            low, high, low_open, high_open = f.metadata["range"]
            where = f"{section}.{f.name}" if section else f.name
            check_number(where, value, low, high, low_open=low_open, high_open=high_open)
        if "items" in f.metadata and value is not None:
            low, high, low_open, high_open = f.metadata["items"]
            where = f"{section}.{f.name}" if section else f.name
            if not value and not f.metadata.get("empty"):
                raise ValueError(f"{where}=[] is empty; give at least one value")
            for item in value:
                check_number(
                    f"{where} item", item, low, high, low_open=low_open, high_open=high_open
                )
    check = getattr(config, "check", None)
    if check is not None:
        check()


def from_dict(cls: type[T], values: dict[str, Any] | None = None, section: str | None = None) -> T:
    """Build and validate ``cls`` from a dict, refusing unknown keys."""
    values = dict(values or {})
    section = section if section is not None else getattr(cls, "section", "")
    if not isinstance(values, dict):
        raise ValueError(f"{section} must be a mapping of keys to values, got {values!r}")
    names = sorted(f.name for f in dataclasses.fields(cls))
    for key in values:
        if key not in names:
            raise ValueError(f"{section}: unknown key {key!r}; allowed keys: {', '.join(names)}")
    config = cls.__new__(cls)
    for f in dataclasses.fields(cls):
        if f.name in values:
            value = values[f.name]
        elif f.default is not dataclasses.MISSING:
            value = f.default
        else:
            value = f.default_factory()  # type: ignore[misc]
        object.__setattr__(config, f.name, value)
    validate(config, section)
    return config


def config_hash(*configs: Any) -> str:
    """A short stable hash of one or more configs (used as a cache key)."""
    payload = [
        {"type": type(c).__name__, **dataclasses.asdict(c)} if dataclasses.is_dataclass(c) else c
        for c in configs
    ]
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class TrainConfig:
    """The training loop (``finetune.py``), for the baseline and for fine-tuning."""

    section = "train"
    steps: int = bounded(1000, 0, 10**8)  # optimizer steps, not seconds: same on any machine
    batch_size: int = bounded(16, 1, 65536)  # sequences per micro-batch
    grad_accum_steps: int = bounded(1, 1, 4096)  # micro-batches per optimizer step
    learning_rate: float = bounded(3e-3, 0.0, 10.0, low_open=True)
    warmup_steps: int = bounded(50, 0, 10**8)
    min_lr_ratio: float = bounded(0.1, 0.0, 1.0)  # cosine decay floor, as a share of the peak
    weight_decay: float = bounded(0.0, 0.0, 10.0)
    max_grad_norm: float = bounded(1.0, 0.0, 1e6)  # 0 turns clipping off
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"  # used only on a GPU
    seed: int = 0
    log_every: int = bounded(50, 1, 10**8)  # steps between loss records
