"""Our evaluator against lm-evaluation-harness 0.4.13's stock tasks, on the toy world.

lm-eval runs its own shipped YAML task definitions (prompt templates, description, stop
strings, filters, metrics) unchanged; only the dataset is redirected: each toy eval set
is written as a local JSONL file in the hub schema, and a small task file `include`s the
stock YAML and overrides ``dataset_path``/``dataset_name``/``dataset_kwargs`` (lm-eval's
own mechanism for task variants). Our ``evaluate_task`` scores the same rows with the same
model; every metric must agree, and so must each item's requests and responses.
"""

import json
import math
import random
from pathlib import Path

import lm_eval.tasks
import pytest
from lm_eval.evaluator import simple_evaluate
from lm_eval.models.huggingface import HFLM
from lm_eval.tasks import TaskManager
from lm_eval.tasks._yaml_loader import load_yaml

import pruning_lib.evaluation.evaluate
from pruning_lib.evaluation.data import records
from pruning_lib.evaluation.evaluate import (
    default_max_new_tokens,
    evaluate_task,
    exact_match,
    greedy_generate,
    loglikelihoods,
    main_metric,
)
from pruning_lib.evaluation.tasks import QA_STOP, LastWord, MultipleChoice
from pruning_lib.study.uncertainty import CORRECT

STOCK = Path(lm_eval.tasks.__file__).parent

# lm-eval task: (its stock YAML, our task name, {our metric: lm-eval metric}).
TASKS = {
    "lambada_openai": (
        "lambada/lambada_openai.yaml",
        "lambada",
        {"acc": "acc", "ppl": "perplexity"},
    ),
    "storycloze_2016": ("storycloze/storycloze_2016.yaml", "story_cloze", {"acc": "acc"}),
    "hellaswag": ("hellaswag/hellaswag.yaml", "hellaswag", {"acc": "acc", "acc_norm": "acc_norm"}),
    "nq_open": ("nq_open/nq_open.yaml", "nq_open", {"exact_match": "exact_match"}),
    "webqs": ("webqs/webqs.yaml", "web_questions", {"exact_match": "exact_match"}),
    "triviaqa": ("triviaqa/default.yaml", "trivia_qa", {"exact_match": "exact_match"}),
}
GENERATION_TASKS = ("nq_open", "triviaqa")
BATCH_SIZE = 4


def _stock(task: str) -> dict:
    return load_yaml(STOCK / TASKS[task][0], resolve_func=False)


def _write_local_tasks(folder: Path, eval_sets: dict) -> None:
    """Each task's rows as JSONL (the toy rows already have the hub schemas' fields),
    and a task file: the stock YAML with only its dataset replaced by that file."""
    for task, (yaml_path, ours, _) in TASKS.items():
        data = folder / f"{task}.jsonl"
        data.write_text("".join(json.dumps(row) + "\n" for row in eval_sets[ours]))
        # Every split the stock config names reads this file; zero-shot, only the
        # evaluation split (test, else validation) is scored.
        keys = ("training_split", "validation_split", "test_split")
        splits = [name for key in keys if (name := _stock(task).get(key))]
        override = {
            "include": str(STOCK / yaml_path),
            "task": task,
            "dataset_path": "json",
            "dataset_name": None,
            "dataset_kwargs": {"data_files": {split: str(data) for split in splits}},
        }
        (folder / f"{task}.yaml").write_text(json.dumps(override))  # JSON is YAML


@pytest.fixture(scope="module")
def stock_run(tiny_baseline, tiny_world, tmp_path_factory):
    """lm-eval's stock tasks on the tiny model: (task manager, simple_evaluate's output)."""
    model, tokenizer, _ = tiny_baseline
    model.eval()
    folder = tmp_path_factory.mktemp("lm_eval_tasks")
    _write_local_tasks(folder, tiny_world.eval_sets)
    manager = TaskManager(include_path=str(folder), include_defaults=False)
    harness = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=BATCH_SIZE, device="cpu")
    output = simple_evaluate(
        model=harness,
        tasks=list(TASKS),
        task_manager=manager,
        num_fewshot=0,
        # HFLM's default budget (256) exceeds the tiny model's context: use ours.
        gen_kwargs={"max_gen_toks": default_max_new_tokens(model)},
        bootstrap_iters=0,
        log_samples=True,
    )
    return manager, output


def _metric(results: dict, name: str) -> float:
    """lm-eval's value of a metric, whatever filter name the stock task gives it."""
    keys = [key for key in results if key.split(",")[0] == name]
    assert len(keys) == 1, (name, sorted(results))
    return results[keys[0]]


