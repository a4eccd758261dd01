"""Our Tables 3 and 4 over several seeds, Figures 3 and 4, and the paper's pattern checked.

The main sweep (dense, the control, each sparsity one-shot and fine-tuned) runs once per
training seed; the world and its evaluation items stay fixed. ``collect`` turns the runs
into ``records``: one per (variant, sparsity, task, metric) with the value of each seed,
their mean and a 95% interval (:mod:`~pruning_lib.study.uncertainty`). The tables, the
figures, the checks and ``pruning-lib compare`` all read those records.
``write_results`` writes ``results.json`` and ``results.md`` atomically.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..efficiency import parameter_counts
from ..evaluation.evaluate import main_metric
from ..evaluation.tasks import DISPLAY_NAMES, TASK_NAMES
from . import report
from .files import write_json
from .records import COMPLETION_TASKS, QA_TASKS, find, make_records, mean_fall, retention
from .uncertainty import beyond, half, paired, verdict

# Table column -> (task, metric, scale of the printed number)
COLUMNS = {
    "LAMBADA (acc)": ("lambada", "acc", 100),
    "LAMBADA (ppl)": ("lambada", "ppl", 1),
    "StoryCloze (acc)": ("story_cloze", "acc", 100),
    "HellaSwag (acc)": ("hellaswag", "acc", 100),
    "NQ": ("nq_open", "exact_match", 100),
    "WebQ": ("web_questions", "exact_match", 100),
    "TriviaQA": ("trivia_qa", "exact_match", 100),
}
TABLE_COLUMNS = {
    "table_3": ["model", "pr%", "nparams", *report.COMPLETION_COLUMNS],
    "table_4": ["model", "pr%", "nparams", *report.QA_COLUMNS],
}


def collect(experiment, sweeps: dict[int, dict[tuple[str, float], Any]]) -> dict[str, Any]:
    """Tables 3 and 4, as records, rows and checks, from the main sweep's results
    (``compute(experiment, plans.main_sweep(...))``: by seed, then (variant, sparsity))."""
    seeds = list(sweeps)
    sweeps = list(sweeps.values())
    sparsities = [s for variant, s in sweeps[0] if variant == "one-shot"]
    sets = experiment.eval_sets()
    records = make_records(sweeps, {task: len(sets[task]) for task in TASK_NAMES})
    name = "ours" if experiment.settings.model == "toy" else experiment.settings.model
    # Whole-model non-zero counts from the baseline and the pruning report (the same at
    # every seed: each layer keeps the same count).
    counts = parameter_counts(experiment.baseline()[0])
    outside_prunable = counts["nonzero"] - counts["prunable_nonzero"]
    labels = {"dense": name, "control": f"{name} + fine-tuning (control)"}
    labels.update({"one-shot": f"{name} one-shot", "fine-tuned": f"{name} fine-tuned"})
    rows = []
    for variant, sparsity in sweeps[0]:
        run = sweeps[0][(variant, sparsity)]
        nonzero = counts["nonzero"]
        if sparsity:
            nonzero = outside_prunable + run["report"]["nonzero"]
        row = {"model": labels[variant], "pr%": report.pr_label(sparsity)}
        row["nparams"] = report.human_count(nonzero)
        # The paper's nparams: (1 - pr) x all parameters (embeddings included).
        row["paper_nparams"] = report.human_count(round((1 - sparsity) * counts["total"]))
        for column, (task, metric, scale) in COLUMNS.items():
            record = find(records, variant, sparsity, task, metric)
            row[column] = round(scale * record["mean"], 2)
            row[f"{column} ±"] = round(scale * half(record), 2)
            # The interval itself, inside what the score can be: [0, 1] for a fraction of
            # items (summarize clips it), [1, ∞) for a perplexity.
            low = record["ci_low"] if scale != 1 else max(record["ci_low"], 1.0)
            row[f"{column} interval"] = [round(scale * low, 2), round(scale * record["ci_high"], 2)]
        rows.append(row)
    chance = {task: sweeps[0][("dense", 0.0)]["scores"][task]["chance"] for task in TASK_NAMES}
    rows.append(report.chance_row(sweeps[0][("dense", 0.0)]["scores"]))
    results = {
        "profile": experiment.settings.profile,
        "sparsities": list(sparsities),
        "seeds": seeds,
        "n_items": {task: len(sets[task]) for task in TASK_NAMES},
        "parameters": {"total": counts["total"], "prunable": counts["prunable"]},
        "chance": chance,
        "records": records,
        "table_3": [_pick(r, "table_3") for r in rows],
        "table_4": [_pick(r, "table_4") for r in rows],
    }
    results["checks"] = pattern_checks(records, sparsities)
    return results


def _pick(row: dict[str, Any], table: str) -> dict[str, Any]:
    keep = set(TABLE_COLUMNS[table])
    keep |= {f"{c} {part}" for c in TABLE_COLUMNS[table] for part in ("±", "interval")}
    return {k: v for k, v in row.items() if k in keep or k == "paper_nparams"}


def display_rows(rows: list[dict[str, Any]], columns: list[str]) -> list[dict[str, Any]]:
    """Rows with each score as ``mean [low, high]``, its 95% interval kept inside what the
    score can be (``mean ± half-width`` where a row has no interval)."""
    shown = []
    for row in rows:
        out = dict(row)
        for column in columns:
            if f"{column} interval" in row:
                low, high = row[f"{column} interval"]
                out[column] = f"{row[column]:.1f} [{low:.1f}, {high:.1f}]"
            elif f"{column} ±" in row:
                out[column] = f"{row[column]:.1f} ± {row[f'{column} ±']:.1f}"
        shown.append(out)
    return shown


def _paper_rows() -> dict[str, dict[str, float]]:
    """GPT-Efficio's published rows by pr%, both tables merged, scores as fractions."""
    merged: dict[str, dict[str, float]] = {}
    for row in report.PAPER_TABLE_3 + report.PAPER_TABLE_4:
        if row["model"] == "GPT-Efficio":
            for column, (task, metric, scale) in COLUMNS.items():
                if column in row and metric == main_metric(task):
                    merged.setdefault(row["pr%"], {})[task] = row[column] / scale
    return merged


