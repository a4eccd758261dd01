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
