"""Perplexity and the six task protocols, following lm-evaluation-harness 0.4.x.

- log-likelihood of a continuation: context and continuation are encoded as lm-eval
  does (trailing spaces of the context move to the continuation; the continuation's
  tokens are those of the whole string after the context's tokens);
- LAMBADA: acc is 1 when every target token is the greedy choice; perplexity is
  exp(-mean log-likelihood of the target);
- multiple choice: acc picks the highest log-likelihood, acc_norm divides it by the
  choice's length in characters, without the space the target delimiter adds (HellaSwag);
- NQ, TriviaQA: greedy generation stopped at newline, period, comma or the tokenizer's
  end-of-text string; exact match as lm-eval's stock tasks define it: the answer
  stripped, the task's regexes removed (NQ: articles), lower-cased, punctuation dropped;
- WebQ: correct when greedy decoding reproduces any answer alias.

Example:
    >>> exact_match(" The Eiffel Tower", ["eiffel tower"], (r"\\b(?:The |the )",))
    True
    >>> exact_match("the eiffel tower", ["Eiffel Tower"])  # TriviaQA keeps articles
    False
"""

from __future__ import annotations

import math
import re
import string
import weakref
from collections import Counter

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .tasks import (
    CORRECT,
    QA_STOP,
    TARGET_DELIMITER,
    LastWord,
    MultipleChoice,
    QuestionAnswer,
    Record,
)

# lm-eval's default generation budget (HFLM's max_gen_toks).
LM_EVAL_MAX_GEN_TOKS = 256


# Token ids per tokenizer and text: a study evaluates the same items hundreds of times, and
# tokenizing them again would cost about an eighth of each evaluation. Weak keys: a
# tokenizer that goes away takes its entries with it (an id could be reused by another).
_ENCODED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _memo(tokenizer) -> dict:
    try:
        return _ENCODED.setdefault(tokenizer, {})
    except TypeError:  # a tokenizer that cannot be weakly referenced: no memo
        return {}


def _ids(tokenizer, text: str) -> list[int]:
    """The tokenizer's ids of ``text`` without special tokens (memoized)."""
    memo = _memo(tokenizer)
    key = ("text", text)
    if key not in memo:
        memo[key] = tuple(tokenizer(text, add_special_tokens=False)["input_ids"])
    return list(memo[key])  # a copy: the caller may change it


def encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-eval's ``_encode_pair``: token ids of context and of continuation."""
    memo = _memo(tokenizer)
    key = ("pair", context, continuation)
    if key not in memo:
        memo[key] = tuple(map(tuple, _encode_pair(tokenizer, context, continuation)))
    context_ids, continuation_ids = memo[key]
    return list(context_ids), list(continuation_ids)


def _encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    spaces = len(context) - len(context.rstrip())
    if spaces:
        continuation = context[-spaces:] + continuation
        context = context[:-spaces]
    whole = tokenizer(context + continuation, add_special_tokens=False)["input_ids"]
    context_ids = _ids(tokenizer, context)
    if not context_ids:  # empty context: condition on the end-of-text token
        return [tokenizer.eos_token_id], whole
    return context_ids, whole[len(context_ids) :]


def _max_length(model) -> int:
    config = model.config
    for key in ("n_positions", "max_position_embeddings", "seq_length"):
        if getattr(config, key, None):
            return int(getattr(config, key))
    return 2048


@torch.no_grad()
def loglikelihoods(
    model, tokenizer, pairs: list[tuple[str, str]], batch_size: int = 32, progress: bool = False
) -> list[tuple[float, bool]]:
    """(sum of log-probabilities, every token greedy) of each continuation given its context."""
    device = next(model.parameters()).device
    max_length = _max_length(model)
    encoded = []
    for context, continuation in pairs:
        context_ids, continuation_ids = encode_pair(tokenizer, context, continuation)
        # As lm-eval: keep the last max_length + 1 tokens, feed all but the last.
        whole = (context_ids + continuation_ids)[-(max_length + 1) :]
        encoded.append((whole[:-1], continuation_ids))
    # Longest first keeps padding low; results go back in the original order.
    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i][0]))
    results: list[tuple[float, bool]] = [(0.0, False)] * len(encoded)
    batches = range(0, len(order), batch_size)
    for start in tqdm(batches, disable=not progress, desc="loglikelihood", leave=False):
        index = order[start : start + batch_size]
        width = max(len(encoded[i][0]) for i in index)
        inputs = torch.full((len(index), width), tokenizer.pad_token_id or 0, dtype=torch.long)
        mask = torch.zeros((len(index), width), dtype=torch.long)
        for row, i in enumerate(index):
            ids = encoded[i][0]
            inputs[row, : len(ids)] = torch.tensor(ids)
            mask[row, : len(ids)] = 1
        logits = model(input_ids=inputs.to(device), attention_mask=mask.to(device)).logits
        logprobs = F.log_softmax(logits.float(), dim=-1).cpu()  # (B, T, V)
        for row, i in enumerate(index):
            inputs_ids, target = encoded[i]
            n = len(target)
            end = len(inputs_ids)
            piece = logprobs[row, end - n : end]  # (n, V)
            target_t = torch.tensor(target)
            total = piece.gather(1, target_t[:, None]).sum().item()
            greedy = bool((piece.argmax(-1) == target_t).all())
            results[i] = (total, greedy)
    return results


