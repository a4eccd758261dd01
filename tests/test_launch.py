"""The profile's fine-tuning under `accelerate launch` with two CPU processes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import accelerate_launch

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_accelerate_launch_two_processes_smoke_profile(tmp_path):
    profile = tmp_path / "smoke.yaml"
    profile.write_text((ROOT / "params" / "smoke.yaml").read_text() + f"cache_dir: {tmp_path}\n")
    command = accelerate_launch(
        2,
        "-m",
        "pruning_lib.study.launch",
        str(profile),
        "--sparsity",
        "0.5",
        "--out",
        str(tmp_path),
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "agg"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    folder = tmp_path / "launch-0.5"
    result = json.loads((folder / "scores.json").read_text())
    assert result["processes"] == 2
    assert result["sparsity"] == pytest.approx(0.5, abs=1e-3)
    from safetensors.torch import load_file

    masks = load_file(str(folder / "masks.safetensors"))
    weights = load_file(str(folder / "model.safetensors"))
    for name, mask in masks.items():
        assert (weights[name][mask == 0] == 0).all(), name
    assert set(result["scores"]) == {
        "lambada",
        "story_cloze",
        "hellaswag",
        "nq_open",
        "web_questions",
        "trivia_qa",
    }


def test_launch_bad_sparsity_exits_2(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pruning_lib.study.launch",
            str(ROOT / "params" / "smoke.yaml"),
            "--sparsity",
            "1.5",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert "--sparsity=1.5 is out of range; allowed: [0, 1)" in done.stderr
