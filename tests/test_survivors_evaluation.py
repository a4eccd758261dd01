"""Tests pinning behaviour of evaluation/evaluate.py that a mutation run found unchecked."""

from types import SimpleNamespace

import pytest
import torch

from pruning_lib.evaluation import evaluate as ev
from pruning_lib.evaluation.tasks import LastWord, MultipleChoice, QuestionAnswer

VOCAB = 128  # one token per ASCII character


class CharTokenizer:
    """A tokenizer written here: token id = code point of each character. It logs every
    text it is asked to encode, so a test can see what the evaluators tokenize again."""

    eos_token, eos_token_id, pad_token_id = "\x03", 3, 0

    def __init__(self):
        self.encoded: list[str] = []

    def __call__(self, text, add_special_tokens=False):
        self.encoded.append(text)
        return {"input_ids": [ord(c) for c in text]}

    def decode(self, ids):
        return "".join(chr(int(i)) for i in ids)

    def batch_decode(self, rows):
        return [self.decode(row) for row in rows]


class RowCounter(torch.nn.Module):
    """A stand-in causal LM with constant logits (one favoured token, if any) that logs
    the number of rows of every batch it is given."""

    def __init__(self, favoured: int | None = None):
        super().__init__()
        self.config = SimpleNamespace(n_positions=64)
        self.favoured = favoured
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # gives the evaluators a device
        self.rows: list[int] = []

    def forward(self, input_ids, attention_mask=None, **kwargs):
        self.rows.append(input_ids.shape[0])
        logits = torch.zeros(*input_ids.shape, VOCAB)
        if self.favoured is not None:
            logits[..., self.favoured] = 1.0
        return SimpleNamespace(logits=logits)


def test_a_repeated_pair_is_not_tokenized_again():
    tok = CharTokenizer()
    # lm-eval's split: the context's trailing space moves to the continuation.
    want = ([ord("a"), ord("b")], [ord(" "), ord("c")])
    assert ev.encode_pair(tok, "ab ", "c") == want
    assert sorted(tok.encoded) == ["ab", "ab c"]  # the whole string and the context
    tok.encoded.clear()
    # The same pair again comes from the memo of this tokenizer: nothing is encoded.
    assert ev.encode_pair(tok, "ab ", "c") == want
    assert tok.encoded == []


def test_a_known_context_is_not_tokenized_again_for_a_new_continuation():
    tok = CharTokenizer()
    ev.encode_pair(tok, "ab", " c")
    tok.encoded.clear()
    # Only the new whole string is encoded; the context "ab" is remembered text by text.
    assert ev.encode_pair(tok, "ab", " d") == ([ord("a"), ord("b")], [ord(" "), ord("d")])
    assert tok.encoded == ["ab d"]


def test_prompts_are_tokenized_once_across_generations():
    tok = CharTokenizer()
    model = RowCounter(favoured=ord("x"))
    # The model always prefers "x": two greedy tokens give "xx" (no stop string in it).
    assert ev.greedy_generate(model, tok, ["Q: a?"], max_new_tokens=2) == ["xx"]
    assert tok.encoded == ["Q: a?"]
    tok.encoded.clear()
    assert ev.greedy_generate(model, tok, ["Q: a?"], max_new_tokens=2) == ["xx"]
    assert tok.encoded == []  # the prompt's ids come from the memo


def test_exact_match_lower_cases_rather_than_upper_cases():
    # lm-eval's exact_match_hf_evaluate lower-cases both sides. Upper-casing is not the same
    # comparison: "ß".upper() is "SS" and dotless "ı".upper() is "I", so it would match these.
    assert "straße".lower() != "strasse" and "ı".lower() != "i"
    assert not ev.exact_match("Straße", ["STRASSE"])
    assert not ev.exact_match("ı", ["i"])
    assert ev.exact_match(" STRASSE", ["strasse"])  # plain case differences still match


def last_words(n: int) -> list[LastWord]:
    return [LastWord(f"w{k:02d}", " a") for k in range(n)]


def test_evaluate_task_scores_in_batches_of_32_by_default():
    tok, model = CharTokenizer(), RowCounter()
    got = ev.evaluate_task(model, tok, last_words(33))
    assert model.rows == [32, 1]  # 33 items: a full batch of 32, then one
    # Uniform logits: each of the target's 2 tokens (" ", "a") has log-probability
    # -log(VOCAB), and the argmax (token 0, the first of the ties) is never a target token.
    assert got["acc"] == 0.0
    assert got["ppl"] == pytest.approx(VOCAB**2)
    assert got["chance"] == 1.0  # every target is "a"


def test_evaluate_all_scores_in_batches_of_32_by_default():
    tok, model = CharTokenizer(), RowCounter()
    got = ev.evaluate_all(model, tok, {"lambada": last_words(33)})
    assert model.rows == [32, 1]
    assert got["lambada"]["ppl"] == pytest.approx(VOCAB**2)


def test_generation_uses_the_batch_size_asked_for():
    tok, model = CharTokenizer(), RowCounter(favoured=ord("x"))
    records = [QuestionAnswer("Q: a?", ("xx",)), QuestionAnswer("Q: bb?", ("y",))]
    got = ev.evaluate_task(model, tok, records, batch_size=1, max_new_tokens=2)
    # One prompt per batch, two greedy steps each: four forward passes of one row.
    assert model.rows == [1, 1, 1, 1]
    assert got["exact_match"] == 0.5 and got["correct"] == "10"  # both generate "xx"


def test_evaluate_task_and_evaluate_all_show_no_progress_bar_by_default(capsys):
    tok = CharTokenizer()
    ev.evaluate_task(RowCounter(), tok, last_words(2))
    ev.evaluate_all(RowCounter(), tok, {"lambada": last_words(2)})
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "records, stage",
    [
        (last_words(2), "loglikelihood"),
        ([MultipleChoice("ab", (" c", " dd"), 1)], "loglikelihood"),
        ([QuestionAnswer("Q: a?", ("b", "cc"), "greedy_any")], "loglikelihood"),
        ([QuestionAnswer("Q: a?", ("b",))], "generate"),
    ],
    ids=["last_word", "multiple_choice", "greedy_any", "generate"],
)
def test_progress_true_shows_the_scoring_stage_bar(capsys, records, stage):
    got = ev.evaluate_task(RowCounter(), CharTokenizer(), records, max_new_tokens=1, progress=True)
    assert f"{stage}:" in capsys.readouterr().err  # tqdm's bar starts with its description
    # Uniform logits (the argmax is token 0): nothing is right, whatever the protocol.
    assert got["correct"] == "0" * len(records)


def test_progress_true_in_evaluate_all_reaches_each_task(capsys):
    ev.evaluate_all(
        RowCounter(),
        CharTokenizer(),
        {"lambada": last_words(2), "nq_open": [QuestionAnswer("Q: a?", ("b",))]},
        max_new_tokens=1,
        progress=True,
    )
    err = capsys.readouterr().err
    assert "loglikelihood:" in err and "generate:" in err


def test_no_records_is_refused_in_one_exact_line():
    with pytest.raises(ValueError) as error:
        ev.evaluate_task(None, CharTokenizer(), [])
    assert str(error.value) == "records is empty: nothing to evaluate"
