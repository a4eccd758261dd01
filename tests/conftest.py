"""Shared fixtures: one torch thread, a tiny world, a tiny trained model."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

from pruning_lib.config import ModelConfig, TrainConfig, WorldConfig  # noqa: E402

torch.set_num_threads(1)

TINY_WORLD = WorldConfig(
    seed=1,
    n_people=16,
    bios_per_person=4,
    qa_repeats=2,
    n_stories=20,
    n_activities=20,
    n_passages=20,
    n_eval=8,
)
TINY_MODEL = ModelConfig(vocab_size=400, n_layer=2, n_head=2, n_embd=32, block_size=64)
TINY_TRAIN = TrainConfig(steps=30, batch_size=8, learning_rate=3e-3, warmup_steps=5, log_every=10)


@pytest.fixture(scope="session")
def tiny_world():
    from pruning_lib.toyworld import generate

    return generate(TINY_WORLD)


@pytest.fixture(scope="session")
def tiny_baseline(tmp_path_factory):
    """A tiny GPT trained for 30 steps on the tiny world: (model, tokenizer, folder)."""
    from pruning_lib.model import build_baseline, load_causal_lm

    cache = tmp_path_factory.mktemp("cache")
    folder = build_baseline(TINY_WORLD, TINY_MODEL, TINY_TRAIN, cache_dir=cache, progress=False)
    model, tokenizer = load_causal_lm(folder)
    return model, tokenizer, folder
