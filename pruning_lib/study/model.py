"""Tokenizer, the small GPT-2 and its meta-device skeleton, loading and saving models.

- :func:`train_tokenizer`: a byte-level BPE trained with ``tokenizers`` on a corpus,
  wrapped as a ``PreTrainedTokenizerFast`` (so it saves and loads like any hub tokenizer).
- :func:`small_gpt`: a ``GPT2LMHeadModel`` from a :class:`ModelConfig`.
- :func:`load_causal_lm`: any ``AutoModelForCausalLM`` from a hub name or a local folder,
  safetensors only, ``trust_remote_code=False``.
- :func:`skeleton`: a profile's model on the meta device: its structure, no weights.
- :func:`save_model`: a model and tokenizer folder, written under a temporary name and
  renamed, so a failed save never leaves half a model over a good one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

from ..config import validate
from .configs import ModelConfig, toy_configs
from .files import atomic_dir, commit_dir

EOS = "<|endoftext|>"


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


def skeleton(settings) -> PreTrainedModel:
    """The model of ``settings`` on the meta device: its structure (weight names, shapes,
    MLP widths) with no weights, no training and no download of weights. Plans read it.

    Example:
        >>> from pruning_lib.study.parameters import Settings
        >>> skeleton(Settings(toy_size="smoke")).config.n_layer
        2
    """
    if settings.model == "toy":
        config = toy_configs(settings)[1]
        with torch.device("meta"):
            return small_gpt(config)
    path = Path(settings.model)
    if path.exists():
        _check_model_folder(path)
    config = AutoConfig.from_pretrained(settings.model, trust_remote_code=False)
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config, trust_remote_code=False)


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
