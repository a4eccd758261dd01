"""Quality at equal size (notebook 09): the grid, structured runs at the matched parameter
count, the dense-small model of the pruned size, and the paired comparisons."""

import contextlib
import dataclasses

import pytest

from pruning_lib.efficiency import parameter_counts
from pruning_lib.study import equal_size
from pruning_lib.study.experiment import Experiment
from pruning_lib.study.model import small_gpt
from pruning_lib.study.parameters import Settings, check_parameters


def test_grid_runs_2_4_only_where_it_fits_and_random_one_shot_only():
    runs = equal_size.grid([0.5, 0.7])
    assert ("magnitude", "2:4", 0.5, True) in runs
    assert not [r for r in runs if r[1] == "2:4" and r[2] == 0.7]
    assert not [r for r in runs if r[0] == "random" and r[3]]
    # 0.5: 3 scores x 2 patterns one-shot, + 4 fine-tuned; 0.7: 3 one-shot + 2 fine-tuned
    assert len(runs) == 10 + 5


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    settings = Settings(
        profile="equal-size",
        toy_size="smoke",
        baseline_steps=20,
        finetune_steps=3,
        batch_size=4,
        eval_limit=4,
        calibration_sequences=4,
        cache_dir=str(tmp_path_factory.mktemp("cache")),
    )
    return Experiment(settings, progress=False)


def test_structured_removes_what_unstructured_removes(experiment):
    model = experiment.fresh_model()
    counts = parameter_counts(model)
    fraction = equal_size.mlp_fraction(model, 0.5)
    assert fraction == equal_size.matched_fraction(experiment)
    run = equal_size.structured(experiment, fraction, finetune=False)
    assert abs(run["sparsity"] - 0.5) < 0.01
    removed = counts["total"] - run["parameters"]
    # By hand for GPT-2: a neuron owns a c_fc column, its bias and a c_proj row: 2d + 1.
    d, layers = model.config.n_embd, model.config.n_layer
    width = 4 * d
    assert run["kept_neurons"] == width - round(fraction * width)
    assert removed == (width - run["kept_neurons"]) * (2 * d + 1) * layers
    # Within one neuron per layer of unstructured 0.5's count.
    assert abs(removed - 0.5 * counts["prunable"]) <= (2 * d + 1) * layers / 2
    with pytest.raises(ValueError, match="sparsity=0.7 removes more parameters"):
        equal_size.mlp_fraction(model, 0.7)


def test_dense_small_has_about_the_pruned_count_and_the_same_budget(experiment):
    target = 0.6 * parameter_counts(experiment.fresh_model())["total"]
    run = equal_size.dense_small(experiment, round(target))
    widths = range(8, experiment.model_config.n_embd + 1, 2)  # smoke: 2 heads
    counts = {
        w: parameter_counts(
            small_gpt(
                dataclasses.replace(experiment.model_config, n_embd=w),
                vocab_size=len(experiment.tokenizer),
            )
        )["total"]
        for w in widths
    }
    assert run["parameters"] == counts[run["width"]]
    assert min(abs(c - target) for c in counts.values()) == abs(run["parameters"] - target)
    history = (experiment.cache / "results").glob("dense_small-*.json")
    assert len(list(history)) == 1


def test_collect_gives_records_rows_and_verdicts_at_two_seeds(experiment):
    study = equal_size.collect(experiment, [0.5], seeds=[0, 1], dense_small_seeds=[1])
    variants = {r["variant"] for r in study["records"]}
    matched = equal_size.structured_label(equal_size.matched_fraction(experiment), True)
    assert "wanda 2:4 fine-tuned" in variants and matched in variants
    assert "structured 50% fine-tuned" in variants and "structured 25% one-shot" not in variants
    assert all(len(r["values"]) == 2 for r in study["records"])
    rows = equal_size.rows(study)
    assert rows[0]["variant"] == "dense" and " ± " in rows[0]["mean QA"]
    assert [r["parameters"] for r in rows if r["variant"] == "magnitude 2:4 one-shot"] == [
        r["parameters"] for r in rows if r["variant"] == "magnitude unstructured one-shot"
    ]
    small = [r for r in rows if r["variant"] == "dense-small"]
    assert len(small) == 1 and small[0]["seeds"] == "1" and rows[0]["seeds"] == "0,1"
    assert all(len(r["values"]) == 1 for r in study["small_records"])
    _, _, against = equal_size.compare(
        study, ("dense-small", 0.5), ("magnitude unstructured fine-tuned", 0.5)
    )
    assert "seeds [1]" in against
    with pytest.raises(ValueError, match=r"dense_small_seeds=\[3\] has seeds \[3\]"):
        check_parameters({"dense_small_seeds": [3]})
    value, noise, sentence = equal_size.compare(
        study, ("wanda unstructured one-shot", 0.5), ("magnitude unstructured one-shot", 0.5)
    )
    assert noise > 0 and f"{value:.3f}" in sentence
    assert sentence.endswith("cannot separate them") == (abs(value) <= noise)


