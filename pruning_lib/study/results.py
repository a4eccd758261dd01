"""Our Tables 3 and 4 from cached experiments, Figures 3 and 4, and the pattern checks.

``collect`` asks the :class:`~pruning_lib.study.experiment.Experiment` for the dense model,
the control, and each sparsity one-shot and fine-tuned (cached runs come back at once).
``write_results`` writes ``results.json`` and ``results.md`` atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import report
from .experiment import Experiment
from .files import write_json
from .notebook import mean_qa


def collect(experiment: Experiment, sparsities: list[float]) -> dict[str, Any]:
    """Every run the tables need, plus the rows and the checks."""
    from ..efficiency import parameter_counts

    name = "ours" if experiment.settings.model == "toy" else experiment.settings.model
    # Whole-model non-zero counts, derived from the baseline and each run's pruning report
    # rather than by copying and pruning the model again for every row.
    counts = parameter_counts(experiment.baseline()[0])
    outside_prunable = counts["nonzero"] - counts["prunable_nonzero"]
    dense = experiment.dense()
    control = experiment.control()
    runs: dict[str, Any] = {"dense": dense, "control": control}
    rows: list[dict[str, Any]] = [
        report.score_row(name, 0.0, counts["nonzero"], dense["scores"]),
        report.score_row(
            f"{name} + fine-tuning (control)",
            0.0,
            counts["nonzero"],
            control["scores"],
        ),
    ]
    for sparsity in sparsities:
        oneshot = experiment.oneshot(sparsity, scope="layer")
        tuned = experiment.oneshot(sparsity, scope="layer", finetune=True)
        runs[f"oneshot_{sparsity}"] = oneshot
        runs[f"finetuned_{sparsity}"] = tuned
        nonzero = outside_prunable + oneshot["report"]["nonzero"]
        rows.append(report.score_row(f"{name} one-shot", sparsity, nonzero, oneshot["scores"]))
        rows.append(report.score_row(f"{name} fine-tuned", sparsity, nonzero, tuned["scores"]))
    rows.append(report.chance_row(dense["scores"]))
    columns_3 = ["model", "pr%", "nparams", *report.COMPLETION_COLUMNS]
    columns_4 = ["model", "pr%", "nparams", *report.QA_COLUMNS]
    return {
        "profile": experiment.settings.profile,
        "sparsities": list(sparsities),
        "table_3": [{k: r[k] for k in columns_3} for r in rows],
        "table_4": [{k: r[k] for k in columns_4} for r in rows],
        "runs": {
            k: {"scores": v["scores"], "sparsity": v.get("sparsity", 0.0)} for k, v in runs.items()
        },
        "checks": pattern_checks(runs, sparsities),
    }


def pattern_checks(runs: dict[str, Any], sparsities: list[float]) -> list[dict[str, Any]]:
    """The paper's pattern, stated as checks on our numbers (reported, never tuned for)."""
    checks = []
    dense = runs["dense"]["scores"]
    main = {"lambada": "acc", "story_cloze": "acc", "hellaswag": "acc"}

    def score(scores, task):
        return scores[task][main.get(task, "exact_match")]

    if 0.1 in sparsities:
        low = runs["oneshot_0.1"]["scores"]
        worst = max(abs(score(low, t) - score(dense, t)) for t in dense)
        checks.append(
            {
                "claim": "at 0.1 one-shot, every score within 0.03 of dense",
                "holds": worst <= 0.03,
                "detail": f"largest change {worst:.3f}",
            }
        )
    if 0.5 in sparsities:
        half = runs["oneshot_0.5"]["scores"]
        tuned = runs["finetuned_0.5"]["scores"]
        control = runs["control"]["scores"]
        qa_fall = mean_qa(dense) - mean_qa(half)
        story_fall = score(dense, "story_cloze") - score(half, "story_cloze")
        checks.append(
            {
                "claim": "at 0.5 one-shot, the mean QA score falls by at least 0.15",
                "holds": qa_fall >= 0.15,
                "detail": f"fall {qa_fall:.3f}",
            }
        )
        checks.append(
            {
                "claim": "at 0.5 one-shot, QA falls more than StoryCloze",
                "holds": qa_fall > story_fall,
                "detail": f"QA {qa_fall:.3f} vs StoryCloze {story_fall:.3f}",
            }
        )
        # Judged against the control: the gap to the control closes by at least half.
        gap_before = mean_qa(control) - mean_qa(half)
        gap_after = mean_qa(control) - mean_qa(tuned)
        won_back = 1 - gap_after / gap_before if gap_before > 0 else 1.0
        checks.append(
            {
                "claim": "fine-tuning at 0.5 wins back at least half of the QA fall "
                "(against the control)",
                "holds": won_back >= 0.5,
                "detail": f"won back {won_back:.2f}",
            }
        )
    return checks


def figures(results: dict[str, Any], out: Path) -> list[Path]:
    """Figures 3 and 4: our rows and the paper's, as grouped bar charts (PNG)."""
    import matplotlib.pyplot as plt

    paths = []
    specs = (
        (
            "figure_3",
            "table_3",
            report.PAPER_TABLE_3,
            ["LAMBADA (acc)", "StoryCloze (acc)", "HellaSwag (acc)"],
            "completion tasks",
        ),
        ("figure_4", "table_4", report.PAPER_TABLE_4, report.QA_COLUMNS, "QA tasks"),
    )
    for name, table, paper, columns, what in specs:
        ours = [r for r in results[table] if r["model"] != "chance"]
        fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4))
        report.grouped_bars(left, ours, columns, f"Ours ({results['profile']}): {what}")
        report.grouped_bars(right, paper, columns, f"Published (arXiv 2310.04573): {what}")
        fig.tight_layout()
        path = out / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.png")
        fig.savefig(tmp, dpi=120)
        tmp.replace(path)
        paths.append(path)
    return paths


def write_results(results: dict[str, Any], out: Path) -> list[Path]:
    """``results.json`` and ``results.md`` (the two tables beside the paper's)."""
    columns_3 = ["model", "pr%", "nparams", *report.COMPLETION_COLUMNS]
    columns_4 = ["model", "pr%", "nparams", *report.QA_COLUMNS]
    text = (
        "\n\n".join(
            [
                f"# Results: profile `{results['profile']}`",
                "## Table 3: completion tasks (accuracy %, LAMBADA perplexity)",
                report.markdown_table(results["table_3"], columns_3),
                "Published:",
                report.markdown_table(report.PAPER_TABLE_3, columns_3),
                "## Table 4: QA tasks (exact match %)",
                report.markdown_table(results["table_4"], columns_4),
                "Published:",
                report.markdown_table(report.PAPER_TABLE_4, columns_4),
                "## The paper's pattern in our numbers",
                "\n".join(
                    f"- {'yes' if c['holds'] else 'NO'}: {c['claim']} ({c['detail']})"
                    for c in results["checks"]
                ),
            ]
        )
        + "\n"
    )
    json_path = write_json(out / "results.json", results)
    md_path = out / "results.md"
    tmp = md_path.with_name(".results.md.tmp")
    tmp.write_text(text)
    tmp.replace(md_path)
    return [json_path, md_path]
