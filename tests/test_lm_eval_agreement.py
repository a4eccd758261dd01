"""Our evaluators against EleutherAI's lm-evaluation-harness on the same requests.

Runs wherever the `lmeval` extra is installed (`pip install -e ".[lmeval]"`); elsewhere it
is skipped with that reason, never silently.
"""

import pytest

lm_eval = pytest.importorskip("lm_eval", reason="the lmeval extra (lm_eval[hf]) is not installed")


def _harness(model, tokenizer):
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=model, tokenizer=tokenizer, batch_size=4, device="cpu")


def test_loglikelihoods_and_greedy_match_lm_eval(tiny_baseline, tiny_world):
    from lm_eval.api.instance import Instance

    from pruning_lib.data import records
    from pruning_lib.evaluate import loglikelihoods

    model, tokenizer, _ = tiny_baseline
    pairs = []
    for task in ("lambada", "story_cloze", "hellaswag"):
        for record in records(task, tiny_world.eval_sets[task]):
            if hasattr(record, "target"):
                pairs.append((record.context, record.target))
            else:
                pairs += [(record.context, choice) for choice in record.choices]
    ours = loglikelihoods(model, tokenizer, pairs, batch_size=3)
    requests = [Instance("loglikelihood", {}, pair, i) for i, pair in enumerate(pairs)]
    theirs = _harness(model, tokenizer).loglikelihood(requests)
    for (ll, greedy), (their_ll, their_greedy) in zip(ours, theirs):
        assert ll == pytest.approx(their_ll, abs=1e-3)
        assert greedy == their_greedy


def test_greedy_generation_matches_lm_eval(tiny_baseline, tiny_world):
    from lm_eval.api.instance import Instance

    from pruning_lib.data import records
    from pruning_lib.evaluate import greedy_generate

    model, tokenizer, _ = tiny_baseline
    prompts = [r.prompt for r in records("nq_open", tiny_world.eval_sets["nq_open"])]
    ours = greedy_generate(model, tokenizer, prompts, max_new_tokens=8)
    options = {"until": ["\n", ".", ","], "max_gen_toks": 8, "do_sample": False}
    requests = [Instance("generate_until", {}, (p, options), i) for i, p in enumerate(prompts)]
    theirs = _harness(model, tokenizer).generate_until(requests)
    assert ours == theirs
