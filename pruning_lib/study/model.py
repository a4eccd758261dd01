"""Tokenizer, the small GPT-2, loading hub models, and the cached baseline.

- :func:`train_tokenizer`: a byte-level BPE trained with ``tokenizers`` on a corpus,
  wrapped as a ``PreTrainedTokenizerFast`` (so it saves and loads like any hub tokenizer).
- :func:`small_gpt`: a ``GPT2LMHeadModel`` from a :class:`ModelConfig`.
- :func:`load_causal_lm`: any ``AutoModelForCausalLM`` from a hub name or a local folder,
  safetensors only, ``trust_remote_code=False``.
- :func:`save_model` / :func:`load_model`: a model and tokenizer folder, written under a
  temporary name and renamed, so a failed save never leaves half a model over a good one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

from ..config import validate
from .configs import ModelConfig

EOS = "<|endoftext|>"


def repo_root() -> Path | None:
    """The checkout this package runs from, or None when installed elsewhere."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def default_cache_dir() -> Path:
    """``$PRUNING_LIB_CACHE``, else ``runs/cache`` in the checkout, else ``~/.cache``."""
    if os.environ.get("PRUNING_LIB_CACHE"):
        return Path(os.environ["PRUNING_LIB_CACHE"])
    root = repo_root()
    if root is not None:
        return root / "runs" / "cache"
    return Path.home() / ".cache" / "pruning-lib"


def train_tokenizer(texts: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE (GPT-2 style) on ``texts``.

    Example:
        >>> tok = train_tokenizer(["the cat sat on the mat ."] * 20, vocab_size=300)
        >>> tok.decode(tok("the cat")["input_ids"])
        'the cat'
    """
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token=EOS, bos_token=EOS, unk_token=EOS, pad_token=EOS
    )


def small_gpt(config: ModelConfig, vocab_size: int | None = None) -> GPT2LMHeadModel:
    """A randomly initialised GPT-2 of the given size (seed torch before calling).

    Example:
        >>> model = small_gpt(ModelConfig(n_layer=1, n_embd=16, n_head=2, vocab_size=300))
        >>> model.config.n_layer, model.config.vocab_size
        (1, 300)
    """
    validate(config)
    gpt_config = GPT2Config(
        vocab_size=vocab_size or config.vocab_size,
        n_positions=config.block_size,
        n_embd=config.n_embd,
        n_layer=config.n_layer,
        n_head=config.n_head,
        resid_pdrop=config.dropout,
        embd_pdrop=config.dropout,
        attn_pdrop=config.dropout,
        bos_token_id=0,
        eos_token_id=0,
        tie_word_embeddings=True,
        loss_type="ForCausalLM",
    )
    return GPT2LMHeadModel(gpt_config)


def _check_model_folder(path: Path) -> None:
    if not path.is_dir():
        return
    weights = list(path.glob("*.safetensors"))
    if not weights:
        found = sorted(p.name for p in path.iterdir())
        raise ValueError(
            f"model folder {str(path)!r} holds no *.safetensors weights (found {found}); "
            "pickle checkpoints (*.bin, *.pt) are refused: save with safe_serialization"
        )
    if not (path / "config.json").is_file():
        raise ValueError(f"model folder {str(path)!r} has no config.json")


def load_causal_lm(
    name_or_path: str | Path, dtype: torch.dtype | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerFast]:
    """Load any Hugging Face causal LM and its tokenizer (safetensors, no remote code).

    Args:
        name_or_path: a hub name such as ``EleutherAI/pythia-1b`` or a local folder.
        dtype: the weights' dtype; None keeps the checkpoint's.

    Returns:
        ``(model, tokenizer)``, the model in eval mode; the tokenizer has a pad token.
    """
    path = Path(name_or_path)
    if path.exists():
        _check_model_folder(path)
    kwargs: dict[str, Any] = {"use_safetensors": True, "trust_remote_code": False}
    if dtype is not None:
        kwargs["dtype"] = dtype
    model = AutoModelForCausalLM.from_pretrained(str(name_or_path), **kwargs)
    tokenizer = AutoTokenizer.from_pretrained(str(name_or_path), trust_remote_code=False)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    return model, tokenizer


def atomic_dir(target: Path) -> Path:
    """A fresh temporary folder beside ``target``; pass it to :func:`commit_dir`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))


def commit_dir(tmp: Path, target: Path) -> None:
    """Replace ``target`` with ``tmp`` (the old folder survives until the rename)."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    tmp.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def save_model(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    folder: str | Path,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Save model (safetensors), tokenizer and ``extra`` JSON files, atomically."""
    folder = Path(folder)
    tmp = atomic_dir(folder)
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        for name, value in (extra or {}).items():
            (tmp / name).write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    commit_dir(tmp, folder)
    return folder


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


BASELINE_VERSION = 1  # bump when the training recipe changes, so old caches are not reused


def baseline_key(world_config, model_config, train_config) -> str:
    """The cache key of a baseline: the hash of everything that shapes it."""
    from ..config import config_hash

    return config_hash(world_config, model_config, train_config, {"version": BASELINE_VERSION})


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
    and the model is retrained only when a config changed.
    """
    from ..config import validate
    from ..training.finetune import LocalAccelerator, train
    from .data import token_stream
    from .runtime import seed_everything
    from .toyworld import generate

    for config in (world_config, model_config, train_config):
        validate(config)
    folder = Path(cache_dir or default_cache_dir()) / (
        "baseline-" + baseline_key(world_config, model_config, train_config)
    )
    if (folder / "model.safetensors").is_file() and not retrain:
        return folder
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
    return folder
