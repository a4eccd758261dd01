"""Result tables and figures, with the paper's published numbers beside ours.

Tables 3 and 4 of arXiv 2310.04573 are copied below exactly as published (accuracy in
percent). Our rows use the same columns: model, pr% (final sparsity), nparams
(non-zero parameters), then the task scores in percent.

Example:
    >>> PAPER_TABLE_3[3]["model"], PAPER_TABLE_3[3]["LAMBADA (acc)"]
    ('GPT-Efficio', 67.1)
"""

from __future__ import annotations

from typing import Any

COMPLETION_COLUMNS = ["LAMBADA (acc)", "LAMBADA (ppl)", "StoryCloze (acc)", "HellaSwag (acc)"]
QA_COLUMNS = ["NQ", "WebQ", "TriviaQA"]

PAPER_TABLE_3: list[dict[str, Any]] = [
    {
        "model": "GPT-3 Zero-Shot",
        "pr%": "-",
        "nparams": "175B",
        "LAMBADA (acc)": 76.2,
        "LAMBADA (ppl)": 3.00,
        "StoryCloze (acc)": 83.2,
        "HellaSwag (acc)": 78.9,
    },
    {
        "model": "GPT-3 One-Shot",
        "pr%": "-",
        "nparams": "175B",
        "LAMBADA (acc)": 72.5,
        "LAMBADA (ppl)": 3.35,
        "StoryCloze (acc)": 84.7,
        "HellaSwag (acc)": 78.1,
    },
    {
        "model": "GPT-3 Few-Shot",
        "pr%": "-",
        "nparams": "175B",
        "LAMBADA (acc)": 86.4,
        "LAMBADA (ppl)": 1.92,
        "StoryCloze (acc)": 87.7,
        "HellaSwag (acc)": 79.3,
    },
    {
        "model": "GPT-Efficio",
        "pr%": "-",
        "nparams": "950M",
        "LAMBADA (acc)": 67.1,
        "LAMBADA (ppl)": 9.2,
        "StoryCloze (acc)": 80.5,
        "HellaSwag (acc)": 72.6,
    },
    {
        "model": "GPT-Efficio",
        "pr%": ".1",
        "nparams": "855M",
        "LAMBADA (acc)": 67.05,
        "LAMBADA (ppl)": 9.4,
        "StoryCloze (acc)": 80.21,
        "HellaSwag (acc)": 72.16,
    },
    {
        "model": "GPT-Efficio",
        "pr%": ".3",
        "nparams": "665M",
        "LAMBADA (acc)": 61.83,
        "LAMBADA (ppl)": 10.5,
        "StoryCloze (acc)": 74.68,
        "HellaSwag (acc)": 64.43,
    },
    {
        "model": "GPT-Efficio",
        "pr%": ".5",
        "nparams": "475M",
        "LAMBADA (acc)": 55.38,
        "LAMBADA (ppl)": 12.64,
        "StoryCloze (acc)": 65.50,
        "HellaSwag (acc)": 52.68,
    },
]

PAPER_TABLE_4: list[dict[str, Any]] = [
    {
        "model": "GPT-3 Zero-Shot",
        "pr%": "-",
        "nparams": "175B",
        "NQ": 14.6,
        "WebQ": 14.4,
        "TriviaQA": 64.3,
    },
    {
        "model": "GPT-3 One-Shot",
        "pr%": "-",
        "nparams": "175B",
        "NQ": 23.0,
        "WebQ": 25.3,
        "TriviaQA": 68.0,
    },
    {
        "model": "GPT-3 Few-Shot",
        "pr%": "-",
        "nparams": "175B",
        "NQ": 29.9,
        "WebQ": 41.5,
        "TriviaQA": 71.2,
    },
    {
        "model": "GPT-Efficio",
        "pr%": "-",
        "nparams": "950M",
        "NQ": 27.5,
        "WebQ": 40.6,
        "TriviaQA": 69.2,
    },
    {
        "model": "GPT-Efficio",
        "pr%": ".1",
        "nparams": "855M",
        "NQ": 26.35,
        "WebQ": 39.56,
        "TriviaQA": 68.76,
    },
    {
        "model": "GPT-Efficio",
        "pr%": ".3",
        "nparams": "665M",
        "NQ": 22.39,
        "WebQ": 37.43,
        "TriviaQA": 65.91,
    },
    {
        "model": "GPT-Efficio",
        "pr%": ".5",
        "nparams": "475M",
        "NQ": 19.83,
        "WebQ": 32.76,
        "TriviaQA": 60.84,
    },
]


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


def grouped_bars(ax, rows: list[dict[str, Any]], columns: list[str], title: str) -> None:
    """Figure 3/4 style: one group per model row, one bar per task, values on top."""
    import numpy as np

    labels = [
        f"{r['model']} ({r['pr%']})" if r["pr%"] not in ("-", "") else r["model"] for r in rows
    ]
    x = np.arange(len(rows))
    width = 0.8 / len(columns)
    for i, column in enumerate(columns):
        values = [float(r[column]) for r in rows]
        bars = ax.bar(x + (i - (len(columns) - 1) / 2) * width, values, width, label=column)
        ax.bar_label(bars, fmt="%.1f", fontsize=6, rotation=90, padding=2)
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("Accuracy (%)")
    ax.set_ylim(0, 125)  # headroom for the labels and the legend
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper center", ncol=len(columns))
