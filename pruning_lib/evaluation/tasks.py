"""The paper's six tasks: hub schema, prompt format and record type of each.

Every evaluation set, from the hub or from the toy world, is a list of rows in the
hub dataset's own schema (its real field names). :func:`to_record` turns one row into
one of three record types, following EleutherAI's lm-evaluation-harness 0.4.x
prompt conventions, so that our numbers are comparable with published ones:

- :class:`LastWord` (LAMBADA): context and the last word, scored by log-likelihood;
- :class:`MultipleChoice` (StoryCloze, HellaSwag): context and choices;
- :class:`QuestionAnswer` (NQ, WebQ, TriviaQA): a prompt and the accepted answers.

Example:
    >>> to_record("lambada", {"text": "she picked up the red lamp"})
    LastWord(context='she picked up the red', target=' lamp')
    >>> to_record("nq_open", {"question": "where does tomo live", "answer": ["ashford"]}).prompt
    'Answer these questions:\\n\\nQ: where does tomo live?\\nA:'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

# The key under which a task's scores keep their main metric item by item: one string of
# "0" and "1" per evaluation (a record of several seeds: a list, one string per seed).
CORRECT = "correct"

TASK_NAMES = ("lambada", "story_cloze", "hellaswag", "nq_open", "web_questions", "trivia_qa")
MULTIPLE_CHOICE = ("story_cloze", "hellaswag")  # scored by comparing choices' likelihoods

# What the paper's tables call each task.
DISPLAY_NAMES = {
    "lambada": "LAMBADA",
    "story_cloze": "StoryCloze",
    "hellaswag": "HellaSwag",
    "nq_open": "NQ",
    "web_questions": "WebQ",
    "trivia_qa": "TriviaQA",
}

# Fields each task reads from a row; a dataset file without them is refused up front.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "lambada": ("text",),
    "story_cloze": (
        "input_sentence_1",
        "input_sentence_2",
        "input_sentence_3",
        "input_sentence_4",
        "sentence_quiz1",
        "sentence_quiz2",
        "answer_right_ending",
    ),
    "hellaswag": ("activity_label", "ctx_a", "ctx_b", "endings", "label"),
    "nq_open": ("question", "answer"),
    "web_questions": ("question", "answers"),
    "trivia_qa": ("question", "answer"),
}

# lm-evaluation-harness stops greedy answers at a newline, a period or a comma, and
# adds the tokenizer's end-of-text string (see ``evaluate.greedy_generate``).
QA_STOP = ("\n", ".", ",")

# lm-eval puts this between a prompt and each choice or target; acc_norm divides a
# choice's log-likelihood by the choice's length *without* it.
TARGET_DELIMITER = " "

# The description lm-eval's stock task puts before the prompt (zero-shot: once).
DESCRIPTIONS = {"nq_open": "Answer these questions:\n\n"}

# lm-eval's exact_match options per generation task (the stock YAML's metric_list):
# regexes removed first, then lower-casing and punctuation removal; no other cleaning.
EXACT_MATCH = {
    "nq_open": {"regexes_to_ignore": (r"\b(?:The |the |An |A |The |a |an )",)},
    "trivia_qa": {"regexes_to_ignore": ()},
}


@dataclass(frozen=True)
class LastWord:
    context: str
    target: str  # with its leading space, as lm-eval scores it


@dataclass(frozen=True)
class MultipleChoice:
    context: str
    choices: tuple[str, ...]  # each with its leading space
    label: int


@dataclass(frozen=True)
class QuestionAnswer:
    prompt: str
    answers: tuple[str, ...]  # every accepted alias
    # "generate": greedy generation, exact match after normalisation (NQ, TriviaQA);
    # "greedy_any": correct when greedy decoding reproduces any alias (WebQ).
    mode: Literal["generate", "greedy_any"] = "generate"
    # lm-eval's exact-match regexes for this task (removed before comparing).
    ignore: tuple[str, ...] = ()


Record = LastWord | MultipleChoice | QuestionAnswer


def check_row(task: str, row: dict[str, Any], where: str = "") -> None:
    """Raise ValueError naming the task, the row and the missing field."""
    if task not in REQUIRED_FIELDS:
        raise ValueError(f"task={task!r} is unknown; allowed: {list(TASK_NAMES)}")
    if not isinstance(row, dict):
        raise ValueError(f"{task}{where}: a row must be a mapping, got {type(row).__name__}")
    missing = [name for name in REQUIRED_FIELDS[task] if name not in row]
    if missing:
        raise ValueError(
            f"{task}{where}: row is missing field(s) {missing}; "
            f"the {task} schema needs {list(REQUIRED_FIELDS[task])}"
        )
    if task == "trivia_qa" and not (isinstance(row["answer"], dict) and "aliases" in row["answer"]):
        raise ValueError(f"trivia_qa{where}: field 'answer' must be a mapping with 'aliases'")


def _hellaswag_clean(text: str) -> str:
    # lm-eval's hellaswag preprocess: drop WikiHow's bracketed markers, fix spacing.
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


def hellaswag_context(row: dict[str, Any]) -> str:
    ctx = row["ctx_a"] + " " + row["ctx_b"].capitalize()
    return _hellaswag_clean(row["activity_label"] + ": " + ctx)


def story_context(row: dict[str, Any]) -> str:
    return " ".join(row[f"input_sentence_{i}"] for i in range(1, 5))


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def to_record(task: str, row: dict[str, Any]) -> Record:
    """Turn one hub-schema row into its record, with lm-eval 0.4's prompt format."""
    check_row(task, row)
    if task == "lambada":
        # lm-eval lambada_openai: the target is the last space-separated word.
        context, _, last = row["text"].rpartition(" ")
        return LastWord(context=context, target=" " + last)
    if task == "story_cloze":
        endings = (" " + row["sentence_quiz1"], " " + row["sentence_quiz2"])
        return MultipleChoice(story_context(row), endings, int(row["answer_right_ending"]) - 1)
    if task == "hellaswag":
        endings = tuple(" " + _hellaswag_clean(e) for e in row["endings"])
        return MultipleChoice(hellaswag_context(row), endings, int(row["label"]))
    if task == "nq_open":
        prompt = DESCRIPTIONS["nq_open"] + f"Q: {row['question']}?\nA:"
        ignore = EXACT_MATCH["nq_open"]["regexes_to_ignore"]
        return QuestionAnswer(prompt, _unique(list(row["answer"])), ignore=ignore)
    if task == "web_questions":
        answers = _remove_prefixes(list(row["answers"]))
        return QuestionAnswer(f"Question: {row['question']}\nAnswer:", answers, "greedy_any")
    # trivia_qa rc.nocontext
    answers = _unique(list(row["answer"]["aliases"]))
    return QuestionAnswer(f"Question: {row['question']}?\nAnswer:", answers)


