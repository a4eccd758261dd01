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
# # 09 · Scores and patterns: which half of the weights to remove?
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/pruning-lib/pruning-lib/HEAD?urlpath=lab/tree/notebooks/09_scores_patterns.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/pruning-lib/pruning-lib/blob/main/notebooks/09_scores_patterns.ipynb)
#
# The paper prunes by magnitude, weight by weight. Two other choices decide what pruning
# costs and what it buys: the **score** (which weights matter) and the **pattern** (which
# sets of weights may go together). In this notebook you will:
#
# 1. compute, in plain PyTorch, Wanda's activation-aware mask and a 2:4 mask of one matrix,
#    check both against the library's, and look at them as images beside magnitude and
#    whole MLP neurons (structured, chosen by the library's neuron norms);
# 2. compare magnitude, Wanda and random scores (random: the floor a score must beat), unstructured and 2:4,
#    one-shot and fine-tuned (random one-shot only: notebook 03 fine-tunes it), at 0.5
#    sparsity, over several training seeds;
# 3. compare, at the same parameter count, unstructured pruning against removing whole
#    neurons.
#
# The tutorial profile stops there to keep a fresh clone's `make reproduce` within half an
# hour; `pruning-lib reproduce params/study.yaml` adds 0.7 sparsity (where 2:4 cannot go: it
# fixes 0.5) and a dense model as small as the pruned one, trained from scratch (about seven
# minutes a seed).
#
# Notebook 10 puts these quality figures beside the measured speed and size.
#
# **How long it takes.** About 15 s when its runs are cached or shipped with the package
# (the tutorial profile's are). Computing its 51 runs here, after you change a parameter or
# choose another profile, takes about 3 minutes on two CPU cores: an estimate from the runs'
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
equal_size_sparsities = [0.5]  # the grid; 2:4 where it is 0.5 (study.yaml: [0.5, 0.7])
equal_size_seeds = [0, 1, 2]  # training seeds of the grid (the world stays fixed)
dense_small_seeds = []  # seeds of a dense toy model of the pruned size (study.yaml: [0, 1, 2])

# %% tags=["nbval-ignore-output"]
# Names the machine and device.
# %matplotlib inline
import matplotlib.pyplot as plt
import torch

from pruning_lib.study import plans
from pruning_lib.study.notebook import compute, format_table, start

experiment = start(globals())

# %% tags=["nbval-ignore-output"]
# A progress bar while the runs not cached yet are computed (every variant at every seed:
# `plans.equal_size`; notebook 10 reads the same study).
plan = plans.equal_size(
    experiment.settings, equal_size_sparsities, equal_size_seeds, dense_small_seeds
)
sweeps = compute(experiment, plan)

# %% [markdown]
# ## Four masks of one matrix, by hand
#
# We take the first MLP matrix of block 1 and look at it as rows of outputs, `(out, in)`, the
# way the Wanda paper and the 2:4 kernels do (GPT-2 stores it transposed, `(in, out)`). Each
# mask below prunes this one matrix to 0.5:
#
# - **magnitude** keeps the half with the largest |w| (the paper's score, layer by layer);
# - **Wanda** scores each weight by `|W_ij| · ‖X_j‖₂`: its magnitude times the L2 norm of
#   its input feature over calibration tokens, and keeps the top half *within each output
#   row*. A small weight on a loud input can matter more than a large weight on a quiet one.
# - **2:4** keeps the two largest of every four consecutive inputs of a row: exactly half,
#   in a layout GPU kernels can skip.
# - **structured** removes whole neurons (here half of them): every weight of an output row
#   goes, so the matrix itself gets smaller.

# %%
from pruning_lib.scores import calibration_batches
from pruning_lib.structured import mlp_up_matrix, neuron_scores, neurons_to_keep, output_rows
from pruning_lib.training.recipes import oneshot

layer = min(1, experiment.fresh_model().config.num_hidden_layers - 1)
lm = experiment.fresh_model()
name, module = mlp_up_matrix(lm, layer)
rows = output_rows(module).detach().float().cpu().clone()  # (out, in), a copy


