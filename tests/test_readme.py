"""The README's code runs: the ten-line example on a local model, and its commands exist."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_ten_line_example_runs_on_a_local_model(tmp_path):
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    block = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    assert len(block.strip().splitlines()) <= 12
    torch.manual_seed(0)
    tiny = GPTNeoXForCausalLM(
        GPTNeoXConfig(
            vocab_size=64,
            hidden_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=64,
        )
    )
    tiny.save_pretrained(tmp_path / "tiny")
    code = block.replace('"EleutherAI/pythia-160m"', repr(str(tmp_path / "tiny")))
    code = code.replace("TrainConfig(steps=200)", "TrainConfig(steps=3, batch_size=2)")
    code = code.replace("block_size=512", "block_size=16")
    out = str(tmp_path / "pruned")
    code = code.replace('"pruned/masks.safetensors"', repr(out + "/masks.safetensors"))
    code = code.replace('"pruned"', repr(out))
    namespace = {"token_ids": torch.randint(0, 64, (500,))}
    exec(compile(code, "README.md", "exec"), namespace)
    pruner = namespace["pruner"]
    assert pruner.sparsity() == pytest.approx(0.5, abs=1e-3)
    assert (tmp_path / "pruned" / "masks.safetensors").is_file()
    assert (tmp_path / "pruned" / "model.safetensors").is_file()


def test_every_readme_command_is_known():
    commands = re.findall(r"^(make \w[\w-]*|pruning-lib \w+|accelerate launch)", README, re.M)
    makefile = (ROOT / "Makefile").read_text()
    for command in commands:
        if command.startswith("make "):
            assert re.search(rf"^{command.split()[1]}:", makefile, re.M), command
    help_text = subprocess.run(
        [sys.executable, "-m", "pruning_lib.study.cli", "--help"], capture_output=True, text=True
    ).stdout
    for command in commands:
        if command.startswith("pruning-lib "):
            assert command.split()[1] in help_text, command


@pytest.mark.slow
def test_make_reproduce_runs_a_profile(tmp_path):
    import shutil

    profile = tmp_path / "readme-smoke.yaml"
    text = (
        (ROOT / "params" / "smoke.yaml")
        .read_text()
        .replace("profile: smoke", "profile: readme-smoke")
    )
    profile.write_text(
        text + f"cache_dir: {tmp_path / 'cache'}\nnotebooks: [01_baseline, 08_efficiency]\n"
    )
    try:
        done = subprocess.run(
            ["make", "reproduce", f"PROFILE={profile}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        out = ROOT / "runs" / "readme-smoke" / "notebooks"
        assert sorted(p.name for p in out.glob("*.ipynb")) == [
            "01_baseline.ipynb",
            "08_efficiency.ipynb",
        ]
    finally:
        shutil.rmtree(ROOT / "runs" / "readme-smoke", ignore_errors=True)
