"""The helper process of a notebook: it fills the same cache with the same results."""

import contextlib
import json
import os

import pytest

from pruning_lib.study.beside import (
    EQUAL_SIZE_STEP,
    WORKERS_ENV,
    beside,
    finish,
    run_calls,
    stop,
    workers,
)
from pruning_lib.study.experiment import Experiment
from pruning_lib.study.parameters import Settings


def _experiment(cache) -> Experiment:
    settings = Settings(
        profile="beside",
        toy_size="smoke",
        baseline_steps=20,
        finetune_steps=3,
        batch_size=4,
        eval_limit=4,
        device="cpu",
        cache_dir=str(cache),
    )
    return Experiment(settings, progress=False)


def test_workers_reads_the_environment(monkeypatch):
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    assert workers() == 2  # a notebook alone: both cores
    monkeypatch.setenv(WORKERS_ENV, "1")
    assert workers() == 1
    monkeypatch.setenv(WORKERS_ENV, "zero")
    with pytest.raises(ValueError, match=f"{WORKERS_ENV}='zero' must be a whole number >= 1"):
        workers()


def test_no_helper_where_it_cannot_help_and_unknown_calls_refused(tmp_path, monkeypatch):
    experiment = _experiment(tmp_path)
    calls = [("oneshot", {"sparsity": 0.5}), ("oneshot", {"sparsity": 0.3})]
    monkeypatch.setenv(WORKERS_ENV, "1")
    assert beside(experiment, calls) is None  # the second core is taken
    monkeypatch.setenv(WORKERS_ENV, "2")
    assert beside(experiment, calls[:1]) is None  # one run: nothing to share
    with pytest.raises(ValueError, match="'save_result' is not allowed"):
        beside(experiment, [("save_result", {}), *calls])
    finish(None)  # no helper: nothing to wait for


def test_the_helper_computes_what_the_notebook_would(tmp_path, monkeypatch):
    """The helper's results, read from the shared cache, equal those computed in this
    process in a cache of its own (each run seeds itself), and the notebook's own calls
    then find every one of them: the helper's keys are the notebook's."""
    monkeypatch.setenv(WORKERS_ENV, "2")
    monkeypatch.setattr("pruning_lib.study.beside._cores", lambda: 2)
    shared = _experiment(tmp_path / "shared")
    shared.baseline()  # trained once here: the helper copies nothing, it reads the cache
    calls = [
        ("oneshot", {"sparsity": 0.5, "finetune": True}),
        ("oneshot", {"sparsity": 0.3, "finetune": True}),
    ]
    process = beside(shared, calls)
    assert process is not None
    finish(process)  # the helper ran both calls, from the last
    results = tmp_path / "shared" / "results"
    before = sorted(p.name for p in results.glob("*.json"))
    alone = _experiment(tmp_path / "alone")
    for name, kwargs in calls:
        ours = getattr(alone, name)(**kwargs)
        theirs = getattr(shared, name)(**kwargs)  # a cache hit: the helper's file
        assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)
    assert sorted(p.name for p in results.glob("*.json")) == before  # nothing computed anew


def test_a_failing_helper_is_a_warning_with_its_log(tmp_path, monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "2")
    monkeypatch.setattr("pruning_lib.study.beside._cores", lambda: 2)
    experiment = _experiment(tmp_path)
    # The helper starts from the last call, which is out of range: it fails at once. The
    # notebook computes what the helper left, so the failure costs time, not results.
    process = beside(experiment, [("oneshot", {"sparsity": 0.5}), ("oneshot", {"sparsity": 7})])
    with pytest.warns(RuntimeWarning, match=r"the helper process failed(.|\n)*sparsity=7"):
        finish(process)


def test_an_earlier_helper_is_stopped_before_a_new_one(tmp_path, monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "2")
    monkeypatch.setattr("pruning_lib.study.beside._cores", lambda: 2)
    experiment = _experiment(tmp_path)
    calls = [("layer_alone", {"name": "transformer.h.0.mlp.c_fc.weight", "sparsity": s})
             for s in (0.1, 0.2, 0.3, 0.4, 0.5)]  # fmt: skip
    first = beside(experiment, calls)
    second = beside(experiment, calls)  # a cell run again: the first helper is stopped
    assert first.poll() is not None and second.poll() is None
    stop()  # what the kernel's exit does
    assert second.poll() is not None


