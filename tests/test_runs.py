"""Runs as values (study/runs.py), plans as pure functions (study/plans.py) and the one
process pool (study/pool.py): one worker and two give the same files, byte for byte."""

import dataclasses
import os

import pytest

from pruning_lib.evaluation.data import records
from pruning_lib.study import plans
from pruning_lib.study.experiment import Experiment
from pruning_lib.study.parameters import Settings, StudyParameters
from pruning_lib.study.pool import compute, workers
from pruning_lib.study.reproduce import NOTEBOOK_ORDER
from pruning_lib.study.runs import SHAPED_BY, Run
from tests.conftest import smoke_settings


def test_a_run_is_a_value_whatever_the_order_of_its_arguments():
    a = Run.of("finetuned", 1, sparsity=0.5, checkpoints=[25, 50], score="magnitude")
    b = Run.of("finetuned", 1, score="magnitude", checkpoints=(25, 50), sparsity=0.5)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != dataclasses.replace(a, seed=2)
    assert a.label == "finetuned checkpoints=(25, 50) score=magnitude sparsity=0.5, seed 1"
    with pytest.raises(ValueError, match=r"kind='finetune' is not a run; allowed: \["):
        Run.of("finetune")
    with pytest.raises(ValueError, match="seed=-1"):
        Run.of("dense", -1)


def test_the_key_holds_what_shapes_the_run_and_nothing_else():
    settings = Settings()
    run = plans.finetuned(settings, 0.5)
    key = run.key(settings)
    # What does not shape a result: where it runs, how many threads, where it is cached.
    for change in ({"threads": 2}, {"device": "cpu"}, {"cache_dir": "/elsewhere"},
                   {"profile": "other"}):  # fmt: skip
        assert run.key(dataclasses.replace(settings, **change)) == key, change
    # What does: the baseline, the data, the fine-tuning recipe, and the run's own values.
    for change in ({"baseline_steps": 1599}, {"world_seed": 1}, {"eval_limit": 10},
                   {"finetune_learning_rate": 2e-3}, {"batch_size": 8},
                   {"finetune_batch_size": 8}, {"choice_limit": 50},
                   {"choice_limit": None}):  # fmt: skip
        assert run.key(dataclasses.replace(settings, **change)) != key, change
    assert dataclasses.replace(run, seed=1).key(settings) != key
    assert plans.finetuned(settings, 0.3).key(settings) != key
    # A run that reads no corpus does not depend on the fine-tuning recipe.
    dense = plans.dense(settings)
    assert "finetune_learning_rate" not in SHAPED_BY["dense"]
    assert dense.key(dataclasses.replace(settings, finetune_learning_rate=2e-3)) == dense.key(
        settings
    )


def test_the_choice_sets_are_scored_on_their_first_choice_limit_items():
    world = Experiment(Settings(), progress=False).world  # the tutorial's: 200 items a task
    assert {len(rows) for rows in world.eval_sets.values()} == {200}
    cases = [
        ({}, {"story_cloze": 100, "hellaswag": 100, "lambada": 200, "nq_open": 200}),
        ({"choice_limit": None}, {"story_cloze": 200, "hellaswag": 200, "lambada": 200}),
        ({"eval_limit": 50}, {"story_cloze": 50, "hellaswag": 50, "trivia_qa": 50}),
        ({"eval_limit": 150, "choice_limit": 120}, {"hellaswag": 120, "web_questions": 150}),
    ]
    for change, expected in cases:
        experiment = Experiment(dataclasses.replace(Settings(), **change), progress=False)
        experiment._world = world
        sets = experiment.eval_sets()
        for task, count in expected.items():  # the first `count` items, in order
            assert sets[task] == records(task, world.eval_sets[task][:count]), (change, task)


def test_plans_are_pure_and_every_notebook_has_one(tmp_path):
    settings = smoke_settings(tmp_path)
    study = StudyParameters()
    for notebook in NOTEBOOK_ORDER:
        first = plans.notebook_runs(notebook, settings, study)
        assert first == plans.notebook_runs(notebook, settings, study)
        assert all(isinstance(run, Run) for run in first)
    assert not any(tmp_path.iterdir())  # nothing trained, nothing written
    # One computation asked for by three notebooks is one run: 03's fine-tuned run at
    # `sparsity`, 06's recovery curve, 07's row at `seed`.
    rate = plans.rate(settings, 0.5, 5, False)["one-shot + fine-tuning"]
    curve = plans.finetuning(settings, [0.1, 0.5])["curves"][0.5]
    assert rate == curve == plans.main_sweep(settings, [0.5], [0, 1])[0][("fine-tuned", 0.5)]


def test_workers_are_usable_cores_over_threads(monkeypatch):
    monkeypatch.delenv("PRUNING_LIB_WORKERS", raising=False)
    monkeypatch.setattr("pruning_lib.study.pool.usable_cores", lambda: 8)
    assert workers(Settings(threads=2, device="cpu")) == 4
    assert workers(Settings(threads=16, device="cpu")) == 1
    assert workers(Settings(device="cuda")) == 1  # one GPU is one device
    monkeypatch.setenv("PRUNING_LIB_WORKERS", "3")
    assert workers(Settings()) == 3
    monkeypatch.setenv("PRUNING_LIB_WORKERS", "0")
    with pytest.raises(ValueError, match="PRUNING_LIB_WORKERS='0'"):
        workers(Settings())


@pytest.mark.slow
def test_one_worker_and_two_give_the_same_results_json_byte_for_byte(tmp_path):
    """The main sweep of two seeds (a baseline to train for each), computed in this process
    and on a pool of two spawned workers, in separate caches: every cached run and the
    results.json that notebook 07 writes are the same bytes."""
    from pruning_lib.study.results import collect, write_results

    written = {}
    for count in (1, 2):
        settings = smoke_settings(tmp_path / f"cache-{count}")
        experiment = Experiment(settings, progress=False)
        plan = plans.main_sweep(settings, [0.1, 0.5], [0, 1])
        sweeps = compute(experiment, plan, count)
        out = tmp_path / f"out-{count}"
        write_results(collect(experiment, sweeps), out)
        cached = sorted((tmp_path / f"cache-{count}" / "results").iterdir())
        written[count] = {
            "results.json": (out / "results.json").read_bytes(),
            **{path.name: path.read_bytes() for path in cached},
        }
    assert len(written[1]) == 1 + 2 * 6  # per seed: dense, control, 2 x (one-shot, fine-tuned)
    assert written[1] == written[2]


@pytest.mark.parametrize("count", [1, 2])
def test_a_failed_run_stops_the_computation_with_its_error(tmp_path, count):
    settings = smoke_settings(tmp_path)
    experiment = Experiment(settings, progress=False)
    bad = Run.of("oneshot", 0, sparsity=0.3, scope="layer", score="magnitude", pattern="2:4")
    good = plans.dense(settings)
    with pytest.raises(ValueError, match="does not fit pattern='2:4'"):
        compute(experiment, [good, bad, plans.dense(settings, seed=1)], count)
    assert experiment.path(good).is_file() and not experiment.path(bad).exists()
    assert os.environ["PRUNING_LIB_WORKERS"] == "1"  # tests compute in their own process
