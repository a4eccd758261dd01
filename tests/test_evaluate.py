"""Evaluators against log-likelihoods computed here by hand from direct forward passes."""

import math

import pytest
import torch
import torch.nn.functional as F

from pruning_lib.evaluation import evaluate as ev
from pruning_lib.evaluation.tasks import EXACT_MATCH, LastWord, MultipleChoice, QuestionAnswer


def hand_loglikelihood(model, tokenizer, context, continuation):
    """One unbatched forward pass over context + continuation; sum of target log-probs."""
    ctx = tokenizer(context, add_special_tokens=False)["input_ids"]
    whole = tokenizer(context + continuation, add_special_tokens=False)["input_ids"]
    target = whole[len(ctx) :]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([whole])).logits[0]
    logprobs = F.log_softmax(logits, dim=-1)
    total, greedy = 0.0, True
    for k, token in enumerate(target):
        position = len(ctx) + k - 1  # the logits that predict token k of the target
        total += logprobs[position, token].item()
        greedy &= logprobs[position].argmax().item() == token
    return total, greedy


def test_loglikelihood_matches_hand_computation(tiny_baseline, tiny_world):
    model, tok, _ = tiny_baseline
    pairs = [(r["ctx_a"], " " + r["endings"][0]) for r in tiny_world.eval_sets["hellaswag"]]
    pairs += [("the pet of", " a cat"), ("x", " y z w")]
    got = ev.loglikelihoods(model, tok, pairs, batch_size=3)  # uneven batches, padding
    for (context, continuation), (ll, greedy) in zip(pairs, got):
        want_ll, want_greedy = hand_loglikelihood(model, tok, context, continuation)
        assert ll == pytest.approx(want_ll, abs=1e-4)
        assert greedy == want_greedy


def test_trailing_space_moves_to_continuation(tiny_baseline):
    _, tok, _ = tiny_baseline
    assert ev.encode_pair(tok, "the cat ", "sat") == ev.encode_pair(tok, "the cat", " sat")


def test_token_ids_are_remembered_per_tokenizer_and_never_shared(tiny_baseline):
    from pruning_lib.study.model import train_tokenizer

    _, tok, _ = tiny_baseline
    fresh = tok("the pet of", add_special_tokens=False)["input_ids"]
    first = ev.encode_pair(tok, "the pet of", " a cat")
    first[0].append(-1)  # a caller that changes the lists it got changes no later answer
    again = ev.encode_pair(tok, "the pet of", " a cat")
    assert again[0] == fresh and again == ev._encode_pair(tok, "the pet of", " a cat")
    assert ev.encode_pair(tok, "the pet of", " a cat") is not again  # copies
    # Another tokenizer (another vocabulary) gets its own ids for the same text.
    other = train_tokenizer(["a cat sat on the mat of the pet"] * 20, 300)
    assert ev._encode_pair(other, "the pet of", " a cat") != again  # a memo by text would fail
    assert ev.encode_pair(other, "the pet of", " a cat") == ev._encode_pair(
        other, "the pet of", " a cat"
    )
    assert (
        ev._ids(other, "the pet of") == other("the pet of", add_special_tokens=False)["input_ids"]
    )


def test_multiple_choice_acc_and_acc_norm_by_hand(tiny_baseline):
    model, tok, _ = tiny_baseline
    recs = [
        MultipleChoice("the cat sat on the", (" mat .", " very long wrong answer here ."), 0),
        MultipleChoice("a b c", (" d", " e", " f g"), 2),
    ]
    got = ev.evaluate_task(model, tok, recs)
    acc, norm = [], 0
    for r in recs:
        lls = [hand_loglikelihood(model, tok, r.context, c)[0] for c in r.choices]
        # lm-eval divides by the choice without the delimiter's leading space.
        normed = [ll / len(c[1:]) for ll, c in zip(lls, r.choices)]
        acc.append(lls.index(max(lls)) == r.label)
        norm += normed.index(max(normed)) == r.label
    assert got["acc"] == sum(acc) / 2 and got["acc_norm"] == norm / 2
    assert got["correct"] == "".join("1" if x else "0" for x in acc)  # the acc item by item
    assert got["chance"] == pytest.approx((1 / 2 + 1 / 3) / 2)