@torch.no_grad()
def greedy_generate(
    model,
    tokenizer,
    prompts: list[str],
    max_new_tokens: int = 8,
    stop: tuple[str, ...] = QA_STOP,
    batch_size: int = 32,
    progress: bool = False,
) -> list[str]:
    """Greedy continuations, cut at the first stop string (left padding, batched).

    As lm-eval's ``generate_until``: the tokenizer's end-of-text string is a stop string
    too, and prompts keep their last ``max_length - max_new_tokens`` tokens.
    """
    device = next(model.parameters()).device
    max_length = _max_length(model)
    if not 0 < max_new_tokens < max_length:
        raise ValueError(
            f"max_new_tokens={max_new_tokens!r} is out of range; allowed: [1, {max_length - 1}] "
            f"(the model's context is {max_length} tokens)"
        )
    eos = tokenizer.eos_token
    stop = tuple(stop) + ((eos,) if eos and eos not in stop else ())
    pad = tokenizer.pad_token_id or 0
    outputs: list[str] = [""] * len(prompts)
    encoded = [_ids(tokenizer, p) for p in prompts]
    encoded = [ids[-(max_length - max_new_tokens) :] for ids in encoded]
    order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
    batches = range(0, len(order), batch_size)
    for start in tqdm(batches, disable=not progress, desc="generate", leave=False):
        index = order[start : start + batch_size]
        width = max(len(encoded[i]) for i in index)
        ids = torch.full((len(index), width), pad, dtype=torch.long)
        mask = torch.zeros((len(index), width), dtype=torch.long)
        for row, i in enumerate(index):
            ids[row, width - len(encoded[i]) :] = torch.tensor(encoded[i])
            mask[row, width - len(encoded[i]) :] = 1
        ids, mask = ids.to(device), mask.to(device)
        new = torch.zeros((len(index), 0), dtype=torch.long, device=device)
        done = torch.zeros(len(index), dtype=torch.bool)
        for _ in range(max_new_tokens):
            position = (mask.cumsum(-1) - 1).clamp(min=0)
            logits = model(input_ids=ids, attention_mask=mask, position_ids=position).logits
            next_id = logits[:, -1].argmax(-1)  # (B,)
            new = torch.cat([new, next_id[:, None]], dim=1)
            ids = torch.cat([ids, next_id[:, None]], dim=1)
            mask = torch.cat([mask, torch.ones_like(next_id)[:, None]], dim=1)
            texts = tokenizer.batch_decode(new.cpu())
            done = torch.tensor([any(s in t for s in stop) for t in texts])
            if bool(done.all()):
                break
        for row, i in enumerate(index):
            text = tokenizer.decode(new[row].cpu())
            cut = min([text.index(s) for s in stop if s in text], default=len(text))
            outputs[i] = text[:cut]
    return outputs


_NO_PUNCTUATION = str.maketrans("", "", string.punctuation)


def _match_form(text: str, ignore: tuple[str, ...]) -> str:
    for pattern in ignore:
        text = re.sub(pattern, "", text)
    return text.lower().translate(_NO_PUNCTUATION)


def exact_match(prediction: str, answers, ignore: tuple[str, ...] = ()) -> bool:
    """lm-eval's exact match of a generation against any accepted answer.

    The generation is stripped (the stock tasks' ``remove_whitespace`` filter); then, on
    both sides, each regex of ``ignore`` is removed, the text lower-cased and its
    punctuation dropped, and the two must be equal (``exact_match_hf_evaluate``).
    """
    form = _match_form(prediction.strip(), ignore)
    return any(form == _match_form(answer, ignore) for answer in answers)


def chance_level(records: list[Record]) -> float:
    """The score of a model that knows nothing about the items.

    Multiple choice: 1 / number of choices. Last word and QA: the score of always
    giving the most common answer.
    """
    if not records:
        return 0.0
    first = records[0]
    if isinstance(first, MultipleChoice):
        return sum(1 / len(r.choices) for r in records) / len(records)
    if isinstance(first, LastWord):
        counts = Counter(r.target.strip() for r in records)
        return counts.most_common(1)[0][1] / len(records)
    counts = Counter(a for r in records for a in set(r.answers))
    best = counts.most_common(1)[0][0]
    hits = sum(exact_match(best, r.answers, r.ignore) for r in records)
    return hits / len(records)