def pattern_checks(records: list[dict], sparsities: list[float]) -> list[dict[str, Any]]:
    """The paper's pattern as checks on our numbers, each judged against its noise and
    evaluated on the paper's own numbers where the paper reports them."""
    checks = []
    paper = _paper_rows()
    seeds = len(records[0]["values"])

    def fall(task: str, sparsity: float, variant: str = "one-shot", base: str = "dense"):
        metric = main_metric(task)
        return paired(
            find(records, base, 0.0, task, metric), find(records, variant, sparsity, task, metric)
        )

    if 0.1 in sparsities:
        falls = {t: fall(t, 0.1) for t in TASK_NAMES}
        worst = max(falls, key=lambda t: abs(falls[t][0]))
        moved = [t for t, (value, noise) in falls.items() if beyond(value, noise, seeds)]
        paper_change = {t: paper[".1"][t] - paper["-"][t] for t in TASK_NAMES}
        paper_worst = max(paper_change, key=lambda t: abs(paper_change[t]))
        change, noise = -falls[worst][0], falls[worst][1]  # pruned minus dense: a fall is < 0
        checks.append(
            {
                "claim": "at 0.1 one-shot, no task's score moves by more than the noise",
                "holds": not moved,
                "detail": verdict(
                    f"largest change, pruned − dense ({worst})", change, noise, seeds
                ),  # fmt: skip
                "paper": f"largest change {paper_change[paper_worst]:+.3f} ({paper_worst})",
            }
        )
    if 0.5 in sparsities:
        falls = {t: fall(t, 0.5) for t in TASK_NAMES}
        fell = [t for t, (v, noise) in falls.items() if v > 0 and beyond(v, noise, seeds)]
        paper_fell = [t for t in TASK_NAMES if paper["-"][t] > paper[".5"][t]]
        checks.append(
            {
                "claim": "at 0.5 one-shot, every task's score falls by more than the noise",
                "holds": len(fell) == len(TASK_NAMES),
                "detail": f"{len(fell)} of {len(TASK_NAMES)} fall beyond the noise",
                "paper": f"{len(paper_fell)} of {len(TASK_NAMES)} fall",
            }
        )
        qa = mean_fall(records, "dense", "one-shot", 0.5, QA_TASKS)
        completion = mean_fall(records, "dense", "one-shot", 0.5, COMPLETION_TASKS)
        gap, noise = qa[0] - completion[0], math.hypot(qa[1], completion[1])
        paper_qa = sum(paper["-"][t] - paper[".5"][t] for t in QA_TASKS) / 3
        paper_completion = sum(paper["-"][t] - paper[".5"][t] for t in COMPLETION_TASKS) / 3
        # The paper's direction: its completion scores fall more than its QA scores.
        checks.append(
            {
                "claim": "at 0.5 one-shot, the mean completion score falls more than the mean "
                "QA score",
                "holds": -gap > 0 and beyond(-gap, noise, seeds),
                "shown": beyond(-gap, noise, seeds),
                "detail": f"QA {qa[0]:.3f}, completion {completion[0]:.3f}; "
                + verdict("completion fall minus QA fall", -gap, noise, seeds),
                "paper": f"QA {paper_qa:.3f}, completion {paper_completion:.3f}",
            }
        )
        # Against the control, so that what the training does by itself is not counted.
        before = mean_fall(records, "control", "one-shot", 0.5, TASK_NAMES)
        after = mean_fall(records, "control", "fine-tuned", 0.5, TASK_NAMES)
        won_back = 1 - after[0] / before[0] if before[0] > before[1] else float("nan")
        # At least half: half the gap before minus the gap after, above zero beyond its
        # noise. The two gaps share the control, so adding their noises in quadrature
        # overstates it (a claim shown this way is shown).
        margin = before[0] / 2 - after[0]
        margin_noise = ((before[1] / 2) ** 2 + after[1] ** 2) ** 0.5
        checks.append(
            {
                "claim": "fine-tuning at 0.5 wins back at least half of the mean fall "
                "(against the control)",
                "holds": margin > 0 and beyond(margin, margin_noise, seeds),
                "shown": beyond(margin, margin_noise, seeds),
                "detail": f"gap to the control {before[0]:.3f} ± {before[1]:.3f} before, "
                f"{after[0]:.3f} ± {after[1]:.3f} after: won back {won_back:.2f}; "
                + verdict(
                    "half the gap before minus the gap after", margin, margin_noise, seeds
                ),  # fmt: skip
                "paper": "not reported (no fine-tuned rows apart)",
            }
        )
    # The abstract: "some pruned models even exhibit enhanced generalization". Against the
    # dense model fine-tuned as long, so that more training is not mistaken for pruning.
    for level in (s for s in (0.1, 0.3) if s in sparsities):
        fall_ = mean_fall(records, "control", "fine-tuned", level, TASK_NAMES)
        better = -fall_[0]
        checks.append(
            {
                "claim": f"at {level}, pruned and fine-tuned scores above the dense model "
                "fine-tuned as long (the abstract: 'some pruned models even exhibit enhanced "
                "generalization capabilities'; mean of six)",
                "holds": better > 0 and beyond(better, fall_[1], seeds),
                "shown": beyond(better, fall_[1], seeds),
                "detail": verdict("fine-tuned − control", better, fall_[1], seeds),
                "paper": "no control reported: its pruned rows are not set against a dense "
                "model trained as long",
            }
        )
    for check in checks:  # a claim neither shown nor refused by the numbers is not shown
        shown = check.pop("shown", True)
        check["state"] = "yes" if check["holds"] else ("no" if shown else "not shown")
    return checks


