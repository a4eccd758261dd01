"""The study's configs: the toy world, the small GPT, evaluation; reading YAML profiles.

Built and checked like every config (``config.from_dict``): an unknown key, a wrong type or
an out-of-range value is a ``ValueError`` naming ``section.key``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..config import bounded


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"parameter file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        message = f"parameter file {str(path)!r} is not valid YAML{where}: {problem}"
        raise ValueError(message) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"parameter file {str(path)!r} must hold a mapping of keys to values")
    return data


def load_profile(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A profile's keys over those of the profile it ``extends`` (a name of a profile in the
    same folder, or a path relative to it), whose ``profile`` name is not inherited.

    Example (``params/study.yaml`` starts with ``extends: tutorial``):
        >>> from pruning_lib.study.files import repo_root
        >>> study = load_profile(repo_root() / "params" / "study.yaml")
        >>> study["profile"], study["finetune_steps"]
        ('study', 50)
    """
    path = Path(path)
    values = load_yaml(path)
    parent = values.pop("extends", None)
    if parent is None:
        return values
    if not isinstance(parent, str) or not parent:
        raise ValueError(f"{path.name}: extends={parent!r} must name a profile, e.g. tutorial")
    parent_path = path.parent / (parent if parent.endswith((".yaml", ".yml")) else f"{parent}.yaml")
    if not parent_path.is_file():
        raise ValueError(f"{path.name}: extends={parent!r} names no file {parent_path}")
    if parent_path.resolve() in _seen or parent_path.resolve() == path.resolve():
        raise ValueError(f"{path.name}: extends={parent!r} goes round in a circle")
    base = load_profile(parent_path, (*_seen, path.resolve()))
    base.pop("profile", None)
    return {**base, **values}


@dataclass
class WorldConfig:
    """The generated toy language (see ``toyworld.py``)."""

    section = "world"
    seed: int = 0  # one seed fixes the people, their facts and every passage
    n_people: int = bounded(300, 8, 2000)  # each person gets one fact per relation
    bios_per_person: int = bounded(27, 1, 1000)  # restatements of each person's facts
    qa_repeats: int = bounded(12, 0, 1000)  # times each training Q/A pair is shown
    n_stories: int = bounded(2500, 0, 10**6)  # StoryCloze-like training stories
    n_activities: int = bounded(2500, 0, 10**6)  # HellaSwag-like training passages
    n_passages: int = bounded(3000, 0, 10**6)  # LAMBADA-like training passages
    n_eval: int = bounded(200, 1, 10**5)  # items in each evaluation set (QA: at most n_people)
    validation_fraction: float = bounded(0.05, 0.0, 0.5)  # share of documents held out


@dataclass
class ModelConfig:
    """The small GPT-2 trained from scratch (ignored when ``name`` is given)."""

    section = "model"
    name: str | None = None  # a hub name or local folder; None trains our small GPT
    vocab_size: int = bounded(1536, 300, 10**6)  # byte-level BPE vocabulary
    n_layer: int = bounded(4, 1, 96)
    n_head: int = bounded(4, 1, 128)
    n_embd: int = bounded(128, 8, 16384)  # width; must divide by n_head
    block_size: int = bounded(128, 8, 32768)  # context length in tokens
    dropout: float = bounded(0.0, 0.0, 1.0, high_open=True)

    def check(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(
                f"model.n_embd={self.n_embd} must be a multiple of model.n_head={self.n_head}"
            )


@dataclass
class EvalConfig:
    """Evaluation on the six tasks (``pruning_lib.evaluation.evaluate``)."""

    section = "eval"
    batch_size: int = bounded(32, 1, 65536)
    limit: int | None = bounded(None, 1, 10**8)  # evaluate only the first N items of each set
    # Greedy generation budget for QA tasks; None: lm-eval's 256 where the context allows.
    max_new_tokens: int | None = bounded(None, 1, 1024)


# The toy world and model at two sizes: the tutorial's, and seconds-long for tests.
TOY_SIZES = {
    "tutorial": (WorldConfig(), ModelConfig()),
    "smoke": (
        WorldConfig(
            n_people=16,
            bios_per_person=4,
            qa_repeats=2,
            n_stories=20,
            n_activities=20,
            n_passages=20,
            n_eval=8,
        ),
        ModelConfig(vocab_size=400, n_layer=2, n_head=2, n_embd=32, block_size=64),
    ),
}


def toy_configs(settings) -> tuple[WorldConfig, ModelConfig]:
    """The world and model configs of ``settings`` (copies: the caller may change them)."""
    world, model = copy.deepcopy(TOY_SIZES[settings.toy_size])
    world.seed = settings.world_seed
    if settings.model != "toy":
        model.name = settings.model
    return world, model