# The input norms, with a forward hook, over the same calibration windows the library uses.
settings = experiment.settings
batches = calibration_batches(
    experiment.stream(), settings.calibration_sequences, experiment.block_size, seed=settings.seed
)
squares = torch.zeros(rows.shape[1])


def add_squares(module, inputs, output):  # returns None: the output is left as it is
    squares.add_(inputs[0].detach().float().reshape(-1, rows.shape[1]).pow(2).sum(0).cpu())


handle = module.register_forward_hook(add_squares)
with torch.no_grad():
    for batch in batches:
        lm(batch.to(experiment.device))
handle.remove()
wanda_score = rows.abs() * squares.sqrt()[None, :]
keep_per_row = rows.shape[1] // 2
# Stable sorts, so that ties go as in the library (the baseline's weights are float16
# numbers, so scores tie): Wanda prunes the lowest of each row, of tied ones the first;
# 2:4 keeps the two largest of each group, of tied ones the first.
ours_wanda = torch.ones_like(rows, dtype=torch.bool)
lowest_first = wanda_score.sort(dim=1, stable=True).indices
ours_wanda.scatter_(1, lowest_first[:, : rows.shape[1] - keep_per_row], False)

groups = rows.abs().reshape(rows.shape[0], -1, 4)  # (out, in / 4, 4)
ours_24 = torch.zeros_like(groups, dtype=torch.bool)
ours_24.scatter_(2, groups.sort(dim=2, descending=True, stable=True).indices[..., :2], True)
ours_24 = ours_24.reshape(rows.shape)