def test_prefetch_fills_the_other_seeds_and_help_fills_seed_0_from_its_end(tmp_path):
    parameters = {
        "profile": "prefetch",
        "toy_size": "smoke",
        "baseline_steps": 20,
        "finetune_steps": 2,
        "batch_size": 4,
        "eval_limit": 4,
        "calibration_sequences": 4,
        "cache_dir": str(tmp_path),
        "equal_size_sparsities": [0.5],
        "equal_size_seeds": [0, 1, 2],
        "dense_small_seeds": [0],
    }
    assert equal_size.prefetch(parameters) == [1, 2]
    results = tmp_path / "results"
    assert not list(results.glob("dense_small-*.json"))  # seeds 1 and 2 have no dense-small
    settings = Settings(
        **{k: v for k, v in parameters.items() if not k.startswith(("equal", "dense"))}
    )
    seed_1 = Experiment(dataclasses.replace(settings, seed=1), progress=False)
    before = len(list(results.iterdir()))
    equal_size.seed_runs(seed_1, [0.5], with_dense_small=False)
    assert len(list(results.iterdir())) == before  # seed 1's grid was cached
    # prefetch walks backwards (09 and 10 walk forwards): seed 2 before seed 1, and each
    # seed's last step (87.5% of the neurons removed, fine-tuned) before its first (dense).
    seed_2 = Experiment(dataclasses.replace(settings, seed=2), progress=False)
    written = [
        (results / f"{e.key(*k[:1], **k[1])}.json").stat().st_mtime_ns
        for e in (seed_2, seed_1)
        for k in (("structured", {"fraction": 0.875, "steps": 2}), ("dense", {}))
    ]
    assert written == sorted(written) and len(set(written)) == 4

    # help: seed 0's own study, last step first (dense-small is the last)
    seed_0 = Experiment(settings, progress=False)
    steps = equal_size.seed_plan(seed_0, [0.5], with_dense_small=True)
    assert equal_size.help_seed(parameters) == len(steps)
    dense_small = sorted(results.glob("dense_small-*.json"), key=lambda f: f.stat().st_mtime)
    first_grid = results / f"{seed_0.key('dense')}.json"
    assert len(dense_small) == 1 and first_grid.is_file()
    # backwards: dense-small (last of the plan) was written before the dense run (first)
    assert dense_small[0].stat().st_mtime_ns <= first_grid.stat().st_mtime_ns
    before = len(list(results.iterdir()))
    runs = equal_size.seed_runs(seed_0, [0.5], with_dense_small=True)
    assert len(list(results.iterdir())) == before  # the notebook's forward walk: all cached
    assert list(runs)[0] == ("dense", 0.0) and list(runs)[-1] == ("dense-small", 0.5)


def test_09_and_10_run_only_the_variants_they_show(tmp_path, monkeypatch):
    """Notebook 09 compares scores and patterns with the matched structured run; notebook
    10 reads only what its answer table shows. Each runs those (and dense) and nothing else,
    its helper included; together they are the whole study."""
    from pruning_lib.study import answer, beside

    settings = Settings(
        profile="variants", toy_size="smoke", baseline_steps=20, finetune_steps=2,
        batch_size=4, eval_limit=4, calibration_sequences=4, cache_dir=str(tmp_path),
    )  # fmt: skip
    experiment = Experiment(settings, progress=False)
    every = equal_size.variant_names(experiment, [0.5])
    matched = equal_size.matched_fraction(experiment)
    pair = [equal_size.structured_label(matched, f) for f in (False, True)]
    compared = equal_size.scores_and_patterns(experiment, [0.5])
    # 09: dense, the 10 grid runs, the matched structured pair and dense-small, in order.
    grid = [equal_size.label(m, p, f) for m, p, _, f in equal_size.grid([0.5])]
    assert compared == ["dense", *grid, *pair, "dense-small"]
    shown = answer.study_variants(answer.load_benchmarks(), matched, every)
    timed = [0.25, 0.5, 0.875]  # the committed benchmarks' fractions but the matched one
    assert shown == [
        "dense", "magnitude unstructured fine-tuned", "magnitude 2:4 fine-tuned",
        *sorted([equal_size.structured_label(f, True) for f in timed] + [pair[1]],
                key=every.index),
    ]  # fmt: skip
    assert answer.study_variants(None, matched, every) == ["dense"]
    assert set(compared) | set(shown) == set(every)

    handed = {}

    @contextlib.contextmanager
    def helper_first(exp, calls):  # the helper's calls, run before the notebook's own
        beside.run_calls(exp, list(reversed(calls)))
        handed["files"] = sorted(p.name for p in (tmp_path / "results").glob("*.json"))
        yield None

    monkeypatch.setattr(equal_size, "helping", helper_first)
    study = equal_size.collect(experiment, [0.5], [0, 1], [], variants=shown)
    assert [v for v, _ in study["sizes"]] == shown  # the order of the full study
    assert sorted(p.name for p in (tmp_path / "results").glob("*.json")) == handed["files"]
    # ...and it computed what this process computes alone (keys hold no cache folder).
    monkeypatch.setattr(equal_size, "helping", lambda exp, calls: contextlib.nullcontext())
    alone = Experiment(dataclasses.replace(settings, cache_dir=str(tmp_path / "alone")))
    equal_size.collect(alone, [0.5], [0, 1], [], variants=shown)
    assert sorted(p.name for p in (tmp_path / "alone" / "results").glob("*.json")) == sorted(
        handed["files"]
    )
    # Fewer results than the whole study at two seeds (one per variant but dense-small).
    assert len(handed["files"]) < 2 * (len(every) - 1)
    table = answer.answer_rows(answer.load_benchmarks(), study, matched)
    assert "not measured" not in {r["mean QA change (toy)"] for r in table if r["whole_model"]}
    # 09 in the tutorial: dense-small is one of its variants, but no seed trains it.
    study = equal_size.collect(experiment, [0.5], [0, 1], [], variants=compared)
    assert [v for v, _ in study["sizes"]] == compared[:-1] and not study["small_seeds"]
    value, noise, sentence = equal_size.compare(
        study, (pair[0], 0.5), ("magnitude unstructured one-shot", 0.5)
    )
    assert noise > 0 and f"{value:.3f}" in sentence
    with pytest.raises(ValueError, match=r"variants: \['wanda 4:8 one-shot'\] are not in the"):
        equal_size.collect(experiment, [0.5], [0], variants=["wanda 4:8 one-shot"])
