# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 11 · After magnitude pruning: the paper's Future Work, measured
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/pruning-lib/pruning-lib/HEAD?urlpath=lab/tree/notebooks/11_after_magnitude.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/pruning-lib/pruning-lib/blob/main/notebooks/11_after_magnitude.ipynb)
#
# The paper ends (§7) with what should come next: pruning beyond weight magnitude,
# context-aware pruning, better recovery, structured pruning of whole layers, knowledge
# distillation, sparse training. The methods practitioners reach for first answer several
# of them. In this notebook you will:
#
# 1. write **reconstruction after the mask** (SparseGPT's idea) for one matrix in plain
#    PyTorch, as least squares, and check it against `torch.linalg.lstsq` and the library;
# 2. look at two scores of this model's blocks: **OWL**'s share of activation outliers
#    (which sets each block's sparsity) and **ShortGPT**'s block influence (which picks the
#    blocks to remove);
# 3. measure at four training seeds, paired by seed and item, each against its reference:
#    reconstruction (magnitude and Wanda, unstructured at 0.5 and 0.7, and 2:4), the
#    per-layer **allocation** (uniform, global, OWL) at the same total sparsity,
#    **calibration text** of the evaluated task family against the corpus (for Wanda and
#    for reconstruction), recovery by **distillation** from the dense model against plain
#    fine-tuning and the control, and **whole blocks removed** against unstructured pruning
#    of the same share;
# 4. time the shorter model against its parameter ratio.
#
# 5. where the profile asks for it (`sparse_training_seeds`), measure **sparse training**:
#    a model trained from scratch under a fixed or a moving (SET) mask, against pruning the
#    trained dense model, at equal non-zero parameters and equal training steps. Each such
#    model trains for about eight minutes on one CPU thread, so the tutorial profile trains
#    none; `params/sparse_training.yaml` trains them at four seeds (about 50 minutes on
#    two cores).
#
# **How long it takes.** About 15 s when its runs are cached or shipped with the package
# (the tutorial profile's are). Computing its 128 runs here, after you change a parameter or
# choose another profile, takes about 5 minutes on two CPU cores: an estimate from the runs'
# costs (`Run.cost` in `pruning_lib/study/runs.py`) over two workers. Another seed, or a
# changed training parameter, first trains a baseline that is not committed (those of seeds
# 0 to 3 are): about eight minutes on one CPU thread.

# %%
# On Colab, install pruning-lib first; elsewhere it is installed already.
import sys

from IPython import get_ipython

if "google.colab" in sys.modules:  # the test of pruning_lib.study.runtime.in_colab()
    get_ipython().run_line_magic("pip", "install -q git+https://github.com/pruning-lib/pruning-lib")

# %% [markdown]
# ## Parameters
#
# This notebook's own parameters. The profile sets everything else (the model and its
# training, the data, the seed): the defaults are the tutorial profile (offline, CPU,
# minutes), another name reads `params/<profile>.yaml`, and any of its settings may be set
# here too (e.g. `seed = 1`). `pruning-lib reproduce params/<profile>.yaml` runs this
# notebook with a profile's values; every parameter and its range is defined once in
# `pruning_lib/study/parameters.py`. After changing a value, rerun from this cell down: the
# cell after `start` asks for every run of the notebook.

# %% tags=["parameters"]
profile = "tutorial"  # results go to runs/<profile>/; its settings apply here
after_sparsities = [0.5, 0.7]  # unstructured; 2:4 beside 0.5 (it fixes 0.5)
seeds = [0, 1, 2, 3]  # training seeds; the world and its items stay fixed
distill_weight = 1.0  # weight of the KL term toward the dense model's logits
removed_blocks = 1  # transformer blocks removed, those of least influence
sparse_training_seeds = []  # seeds of the from-scratch sparse models (sparse_training.yaml: 0-3)
sparse_training_sparsity = 0.5  # their sparsity, and of the pruned model they face