def _remove_prefixes(aliases: list[str]) -> tuple[str, ...]:
    """lm-eval's webqs choices: sorted, dropping any alias that extends the one before
    (if the shorter one is greedy, the task is already answered).

    Example:
        >>> _remove_prefixes(["paris", "par", "lyon"])
        ('lyon', 'par')
    """
    ordered = sorted(aliases)
    kept = [ordered[0]]
    for alias in ordered[1:]:
        if not alias.startswith(kept[-1]):
            kept.append(alias)
    return tuple(kept)


def render_solved(task: str, row: dict[str, Any]) -> str:
    """The row as running text with its right answer, for training documents.

    Example:
        >>> render_solved("web_questions", {"question": "what pet does tomo have?",
        ...                                 "answers": ["cat", "kitten"]})
        'Question: what pet does tomo have?\\nAnswer: cat'
        >>> render_solved("nq_open", {"question": "where does tomo live", "answer": ["ashford"]})
        'Answer these questions:\\n\\nQ: where does tomo live?\\nA: ashford'
    """
    record = to_record(task, row)
    if isinstance(record, LastWord):
        return record.context + record.target
    if isinstance(record, MultipleChoice):
        return record.context + record.choices[record.label]
    # The prompt as evaluation shows it, task description included (NQ's "Answer these
    # questions:"), and the first answer. A toy model knows no English: a description it
    # never read in training is noise before every NQ question, which a small model may fail
    # to learn past (docs/toyworld.md).
    prompt = record.prompt
    first = {"nq_open": row.get("answer"), "web_questions": row.get("answers")}.get(task)
    first = first[0] if first is not None else row["answer"]["aliases"][0]
    return prompt + TARGET_DELIMITER + first
