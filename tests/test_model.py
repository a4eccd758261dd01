import json

import pytest
import torch
from safetensors.torch import load_file

from pruning_lib.config import TrainConfig
from pruning_lib.study import model as model_lib
from pruning_lib.study.baseline import build_baseline
from pruning_lib.study.configs import ModelConfig
from tests.conftest import TINY_MODEL, TINY_TRAIN, TINY_WORLD


def test_tokenizer_roundtrip_and_single_token_names(tiny_world):
    tok = model_lib.train_tokenizer(tiny_world.train_documents, 400)
    text = tiny_world.train_documents[0]
    assert tok.decode(tok(text)["input_ids"]) == text
    again = model_lib.train_tokenizer(tiny_world.train_documents, 400)
    assert again.get_vocab() == tok.get_vocab()


def test_default_vocab_keeps_every_name_one_token():
    # Single-token names let a small model store a fact at the name's position.
    from pruning_lib.study.configs import WorldConfig
    from pruning_lib.study.toyworld import generate

    world = generate(WorldConfig())
    tok = model_lib.train_tokenizer(world.train_documents, ModelConfig().vocab_size)
    long = [p for p in world.people if len(tok(" " + p, add_special_tokens=False)["input_ids"]) > 1]
    assert not long


def test_small_gpt_shape():
    m = model_lib.small_gpt(TINY_MODEL, vocab_size=123)
    out = m(input_ids=torch.zeros((2, 5), dtype=torch.long))
    assert out.logits.shape == (2, 5, 123)


def test_load_local_folder_safetensors_only(tmp_path, tiny_baseline):
    model, tokenizer, folder = tiny_baseline
    assert (folder / "model.safetensors").is_file()
    assert not list(folder.glob("*.bin"))
    loaded, tok = model_lib.load_causal_lm(folder)
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    # A folder of pickle weights is refused with a message naming the folder.
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    torch.save({}, pickled / "pytorch_model.bin")
    with pytest.raises(ValueError, match="no \\*.safetensors"):
        model_lib.load_causal_lm(pickled)


def test_remote_code_is_not_run(tmp_path, tiny_baseline):
    _, _, folder = tiny_baseline
    import shutil

    remote = tmp_path / "remote"
    shutil.copytree(folder, remote)
    config = json.loads((remote / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "evil.EvilModel"}
    (remote / "config.json").write_text(json.dumps(config))
    (remote / "evil.py").write_text("raise SystemExit('remote code ran')\n")
    loaded, _ = model_lib.load_causal_lm(remote)  # loads the standard GPT-2 class instead
    assert type(loaded).__name__ == "GPT2LMHeadModel"


def test_baseline_cache_reused_and_keyed_by_config(tmp_path, monkeypatch):
    small = TrainConfig(**{**TINY_TRAIN.__dict__, "steps": 3})
    first = build_baseline(TINY_WORLD, TINY_MODEL, small, cache_dir=tmp_path, progress=False)
    weights = load_file(first / "model.safetensors")

    def no_training(*args, **kwargs):
        raise AssertionError("retrained although the config did not change")

    monkeypatch.setattr("pruning_lib.training.finetune.train", no_training)
    assert build_baseline(TINY_WORLD, TINY_MODEL, small, cache_dir=tmp_path) == first
    monkeypatch.undo()
    other = TrainConfig(**{**small.__dict__, "seed": 7})
    second = build_baseline(TINY_WORLD, TINY_MODEL, other, cache_dir=tmp_path, progress=False)
    assert second != first
    assert json.loads((second / "configs.json").read_text())["train"]["seed"] == 7
    # Same seed retrained from scratch gives identical weights (determinism).
    again = build_baseline(
        TINY_WORLD, TINY_MODEL, small, cache_dir=tmp_path, progress=False, retrain=True
    )
    for name, tensor in load_file(again / "model.safetensors").items():
        assert torch.equal(tensor, weights[name]), name


def test_failed_save_keeps_previous_model(tmp_path, tiny_baseline, monkeypatch):
    model, tokenizer, _ = tiny_baseline
    target = tmp_path / "m"
    model_lib.save_model(model, tokenizer, target)
    before = (target / "model.safetensors").read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(tokenizer), "save_pretrained", broken)
    with pytest.raises(OSError, match="disk full"):
        model_lib.save_model(model, tokenizer, target)
    assert (target / "model.safetensors").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m"]