def test_metrics_match_lm_eval_stock_tasks(tiny_baseline, tiny_world, stock_run):
    model, tokenizer, _ = tiny_baseline
    _, output = stock_run
    for task, (_, ours_name, metrics) in TASKS.items():
        recs = records(ours_name, tiny_world.eval_sets[ours_name])
        ours = evaluate_task(model, tokenizer, recs, BATCH_SIZE, default_max_new_tokens(model))
        assert output["results"][task]["sample_len"] == len(recs), task
        for our_metric, their_metric in metrics.items():
            theirs = _metric(output["results"][task], their_metric)
            print(f"{task:16s} {our_metric:11s} ours={ours[our_metric]:.6f} lm-eval={theirs:.6f}")
            if our_metric == "ppl":
                assert math.isclose(ours[our_metric], theirs, rel_tol=1e-4), task
            else:
                assert ours[our_metric] == theirs, (task, our_metric)
        # Item by item (what paired differences rest on): lm-eval's own per-sample metric.
        samples = sorted(output["samples"][task], key=lambda s: s["doc_id"])
        theirs = "".join("1" if s[metrics[main_metric(ours_name)]] else "0" for s in samples)
        assert ours[CORRECT] == theirs, task


def test_each_item_matches_lm_eval(tiny_baseline, tiny_world, stock_run):
    """Per item: lm-eval's requests are ours (prompts, targets, choices, stop strings) and
    so are its responses (log-likelihoods, greedy flags, generations)."""
    model, tokenizer, _ = tiny_baseline
    _, output = stock_run
    for task, (_, ours_name, _) in TASKS.items():
        recs = records(ours_name, tiny_world.eval_sets[ours_name])
        samples = sorted(output["samples"][task], key=lambda s: s["doc_id"])
        assert len(samples) == len(recs), task
        if task in GENERATION_TASKS:
            prompts = [r.prompt for r in recs]
            assert [s["arguments"][0][0] for s in samples] == prompts, task
            assert all(tuple(s["arguments"][0][1]["until"]) == QA_STOP for s in samples), task
            ours = greedy_generate(model, tokenizer, prompts, default_max_new_tokens(model))
            assert [s["resps"][0][0] for s in samples] == ours, task
            continue
        pairs = []
        for r in recs:
            if isinstance(r, LastWord):
                pairs.append([(r.context, r.target)])
            elif isinstance(r, MultipleChoice):
                pairs.append([(r.context, choice) for choice in r.choices])
            else:  # WebQ: every kept alias after the prompt
                pairs.append([(r.prompt, " " + answer) for answer in r.answers])
        assert [[tuple(a) for a in s["arguments"]] for s in samples] == pairs, task
        ours = loglikelihoods(model, tokenizer, [p for item in pairs for p in item], BATCH_SIZE)
        theirs = [tuple(resp[0]) for s in samples for resp in s["resps"]]
        for (ll, greedy), (their_ll, their_greedy) in zip(ours, theirs, strict=True):
            assert ll == pytest.approx(their_ll, rel=1e-5, abs=1e-4), task
            assert greedy == their_greedy, task


def test_exact_match_agrees_with_the_stock_metric(tiny_world, stock_run):
    """The tiny model never answers right, so feed the stock tasks' own process_results
    hand-made answers (articles, case, punctuation, spaces) and compare with ours."""
    manager, _ = stock_run
    loaded = manager.load(list(GENERATION_TASKS))["tasks"]
    for task in GENERATION_TASKS:
        ours_name = TASKS[task][1]
        recs = records(ours_name, tiny_world.eval_sets[ours_name])
        docs = list(loaded[task].eval_docs)
        verdicts = []
        for doc, record, other in zip(docs, recs, recs[1:] + recs[:1], strict=True):
            gold = record.answers[0]
            for answer in (
                gold,
                f" The {gold.upper()}.",
                f"a {gold}",
                f"{gold} an",
                other.answers[0],
            ):
                # The stock filter (remove_whitespace, take_first) strips the response.
                theirs = loaded[task].process_results(doc, [answer.strip()])["exact_match"]
                verdicts.append(bool(theirs))
                assert exact_match(answer, record.answers, record.ignore) == bool(theirs), (
                    task,
                    answer,
                )
        assert any(verdicts) and not all(verdicts), task


def test_acc_norm_agrees_with_the_stock_metric(tiny_world, stock_run, monkeypatch):
    """Log-likelihoods near -(choice length) make acc_norm hinge on which length is used
    (e.g. with or without the delimiter's space): stock hellaswag and ours must agree."""
    manager, _ = stock_run
    stock = manager.load(["hellaswag"])["tasks"]["hellaswag"]
    recs = records("hellaswag", tiny_world.eval_sets["hellaswag"])
    rng = random.Random(0)
    fake = [[(-len(c) * rng.uniform(0.95, 1.05), False) for c in r.choices] for r in recs]
    theirs = [stock.process_results(doc, lls) for doc, lls in zip(stock.eval_docs, fake)]
    flat = [result for lls in fake for result in lls]
    monkeypatch.setattr(
        pruning_lib.evaluation.evaluate, "loglikelihoods", lambda *args, **kwargs: flat
    )
    ours = evaluate_task(None, None, recs)
    for metric in ("acc", "acc_norm"):
        assert ours[metric] == sum(t[metric] for t in theirs) / len(theirs), metric


def test_nq_prompt_carries_the_stock_description(tiny_world):
    """The stock NQ task has a description; a prompt without it would change the scores."""
    description = _stock("nq_open")["description"]
    assert description.strip()
    for record in records("nq_open", tiny_world.eval_sets["nq_open"]):
        assert record.prompt.startswith(description)
