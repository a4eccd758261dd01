"""Result tables and figures, with the paper's published numbers beside ours.

Tables 3 and 4 of arXiv 2310.04573 are in ``reference/paper_tables.json``, exactly as
published (accuracy in percent). Our rows use the same columns: model, pr% (final sparsity), nparams
(non-zero parameters), then the task scores in percent.

Example:
    >>> PAPER_TABLE_3[3]["model"], PAPER_TABLE_3[3]["LAMBADA (acc)"]
    ('GPT-Efficio', 67.1)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COMPLETION_COLUMNS = ["LAMBADA (acc)", "LAMBADA (ppl)", "StoryCloze (acc)", "HellaSwag (acc)"]
QA_COLUMNS = ["NQ", "WebQ", "TriviaQA"]


def _paper_table(name: str) -> list[dict[str, Any]]:
    data = json.loads(
        (Path(__file__).resolve().parent / "reference" / "paper_tables.json").read_text()
    )
    return [dict(zip(data[name]["columns"], row)) for row in data[name]["rows"]]


PAPER_TABLE_3 = _paper_table("table_3")
PAPER_TABLE_4 = _paper_table("table_4")


def human_count(n: int) -> str:
    """``950_000_000 -> '950M'``, ``1_234_567 -> '1.23M'``."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            value = n / size
            text = f"{value:.0f}" if value >= 100 else f"{value:.3g}"
            return text + unit
    return str(n)


def pr_label(sparsity: float) -> str:
    """The paper's pr% column: '-' for dense, '.1' for 0.1."""
    return "-" if sparsity == 0 else f"{sparsity:.2f}".rstrip("0").lstrip("0")


def score_row(model: str, sparsity: float, nparams: int, scores: dict) -> dict[str, Any]:
    """One row of our Tables 3 and 4 (scores in percent, perplexity as is)."""
    return {
        "model": model,
        "pr%": pr_label(sparsity),
        "nparams": human_count(nparams),
        "LAMBADA (acc)": round(100 * scores["lambada"]["acc"], 2),
        "LAMBADA (ppl)": round(scores["lambada"]["ppl"], 2),
        "StoryCloze (acc)": round(100 * scores["story_cloze"]["acc"], 2),
        "HellaSwag (acc)": round(100 * scores["hellaswag"]["acc"], 2),
        "NQ": round(100 * scores["nq_open"]["exact_match"], 2),
        "WebQ": round(100 * scores["web_questions"]["exact_match"], 2),
        "TriviaQA": round(100 * scores["trivia_qa"]["exact_match"], 2),
    }


def chance_row(scores: dict) -> dict[str, Any]:
    row = score_row(
        "chance",
        0,
        0,
        {**scores, "lambada": {"acc": scores["lambada"]["chance"], "ppl": float("nan")}},
    )
    row.update(
        {
            "pr%": "",
            "nparams": "",
            "LAMBADA (ppl)": "",
            "StoryCloze (acc)": round(100 * scores["story_cloze"]["chance"], 2),
            "HellaSwag (acc)": round(100 * scores["hellaswag"]["chance"], 2),
            "NQ": round(100 * scores["nq_open"]["chance"], 2),
            "WebQ": round(100 * scores["web_questions"]["chance"], 2),
            "TriviaQA": round(100 * scores["trivia_qa"]["chance"], 2),
        }
    )
    return row


def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A GitHub-flavoured markdown table.

    Example:
        >>> print(markdown_table([{"a": 1, "b": "x"}], ["a", "b"]))
        | a | b |
        | --- | --- |
        | 1 | x |
    """
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join("---" for _ in columns) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)