# %% tags=["nbval-ignore-output"]
# Names the machine and device.
# %matplotlib inline
import matplotlib.pyplot as plt
import torch

from pruning_lib.study import plans
from pruning_lib.study.notebook import compute, format_table, mean_qa, start

experiment = start(globals())

# %% tags=["nbval-ignore-output"]
# A progress bar while the runs not cached yet are computed (`plans.after_magnitude`).
plan = plans.after_magnitude(
    experiment.settings, after_sparsities, seeds, distill_weight, removed_blocks
)
sweeps = compute(experiment, plan)

# %% [markdown]
# ## Reconstruction after the mask, by hand
#
# Pruning zeroes weights, and the weights it keeps were trained beside the ones it removed.
# Given the inputs `X` (tokens × in) a layer sees on calibration text, each output row `w`
# can keep its mask and set its kept weights `w_K` to the best least-squares fit of the
# dense row's outputs: `min ‖X_K w_K − X w‖²`. SparseGPT (Frantar and Alistarh, 2023)
# solves an approximation of this while it chooses the mask; here the mask comes first
# (magnitude, Wanda or 2:4) and each row is solved exactly. We take block 1's first MLP
# matrix, collect its inputs with a forward hook on Wanda's calibration windows
# (`calibration_sequences`; the runs below reconstruct on fewer, see the last section),
# prune it by magnitude to 0.5 and solve three rows with `torch.linalg.lstsq`.

# %%
from pruning_lib.reconstruct import reconstruct_rows
from pruning_lib.scores import calibration_batches
from pruning_lib.structured import mlp_up_matrix, output_rows

settings = experiment.settings
lm = experiment.fresh_model()
name, module = mlp_up_matrix(lm, min(1, lm.config.num_hidden_layers - 1))
rows = output_rows(module).detach().double().cpu().clone()  # (out, in)
batches = calibration_batches(
    experiment.stream(), settings.calibration_sequences, experiment.block_size, seed=settings.seed
)
seen = []
handle = module.register_forward_hook(
    lambda m, inputs, output: seen.append(inputs[0].detach().reshape(-1, rows.shape[1]))
)
with torch.no_grad():
    for batch in batches:
        lm(batch.to(experiment.device))
