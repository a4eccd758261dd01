"""The toy baseline: the world, its tokenizer and the small GPT trained on it, cached.

Orchestration on top of ``model.py`` (tokenizer, model, loading), the toy world and the
training loop: ``build_baseline`` trains once per configuration and reuses the cached folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..config import config_hash, validate
from ..evaluation.data import token_stream
from ..training.finetune import LocalAccelerator, train
from .configs import ModelConfig
from .files import default_cache_dir
from .model import save_model, small_gpt, train_tokenizer
from .runtime import seed_everything
from .toyworld import generate

BASELINE_VERSION = 3  # bump when the training recipe or corpus changes: old caches go unused
# 2: NQ's training lines carry the task description its evaluation prompts begin with
# 3: the trained weights are rounded to float16, as hub checkpoints ship
# The tutorial's baselines of seeds 0 to 3, trained once and committed (safetensors in float16,
# 2 MB each): a fresh clone starts from them instead of training for minutes. They are what
# training gives bit for bit (`pytest -m retrain` in tests/test_baseline_retrain.py retrains them).
COMMITTED = Path(__file__).resolve().parent / "reference" / "baselines"
# Weights are stored rounded to this dtype and computed in float32: every value of a baseline
# is a float16 number, so its committed copy (half the bytes) loses nothing.
STORED_DTYPE = torch.float16


def baseline_key(world_config, model_config, train_config) -> str:
    """The cache key of a baseline: the hash of everything that shapes it."""
    return config_hash(world_config, model_config, train_config, {"version": BASELINE_VERSION})


def weights_hash(path: str | Path) -> str:
    """SHA-256 of a safetensors file's tensors as float32 (names sorted): the same for a
    baseline in the cache and its float16 committed copy, whatever the file's layout."""
    digest = hashlib.sha256()
    for name, tensor in sorted(load_file(str(path)).items()):
        digest.update(name.encode())
        digest.update(tensor.float().contiguous().numpy().tobytes())
    return digest.hexdigest()


def round_weights(model) -> None:
    """Round every parameter of ``model`` to :data:`STORED_DTYPE` in place (kept float32)."""
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(parameter.to(STORED_DTYPE).to(parameter.dtype))


def commit(folder: Path) -> Path:
    """Store the cached baseline ``folder`` under ``reference/baselines/`` in float16 (what
    a maintainer runs after a change of the tutorial's baseline); returns the copy."""
    weights = load_file(str(folder / "model.safetensors"))
    half = {name: tensor.to(STORED_DTYPE) for name, tensor in weights.items()}
    if any(not torch.equal(half[name].float(), weights[name]) for name in weights):
        raise ValueError(f"{folder} holds weights that are not float16 numbers: retrain it")
    target = COMMITTED / folder.name
    tmp = target.with_name(f"{target.name}.committing-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(folder, tmp)
    save_file(half, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def _copy_committed(folder: Path) -> bool:
    """Copy the committed baseline of ``folder``'s key into the cache (its weights back in
    float32, exactly), if there is one."""
    committed = COMMITTED / folder.name
    if not (committed / "model.safetensors").is_file():
        return False
    tmp = folder.with_name(f"{folder.name}.copying-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(committed, tmp)
    weights = load_file(str(committed / "model.safetensors"))
    full = {name: tensor.float() for name, tensor in weights.items()}
    save_file(full, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    if not (folder / "model.safetensors").is_file():  # another process may have copied it
        shutil.rmtree(folder, ignore_errors=True)  # a partial folder of an interrupted run
        try:
            tmp.rename(folder)
        except OSError:  # that other process won the race: its copy is the same files
            pass
    shutil.rmtree(tmp, ignore_errors=True)
    return True


def _folder(world_config, model_config, train_config, cache_dir) -> Path:
    key = baseline_key(world_config, model_config, train_config)
    return Path(cache_dir or default_cache_dir()) / f"baseline-{key}"


def committed_or_cached(world_config, model_config, train_config, cache_dir=None) -> Path | None:
    """The baseline's folder if it needs no training (cached, or committed and copied into
    the cache now), else None."""
    folder = _folder(world_config, model_config, train_config, cache_dir)
    if (folder / "model.safetensors").is_file() or _copy_committed(folder):
        return folder
    return None


def build_baseline(
    world_config,
    model_config: ModelConfig,
    train_config,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    retrain: bool = False,
) -> Path:
    """Train the tutorial baseline, or find it in the cache; returns its folder.

    The folder is ``<cache>/baseline-<hash of the configs>``: any notebook can run alone,
    and the model is retrained only when a config changed. A baseline committed under
    ``reference/baselines/`` with the same hash is copied instead of trained (``retrain``
    trains anyway).
    """
    for config in (world_config, model_config, train_config):
        validate(config)
    found = (
        None
        if retrain
        else committed_or_cached(world_config, model_config, train_config, cache_dir)
    )
    if found is not None:
        return found
    folder = _folder(world_config, model_config, train_config, cache_dir)
    _train(world_config, model_config, train_config, folder, progress)
    return folder


def _train(
    world_config, model_config: ModelConfig, train_config, folder: Path, progress: bool
) -> None:
    """Train the baseline of these configs into ``folder``, written atomically (a folder
    appears whole or not at all: ``save_model``)."""
    world = generate(world_config)
    tokenizer = train_tokenizer(world.train_documents, model_config.vocab_size)
    seed_everything(train_config.seed)
    model = small_gpt(model_config, vocab_size=len(tokenizer))
    stream = token_stream(tokenizer, world.train_documents)
    # One process on the CPU, also under `accelerate launch`, so the baseline (and its
    # cache) is the same however it is started.
    local = LocalAccelerator("cpu")
    result = train(
        model, stream, train_config, model_config.block_size, progress=progress, accelerator=local
    )
    round_weights(model)
    configs = {
        "world": world_config.__dict__,
        "model": model_config.__dict__,
        "train": train_config.__dict__,
        "version": BASELINE_VERSION,
    }
    save_model(
        model,
        tokenizer,
        folder,
        extra={"history.json": result.history, "configs.json": configs},
    )