magnitude_mask = rows.abs() > rows.abs().flatten().kthvalue(rows.numel() // 2).values
kept_neurons = neurons_to_keep(neuron_scores(experiment.fresh_model()), 0.5)[layer]
structured_mask = torch.zeros_like(rows, dtype=torch.bool)
structured_mask[kept_neurons.cpu()] = True


def library_mask(score: str, pattern: str) -> torch.Tensor:
    """The library's one-shot recipe (what every one-shot run of the study calls) on this
    matrix alone, on a fresh copy of the model: its mask as (out, in)."""
    pruner = oneshot(experiment.fresh_model(), 0.5, score=score, pattern=pattern,
                     calibration=batches, seed=settings.seed, include=[f"^{name}$"])  # fmt: skip
    mask = pruner.masks[name].cpu()
    return mask.t() if pruner.input_axes[name] == 0 else mask  # stored like the weight


assert torch.equal(ours_wanda, library_mask("wanda", "unstructured")), "Wanda differs"
assert torch.equal(ours_24, library_mask("magnitude", "2:4")), "2:4 differs"
assert (ours_24.reshape(rows.shape[0], -1, 4).sum(2) == 2).all()  # two of every four
print(f"{name}: {tuple(rows.shape)} as (out, in); Wanda and 2:4 equal the library's masks")
for label, mask in (
    ("magnitude", magnitude_mask),
    ("Wanda", ours_wanda),
    ("2:4", ours_24),
    ("structured", structured_mask),
):
    agree = (mask == magnitude_mask).float().mean().item()
    print(f"{label:10s} keeps {mask.float().mean():.3f}; agrees with magnitude on {agree:.3f}")

# %%
fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
corner = (slice(0, 32), slice(0, 32))  # 32 neurons x 32 inputs
for ax, (label, mask) in zip(
    axes,
    (
        ("magnitude (unstructured)", magnitude_mask),
        ("Wanda (top half per row)", ours_wanda),
        ("2:4 (2 of every 4 inputs)", ours_24),
        ("structured (whole neurons)", structured_mask),
    ),
):
    ax.imshow(mask[corner].float(), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(label, fontsize=9)
    ax.set_xlabel("input")
axes[0].set_ylabel("output neuron")
fig.suptitle("kept weights in black: a 32 x 32 corner of block 1's first MLP matrix", fontsize=10)
fig.savefig(experiment.figure_path("09_masks"), dpi=120, bbox_inches="tight")
plt.show()

# %% [markdown]
# ## Attention heads: where a config can say "fewer heads"
#
# Removing a head is structured pruning of attention: its rows of the query, key and value
# projections and its columns of the output projection go. The smaller model is an
# ordinary model only if its config can state fewer heads *of the same size*. Llama,
# Mistral and Qwen2 state `head_dim` apart from the hidden size, so they can
# (`pruning_lib.heads.shrink_heads`); GPT-2, GPT-NeoX and OPT derive the head size as
# `hidden_size / num_attention_heads`, so fewer heads would mean larger heads, a different
# function. Our toy model is a GPT-2, so the study below removes MLP neurons only. On a tiny
# random Llama:

# %%
import copy

from transformers import LlamaConfig, LlamaForCausalLM

from pruning_lib.heads import group_scores, mask_heads, shrink_heads

torch.manual_seed(0)
llama = LlamaForCausalLM(
    LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
    )  # fmt: skip
).eval()
masked = copy.deepcopy(llama)
mask_heads(masked, neurons_to_keep(group_scores(llama), 0.5))  # the removed heads zeroed
before = sum(p.numel() for p in llama.parameters())
shrink_heads(llama, 0.5)
ids = torch.arange(16)[None]
with torch.no_grad():
    same = torch.allclose(llama(input_ids=ids).logits, masked(input_ids=ids).logits, atol=1e-5)
print(f"heads 4 -> {llama.config.num_attention_heads}, head_dim {llama.config.head_dim}; "
      f"parameters {before:,} -> {sum(p.numel() for p in llama.parameters()):,}; "
      f"same logits as the masked model: {same}")  # fmt: skip
try:
    shrink_heads(experiment.fresh_model(), 0.5)
except ValueError as error:
    print("this notebook's model:", str(error).split(";")[0])
else:
    print("this notebook's model states head_dim: its heads can be removed the same way")

# %% [markdown]
# ## Quality at equal size, over seeds
#
# At each sparsity, the score and pattern variants keep the same number of weights: they
# differ only in *which* weights. The structured rows remove the share of every layer's MLP
# neurons that removes as many parameters as unstructured 0.5 (within one neuron per layer);
# their `sparsity` is the grid level they are matched to, 0.5 (383 of 512 neurons a layer,
# which matches the parameters unstructured 0.5 removes, biases included, to within one
# neuron a layer; they remove 0.499 of the prunable weights) (the plan, shared with
# notebook 10, also fine-tunes the shares notebook 10 sets beside their speed, 25%, 50% and
# 87.5%; they are left out here). `dense-small` (where
# `dense_small_seeds` lists seeds: the study profile) is a dense model with about as many
# parameters as the pruned one keeps, trained from scratch for as many steps as the baseline
# and its fine-tuning together. Each training seed prunes its own model; [low, high] is the
# 95% interval of the mean over seeds, with the items' sampling noise added, kept inside 0
# and 1 (`pruning_lib/study/uncertainty.py`).

# %%
from pruning_lib.study import equal_size

study = equal_size.collect(experiment, sweeps)
# Every variant but the shares of neurons removed that notebook 10 sets beside their speed
# (the plan keys them by no sparsity: they match none).
beside_speed = {variant for variant, sparsity in plan[equal_size_seeds[0]] if sparsity is None}
shown = [key for key in study["sizes"] if key[0] not in beside_speed]
table = [row for row in equal_size.rows(study) if (row["variant"], row["sparsity"]) in shown]
print(f"seeds {study['seeds']} (dense-small and its comparison: seeds {study['small_seeds']}); "
      "mean of each variant's score [95% interval, inside 0 and 1]")  # fmt: skip
print(format_table(table, ["variant", "sparsity", "parameters", "mean QA", "mean of six"]))
if not study["small_seeds"]:
    print(
        "dense-small: not run (it trains our toy GPT from scratch: model 'toy' and a seed in "
        "dense_small_seeds; params/study.yaml runs it)"
    )

# %% [markdown]
# ## What the numbers say
#
# Each sentence below is printed from the paired differences (paired by seed, since each
# seed's variants share that seed's model, and item by item, since they answer the same
# items), so a rerun cannot contradict it.


# %%
from pruning_lib.study.uncertainty import Verdicts

CONTROL = ("control", 0.0)  # the dense model fine-tuned as long: fine-tuned runs' reference


def pair(first: str, second: str, level: float):
    return ((first, level), (second, level))


comparisons = []
for level in equal_size_sparsities:
    for stage in ("one-shot", "fine-tuned"):
        base = f"magnitude unstructured {stage}"
        comparisons.append(pair(f"wanda unstructured {stage}", base, level))
        if stage == "one-shot":  # the random floor, one-shot only
            comparisons.append(pair(base, f"random unstructured {stage}", level))
            comparisons.append(
                pair(f"wanda unstructured {stage}", f"random unstructured {stage}", level)
            )
        if level == 0.5:
            comparisons.append(pair(f"magnitude 2:4 {stage}", base, level))
            comparisons.append(pair(f"wanda 2:4 {stage}", f"wanda unstructured {stage}", level))
            matched = plans.matched_fraction(experiment.settings)
            structured = plans.structured_label(matched, stage == "fine-tuned")
            comparisons.append(pair(structured, base, level))
    # Fine-tuned runs against the dense model fine-tuned as long, not the untrained one:
    # what they gain beyond it is recovery, the rest is more training.
    comparisons.append((("magnitude unstructured fine-tuned", level), CONTROL))
    comparisons.append((("magnitude unstructured one-shot", level), ("dense", 0.0)))
if study["small_seeds"]:
    comparisons.append(pair("dense-small", "magnitude unstructured fine-tuned", 0.5))
verdicts, judged = Verdicts(), {}
for first, second in comparisons:
    value, noise, _ = equal_size.compare(study, first, second)
    n_seeds = len(study["small_seeds"] if "dense-small" in first[0] else study["seeds"])
    judged[(first, second)] = (value, noise)
    label = f"{first[0]} − {second[0]}" + (f" at {first[1]:g}" if first[1] == second[1] else "")
    print("-", verdicts(label + " (mean QA)", value, noise, n_seeds))
for level in equal_size_sparsities:
    # The share of the gap to the control that fine-tuning wins back (means over seeds).
    control = equal_size.mean_of(study, *CONTROL)["mean"]
    pruned = equal_size.mean_of(study, "magnitude unstructured one-shot", level)["mean"]
    tuned = equal_size.mean_of(study, "magnitude unstructured fine-tuned", level)["mean"]
    gap = control - pruned
    share = (f"fine-tuning won back {(tuned - pruned) / gap:.0%} of it" if gap > 0
             else "one-shot pruning left no gap to win back")  # fmt: skip
    print(f"- magnitude at {level:g}: the gap to the control is {gap:.3f} one-shot and "
          f"{control - tuned:.3f} fine-tuned: {share} (mean QA, means over seeds)")  # fmt: skip
print("-", verdicts.note())

# %% [markdown]
# The same differences as a figure: each variant minus its reference, with the 95% interval
# of the paired difference (seeds and items). An interval that crosses the zero line is
# inconclusive; grey rows set a score against random pruning.

# %%
fig, ax = plt.subplots(figsize=(9, 0.35 * len(judged) + 1))
labels = [f"{a[0]} − {b[0]} ({a[1]:g})" for a, b in judged]
values = [v for v, _ in judged.values()]
noises = [n for _, n in judged.values()]
colours = ["tab:gray" if "random" in label else "tab:blue" for label in labels]
from pruning_lib.study.uncertainty import change_interval

for row, ((_, second), value, noise, colour) in enumerate(zip(judged, values, noises, colours)):
    # Kept where a change of mean QA from the reference can be (the score inside 0 and 1).
    low, high = change_interval(value, noise, equal_size.mean_of(study, *second)["mean"])
    ax.errorbar(value, row, xerr=[[value - low], [high - value]], fmt="o", color=colour,
                capsize=3)  # fmt: skip
ax.axvline(0.0, color="black", lw=0.8)
ax.set_yticks(range(len(labels)), labels, fontsize=8)
ax.invert_yaxis()
ax.set_xlabel("difference in mean QA exact match (95% interval, paired by seed and item)")
fig.savefig(experiment.figure_path("09_paired_differences"), dpi=120, bbox_inches="tight")
plt.show()

# %%
saved = experiment.save_result(
    "09_scores_patterns",
    {
        "seeds": study["seeds"],
        "rows": table,
        "comparisons": [
            {"a": list(a), "b": list(b), "difference": v, "half_width": n}
            for (a, b), (v, n) in judged.items()
        ],
    },
)

# %% [markdown]
# ## Summary
#
# - A score decides *which* weights go, a pattern decides *which sets* may go together.
#   Wanda's and 2:4's masks are a few lines of PyTorch each, and equal the library's (the
#   asserts above); a structured mask keeps or drops whole rows.
# - The verdicts above say which differences the toy model can resolve at these seeds; where
#   a sentence says "inconclusive", the interval holds zero: the difference is not shown,
#   nor shown to be absent, and more seeds or a larger model would be needed.
# - Fine-tuned runs are measured against the dense model fine-tuned as long (the control):
#   against the untrained dense model, what the extra training does by itself (here it
#   lowers the scores) would be counted as pruning's effect.
# - 2:4 constrains which weights of a matrix may go together, so by magnitude it keeps at
#   most the total |w| that unstructured pruning of the same matrix keeps; structured
#   pruning constrains more (whole neurons) but spares attention. Whether either costs
#   quality here is what the verdicts above measure; what the constraints buy is speed,
#   measured in notebook 10.
#
# ## Exercises
#
# 1. Build an N:M mask of `rows` by hand (4:8: keep the four largest |w| of every eight
#    consecutive inputs of a row; the 2:4 mask above shows how) and check it against the
#    library's `NM` pattern; on this matrix, `nm_mask(rows, 4, 8)` equals
#    `library_mask("magnitude", "4:8")`.
#
# ```python
# def nm_mask(rows, n, m):
#     ...  # your code: a bool mask of rows' shape, True = kept
#
# from pruning_lib.study.exercises import check_nm_mask
# check_nm_mask(nm_mask)
# ```
#
# 2. If every input feature had the same norm, Wanda would be magnitude pruning within each
#    row. Write Wanda's mask for any input norms (prune the lowest |W_ij| · norms[j] of
#    each row); the check tries equal norms too, and on this matrix
#    `wanda_mask(rows, squares.sqrt(), 0.5)` equals `ours_wanda`.
#
# ```python
# def wanda_mask(rows, norms, sparsity):
#     ...  # your code: a bool mask of rows' shape, True = kept
#
# from pruning_lib.study.exercises import check_wanda_mask
# check_wanda_mask(wanda_mask)
# ```
#
# 3. Set `equal_size_seeds = [0]` and rerun from the parameters cell: which verdicts change, and why are the
#    intervals narrower or wider? Write the paired interval the verdicts use: the seed term
#    (a t interval of the per-seed differences; none with one seed) and the item term (each
#    item's difference averaged over the seeds, a pseudo-item each way) combined as the
#    root of the sum of their squares; then compare `paired_interval(a, b)` with
#    `paired_interval(a[:1], b[:1])` for two variants' outcome strings.
#
# ```python
# def paired_interval(a, b):
#     ...  # your code: (difference, half-width); a and b hold one outcome string per seed
#
# from pruning_lib.study.exercises import check_paired_interval
# check_paired_interval(paired_interval)
# ```