handle.remove()
X = torch.cat(seen).double().cpu()  # (tokens, in)
keep = rows.abs() > rows.abs().flatten().kthvalue(rows.numel() // 2).values  # magnitude 0.5
ours = rows * keep
for row in range(3):
    kept = keep[row]
    solution = torch.linalg.lstsq(X[:, kept], X @ rows[row]).solution
    ours[row, kept] = solution
library = reconstruct_rows(rows, keep, X.T @ X)  # no dampening: the exact optimum
assert torch.allclose(ours[:3], library[:3], atol=1e-6), "the library's rows differ"


def output_error(weights: torch.Tensor) -> float:
    """||X (W' - W)^T||^2 / ||X W^T||^2 over the first three rows."""
    return float((X @ (weights[:3] - rows[:3]).T).pow(2).sum() / (X @ rows[:3].T).pow(2).sum())


print(f"{name}: {X.shape[0]} calibration tokens, {rows.shape[1]} inputs; rows 0-2 agree "
      "with the library's reconstruction")  # fmt: skip
print(f"relative output error of rows 0-2: mask alone {output_error(rows * keep):.4f}, "
      f"reconstructed {output_error(ours):.4f}")  # fmt: skip

# %% [markdown]
# ## Two scores of this model's blocks
#
# **OWL** (Yin et al., 2023) counts, in each block, the share of Wanda scores
# `|W_ij| · ‖X_j‖` above five times the block's mean: its *outliers*. Blocks with more
# outliers keep more weights; the block sparsities, linear in that share, span 0.16 (twice
# OWL's λ = 0.08), shifted so that their size-weighted mean is the total `s` exactly: they
# need not be centred on `s` (`pruning_lib.allocation`).
# **ShortGPT** (Men et al., 2024) scores each block by `1 − mean cos(x_in, x_out)` over the
# tokens: a block that barely turns the residual stream matters least and goes first
# (`pruning_lib.blocks`).

# %%
from pruning_lib import allocation
from pruning_lib.blocks import block_influence
from pruning_lib.prune import Pruner
from pruning_lib.scores import input_norms, wanda_scores

lm = experiment.fresh_model()
pruner = Pruner(lm)
wanda = wanda_scores(pruner, input_norms(pruner, lm, batches))
ratios = allocation.outlier_ratios(wanda)
owl = allocation.owl(wanda, 0.5)
influence = block_influence(lm, batches)
print(format_table(
    [
        {
            "block": index,
            "outliers (%)": f"{ratios[block]:.2f}",
            "OWL sparsity at 0.5": f"{owl[next(n for n in owl if n.startswith(block + '.'))]:.3f}",
            "block influence": f"{influence[index]:.3f}",
        }
        for index, block in enumerate(ratios)
    ],
    ["block", "outliers (%)", "OWL sparsity at 0.5", "block influence"],
))  # fmt: skip
sizes = {n: w.numel() for n, w in pruner.weights.items()}
print(f"OWL's allocation at 0.5 prunes {sum(allocation.counts(sizes, owl).values())} weights, "
      f"uniform {round(0.5 * sum(sizes.values()))}")  # fmt: skip
blocks = list(ratios)
most = max(
    range(len(blocks)), key=lambda i: owl[next(n for n in owl if n.startswith(blocks[i] + "."))]
)
ranked = sorted(range(len(blocks)), key=lambda i: -influence[i])
print(f"OWL prunes block {most} most (the fewest outliers); by block influence it ranks "
      f"{ranked.index(most) + 1} of {len(blocks)} (1: the block that changes its input most)")  # fmt: skip

# %% [markdown]
# ## Four seeds: quality at each choice
#
# Each training seed prunes its own baseline; [low, high] is the 95% interval of the mean
# over seeds with the items' sampling noise added, kept inside 0 and 1
# (`pruning_lib/study/uncertainty.py`). At one sparsity the variants keep the same number
# of weights up to rounding: magnitude rounds layer by layer, Wanda row by row, the
# allocations over the whole model (`allocation.counts`); the line after the table prints
# the largest gap. *blocks removed* keeps the parameters of the remaining blocks, and sits
# beside unstructured magnitude pruning of the same share of the prunable weights.

# %%
from pruning_lib.study import equal_size

study = equal_size.collect(experiment, sweeps)
table = equal_size.rows(study)
print(f"seeds {study['seeds']}; mean of each variant's score [95% interval, inside 0 and 1]")
print(format_table(table, ["variant", "sparsity", "parameters", "mean QA", "mean of six"]))
for level in after_sparsities:
    kept = [row["parameters"] for row in table if row["sparsity"] == level and row["variant"]
            not in ("dense", "control")]  # fmt: skip
    print(f"at {level:g}: parameters kept differ by at most {max(kept) - min(kept)} "
          f"({(max(kept) - min(kept)) / max(kept):.2%} of the largest)")  # fmt: skip

# %% [markdown]
# ## What the numbers say
#
# Each sentence is printed from the paired difference (by seed, since each seed's variants
# share that seed's model, and by item, since they answer the same items). One-shot
# variants are set against one-shot magnitude pruning (or the score they add to);
# fine-tuned ones against plain fine-tuning at the same steps and against the control, the
# dense model fine-tuned as long. Calibration text is judged on the QA tasks, the family of
# the QA lines it calibrates on.

# %%
from pruning_lib.study.uncertainty import change_interval

share = removed_blocks / lm.config.num_hidden_layers
CONTROL = ("control", 0.0)
comparisons = []
for level in after_sparsities:
    for first, second in (
        ("magnitude + reconstruction", "magnitude"),
        ("Wanda", "magnitude"),
        ("Wanda + reconstruction", "Wanda"),
        ("Wanda on QA text", "Wanda"),
        ("reconstruction on QA text", "magnitude + reconstruction"),
        ("global allocation", "magnitude"),
        ("OWL allocation", "magnitude"),
        ("reconstruction, fine-tuned", "magnitude, fine-tuned"),
        ("distilled, fine-tuned", "magnitude, fine-tuned"),
    ):
        comparisons.append(((first, level), (second, level)))
    comparisons.append((("magnitude, fine-tuned", level), CONTROL))
    comparisons.append((("distilled, fine-tuned", level), CONTROL))
    if abs(level - 0.5) < 1e-9:
        comparisons.append((("magnitude 2:4 + reconstruction", 0.5), ("magnitude 2:4", 0.5)))
        comparisons.append((("Wanda 2:4 + reconstruction", 0.5), ("Wanda 2:4", 0.5)))
comparisons += [
    (("blocks removed", share), ("magnitude", share)),
    (("blocks removed, fine-tuned", share), ("magnitude, fine-tuned", share)),
    (("blocks removed, fine-tuned", share), CONTROL),
]
# Only what the plan ran (QA-text calibration needs the toy world's QA lines).
comparisons = [(a, b) for a, b in comparisons if a in study["sizes"] and b in study["sizes"]]
judged = equal_size.judge(study, comparisons)

# %% [markdown]
# Reconstruction's own aim is smaller layer outputs' errors on the calibration text; the
# runs record each layer's relative output error, mask alone and reconstructed:

# %%
from statistics import mean

for variant in ("magnitude + reconstruction", "Wanda + reconstruction", "reconstruction on QA text",
                "magnitude 2:4 + reconstruction"):  # fmt: skip
    for level in after_sparsities:
        key = (variant, level)
        if key not in study["runs"][0]:
            continue
        layers = [row for run in study["runs"] for row in run[key]["reconstruction"]]
        fell = sum(row["reconstructed"] < row["masked"] for row in layers)
        print(f"{variant} at {level:g}: mean relative output error {mean(r['masked'] for r in layers):.4f} "
              f"-> {mean(r['reconstructed'] for r in layers):.4f}; lower on {fell} of "
              f"{len(layers)} layers (all seeds)")  # fmt: skip

# %% [markdown]
# The same differences as a figure: each variant minus its reference, with the 95% interval
# of the paired difference. An interval that crosses the zero line is inconclusive.

# %%
fig, ax = plt.subplots(figsize=(9, 0.32 * len(judged) + 1))
labels = [f"{a[0]} − {b[0]} ({a[1]:g})" for a, b in judged]
for row, ((_, second), (value, noise)) in enumerate(judged.items()):
    low, high = change_interval(value, noise, equal_size.mean_of(study, *second)["mean"])
    colour = "tab:orange" if "fine-tuned" in labels[row] else "tab:blue"
    ax.errorbar(value, row, xerr=[[value - low], [high - value]], fmt="o", color=colour, capsize=3)
ax.axvline(0.0, color="black", lw=0.8)
ax.set_yticks(range(len(labels)), labels, fontsize=8)
ax.invert_yaxis()
ax.set_xlabel("difference in mean QA exact match (95% interval, paired by seed and item)")
ax.set_title("blue: one-shot; orange: fine-tuned", fontsize=9)
fig.savefig(experiment.figure_path("11_paired_differences"), dpi=120, bbox_inches="tight")
plt.show()

# %% [markdown]
# ## The shorter model's speed
#
# Removing a block removes its work: the model below is this notebook's, with the blocks
# the seed-0 run removed, timed against the full model on one CPU thread (timings are not
# checked: they move with the machine). A block holds the same share of the prunable weights
# as of the multiply-adds of a forward pass through the blocks, so the blocks alone should
# speed up near `1 / (1 − share)` (printed as the blocks' ratio); the timing is of the whole
# forward pass, in which the embeddings and the output head stay.

# %% tags=["nbval-ignore-output"]
from pruning_lib.blocks import remove_blocks
from pruning_lib.efficiency import measure_latency

full, shorter = experiment.fresh_model(), experiment.fresh_model()
removed = study["runs"][0][("blocks removed", share)]["removed"]
remove_blocks(shorter, removed)
ids = torch.randint(0, len(experiment.tokenizer), (1, experiment.block_size))
with torch.no_grad():
    timed = {label: measure_latency(model, ids, repeats=30)["median_s"]
             for label, model in (("full", full), ("shorter", shorter))}  # fmt: skip
print(f"blocks removed: {removed}; forward pass {timed['full'] * 1e3:.2f} ms -> "
      f"{timed['shorter'] * 1e3:.2f} ms: {timed['full'] / timed['shorter']:.2f}x "
      f"(blocks' ratio {1 / (1 - share):.2f}x)")  # fmt: skip

# %% [markdown]
# ## Sparse training: no dense model to start from
#
# Pruning starts from a trained dense model and removes weights; sparse training never has
# one. It draws a mask at initialisation and trains under it (`pruning_lib.sparse_training`):
#
# - **static mask**: each layer keeps a random share `1 − s` of its weights (as many as
#   layer-wise magnitude pruning keeps), fixed for all of training;
# - **SET** (Mocanu et al., 2018): every 100 steps each layer drops the 30% of its kept
#   weights of smallest magnitude and regrows as many at random positions, at zero and with
#   fresh optimizer moments; it stops at three quarters of training (RigL's interval and end
#   point; RigL also decays the fraction and regrows by gradient instead).
#
# Both train as the baseline did (its recipe, batch size and seed) for the baseline's steps
# plus the fine-tuning's: the whole budget of a model pruned from the baseline and
# fine-tuned, and the budget of *dense-small* (notebook 09: a dense model of the same family
# with as many parameters); the cell below prints the sequences each saw (a fine-tuning
# step takes fewer sequences than a baseline step). Each is judged against magnitude pruning of
# the trained dense model at the same sparsity then fine-tuning (equal non-zero weights,
# equal steps), against dense-small, and against the control (every weight, trained as
# long: the baseline fine-tuned).

# %% tags=["nbval-ignore-output"]
# A progress bar while the sparse models not cached yet are trained (`plans.sparse_training`).
sparse_plan = plans.sparse_training(
    experiment.settings, sparse_training_sparsity, sparse_training_seeds
)
sparse_sweeps = compute(experiment, sparse_plan) if sparse_plan else {}

# %%
sparse_judged = {}
if not sparse_sweeps:
    print("sparse training: not run in this profile (sparse_training_seeds = []): each model "
          "trains from scratch, about 8 minutes of one core; `pruning-lib reproduce "
          "params/sparse_training.yaml` trains them at seeds 0 to 3")  # fmt: skip
else:
    sparse = equal_size.collect(experiment, sparse_sweeps)
    from_scratch = (settings.baseline_steps + settings.finetune_steps) * settings.batch_size
    pruned_seen = (settings.baseline_steps * settings.batch_size
                   + settings.finetune_steps * settings.finetune_batch_size)  # fmt: skip
    print(f"training sequences: {from_scratch:,} from scratch, {pruned_seen:,} for the pruned "
          f"model and the control ({from_scratch / pruned_seen - 1:+.1%})")  # fmt: skip
    sparse_table = equal_size.rows(sparse)
    level = sparse_training_sparsity
    print(f"seeds {sparse['seeds']}; mean of each variant's score [95% interval, inside 0 and 1]")
    print(format_table(sparse_table, ["variant", "sparsity", "parameters", "mean QA",
                                      "mean of six"]))  # fmt: skip
    print(f"mean QA at each seed (a seed's sparse models start from its baseline's "
          f"initialisation, {level:.0%} of it zeroed):")  # fmt: skip
    print(format_table(
        [{"variant": variant, **{f"seed {seed}": f"{mean_qa(run[(variant, s)]['scores']):.3f}"
                                 for seed, run in zip(sparse["seeds"], sparse["runs"])}}
         for variant, s in sparse["sizes"]],
        ["variant"] + [f"seed {seed}" for seed in sparse["seeds"]],
    ))  # fmt: skip
    pruned, small = ("magnitude, fine-tuned", level), ("dense-small", level)
    static, moving = ("sparse, static mask", level), ("sparse, SET", level)
    sparse_judged = equal_size.judge(sparse, [
        (static, pruned), (moving, pruned), (moving, static), (static, small), (moving, small),
        (small, pruned), (static, CONTROL), (moving, CONTROL),
    ])  # fmt: skip
    moved = [sum(update["moved"] for update in run[("sparse, SET", level)]["moved"])
             for run in sparse["runs"]]  # fmt: skip
    updates = len(sparse["runs"][0][("sparse, SET", level)]["moved"])
    spread = f"{moved[0]:,}" if min(moved) == max(moved) else f"{min(moved):,} to {max(moved):,}"
    print(f"SET moved {spread} weights in all over {updates} updates, at each seed")

# %% [markdown]
# The training loss of the sparse models beside the dense baselines' (each the mean over
# the same seeds): the same recipe and data; the baselines stop where their fine-tuning
# would begin (the last steps are printed).

# %%
import dataclasses
import json

from pruning_lib.study.baseline import baseline_key


def mean_curve(histories: list[list[dict]]) -> tuple[list[int], list[float]]:
    """Steps and the mean training loss at each, over runs logged at the same steps."""
    steps = [entry["step"] for entry in histories[0]]
    return steps, [mean(h[i]["loss"] for h in histories) for i in range(len(steps))]


if sparse_sweeps:
    curves = {
        variant: mean_curve([run[(variant, level)]["history"] for run in sparse["runs"]])
        for variant in plans.SPARSE_VARIANTS
    }
    dense_histories = []
    for training_seed in sparse["seeds"]:  # each seed's baseline folder (cached by now)
        config = dataclasses.replace(experiment.baseline_train_config(), seed=training_seed)
        key = baseline_key(experiment.world_config, experiment.model_config, config)
        path = experiment.cache / f"baseline-{key}" / "history.json"
        if path.is_file():
            dense_histories.append(json.loads(path.read_text()))
    if len(dense_histories) == len(sparse["seeds"]):
        curves["dense baseline"] = mean_curve(dense_histories)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for variant, (steps, losses) in curves.items():
        black = {"color": "black", "lw": 1} if variant == "dense baseline" else {}
        ax.plot(steps, losses, label=variant, **black)
        print(f"{variant}: final training loss {losses[-1]:.3f} at step {steps[-1]} "
              f"(mean of {len(sparse['seeds'])} seeds)")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=8)
    fig.savefig(experiment.figure_path("11_sparse_training_loss"), dpi=120, bbox_inches="tight")
    plt.show()