def figures(results: dict[str, Any], out: Path) -> list[Path]:
    """Figures 3 and 4 as retention (score / dense score) against sparsity: ours with 95%
    intervals (fine-tuned against the control, which had the same training) beside the
    paper's GPT-Efficio."""
    import matplotlib.pyplot as plt

    paths = []
    records = results["records"]
    sparsities = [0.0, *results["sparsities"]]
    paper = _paper_rows()
    paper_x = [0.0, 0.1, 0.3, 0.5]
    specs = (
        ("figure_3", COMPLETION_TASKS, "completion tasks"),
        ("figure_4", QA_TASKS, "QA tasks"),
    )
    for name, tasks, what in specs:
        # One panel per stage, so that one-shot and fine-tuned are told apart at a glance;
        # one shared y range, that of the data (intervals and the paper's points).
        fig, (one, tuned, right) = plt.subplots(1, 3, figsize=(14, 3.8), sharey=True)
        ends = [1.0]
        for index, task in enumerate(tasks):
            label, color = DISPLAY_NAMES[task], f"C{index}"  # one colour per task
            for ax, variant, base, style in (
                (one, "one-shot", "dense", "-o"),
                (tuned, "fine-tuned", "control", "--s"),
            ):
                points = [(1.0, 0.0)] + [
                    retention(records, variant, s, task, base) for s in results["sparsities"]
                ]
                ends += [p[0] - p[1] for p in points] + [p[0] + p[1] for p in points]
                ax.errorbar(
                    sparsities,
                    [p[0] for p in points],
                    yerr=[p[1] for p in points],
                    fmt=style,
                    color=color,
                    capsize=3,
                    label=label,
                )
            published = [paper[k][task] / paper["-"][task] for k in ("-", ".1", ".3", ".5")]
            ends += published
            right.plot(paper_x, published, "-o", color=color, label=label)
        seeds = len(results["seeds"])
        for ax, title in (
            (one, f"Ours, one-shot / dense ({seeds} seeds, 95% intervals)"),
            (tuned, f"Ours, fine-tuned / control ({seeds} seeds, 95% intervals)"),
            (right, "Published GPT-Efficio (arXiv 2310.04573)\n(fine-tuned or not: unstated)"),
        ):
            ax.axhline(1.0, color="gray", lw=0.8)
            ax.set_xlabel("sparsity of the prunable weights")
            ax.set_title(f"{title}\n{what}", fontsize=9)
            ax.legend(fontsize=7)
            ax.set_xlim(-0.03, max(sparsities) + 0.03)
        finite = [e for e in ends if math.isfinite(e)]
        margin = 0.05 * (max(finite) - min(finite))
        one.set_ylim(max(0.0, min(finite) - margin), max(finite) + margin)
        left = one
        left.set_ylabel("retention: score / dense score\n(fine-tuned: / control)")
        fig.tight_layout()
        path = out / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.png")
        fig.savefig(tmp, dpi=120)
        tmp.replace(path)
        paths.append(path)
    return paths


