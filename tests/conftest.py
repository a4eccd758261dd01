"""Shared fixtures: one torch thread, a tiny world, a tiny trained model."""

from __future__ import annotations

import dataclasses
import os
import sys

os.environ.setdefault("MPLBACKEND", "agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Runs are computed in the test's own process unless a test asks for workers
# (tests/test_runs.py compares one worker with two).
os.environ.setdefault("PRUNING_LIB_WORKERS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from pruning_lib.config import TrainConfig  # noqa: E402
from pruning_lib.study.configs import TOY_SIZES  # noqa: E402

torch.set_num_threads(1)

# The smoke profile's world and model (seed 1 so it differs from the profile's own).
TINY_WORLD = dataclasses.replace(TOY_SIZES["smoke"][0], seed=1)
TINY_MODEL = TOY_SIZES["smoke"][1]
TINY_TRAIN = TrainConfig(steps=30, batch_size=8, learning_rate=3e-3, warmup_steps=5, log_every=10)


@pytest.fixture(scope="session")
def tiny_world():
    from pruning_lib.study.toyworld import generate

    return generate(TINY_WORLD)


def smoke_settings(cache, **changes):
    """Settings of the smoke-sized toy world and model, seconds to train, cached in
    ``cache``."""
    from pruning_lib.study.parameters import Settings

    values = dict(
        profile="tests", toy_size="smoke", baseline_steps=20, finetune_steps=4, batch_size=4,
        eval_limit=4, calibration_sequences=4, cache_dir=str(cache),
    )  # fmt: skip
    return Settings(**{**values, **changes})


@pytest.fixture(scope="session")
def tiny_baseline(tmp_path_factory):
    """A tiny GPT trained for 30 steps on the tiny world: (model, tokenizer, folder)."""
    from pruning_lib.study.baseline import build_baseline
    from pruning_lib.study.model import load_causal_lm

    cache = tmp_path_factory.mktemp("cache")
    folder = build_baseline(TINY_WORLD, TINY_MODEL, TINY_TRAIN, cache_dir=cache, progress=False)
    model, tokenizer = load_causal_lm(folder)
    return model, tokenizer, folder


def accelerate_launch(processes: int, *program: str) -> list[str]:
    """`accelerate launch` with several processes on CPUs.

    `--cpu --num_processes 2` starts one process in accelerate 1.x (accelerate#2741); the
    torchrun launcher (`--multi_gpu`) with our loop's cpu=True gives gloo processes.
    """
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        str(processes),
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        *program,
    ]


# Tests that need minutes or an earlier step, run only when their mark is asked for:
# `-m retrain` trains the committed baselines again; `-m trained` checks the baselines that
# `pruning-lib compute` trained (make test runs it after that step).
OPT_IN = ("retrain", "trained")


def pytest_collection_modifyitems(config, items):
    asked = config.getoption("markexpr") or ""
    wanted = [item for item in items if all(m not in item.keywords or m in asked for m in OPT_IN)]
    deselected = [item for item in items if item not in wanted]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = wanted