def test_the_helper_runs_another_seeds_sweep_and_equal_size_steps(tmp_path, monkeypatch):
    """Notebooks 07 and 09 alone: the helper runs calls of another seed (the main sweep and
    the equal-size study's steps); this process then finds every one of them cached, under
    the keys it would have computed, and the sweep's results equal those computed alone."""
    from pruning_lib.study import equal_size
    from pruning_lib.study.results import main_sweep, sweep_calls, with_seed

    monkeypatch.setenv(WORKERS_ENV, "2")
    monkeypatch.setattr("pruning_lib.study.beside._cores", lambda: 2)
    shared = _experiment(tmp_path / "shared")
    steps = equal_size.helper_calls(shared, [0.5], seeds=[1], small=[])
    assert {seed for *_, seed in steps} == {1}
    assert [args["index"] for _, args, _ in steps] == list(range(len(steps)))
    calls = [*((method, kwargs, 1) for _, method, kwargs in sweep_calls([0.5])), *steps]
    finish(beside(shared, calls))  # seed 1's baseline is trained by the helper itself
    results = tmp_path / "shared" / "results"
    before = sorted(p.name for p in results.glob("*.json"))
    seed_1 = with_seed(shared, 1)
    theirs = main_sweep(seed_1, [0.5])
    equal_size.seed_runs(seed_1, [0.5], with_dense_small=False)
    assert sorted(p.name for p in results.glob("*.json")) == before  # nothing computed anew
    ours = main_sweep(with_seed(_experiment(tmp_path / "alone"), 1), [0.5])
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert json.dumps(ours[key], sort_keys=True) == json.dumps(theirs[key], sort_keys=True)


def test_a_call_must_name_a_whole_number_seed(tmp_path, monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "2")
    experiment = _experiment(tmp_path)
    with pytest.raises(ValueError, match="the seed of 'dense' must be an int, not '1'"):
        beside(experiment, [("dense", {}, "1"), ("dense", {})])
    with pytest.raises(ValueError, match="the seed of 'dense' must be an int, not True"):
        beside(experiment, [("dense", {}, True), ("dense", {})])
    with pytest.raises(ValueError, match=r"must be \(method, kwargs\) or \(method, kwargs, seed\)"):
        beside(experiment, [("dense",), ("dense", {})])


def test_a_helper_whose_notebook_is_gone_stops(tmp_path):
    """A kernel killed outright runs no exit handler: its helper sees its parent change and
    stops before the next call instead of running minutes of work for nobody."""
    experiment = _experiment(tmp_path)
    calls = [("dense", {}), ("dense", {}, 1)]
    assert run_calls(experiment, calls, parent=-1) == 0  # not our parent: nothing runs
    assert not (tmp_path / "results").exists()
    assert run_calls(experiment, calls[:1], parent=os.getppid()) == 1


def test_07_and_09_hand_the_helper_the_runs_they_compute(tmp_path, monkeypatch):
    """The calls that results.collect (07) and equal_size.collect (09, dense-small at one
    seed) give their helper, run first, leave the notebooks nothing to compute."""
    from pruning_lib.study import equal_size, results

    experiment = _experiment(tmp_path)
    files = tmp_path / "results"
    seen = {}

    @contextlib.contextmanager
    def helper_first(exp, calls):  # a helper that finishes before the notebook starts
        run_calls(exp, list(reversed(calls)))
        seen["files"] = sorted(p.name for p in files.glob("*.json"))
        seen["calls"] = calls
        yield None

    for module in (results, equal_size):
        monkeypatch.setattr(module, "helping", helper_first)
    results.collect(experiment, [0.5], seeds=[0, 1])
    assert {seed for *_, seed in seen["calls"]} == {0, 1}
    assert sorted(p.name for p in files.glob("*.json")) == seen["files"]
    equal_size.collect(experiment, [0.5], seeds=[0, 1], dense_small_seeds=[1])
    assert sum(call[0] == EQUAL_SIZE_STEP for call in seen["calls"]) == len(seen["calls"])
    assert sorted(p.name for p in files.glob("*.json")) == seen["files"]
    assert any(p.startswith("dense_small-") for p in seen["files"])  # seed 1's, by the helper