def markdown(results: dict[str, Any]) -> str:
    """``results.md``: both tables with intervals beside the paper's, then the checks."""
    seeds = results["seeds"]
    sections = [
        f"# Results: profile `{results['profile']}`",
        f"Mean over {len(seeds)} training seed(s) {seeds} and its 95% interval [low, high] "
        f"(seeds and items, see `pruning_lib/study/uncertainty.py`; kept inside what the score "
        f"can be: 0 to 100%, a perplexity from 1). `pr%` is the sparsity of the "
        f"prunable weights; `nparams` counts our non-zero parameters; the paper's nparams "
        f"column is (1 − pr) × all parameters, shown as `paper_nparams`.",
    ]
    for table, title in (
        ("table_3", "## Table 3: completion tasks (accuracy %, LAMBADA perplexity)"),
        ("table_4", "## Table 4: QA tasks (exact match %)"),
    ):
        columns = [*TABLE_COLUMNS[table][:3], "paper_nparams", *TABLE_COLUMNS[table][3:]]
        paper = report.PAPER_TABLE_3 if table == "table_3" else report.PAPER_TABLE_4
        sections += [
            title,
            report.markdown_table(display_rows(results[table], columns), columns),
            "Published:",
            report.markdown_table(paper, TABLE_COLUMNS[table]),
        ]
    sections.append("## The paper's pattern in our numbers")
    sections.append(
        "\n".join(
            f"- {c['state']}: {c['claim']} ({c['detail']}; paper: {c['paper']})"
            for c in results["checks"]
        )
    )
    return "\n\n".join(sections) + "\n"


def write_results(results: dict[str, Any], out: Path) -> list[Path]:
    """``results.json`` and ``results.md``, each written to a temporary file first."""
    json_path = write_json(out / "results.json", results)
    md_path = out / "results.md"
    tmp = md_path.with_name(".results.md.tmp")
    tmp.write_text(markdown(results))
    tmp.replace(md_path)
    return [json_path, md_path]
