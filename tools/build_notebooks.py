"""Write the tutorial notebooks' sources (cells without outputs) into notebooks/.

The notebooks are generated so that their shared parts (badges, the Colab cell, the
common parameters) come from one place. After editing this file:

    python tools/build_notebooks.py          # sources, outputs cleared
    pruning-lib reproduce params/tutorial.yaml --refresh-notebooks   # run, copy outputs back
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pruning_lib.runtime import REPOSITORY_URL  # noqa: E402

OWNER_REPO = REPOSITORY_URL.removeprefix("https://github.com/")

COMMON_PARAMETERS = """profile = "tutorial"  # results go to runs/<profile>/
seed = 0  # one seed: world, initialisation, data order
threads = 1  # torch CPU threads (1: CPU results do not depend on the core count)
device = "auto"  # "auto" picks the GPU when there is one
model = "toy"  # "toy": our small GPT; or a Hugging Face name / local folder
datasets = "toy"  # "toy", "hub", or a folder of <task>.jsonl files in the hub schemas
corpus = "toy"  # fine-tuning text: "toy", "hub" (WikiText-103) or a local file
corpus_limit = None  # documents read from a hub or file corpus
toy_size = "tutorial"  # "tutorial" or "smoke" (seconds, for tests)
baseline_steps = 1600  # training steps of the toy baseline
baseline_learning_rate = 0.003
finetune_steps = 150  # optimizer steps of each fine-tuning
finetune_learning_rate = 0.001
batch_size = 16
grad_accum_steps = 1
block_size = 128  # tokens per training window (hub models)
mixed_precision = "no"  # "bf16" or "fp16" on a GPU
eval_limit = None  # evaluate only the first N items of each set
eval_batch_size = 32
cache_dir = None  # default: runs/cache in the checkout"""


def badges(name: str) -> str:
    binder = (
        f"[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/"
        f"{OWNER_REPO}/HEAD?urlpath=lab/tree/notebooks/{name}.ipynb)"
    )
    colab = (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"(https://colab.research.google.com/github/{OWNER_REPO}/blob/main/notebooks/{name}.ipynb)"
    )
    return f"{binder} {colab}"


COLAB_CELL = f"""# On Colab, install pruning-lib first; elsewhere it is installed already.
# (Runtime > Change runtime type > T4 GPU makes the fine-tuning cells fast.)
import sys

if "google.colab" in sys.modules:  # the test of pruning_lib.runtime.in_colab()
    get_ipython().run_line_magic("pip", "install -q git+{REPOSITORY_URL}")"""