def test_acc_norm_divides_by_the_choice_without_its_delimiter(monkeypatch):
    # The example: " x" at -1.5 against " yyyy" at -4.0. lm-eval's acc_norm divides
    # by len("x") = 1 and len("yyyy") = 4: -1.5 < -1.0, so " yyyy" wins. Dividing by the
    # lengths with the space (2 and 5) would pick " x" (-0.75 > -0.8).
    monkeypatch.setattr(ev, "loglikelihoods", lambda *a, **k: [(-1.5, False), (-4.0, False)])
    got = ev.evaluate_task(None, None, [MultipleChoice("c", (" x", " yyyy"), 1)])
    assert got["acc"] == 0.0 and got["acc_norm"] == 1.0


def test_lambada_acc_and_perplexity_by_hand(tiny_baseline, tiny_world):
    from pruning_lib.evaluation.data import records

    model, tok, _ = tiny_baseline
    recs = records("lambada", tiny_world.eval_sets["lambada"])
    got = ev.evaluate_task(model, tok, recs)
    hand = [hand_loglikelihood(model, tok, r.context, r.target) for r in recs]
    assert got["acc"] == sum(g for _, g in hand) / len(hand)
    assert got["ppl"] == pytest.approx(math.exp(-sum(ll for ll, _ in hand) / len(hand)), rel=1e-5)


def hand_greedy(model, tok, prompt, steps):
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    new = []
    with torch.no_grad():
        for _ in range(steps):
            nxt = model(input_ids=torch.tensor([ids + new])).logits[0, -1].argmax().item()
            new.append(nxt)
    return tok.decode(new)


def test_batched_left_padded_generation_equals_one_by_one(tiny_baseline, tiny_world):
    model, tok, _ = tiny_baseline
    from pruning_lib.evaluation.data import records

    prompts = [r.prompt for r in records("nq_open", tiny_world.eval_sets["nq_open"])]
    prompts += ["Q: x?\nA:", "a much longer prompt about many things that goes on and on"]
    got = ev.greedy_generate(model, tok, prompts, max_new_tokens=5, stop=("\n",), batch_size=4)
    for prompt, text in zip(prompts, got):
        want = hand_greedy(model, tok, prompt, 5)
        assert text == want.split("\n")[0].split(tok.eos_token)[0]


def test_qa_exact_match_and_greedy_any(tiny_baseline):
    model, tok, _ = tiny_baseline
    prompt = "Q: where does x live?\nA:"
    generated = ev.greedy_generate(model, tok, [prompt], max_new_tokens=8)[0]
    # NQ's rules: case, articles (its regex) and punctuation do not matter; another answer does.
    nq_ignore = EXACT_MATCH["nq_open"]["regexes_to_ignore"]
    right = QuestionAnswer(
        prompt, ("nowhere", "The " + generated.strip().upper() + "!"), ignore=nq_ignore
    )
    wrong = QuestionAnswer(prompt, ("zzzz",), ignore=nq_ignore)
    assert ev.evaluate_task(model, tok, [right, wrong], max_new_tokens=8)["exact_match"] == 0.5
    # TriviaQA's rules keep articles: "the x" is not "x".
    trivia = QuestionAnswer(prompt, ("The " + generated.strip(),))
    assert ev.evaluate_task(model, tok, [trivia], max_new_tokens=8)["exact_match"] == 0.0
    # greedy_any: an alias is right when greedy decoding reproduces all its tokens. A stub
    # model whose greedy next token is always " <word>" makes the expected answer certain.
    word_id = next(
        i
        for t, i in sorted(tok.get_vocab().items())
        if t.startswith("\u0120") and t[1:].isalpha() and len(t) > 3
    )
    alias = tok.decode([word_id]).strip()
    stub = FixedNextToken(len(tok), word_id)
    recs = [
        QuestionAnswer(prompt, ("qqqq", alias), "greedy_any"),
        QuestionAnswer(prompt, ("qqqq",), "greedy_any"),
        QuestionAnswer(prompt, (alias + " " + alias,), "greedy_any"),  # 2 tokens, both greedy
        # First token greedy, second not: wrong (every token of the target must be greedy).
        QuestionAnswer(prompt, (alias + " qqqq",), "greedy_any"),
    ]
    assert ev.evaluate_task(stub, tok, recs)["exact_match"] == pytest.approx(2 / 4)


class TokenSequence(torch.nn.Module):
    """A stand-in causal LM whose greedy continuation is a fixed token sequence."""

    def __init__(self, vocab_size: int, prompt_length: int, sequence: list[int]):
        super().__init__()
        from types import SimpleNamespace

        self.config = SimpleNamespace(n_positions=256)
        self.vocab_size, self.start, self.sequence = vocab_size, prompt_length, sequence
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask=None, **kwargs):
        from types import SimpleNamespace

        logits = torch.zeros(*input_ids.shape, self.vocab_size)
        produced = input_ids.shape[1] - self.start
        logits[:, -1, self.sequence[min(produced, len(self.sequence) - 1)]] = 1.0
        return SimpleNamespace(logits=logits)


