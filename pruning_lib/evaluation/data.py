"""Corpora and evaluation sets, from the toy world or from the Hugging Face hub.

Both sources give rows in the hub datasets' schemas; :func:`records` turns them into
the three record types of ``tasks.py`` through the same code, so the toy world and the
real datasets are evaluated identically.

Example:
    >>> rows = [{"text": "tomo lost the key and found the key"}]
    >>> records("lambada", rows)[0].target
    ' key'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .tasks import TASK_NAMES, Record, check_row, to_record


@dataclass(frozen=True)
class HubSet:
    path: str  # hub dataset name
    name: str | None  # its config
    split: str
    text_field: str | None = None  # corpora only


# The datasets of docs/design.md, as lm-evaluation-harness 0.4.x uses them.
HUB_SETS: dict[str, HubSet] = {
    "lambada": HubSet("EleutherAI/lambada_openai", "default", "test"),
    "story_cloze": HubSet("juletxara/xstory_cloze", "en", "eval"),
    "hellaswag": HubSet("Rowan/hellaswag", None, "validation"),
    "nq_open": HubSet("google-research-datasets/nq_open", "nq_open", "validation"),
    "web_questions": HubSet("stanfordnlp/web_questions", None, "test"),
    "trivia_qa": HubSet("mandarjoshi/trivia_qa", "rc.nocontext", "validation"),
}
FINETUNE_CORPUS = HubSet("Salesforce/wikitext", "wikitext-103-raw-v1", "train", "text")

_LOCAL_FORMATS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}


def records(task: str, rows: list[dict[str, Any]]) -> list[Record]:
    """Check every row's fields first, then normalise them all."""
    for index, row in enumerate(rows):
        check_row(task, row, where=f" row {index}")
    return [to_record(task, row) for row in rows]


def _load_rows(source: str | Path | HubSet, limit: int | None) -> list[dict[str, Any]]:
    """Rows from a local file (json, jsonl, csv, parquet) or a hub dataset."""
    import datasets  # imported here: it is slow to import and the toy path never needs it

    if isinstance(source, HubSet):
        split = source.split if limit is None else f"{source.split}[:{limit}]"
        dataset = datasets.load_dataset(source.path, source.name, split=split)
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"dataset file {str(path)!r} does not exist")
        builder = _LOCAL_FORMATS.get(path.suffix)
        if builder is None:
            raise ValueError(
                f"dataset file {str(path)!r} has suffix {path.suffix!r}; "
                f"allowed: {sorted(_LOCAL_FORMATS)}"
            )
        split = "train" if limit is None else f"train[:{limit}]"
        dataset = datasets.load_dataset(builder, data_files=str(path), split=split)
    return [dict(row) for row in dataset]


def load_eval_rows(task: str, source: str | Path | None = None, limit: int | None = None):
    """Rows of one evaluation set: a local file if ``source`` is given, else the hub."""
    if task not in TASK_NAMES:
        raise ValueError(f"task={task!r} is unknown; allowed: {list(TASK_NAMES)}")
    rows = _load_rows(source if source is not None else HUB_SETS[task], limit)
    for index, row in enumerate(rows):
        check_row(task, row, where=f" ({source or HUB_SETS[task].path}) row {index}")
    return rows


def load_corpus(
    source: str | Path | None = None, limit: int | None = None, text_field: str = "text"
) -> list[str]:
    """Documents of a fine-tuning corpus (default: WikiText-103 raw), blank lines dropped."""
    rows = _load_rows(source if source is not None else FINETUNE_CORPUS, limit)
    if rows and text_field not in rows[0]:
        raise ValueError(
            f"corpus {source or FINETUNE_CORPUS.path!r} rows have no field {text_field!r}; "
            f"found {sorted(rows[0])}"
        )
    return [row[text_field] for row in rows if row[text_field].strip()]


def token_stream(tokenizer, documents: list[str]) -> torch.Tensor:
    """All documents tokenised into one 1-D stream, each followed by the EOS token."""
    eos = tokenizer.eos_token_id
    ids: list[int] = []
    for encoded in tokenizer(documents, add_special_tokens=False)["input_ids"]:
        ids.extend(encoded)
        ids.append(eos)
    return torch.tensor(ids, dtype=torch.long)
