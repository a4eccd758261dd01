"""The hub code path, offline: small local files written in each hub dataset's schema."""

import json

import pytest

from pruning_lib.evaluation import data
from pruning_lib.evaluation.tasks import LastWord, MultipleChoice, QuestionAnswer, to_record
from pruning_lib.training import finetune

# One row per task, with the real hub field names (values abridged from the datasets).
HUB_ROWS = {
    "lambada": {"text": "in my palm is a clear stone , and inside it is a small ivory statuette"},
    "story_cloze": {
        "story_id": "138d5bfb",
        "input_sentence_1": "Rick grew up in a troubled household.",
        "input_sentence_2": "He never found good support in family, and turned to gangs.",
        "input_sentence_3": "It wasn't long before Rick got shot in a robbery.",
        "input_sentence_4": "The incident caused him to turn a new leaf.",
        "sentence_quiz1": "He is happy now.",
        "sentence_quiz2": "He joined a gang.",
        "answer_right_ending": 1,
    },
    "hellaswag": {
        "ind": 24,
        "activity_label": "Roof shingle removal",
        "ctx_a": "A man is sitting on a roof.",
        "ctx_b": "he",
        "ctx": "A man is sitting on a roof. he",
        "endings": [
            "is using wrap to wrap a pair of skis.",
            "is ripping level tiles off.",
            "is holding a rubik's cube.",
            "starts pulling up roofing on a roof. [title] Remove it.",
        ],
        "source_id": "activitynet~v_-JhWjGDPHMY",
        "split": "val",
        "split_type": "indomain",
        "label": "3",
    },
    "nq_open": {
        "question": "where is the world's largest ice sheet located today",
        "answer": ["Antarctica"],
    },
    "web_questions": {
        "url": "http://www.freebase.com/view/en/justin_bieber",
        "question": "what is the name of justin bieber brother?",
        "answers": ["Jazmyn Bieber", "Jaxon Bieber"],
    },
    "trivia_qa": {
        "question": "Which Lloyd Webber musical premiered in the US on 10th December 1993?",
        "question_id": "tc_33",
        "answer": {
            "aliases": ["Sunset Blvd", "Sunset Boulevard"],
            "normalized_aliases": ["sunset blvd", "sunset boulevard"],
            "value": "Sunset Boulevard",
            "normalized_value": "sunset boulevard",
        },
    },
}


def _write(tmp_path, task, rows, suffix=".jsonl"):
    path = tmp_path / f"{task}{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        path.write_text(json.dumps(rows))
    return path


@pytest.mark.parametrize("task", sorted(HUB_ROWS))
def test_local_hub_schema_files_load_through_hub_code_path(tmp_path, task):
    path = _write(tmp_path, task, [HUB_ROWS[task]] * 3)
    rows = data.load_eval_rows(task, path)
    assert len(rows) == 3
    recs = data.records(task, rows)
    assert recs[0] == to_record(task, HUB_ROWS[task])


def test_lm_eval_prompt_conventions():
    # Hand-written from lm-eval 0.4 task yamls.
    lam = to_record("lambada", HUB_ROWS["lambada"])
    assert lam == LastWord(
        "in my palm is a clear stone , and inside it is a small ivory", " statuette"
    )
    story = to_record("story_cloze", HUB_ROWS["story_cloze"])
    assert isinstance(story, MultipleChoice) and story.label == 0
    assert story.context.startswith("Rick grew up in a troubled household. He never")
    assert story.choices == (" He is happy now.", " He joined a gang.")
    hs = to_record("hellaswag", HUB_ROWS["hellaswag"])
    assert hs.context == "Roof shingle removal: A man is sitting on a roof. He"
    assert hs.choices[3] == " starts pulling up roofing on a roof.. Remove it."
    assert hs.label == 3
    nq = to_record("nq_open", HUB_ROWS["nq_open"])
    # lm-eval's stock nq_open puts its description before the question.
    assert nq.prompt == (
        "Answer these questions:\n\nQ: where is the world's largest ice sheet located today?\nA:"
    )
    wq = to_record("web_questions", HUB_ROWS["web_questions"])
    assert wq == QuestionAnswer(
        "Question: what is the name of justin bieber brother?\nAnswer:",
        ("Jaxon Bieber", "Jazmyn Bieber"),  # lm-eval's webqs choices: sorted, prefixes dropped
        "greedy_any",
    )
    tq = to_record("trivia_qa", HUB_ROWS["trivia_qa"])
    assert tq.prompt.endswith("1993??\nAnswer:") and tq.answers == (
        "Sunset Blvd",
        "Sunset Boulevard",
    )


def test_missing_field_is_named(tmp_path):
    row = dict(HUB_ROWS["hellaswag"])
    del row["endings"]
    path = _write(tmp_path, "hellaswag", [row])
    with pytest.raises(ValueError, match=r"hellaswag.*missing field\(s\) \['endings'\]"):
        data.load_eval_rows("hellaswag", path)
    bad = dict(HUB_ROWS["trivia_qa"], answer="Sunset")
    with pytest.raises(ValueError, match="aliases"):
        data.records("trivia_qa", [bad])


def test_bad_sources_refused(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        data.load_eval_rows("lambada", tmp_path / "nope.jsonl")
    odd = tmp_path / "x.txt"
    odd.write_text("hi")
    with pytest.raises(ValueError, match="suffix '.txt'"):
        data.load_eval_rows("lambada", odd)
    with pytest.raises(ValueError, match="task='squad'"):
        data.load_eval_rows("squad", odd)


def test_wikitext_schema_corpus(tmp_path):
    rows = [
        {"text": ""},
        {"text": " = Valkyria Chronicles = \n"},
        {"text": " The game was released .\n"},
    ]
    path = _write(tmp_path, "wikitext", rows, suffix=".json")
    docs = data.load_corpus(path)
    assert docs == [" = Valkyria Chronicles = \n", " The game was released .\n"]
    with pytest.raises(ValueError, match="no field 'content'"):
        data.load_corpus(path, text_field="content")


def test_token_stream_and_batches(tiny_baseline):
    import torch

    _, tokenizer, _ = tiny_baseline
    stream = data.token_stream(tokenizer, ["a b", "c"])
    eos = tokenizer.eos_token_id
    assert stream.tolist().count(eos) == 2 and stream[-1].item() == eos
    long = torch.arange(100)
    batch = finetune.sample_batch(long, 4, 10, torch.Generator().manual_seed(0))
    assert batch.shape == (4, 10)
    assert ((batch[:, 1:] - batch[:, :-1]) == 1).all()  # contiguous windows
    with pytest.raises(ValueError, match="block_size=200"):
        finetune.sample_batch(long, 4, 200, torch.Generator())