def test_generation_stops_at_the_end_of_text_token(tiny_baseline):
    # lm-eval adds the tokenizer's end-of-text string to the stop strings: "santiago" then
    # <|endoftext|> then more words must give "santiago", not "santiago<|endoftext|>heidi".
    _, tok, _ = tiny_baseline
    prompt = "Question: who?\nAnswer:"
    length = len(tok(prompt, add_special_tokens=False)["input_ids"])
    word = tok(" santiago", add_special_tokens=False)["input_ids"]
    more = tok(" heidi has a", add_special_tokens=False)["input_ids"]
    stub = TokenSequence(len(tok), length, word + [tok.eos_token_id] + more)
    got = ev.greedy_generate(stub, tok, [prompt], max_new_tokens=12)
    assert got == [" santiago"]
    record = QuestionAnswer(prompt, ("Santiago",))
    assert ev.evaluate_task(stub, tok, [record], max_new_tokens=12)["exact_match"] == 1.0


class FixedNextToken(torch.nn.Module):
    """A stand-in causal LM that always puts the highest logit on one token."""

    def __init__(self, vocab_size: int, token_id: int):
        super().__init__()
        from types import SimpleNamespace

        self.config = SimpleNamespace(n_positions=256)
        self.vocab_size, self.token_id = vocab_size, token_id
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # gives the evaluators a device

    def forward(self, input_ids, attention_mask=None, **kwargs):
        from types import SimpleNamespace

        logits = torch.zeros(*input_ids.shape, self.vocab_size)
        logits[..., self.token_id] = 1.0
        return SimpleNamespace(logits=logits)


def test_exact_match_as_lm_eval_and_chance():
    nq_ignore = EXACT_MATCH["nq_open"]["regexes_to_ignore"]
    # lm-eval: strip the generation; regexes, lower case, punctuation; nothing else.
    assert ev.exact_match(" An Apple, pie. ", ["apple pie"], nq_ignore)
    assert not ev.exact_match("apple  pie", ["apple pie"], nq_ignore)  # spaces are kept
    assert not ev.exact_match("the apple", ["apple"])  # no regex: articles count
    assert ev.exact_match("APPLE!", ["apple"])
    qa = [
        QuestionAnswer("q", ("cat",)),
        QuestionAnswer("q", ("Cat", "kitten")),
        QuestionAnswer("q", ("dog",)),
    ]
    assert ev.chance_level(qa) == pytest.approx(2 / 3)
    lw = [LastWord("a", " key"), LastWord("b", " key"), LastWord("c", " hat"), LastWord("d", " x")]
    assert ev.chance_level(lw) == 0.5
    with pytest.raises(ValueError, match="empty"):
        ev.evaluate_task(None, None, [])


def test_perplexity_by_hand(tiny_baseline):
    model, tok, _ = tiny_baseline
    stream = torch.arange(1, 42) % 50
    got = ev.perplexity(model, stream, block_size=8, batch_size=2)
    losses = []
    for r in range(5):
        x = stream[r * 8 : r * 8 + 9]
        with torch.no_grad():
            logits = model(input_ids=x[None, :-1]).logits[0]
        losses.append(F.cross_entropy(logits, x[1:], reduction="sum").item())
    assert got == pytest.approx(math.exp(sum(losses) / 40), rel=1e-5)


def test_evaluation_is_deterministic(tiny_baseline, tiny_world):
    from pruning_lib.evaluation.data import records

    model, tok, _ = tiny_baseline
    sets = {t: records(t, rows) for t, rows in tiny_world.eval_sets.items()}
    assert ev.evaluate_all(model, tok, sets) == ev.evaluate_all(model, tok, sets, batch_size=5)


def test_encode_pair_adds_no_special_tokens(tiny_baseline):
    # A Llama-style tokenizer adds a BOS token by default; lm-eval's _encode_pair does not.
    import copy

    from tokenizers.processors import TemplateProcessing

    _, tok, _ = tiny_baseline
    bos = copy.deepcopy(tok)
    bos._tokenizer.post_processor = TemplateProcessing(
        single=f"{tok.eos_token} $A", special_tokens=[(tok.eos_token, tok.eos_token_id)]
    )
    assert bos("a b")["input_ids"][0] == tok.eos_token_id  # the template is active
    assert ev.encode_pair(bos, "the cat sat", " on") == ev.encode_pair(tok, "the cat sat", " on")