def evaluate_task(
    model,
    tokenizer,
    records: list[Record],
    batch_size: int = 32,
    max_new_tokens: int | None = None,
    progress: bool = False,
) -> dict[str, float | str]:
    """Score one task's records; returns its metrics, ``chance``, and under ``CORRECT`` the
    main metric item by item (a string of 0s and 1s, one per record, in order).

    ``max_new_tokens`` bounds greedy answers (None: :func:`default_max_new_tokens`).
    """
    if not records:
        raise ValueError("records is empty: nothing to evaluate")
    first = records[0]
    metrics: dict[str, float] = {}
    if isinstance(first, LastWord):
        scored = loglikelihoods(
            model, tokenizer, [(r.context, r.target) for r in records], batch_size, progress
        )
        correct = [bool(g) for _, g in scored]
        metrics["acc"] = sum(correct) / len(correct)
        metrics["ppl"] = math.exp(-sum(ll for ll, _ in scored) / len(scored))
    elif isinstance(first, MultipleChoice):
        pairs = [(r.context, c) for r in records for c in r.choices]
        scored = loglikelihoods(model, tokenizer, pairs, batch_size, progress)
        correct, correct_norm = [], 0
        at = 0
        for r in records:
            lls = [ll for ll, _ in scored[at : at + len(r.choices)]]
            at += len(r.choices)
            normed = [ll / _choice_length(c) for ll, c in zip(lls, r.choices)]
            correct.append(max(range(len(lls)), key=lambda k: lls[k]) == r.label)
            correct_norm += max(range(len(normed)), key=lambda k: normed[k]) == r.label
        metrics["acc"] = sum(correct) / len(records)
        metrics["acc_norm"] = correct_norm / len(records)
    elif isinstance(first, QuestionAnswer) and first.mode == "greedy_any":
        pairs = [(r.prompt, " " + a) for r in records for a in r.answers]
        scored = loglikelihoods(model, tokenizer, pairs, batch_size, progress)
        correct, at = [], 0
        for r in records:
            correct.append(any(g for _, g in scored[at : at + len(r.answers)]))
            at += len(r.answers)
        metrics["exact_match"] = sum(correct) / len(records)
    else:
        generations = greedy_generate(
            model,
            tokenizer,
            [r.prompt for r in records],
            max_new_tokens or default_max_new_tokens(model),
            batch_size=batch_size,
            progress=progress,
        )
        correct = [exact_match(g, r.answers, r.ignore) for g, r in zip(generations, records)]
        metrics["exact_match"] = sum(correct) / len(records)
    metrics["chance"] = chance_level(records)
    # Item by item, for differences of two runs on the same items (uncertainty.paired).
    metrics[CORRECT] = "".join("1" if c else "0" for c in correct)
    return metrics


def _choice_length(choice: str) -> int:
    """The length lm-eval's acc_norm divides by: the choice without the delimiter."""
    return max(1, len(choice.removeprefix(TARGET_DELIMITER)))


def default_max_new_tokens(model) -> int:
    """lm-eval's 256 where the model's context leaves room for it, else half the context."""
    return min(LM_EVAL_MAX_GEN_TOKS, _max_length(model) // 2)


def main_metric(task: str) -> str:
    return {"lambada": "acc", "story_cloze": "acc", "hellaswag": "acc"}.get(task, "exact_match")


def evaluate_all(
    model,
    tokenizer,
    sets: dict[str, list[Record]],
    batch_size: int = 32,
    max_new_tokens: int | None = None,
    progress: bool = False,
) -> dict[str, dict[str, float | str]]:
    """Every task of ``sets``, in the paper's order."""
    was_training = model.training
    model.eval()
    scores = {
        task: evaluate_task(model, tokenizer, recs, batch_size, max_new_tokens, progress)
        for task, recs in sets.items()
    }
    model.train(was_training)
    return scores


@torch.no_grad()
def perplexity(model, stream: torch.Tensor, block_size: int, batch_size: int = 16) -> float:
    """Token-level perplexity of a stream, in non-overlapping windows of ``block_size``."""
    device = next(model.parameters()).device
    n = (len(stream) - 1) // block_size
    if n < 1:
        raise ValueError(f"stream of {len(stream)} tokens is shorter than block_size + 1")
    total, count = 0.0, 0
    for start in range(0, n, batch_size):
        rows = range(start, min(n, start + batch_size))
        x = torch.stack([stream[r * block_size : (r + 1) * block_size] for r in rows])
        y = torch.stack([stream[r * block_size + 1 : (r + 1) * block_size + 1] for r in rows])
        logits = model(input_ids=x.to(device)).logits.float()
        loss = F.cross_entropy(logits.flatten(0, 1), y.to(device).flatten(), reduction="sum")
        total += loss.item()
        count += y.numel()
    return math.exp(total / count)
