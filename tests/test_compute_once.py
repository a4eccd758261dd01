"""Two processes that reach the same cached run compute it once (`files.compute_once`)."""

import json
import subprocess
import sys
import threading
import time

import pytest

from pruning_lib.study.files import compute_once


def test_computes_writes_and_releases(tmp_path):
    path = tmp_path / "results" / "run.json"
    compute_once(path, lambda: {"score": 1})
    assert json.loads(path.read_text()) == {"score": 1}
    assert not (tmp_path / "results" / "run.json.lock").exists()


def test_waits_for_a_living_owner_instead_of_computing(tmp_path):
    path = tmp_path / "run.json"
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "run.json.lock").write_text(str(owner.pid))

        def owner_finishes():
            time.sleep(0.3)
            path.write_text(json.dumps({"by": "owner"}))

        threading.Thread(target=owner_finishes).start()
        calls = []
        compute_once(path, lambda: calls.append(1) or {"by": "us"}, poll_s=0.05)
        assert calls == [] and json.loads(path.read_text()) == {"by": "owner"}
    finally:
        owner.kill()
        owner.wait()


def test_takes_over_the_claim_of_a_dead_process(tmp_path):
    path = tmp_path / "run.json"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / "run.json.lock").write_text(str(gone.pid))
    compute_once(path, lambda: {"by": "us"}, poll_s=0.05)
    assert json.loads(path.read_text()) == {"by": "us"}
    assert not (tmp_path / "run.json.lock").exists()


def test_a_failed_compute_releases_its_claim(tmp_path):
    path = tmp_path / "run.json"

    def fails():
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        compute_once(path, fails)
    assert not path.exists() and not (tmp_path / "run.json.lock").exists()


def test_a_baseline_in_training_elsewhere_is_waited_for_not_trained_again(
    tmp_path, tiny_baseline, monkeypatch
):
    """A notebook and its helper process may need the same untrained baseline: the one that
    claims it trains, the other waits for its folder (minutes of training, not twice)."""
    import shutil

    from pruning_lib.study import baseline
    from tests.conftest import TINY_MODEL, TINY_TRAIN, TINY_WORLD

    trained = tiny_baseline[2]
    folder = tmp_path / trained.name
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    calls = []
    monkeypatch.setattr(baseline, "_train", lambda *args: calls.append(args))
    try:
        (tmp_path / f"{trained.name}.lock").write_text(str(owner.pid))

        def owner_finishes():
            time.sleep(0.3)
            shutil.copytree(trained, tmp_path / "writing")  # then renamed, as save_model does
            (tmp_path / "writing").rename(folder)

        threading.Thread(target=owner_finishes).start()
        found = baseline.build_baseline(
            TINY_WORLD, TINY_MODEL, TINY_TRAIN, cache_dir=tmp_path, progress=False
        )
    finally:
        owner.kill()
        owner.wait()
    assert found == folder and calls == []  # waited for the owner's folder, trained nothing
    assert (folder / "model.safetensors").read_bytes() == (
        trained / "model.safetensors"
    ).read_bytes()


def test_a_work_that_leaves_no_result_is_an_error_not_a_loop(tmp_path):
    from pruning_lib.study.files import run_once

    calls = []
    with pytest.raises(RuntimeError, match="the work ran but left its result missing"):
        run_once(tmp_path / "x.lock", lambda: False, lambda: calls.append(1))
    assert calls == [1] and not (tmp_path / "x.lock").exists()