START_CELL = """# NBVAL_IGNORE_OUTPUT\n# Names the machine and device.
%matplotlib inline
import matplotlib.pyplot as plt

from pruning_lib.notebook import format_table, show_comparison, show_scores, start

experiment = start(globals())"""


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str, tags: tuple[str, ...] = ()):
    cell = new_code_cell(text.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def notebook(name: str, title: str, intro: str, specific: str, body: list, summary: str):
    cells = [
        md(f"# {title}\n\n{badges(name)}\n\n{intro}"),
        code(COLAB_CELL),
        md(
            "## Parameters\n\nThe defaults are the tutorial profile (offline, CPU, minutes). "
            "`pruning-lib reproduce params/<profile>.yaml` runs this notebook with other values."
        ),
        code(COMMON_PARAMETERS + ("\n" + specific if specific else ""), tags=("parameters",)),
        code(START_CELL),
        *body,
        md(summary),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


NOTEBOOKS = {}

NOTEBOOKS["01_baseline"] = notebook(
    "01_baseline",
    "01 · The dense baseline",
    """Every pruning experiment starts from a dense model. In this notebook you will:

1. generate the toy world, a small synthetic language with people and facts;
2. train a byte-level BPE tokenizer and a small GPT-2 on it (or load it from the cache);
3. look at its training curve;
4. score it on the six tasks of the paper, each beside its chance level;
5. look at the distribution of weight magnitudes, which is what magnitude pruning cuts.""",
    "",
    [
        md("""## The toy world

The paper evaluates on LAMBADA, StoryCloze, HellaSwag, NQ, WebQ and TriviaQA. Offline, a
generated language stands in for them: each evaluation set mirrors one task, in the same
hub schema, and goes through the same evaluation code as the real datasets."""),
        code("""world = experiment.world
print(f"people: {len(world.people)}, training documents: {len(world.train_documents)}")
for document in world.train_documents[:3]:
    print("-", document.replace("\\n", " / "))"""),
        code("""from pruning_lib.tasks import DISPLAY_NAMES, render_solved

for task, rows in world.eval_sets.items():
    print(f"{DISPLAY_NAMES[task]:>10}: {render_solved(task, rows[0])!r}")"""),
        md(
            "## Tokenizer and model\n\nThe baseline is cached by the hash of its configuration: "
            "the first run trains it (a few minutes on one CPU thread), later runs load it."
        ),
        code(
            """# NBVAL_IGNORE_OUTPUT\n# A progress bar while training.
model, tokenizer = experiment.baseline()""",
        ),
        code("""from pruning_lib.efficiency import parameter_counts

print("vocabulary:", len(tokenizer))
print("tokens of a question:", tokenizer.tokenize("Q: where does " + world.people[0] + " live?"))
counts = parameter_counts(model)
print(f"parameters: {counts['total']:,}, prunable (attention + MLP matrices): {counts['prunable']:,}")"""),
        md("## Training curve"),
        code("""import json

from pruning_lib.model import baseline_key

history_file = experiment.cache / ("baseline-" + baseline_key(
    experiment.world_config, experiment.model_config, experiment.baseline_train_config())) / "history.json"
if history_file.is_file():
    history = json.loads(history_file.read_text())
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([h["step"] for h in history], [h["loss"] for h in history])
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title("Baseline training")
    fig.savefig(experiment.figure_path("01_training_curve"), dpi=120, bbox_inches="tight")
    plt.show()
    print(f"final training loss: {history[-1]['loss']:.3f}")
else:
    print("a pretrained hub model: no training curve")"""),
        md(
            "## The six dense scores\n\nChance is what a model that knows nothing would score: "
            "1 / choices for multiple choice, and for the rest the score of always giving the "
            "most common answer."
        ),
        code("""# NBVAL_IGNORE_OUTPUT\n# Progress bars while evaluating.
dense = experiment.dense()"""),
        code("""show_scores(dense["scores"])"""),
        md(
            "## Weight magnitudes\n\nMagnitude pruning removes the weights closest to zero. "
            "How many are close to zero decides how much pruning costs."
        ),
        code("""import torch

from pruning_lib.prune import prunable_weights

magnitudes = torch.cat([w.detach().abs().flatten().float().cpu()
                        for w in prunable_weights(model).values()])
fig, ax = plt.subplots(figsize=(6, 3))
ax.hist(magnitudes.numpy(), bins=80)
ax.set_xlabel("|w|")
ax.set_ylabel("weights")
ax.set_title("Prunable weight magnitudes (dense)")
fig.savefig(experiment.figure_path("01_weight_histogram"), dpi=120, bbox_inches="tight")
plt.show()
for q in (0.1, 0.3, 0.5):
    print(f"{q:.0%} of the prunable weights have |w| below {magnitudes.quantile(q).item():.4f}")"""),
        code("""saved = experiment.save_result("01_baseline", dense)"""),
    ],
    """## Summary

- The toy world gives six evaluation sets in the hub schemas, evaluated with
  lm-evaluation-harness conventions.
- A 4-layer GPT trained for a few CPU minutes scores far above chance on all six.
- Most weights are small: the histogram is what magnitude pruning cuts into.

## Exercises

1. Train with `baseline_steps = 400`. Which tasks suffer first?
2. Change `seed`: how much do the scores move between seeds?
3. Print the 20 most frequent tokens: are the names single tokens?""",
)

NOTEBOOKS["02_threshold"] = notebook(
    "02_threshold",
    "02 · Pruning by threshold",
    """The first hyperparameter of the paper is the pruning threshold: weights with
|w| below it are set to zero. In this notebook you will:

1. prune with absolute thresholds and see which sparsity each gives;
2. prune with Han et al.'s rule, a threshold of q times each layer's standard deviation;
3. compare per-layer sparsity under the two rules;
4. watch the six scores as the threshold grows (no fine-tuning yet).""",
    """thresholds = [0.0, 0.02, 0.04, 0.06, 0.08, 0.1]  # absolute |w| cut-offs
q_values = [0.25, 0.5, 0.75, 1.0]  # Han et al.: the threshold is q times the std of each layer""",
    [
        md("## Absolute thresholds"),
        code("""# NBVAL_IGNORE_OUTPUT\n# Progress bars.
absolute = {f"|w| < {t}": experiment.threshold(threshold=t) for t in thresholds}"""),
        code("""show_comparison(absolute)"""),
        code("""from pruning_lib.notebook import mean_qa

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
left.plot(thresholds, [r["sparsity"] for r in absolute.values()], marker="o")
left.set_xlabel("threshold")
left.set_ylabel("sparsity")
right.plot(thresholds, [mean_qa(r["scores"]) for r in absolute.values()], marker="o", label="mean QA")
right.plot(thresholds, [r["scores"]["story_cloze"]["acc"] for r in absolute.values()],
           marker="o", label="StoryCloze")
right.set_xlabel("threshold")
right.set_ylabel("score")
right.legend()
fig.savefig(experiment.figure_path("02_threshold_sweep"), dpi=120, bbox_inches="tight")
plt.show()"""),
        md(
            "## q × standard deviation\n\nOne absolute threshold prunes layers unevenly, because "
            "layers have different scales. Han et al. scale the threshold by each layer's spread."
        ),
        code("""# NBVAL_IGNORE_OUTPUT\n# Progress bars.
relative = {f"q = {q}": experiment.threshold(q=q) for q in q_values}"""),
        code("""show_comparison(relative)"""),
        md("## Per-layer sparsity"),
        code("""near = min(absolute.values(), key=lambda r: abs(r["sparsity"] - relative["q = 0.5"]["sparsity"]))
layers_abs = near["layers"][:-1]
layers_q = relative["q = 0.5"]["layers"][:-1]
names = [row["name"].replace("transformer.h.", "h").replace(".weight", "") for row in layers_q]
fig, ax = plt.subplots(figsize=(9, 3))
x = range(len(names))
ax.bar([i - 0.2 for i in x], [r["sparsity"] for r in layers_abs], 0.4, label="absolute threshold")
ax.bar([i + 0.2 for i in x], [r["sparsity"] for r in layers_q], 0.4, label="q = 0.5 x std")
ax.set_xticks(list(x), names, rotation=90, fontsize=7)
ax.set_ylabel("sparsity")
ax.legend()
fig.savefig(experiment.figure_path("02_per_layer"), dpi=120, bbox_inches="tight")
plt.show()
print(format_table([{"layer": n, "absolute": a["sparsity"], "q*std": b["sparsity"]}
                    for n, a, b in zip(names, layers_abs, layers_q)], ["layer", "absolute", "q*std"]))"""),
        code(
            """saved = experiment.save_result("02_threshold", {"absolute": absolute, "relative": relative})"""
        ),
    ],
    """## Summary

- A threshold fixes a cut-off, not a sparsity: the sparsity it gives depends on the weights.
- The q × std rule prunes every layer to a similar fraction; one absolute threshold does not.
- Without fine-tuning, recall of facts (the QA tasks) fades first as the threshold grows.

## Exercises

1. Which threshold gives 50% sparsity? Compare its scores with `03_rate` at 0.5.
2. Exclude the attention weights (`Pruner(model, exclude=[r"\\.attn\\."])`): what changes?
3. Plot per-layer sparsity for q = 1.0.""",
)

NOTEBOOKS["03_rate"] = notebook(
    "03_rate",
    "03 · Pruning by rate: one-shot, iterative, layer-wise and global",
    """The pruning rate is the hyperparameter the paper studies in its Tables 3 and 4. In this
notebook you will:

1. prune to a target sparsity at once, layer by layer and globally;
2. prune iteratively: the same rate of the remaining weights several times, with
   fine-tuning in between (rate 0.1 five times gives sparsity 1 − 0.9⁵ = 0.40951);
3. fine-tune the one-shot model with its masks held;
4. compare against a control: the dense model given the same extra fine-tuning.

`pruning-lib reproduce` runs this notebook once per sparsity (0.1, 0.3, 0.5).""",
    """sparsity = 0.5  # final fraction of prunable weights that are zero
iterations = 5  # pruning rounds of the iterative run""",
    [
        md(
            "## Words: rate and sparsity\n\n*Sparsity* is cumulative; a *rate* removes a fraction "
            "of what still stands."
        ),
        code("""from pruning_lib.prune import rate_to_sparsity, sparsity_to_rate

rate = sparsity_to_rate(sparsity, iterations)
print(f"rate 0.1 five times -> sparsity {rate_to_sparsity(0.1, 5):.5f}")
print(f"to reach sparsity {sparsity} in {iterations} rounds: rate {rate:.4f} per round")"""),
        md("## One-shot pruning, without fine-tuning"),
        code("""# NBVAL_IGNORE_OUTPUT\n# Progress bars.
dense = experiment.dense()
layer = experiment.oneshot(sparsity, scope="layer")
glob = experiment.oneshot(sparsity, scope="global")"""),
        code(
            """show_comparison({"dense": dense, "one-shot layer-wise": layer, "one-shot global": glob})"""
        ),
        md(
            "## Iterative pruning and fine-tuning\n\nBoth runs below get the same number of "
            "fine-tuning steps; so does the control."
        ),
        code("""# NBVAL_IGNORE_OUTPUT\n# Progress bars while fine-tuning.
iterative = experiment.iterative(sparsity, iterations)
finetuned = experiment.oneshot(sparsity, scope="layer", finetune=True)
control = experiment.control()"""),
        code("""print(format_table(iterative["trace"], ["iteration", "sparsity"], digits=4))
runs = {"dense": dense, "control (dense + fine-tuning)": control,
        "one-shot": layer, "one-shot + fine-tuning": finetuned, "iterative + fine-tuning": iterative}
show_comparison(runs)"""),
        code("""from pruning_lib.evaluate import main_metric
from pruning_lib.notebook import ordered
from pruning_lib.tasks import DISPLAY_NAMES

tasks = ordered(dense["scores"])
fig, ax = plt.subplots(figsize=(9, 3.2))
width = 0.8 / len(runs)
for i, (label, result) in enumerate(runs.items()):
    values = [result["scores"][t][main_metric(t)] for t in tasks]
    ax.bar([k + (i - len(runs) / 2 + 0.5) * width for k in range(len(tasks))], values, width, label=label)
ax.set_xticks(range(len(tasks)), [DISPLAY_NAMES[t] for t in tasks])
ax.set_ylabel("score")
ax.set_title(f"sparsity {sparsity}")
ax.legend(fontsize=7, ncol=2)
fig.savefig(experiment.figure_path(f"03_rate_{sparsity}"), dpi=120, bbox_inches="tight")
plt.show()"""),
        code("""saved = experiment.save_result(f"03_rate_{sparsity}", runs)"""),
    ],
    """## Summary

- One-shot magnitude pruning is nearly free at low sparsity and costly at 0.5, most of all
  for recalling facts.
- Fine-tuning with the masks held wins much of it back; the control shows how much of that
  is recovery and how much is just more training.
- Global pruning lets some layers keep more weights than others.

## Exercises

1. Set `iterations = 1`: is the iterative run then the same as one-shot + fine-tuning?
2. Try `sparsity = 0.7`. Does fine-tuning still recover?
3. Which layers does global pruning hit hardest? (`Pruner.report()`)""",
)

NOTEBOOKS["04_schedules"] = notebook(
    "04_schedules",
    "04 · Pruning schedules",
    """Gradual pruning raises the sparsity during fine-tuning instead of all at once. In this
notebook you will:

1. draw the constant, linear, exponential and cubic schedules from 0 to the target;
2. prune on each schedule inside the training loop;
3. compare the loss curves and the final scores side by side.""",
    """schedule_kinds = ["constant", "linear", "exponential", "cubic"]
initial_sparsity = 0.0
target_sparsity = 0.5
schedule_end_step = 100  # the target is reached exactly here
schedule_frequency = 10  # steps between pruning events""",
    [
        md("## The schedules"),
        code("""from pruning_lib.schedules import Schedule

schedules = {kind: Schedule(kind, initial_sparsity, target_sparsity, begin_step=0,
                            end_step=schedule_end_step, frequency=schedule_frequency)
             for kind in schedule_kinds}
fig, ax = plt.subplots(figsize=(6, 3))
for kind, schedule in schedules.items():
    ax.step(range(finetune_steps + 1), schedule.curve(finetune_steps), where="post", label=kind)
ax.set_xlabel("step")
ax.set_ylabel("sparsity")
ax.legend()
fig.savefig(experiment.figure_path("04_schedule_curves"), dpi=120, bbox_inches="tight")
plt.show()
for kind, schedule in schedules.items():
    values = [round(schedule.sparsity_at(s), 3) for s in schedule.pruning_steps()]
    print(f"{kind:>11}: {values}")"""),
        md("## Pruning inside the training loop"),
        code("""# NBVAL_IGNORE_OUTPUT\n# Progress bars while fine-tuning.
results = {kind: experiment.scheduled(schedule) for kind, schedule in schedules.items()}"""),
        code("""fig, ax = plt.subplots(figsize=(6, 3))
for kind, result in results.items():
    ax.plot([h["step"] for h in result["history"]], [h["loss"] for h in result["history"]], label=kind)
ax.axvline(schedule_end_step, color="gray", linestyle=":")
ax.set_xlabel("step")
ax.set_ylabel("training loss")
ax.legend()
fig.savefig(experiment.figure_path("04_schedule_loss"), dpi=120, bbox_inches="tight")
plt.show()
show_comparison({"dense": experiment.dense(), **results})"""),
        code("""saved = experiment.save_result("04_schedules", results)"""),
    ],
    """## Summary

- Every schedule ends at exactly the target sparsity at `schedule_end_step`, whatever the
  frequency.
- Gradual schedules give the model time to adapt; the constant schedule prunes everything
  at step 0 and spends all of its steps recovering.

## Exercises

1. Set `schedule_frequency = 7` (the span is no longer a multiple): check the final sparsity.
2. Try a polynomial schedule with `power=2` (`Schedule("polynomial", power=2, ...)`).
3. Move `schedule_end_step` close to `finetune_steps`: what happens to the scores?""",
)

NOTEBOOKS["05_l1_regularization"] = notebook(
    "05_l1_regularization",
    "05 · L1 regularization before pruning",
    """The L1 penalty λ·Σ|w| pulls weights toward zero during training, so that pruning
afterwards removes less of what the model uses. In this notebook you will:

1. train with several values of λ;
2. watch the weight histogram shift toward zero;
3. prune to the same sparsity and fine-tune, and compare the scores.""",
    """l1_lambdas = [0.0, 0.00001, 0.00003, 0.0001]  # lambda 0 is the reference
l1_steps = 75  # training steps with the penalty, before pruning
l1_sparsity = 0.5""",
    [
        md("## Training with the penalty, then pruning"),
        code("""# NBVAL_IGNORE_OUTPUT\n# Progress bars while training.
results = {f"lambda={lam:g}": experiment.l1(lam, l1_sparsity, l1_steps) for lam in l1_lambdas}"""),
        md("## Weight histograms after L1 training"),
        code("""fig, ax = plt.subplots(figsize=(6, 3))
for label, result in results.items():
    edges = result["bin_edges"]
    ax.step(edges[:-1], result["histogram"], where="post", label=label)
ax.set_yscale("log")
ax.set_xlabel("|w| (clipped at 0.3)")
ax.set_ylabel("weights")
ax.legend()
fig.savefig(experiment.figure_path("05_l1_histograms"), dpi=120, bbox_inches="tight")
plt.show()
print(format_table([{"run": k, "mean |w|": r["mean_abs_weight"]} for k, r in results.items()],
                   ["run", "mean |w|"], digits=4))"""),
        md("## Scores after L1, after pruning, after fine-tuning"),
        code("""from pruning_lib.notebook import mean_qa

rows = [{"run": label, "after L1": mean_qa(r["scores_after_l1"]), "pruned": mean_qa(r["scores_pruned"]),
         "fine-tuned": mean_qa(r["scores"])} for label, r in results.items()]
print("mean QA score")
print(format_table(rows, ["run", "after L1", "pruned", "fine-tuned"]))
show_comparison(results)"""),
        code("""saved = experiment.save_result("05_l1_regularization", results)"""),
    ],
    """## Summary

- A larger λ moves weight mass toward zero: the histogram's left edge grows.
- Too large a λ costs accuracy before any pruning; a moderate one can make pruning cheaper.

## Exercises

1. Prune by threshold after L1 (`pruning_lib.regularization.l1_then_prune(..., threshold=0.01)`):
   how much sparsity does the same threshold give for each λ?
2. Apply L1 only to the MLP weights (`L1Penalty(prunable_weights(model, include=[r"mlp"]), lam)`).""",
)

NOTEBOOKS["06_finetuning"] = notebook(
    "06_finetuning",
    "06 · How much fine-tuning does recovery take?",
    """The fifth hyperparameter is the number of fine-tuning epochs after pruning. In this
notebook you will:

1. fine-tune one-shot pruned models at several sparsities with their masks held;
2. plot the scores as a function of fine-tuning steps and epochs;
3. compare with the dense control given the same training.""",
    """sparsities = [0.1, 0.3, 0.5]""",
    [
        code("""# NBVAL_IGNORE_OUTPUT\n# Progress bars while fine-tuning.
curves = {f"sparsity {s}": experiment.oneshot(s, scope="layer", finetune=True) for s in sparsities}
curves["dense control"] = experiment.control()"""),
        code("""from pruning_lib.notebook import mean_qa

tokens_per_step = batch_size * grad_accum_steps * experiment.block_size
corpus_tokens = len(experiment.stream())
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3))
rows = []
for label, result in curves.items():
    steps = [point["step"] for point in result["curve"]]
    epochs = [s * tokens_per_step / corpus_tokens for s in steps]
    qa = [mean_qa(point["scores"]) for point in result["curve"]]
    story = [point["scores"]["story_cloze"]["acc"] for point in result["curve"]]
    left.plot(epochs, qa, marker="o", label=label)
    right.plot(epochs, story, marker="o", label=label)
    rows += [{"run": label, "step": s, "epochs": e, "mean QA": q, "StoryCloze": c}
             for s, e, q, c in zip(steps, epochs, qa, story)]
for ax, name in ((left, "mean QA exact match"), (right, "StoryCloze acc")):
    ax.set_xlabel("fine-tuning epochs")
    ax.set_ylabel(name)
left.legend(fontsize=8)
fig.savefig(experiment.figure_path("06_recovery"), dpi=120, bbox_inches="tight")
plt.show()
print(format_table(rows, ["run", "step", "epochs", "mean QA", "StoryCloze"]))"""),
        code("""saved = experiment.save_result("06_finetuning", curves)"""),
    ],
    """## Summary

- At low sparsity there is little to recover; at 0.5 most of the recovery comes early.
- The dense control shows what the same training does without pruning.

## Exercises

1. Double `finetune_steps`: does the 0.5 model reach the control?
2. Lower `finetune_learning_rate` ten-fold: is recovery slower or better?""",
)

NOTEBOOKS["07_results"] = notebook(
    "07_results",
    "07 · Results: our Tables 3 and 4, and Figures 3 and 4",
    """This notebook gathers the runs of the other notebooks (from the cache; it computes
what is missing) into the paper's Tables 3 and 4. In this notebook you will:

1. build our tables: dense, the control, and each sparsity one-shot and fine-tuned;
2. set the paper's published rows beside them;
3. draw Figures 3 and 4 as grouped bar charts;
4. check the paper's pattern in our numbers.""",
    """sparsities = [0.1, 0.3, 0.5]""",
    [
        code("""# NBVAL_IGNORE_OUTPUT\n# Progress bars for anything not cached yet.
from pruning_lib.results import collect

results = collect(experiment, sparsities)"""),
        md("## Table 3: completion tasks"),
        code("""from pruning_lib import report

print(report.markdown_table(results["table_3"], ["model", "pr%", "nparams", *report.COMPLETION_COLUMNS]))
print()
print("Published (GPT-Efficio, arXiv 2310.04573):")
print(report.markdown_table(report.PAPER_TABLE_3, ["model", "pr%", "nparams", *report.COMPLETION_COLUMNS]))"""),
        md("## Table 4: QA tasks"),
        code("""print(report.markdown_table(results["table_4"], ["model", "pr%", "nparams", *report.QA_COLUMNS]))
print()
print("Published (GPT-Efficio, arXiv 2310.04573):")
print(report.markdown_table(report.PAPER_TABLE_4, ["model", "pr%", "nparams", *report.QA_COLUMNS]))"""),
        md("## Figures 3 and 4"),
        code("""from pruning_lib.results import figures

paths = figures(results, experiment.out)
plt.show()"""),
        md("## The paper's pattern in our numbers"),
        code("""for check in results["checks"]:
    print(f"{'yes' if check['holds'] else 'NO '}  {check['claim']}  ({check['detail']})")"""),
        code("""# NBVAL_IGNORE_OUTPUT\n# Prints paths.
from pruning_lib.results import write_results

print(write_results(results, experiment.out))"""),
    ],
    """## Summary

- Our small model shows the paper's pattern: little loss at 0.1, a large loss at 0.5 that
  falls hardest on recalling facts, and fine-tuning that wins much of it back.
- Our absolute numbers are not the paper's: a 1M-parameter model on a toy language is not a
  950M model on the real datasets. Run `params/paper.yaml` on a GPU for those.

## Exercises

1. Add sparsity 0.7 to `sparsities`. Is the fall still gradual?
2. Compare the control row with the dense row: how much of the recovery is more training?""",
)

NOTEBOOKS["08_efficiency"] = notebook(
    "08_efficiency",
    "08 · Does pruning make the model more efficient?",
    """The paper's question, answered with measurements rather than parameter counts. In this
notebook you will:

1. count total, prunable and non-zero parameters;
2. measure bytes on disk: the standard dense file, and a lossless sparse encoding;
3. measure forward latency of the dense and the pruned model;
4. draw the honest conclusion.""",
    """efficiency_sparsity = 0.5
latency_tokens = 128  # tokens per forward pass
latency_repeats = 20""",
    [
        code("""from pruning_lib.efficiency import parameter_counts, size_report
from pruning_lib.prune import Pruner

dense_model = experiment.fresh_model()
pruned_model = experiment.fresh_model()
Pruner(pruned_model).prune_magnitude(efficiency_sparsity)
rows = []
for label, m in (("dense", dense_model), (f"pruned {efficiency_sparsity}", pruned_model)):
    counts, sizes = parameter_counts(m), size_report(m)
    rows.append({"model": label, "total": counts["total"], "non-zero": counts["nonzero"],
                 "prunable non-zero": counts["prunable_nonzero"],
                 "prunable MB dense": sizes["prunable_dense_bytes"] / 1e6,
                 "prunable MB sparse": sizes["prunable_sparse_bytes"] / 1e6})
print(format_table(rows, list(rows[0])))"""),
        md("## Bytes on disk"),
        code(
            """import tempfile
from pathlib import Path

from pruning_lib.efficiency import load_sparse, save_sparse

with tempfile.TemporaryDirectory() as tmp:
    pruned_model.save_pretrained(Path(tmp) / "dense", safe_serialization=True)
    dense_file = (Path(tmp) / "dense" / "model.safetensors").stat().st_size
    sparse_file = save_sparse(pruned_model, Path(tmp) / "sparse.safetensors").stat().st_size
    restored = load_sparse(Path(tmp) / "sparse.safetensors")
exact = all(torch.equal(restored[k], v) for k, v in pruned_model.state_dict().items() if k in restored)
print(f"pruned model, standard safetensors: {dense_file / 1e6:.2f} MB")
print(f"pruned model, bitmask + values:     {sparse_file / 1e6:.2f} MB ({sparse_file / dense_file:.2f}x)")
print("sparse file restores the weights exactly:", exact)""".replace(
                "import tempfile", "import tempfile\n\nimport torch"
            )
        ),
        md("## Latency\n\nTimings depend on the machine; this cell is not checked."),
        code("""# NBVAL_IGNORE_OUTPUT\n# Timings.
from pruning_lib.efficiency import measure_latency

ids = torch.randint(0, len(experiment.tokenizer), (1, min(latency_tokens, experiment.block_size)))
dense_time = measure_latency(dense_model, ids, latency_repeats)["median_s"]
pruned_time = measure_latency(pruned_model, ids, latency_repeats)["median_s"]
print(f"dense {dense_time * 1e3:.2f} ms, pruned {pruned_time * 1e3:.2f} ms, "
      f"ratio {pruned_time / dense_time:.2f}")
fig, ax = plt.subplots(figsize=(4, 3))
ax.bar(["dense", f"pruned {efficiency_sparsity}"], [dense_time * 1e3, pruned_time * 1e3])
ax.set_ylabel("forward pass (ms)")
fig.savefig(experiment.figure_path("08_latency"), dpi=120, bbox_inches="tight")
plt.show()
saved = experiment.save_result("08_efficiency", {"sizes": rows, "dense_file": dense_file, "sparse_file": sparse_file,
                                                 "dense_latency_s": dense_time, "pruned_latency_s": pruned_time})"""),
    ],
    """## The honest conclusion

- **Parameters:** unstructured pruning at 0.5 halves the non-zero prunable weights, which is
  what the paper's nparams column counts.
- **Disk:** the standard file stores the zeros, so it is exactly as large. Only a sparse
  encoding shrinks it, to about 0.53× of the prunable bytes at 0.5 (fp32).
- **Speed:** dense kernels multiply the zeros too, so the pruned model is not faster; the
  latency ratio above is about 1. Speed-ups need structured (e.g. 2:4) sparsity and kernels
  that use it, and even then are well under 2× end to end.

## Exercises

1. Measure `latency_tokens = 16` and `512`: does the ratio change?
2. Store the pruned weights in bfloat16 and sparse-encode them: what ratio do you get?""",
)


def main() -> None:
    folder = ROOT / "notebooks"
    folder.mkdir(exist_ok=True)
    for name, nb in NOTEBOOKS.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
        print("wrote", folder / f"{name}.ipynb")


if __name__ == "__main__":
    main()