else:
    print("no sparse models in this profile: nothing to plot")

# %%
saved = experiment.save_result(
    "11_after_magnitude",
    {
        "seeds": study["seeds"],
        "rows": table,
        "comparisons": [
            {"a": list(a), "b": list(b), "difference": v, "half_width": n}
            for (a, b), (v, n) in {**judged, **sparse_judged}.items()
        ],
        "sparse_training_seeds": list(sparse_sweeps),
    },
)

# %% [markdown]
# ## Where the toy world differs from a 7B model
#
# - Our model has four blocks of 128 dimensions and trains in minutes; the methods above
#   were designed for billions of weights. OWL's premise is that large language models
#   grow a few activation outliers of huge magnitude (Dettmers et al., 2022), and that the
#   blocks that hold them matter most. Our model's outlier shares are about one percent or
#   less (the table above), and the block with the fewest need not be the one that matters
#   least: the line under the table says how OWL's most pruned block ranks by influence.
# - ShortGPT finds deep models redundant in their later blocks; with four blocks, one block
#   is a quarter of the model, and removing it is a large cut.
# - Reconstruction fits each layer's outputs on 32 windows of 128 tokens (4,096 tokens, for
#   inputs of 128 or 512 features); SparseGPT fits a 7B model's layers on 128 windows of
#   2,048 tokens for inputs of 4,096 to 11,008 features, where the dampening matters more.
# - Sparse training of a 7B model costs its whole pretraining. The published comparisons
#   (Evci et al., 2020: ResNet-50 at 80% and 90% sparsity) find a static mask below dense
#   training at equal steps and moving masks closer to it. Our model trains in minutes, and
#   where the profile trains the sparse models, the table of each seed's scores shows how far
#   one initialisation moves the QA tasks here.
# - The QA lines our "task family" text is made of share the evaluation's format but not
#   its facts (the evaluation asks about the other half of the people); real task text
#   would overlap less cleanly.
#
# ## Summary
#
# - Reconstruction keeps a mask and refits the kept weights to the dense layer's outputs: a
#   few lines of least squares per row, the exact optimum that SparseGPT approximates; it
#   lowers every layer's output error on the calibration text (printed above). Whether
#   that shows in the tasks is what the verdicts say.
# - The allocation is a choice apart from the score: uniform, global and OWL prune as many
#   weights here, up to rounding (the table's parameters); only *where* differs.
# - Distillation and reconstruction aim at a better recovery; whether either beats plain
#   fine-tuning is what the verdicts say, and the reference for anything fine-tuned is the
#   control, the dense model fine-tuned as long.
# - Removing whole blocks is the simplest structured pruning: a stock config, a real
#   speed-up, and (verdicts above) its cost in quality against unstructured pruning of the
#   same share.
# - Sparse training never trains a dense model: where the profile trains it, the verdicts
#   of its section say how a random mask, fixed or moving, compares with pruning a trained
#   model at the same non-zeros and steps.
# - Where a verdict says "inconclusive", the toy world cannot separate the two methods at
#   these seeds: the difference is not shown, nor shown to be absent.
#
# ## Exercises
#
# 1. Reconstruct one row with the normal equations instead of `lstsq`: the kept weights
#    solve `(X_Kᵀ X_K) w_K = X_Kᵀ X w`. Write it for any `X`, row and mask; the check
#    compares it with `torch.linalg.lstsq` on inputs of its own.
#
# ```python
# def reconstruct_row(X, w, keep):
#     ...  # your code: the row with its kept weights refitted, zeros elsewhere
#
# from pruning_lib.study.exercises import check_reconstruct_row
# check_reconstruct_row(reconstruct_row)
# ```
#
# 2. Write ShortGPT's block influence from a block's input and output hidden states
#    (`(batch, tokens, hidden)` each): one minus the mean cosine similarity over tokens.
#    The check compares it with the library on a model of its own.
#
# ```python
# def influence(x_in, x_out):
#     ...  # your code: a float
#
# from pruning_lib.study.exercises import check_block_influence
# check_block_influence(influence)
# ```
#
# 3. Write SET's drop step for one matrix: given its weights (zeros where pruned), its
#    boolean mask `keep` and a `fraction`, return the mask with the `round(fraction × kept)`
#    kept weights of smallest magnitude dropped (the pruned places are not candidates: they
#    are zero already). The check compares it with `SparseEvolution`'s update on matrices of
#    its own.
#
# ```python
# def set_drop(weight, keep, fraction):
#     ...  # your code: a boolean mask of keep's shape
#
# from pruning_lib.study.exercises import check_set_drop
# check_set_drop(set_drop)
# ```
#
