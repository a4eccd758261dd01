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
# # 02 · Pruning by threshold
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/pruning-lib/pruning-lib/HEAD?urlpath=lab/tree/notebooks/02_threshold.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/pruning-lib/pruning-lib/blob/main/notebooks/02_threshold.ipynb)
#
# The first hyperparameter of the paper is the pruning threshold: weights with
# |w| below it are set to zero. In this notebook you will:
#
# 1. prune one layer by magnitude in plain PyTorch (the k-th smallest |w|, a mask,
#    zeroed gradients), check it against the library, and see what goes wrong under AdamW
#    when pruned weights are not zeroed again after each step;
# 2. prune with absolute thresholds and see which sparsity each gives;
# 3. prune with Han et al.'s rule, a threshold of q times each layer's standard deviation;
# 4. compare per-layer sparsity under the two rules at the same total sparsity;
# 5. watch the six scores as the threshold grows (no fine-tuning yet).
#
# **How long it takes.** About 16 s when its runs are cached or shipped with the package
# (the tutorial profile's are). Computing its 17 runs here, after you change a parameter or
# choose another profile, takes under a minute on two CPU cores: an estimate from the runs'
# costs (`Run.cost` in `pruning_lib/study/runs.py`) over two workers. Another seed, or a
# changed training parameter, first trains a baseline that is not committed (those of seeds
# 0 to 3 are): about eight minutes on one CPU thread.

# %%
# On Colab, install pruning-lib first; elsewhere it is installed already.
# (Runtime > Change runtime type > T4 GPU makes the cell that computes the runs fast.)
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
thresholds = [0.0, 0.02, 0.04, 0.06, 0.08, 0.1]  # absolute |w| cut-offs
q_values = [0.25, 0.5, 0.75, 1.0]  # Han et al.: the threshold is q times the std of each layer
seeds = [0, 1, 2, 3]  # training seeds of the decisive comparison (q x std against one threshold)

# %% tags=["nbval-ignore-output"]
# Names the machine and device.
# %matplotlib inline
import matplotlib.pyplot as plt

from pruning_lib.study import plans
from pruning_lib.study.notebook import compute, format_table, show_comparison, start

experiment = start(globals())
train_seed = experiment.settings.seed

# %% tags=["nbval-ignore-output"]
# A progress bar while the runs not yet cached are computed (on every core; nothing shows
# when all are cached).
runs = compute(experiment, plans.thresholds(experiment.settings, thresholds, q_values, seeds))

# %% [markdown]
# ## The mechanism in plain PyTorch
#
# Magnitude pruning of one weight matrix at sparsity 0.5 is a handful of lines: find the
# k smallest |w|, keep the rest, multiply the weights by that mask, and make sure
# training cannot bring the pruned weights back (their gradients are multiplied by the
# mask too).

# %%
import torch

from pruning_lib.prune import Pruner

lm = experiment.fresh_model()
weights = Pruner(lm).weights
name = next((n for n in weights if "mlp" in n), next(iter(weights)))  # an MLP matrix
weight = weights[name]

demo_sparsity = 0.5
k = int(demo_sparsity * weight.numel())  # how many weights to prune
# The k smallest |w|. The baseline's weights are float16 numbers, so several can share the
# k-th |w|: a stable sort takes the first of them in the matrix, as the library does, and
# prunes exactly k (`|w| > cutoff` would prune every tie).
smallest_first = weight.detach().abs().flatten().sort(stable=True).indices
mask = torch.ones(weight.numel(), dtype=torch.bool)
mask[smallest_first[:k]] = False  # keep the larger ones
mask = mask.view_as(weight)
cutoff = weight.detach().abs().flatten()[smallest_first[k - 1]]  # the k-th smallest |w|
with torch.no_grad():
    weight.mul_(mask)  # prune
weight.register_hook(lambda grad: grad * mask)  # pruned weights get no gradient

print(f"{name}: shape {tuple(weight.shape)}, cut-off |w| = {cutoff.item():.4f}")
print(f"kept {mask.float().mean().item():.4f} of {weight.numel()} weights")

# The library, pruning only this matrix, gives the same mask:
library = Pruner(experiment.fresh_model(), include=[f"^{name}$".replace(".", r"\.")])
library.prune(demo_sparsity)
assert torch.equal(library.masks[name].cpu(), mask.cpu())
print("the library's mask equals ours")

# %% [markdown]
# What a mask looks like: the weights' magnitudes and the mask of the first 64 × 64
# entries (white: kept). Unstructured pruning leaves a salt-and-pepper pattern.

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(7, 3.4))
left.imshow(weight.detach().abs().cpu()[:64, :64], cmap="viridis")
left.set_title("|w| after pruning")
right.imshow(mask.cpu()[:64, :64], cmap="gray", vmin=0, vmax=1)
right.set_title(f"mask (kept {mask.float().mean().item():.2f})")
for ax in (left, right):
    ax.set_xticks([])
    ax.set_yticks([])
fig.savefig(experiment.figure_path("02_mask"), dpi=120, bbox_inches="tight")
plt.show()

# %% [markdown]
# ### Why re-zero after every optimizer step
#
# Masking the gradients is not enough when the optimizer has momentum from before the
# pruning (iterative pruning and schedules prune in the middle of training): AdamW keeps
# moving a pruned weight by its running averages although its gradient is now zero. We
# train 10 steps dense, prune this matrix, train 10 more steps three ways, and count the
# pruned positions that are no longer zero.

# %%
import copy

from pruning_lib.training.finetune import sample_batch


def run_steps(lm, optimizer, steps, seed, after_step=None):
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        batch = sample_batch(experiment.stream(), 8, 64, generator).to(experiment.device)
        loss = lm(input_ids=batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if after_step is not None:
            after_step()


torch.manual_seed(train_seed)
warm = experiment.fresh_model().train()
warm_optimizer = torch.optim.AdamW(warm.parameters(), lr=1e-3)
run_steps(warm, warm_optimizer, 10, train_seed)  # momentum builds up

rows = []
for how in ("mask once", "mask + zero gradients", "mask + zero gradients + re-zero"):
    twin = copy.deepcopy(warm)
    optimizer = torch.optim.AdamW(twin.parameters(), lr=1e-3)
    optimizer.load_state_dict(warm_optimizer.state_dict())  # the same running averages
    w = Pruner(twin).weights[name]
    keep = w.detach().abs() > w.detach().abs().flatten().kthvalue(k).values
    with torch.no_grad():
        w.mul_(keep)
    if "gradients" in how:
        w.register_hook(lambda grad, keep=keep: grad * keep)
    rezero = None
    if "re-zero" in how:

        def rezero(w=w, keep=keep):
            with torch.no_grad():
                w.mul_(keep)

    run_steps(twin, optimizer, 10, train_seed + 1, rezero)
    pruned = w.detach()[~keep]
    rows.append(
        {
            "after 10 AdamW steps": how,
            "pruned weights now non-zero": (pruned != 0).float().mean().item(),
            "their mean |w|": pruned.abs().mean().item(),
        }
    )
print(format_table(rows, list(rows[0]), digits=4))

# %% [markdown]
# `pruning_lib.prune.Pruner` does the last row: as training hooks, it zeroes the pruned
# gradients after backward and the pruned weights after every optimizer step.
#
# ## Absolute thresholds

# %%
absolute = {f"|w| < {t}": run for t, run in runs["absolute"].items()}
show_comparison(absolute)

# %%
from pruning_lib.study.notebook import mean_qa

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
left.plot(thresholds, [r["sparsity"] for r in absolute.values()], marker="o")
left.set_xlabel("threshold")
left.set_ylabel("sparsity")
left.set_ylim(0, 1)
first = next(iter(absolute.values()))["scores"]
lines = {
    "mean QA": (
        mean_qa,
        sum(first[t]["chance"] for t in ("nq_open", "web_questions", "trivia_qa")) / 3,
    ),
    "LAMBADA": (lambda s: s["lambada"]["acc"], first["lambada"]["chance"]),
    "StoryCloze": (lambda s: s["story_cloze"]["acc"], first["story_cloze"]["chance"]),
}
# Against the sparsity each threshold reached: what a threshold costs is set by how much it
# removes, and thresholds on different models remove different amounts.
reached = [r["sparsity"] for r in absolute.values()]
for (label, (value, chance)), color in zip(lines.items(), ("C0", "C1", "C2")):
    right.plot(reached, [value(r["scores"]) for r in absolute.values()], marker="o",
               color=color, label=label)  # fmt: skip
    right.axhline(chance, color=color, ls=":", lw=1)
right.set_xlabel("sparsity reached by each threshold")
right.set_xlim(0, 1)
right.set_ylabel("score (dotted: chance)")
right.set_ylim(0, 1)
right.legend(fontsize=8)
fig.savefig(experiment.figure_path("02_threshold_sweep"), dpi=120, bbox_inches="tight")
plt.show()

# %% [markdown]
# ## q × standard deviation
#
# One absolute threshold prunes layers unevenly, because layers have different scales. Han et al. scale the threshold by each layer's spread.

# %%
relative = {f"q = {q}": run for q, run in runs["relative"].items()}
show_comparison(relative)

# %% [markdown]
# ## Per-layer sparsity at the same total sparsity
#
# To compare the two rules fairly, we pick the absolute threshold that prunes the same
# fraction of all prunable weights as q = 0.5 does: the quantile of all |w| at that
# fraction.

# %% tags=["nbval-ignore-output"]
# One more run, chosen by the numbers above: computed here unless it is cached.
by_q = relative["q = 0.5"]
every = torch.cat(
    [w.detach().abs().flatten().cpu() for w in Pruner(experiment.fresh_model()).weights.values()]
)
matched = float(every.kthvalue(round(by_q["sparsity"] * every.numel())).values)
by_threshold = experiment.result(plans.threshold(experiment.settings, threshold=matched))

# %%
names = [
    row["name"].replace("transformer.h.", "h").replace(".weight", "") for row in by_q["layers"][:-1]
]
fig, ax = plt.subplots(figsize=(9, 3))
x = range(len(names))
ax.bar([i - 0.2 for i in x], [r["sparsity"] for r in by_threshold["layers"][:-1]], 0.4,
       label=f"|w| < {matched:.4f} (total {by_threshold['sparsity']:.3f})")  # fmt: skip
ax.bar([i + 0.2 for i in x], [r["sparsity"] for r in by_q["layers"][:-1]], 0.4,
       label=f"q = 0.5 x std (total {by_q['sparsity']:.3f})")  # fmt: skip
ax.set_xticks(list(x), names, rotation=90, fontsize=7)
ax.set_ylabel("sparsity of the layer")
ax.set_ylim(0, 1)
ax.legend(fontsize=8)
fig.savefig(experiment.figure_path("02_per_layer"), dpi=120, bbox_inches="tight")
plt.show()
show_comparison({f"|w| < {matched:.4f}": by_threshold, "q = 0.5": by_q})

# %%
saved = experiment.save_result("02_threshold", {"absolute": absolute, "relative": relative})

# %% [markdown]
# ## Summary
#
# Printed from the numbers above.

# %%
spread_t = [r["sparsity"] for r in by_threshold["layers"][:-1]]
spread_q = [r["sparsity"] for r in by_q["layers"][:-1]]
print(f"- thresholds {thresholds} gave sparsities "
      f"{[round(r['sparsity'], 3) for r in absolute.values()]}: a threshold fixes a cut-off, "
      "not a sparsity")  # fmt: skip
print(f"- at the same total sparsity ({by_q['sparsity']:.3f}), per-layer sparsity spans "
      f"{min(spread_t):.3f}-{max(spread_t):.3f} under one threshold and "
      f"{min(spread_q):.3f}-{max(spread_q):.3f} under q x std")  # fmt: skip
from pruning_lib.study.notebook import paired_qa
from pruning_lib.study.uncertainty import Verdicts

# The decisive comparison at every seed of `seeds`: each seed's model, q = 0.5 x std
# against the one threshold that prunes as many of its weights (plans.thresholds).
verdicts = Verdicts()
per_seed = runs["seeds"]
q_runs = [per_seed[seed]["q"]["scores"] for seed in per_seed]
t_runs = [per_seed[seed]["threshold"]["scores"] for seed in per_seed]
print("- " + verdicts("at the same sparsity, mean QA of q x std minus one threshold",
                      *paired_qa(q_runs, t_runs)))  # fmt: skip
print("-", verdicts.note())

# %% [markdown]
# ## Exercises
#
# 1. Which threshold gives 50% sparsity? About the median of all |w|. Write the threshold
#    for any sparsity (the library prunes every |w| < t: `threshold_mask`), then try it on
#    this model: `experiment.result(plans.threshold(experiment.settings,
#    threshold=threshold_for(every, 0.5)))["sparsity"]` is 0.5 within 1e-3.
#
# ```python
# def threshold_for(magnitudes, sparsity):
#     ...  # your code: t such that `sparsity` of the magnitudes lie below t
#
# from pruning_lib.study.exercises import check_threshold_for_sparsity
# check_threshold_for_sparsity(threshold_for)
# ```
#
# 2. Write layer-wise magnitude pruning for every matrix in plain PyTorch (the loop of
#    "The mechanism" over a dict of weights, with `k = round(sparsity * w.numel())`: the
#    library prunes exactly the rounded count). The check compares it with
#    `torch.nn.utils.prune`; on this model, `layerwise_masks(Pruner(m).weights, 0.3)` with
#    `m = experiment.fresh_model()` equals `ref.masks` where
#    `ref = Pruner(experiment.fresh_model()); ref.prune(0.3)`.
#
# ```python
# def layerwise_masks(weights, sparsity):
#     ...  # your code: {name: bool mask, True = kept}
#
# from pruning_lib.study.exercises import check_layerwise_masks
# check_layerwise_masks(layerwise_masks)
# ```
#
# 3. Exclude the attention weights (`Pruner(lm, exclude=[r"\.attn\."])`): what changes?
#    The MLP matrices are pruned to the sparsity asked and the attention matrices stay
#    dense: what sparsity do all the block matrices then have, for a GPT-2 of width d and
#    MLP width m (ours: `lm.config.n_embd` and four times it)?
#
# ```python
# def sparsity_without_attention(d, m, sparsity):
#     ...  # your code: the sparsity of the attention and MLP matrices together
#
# from pruning_lib.study.exercises import check_sparsity_without_attention
# check_sparsity_without_attention(sparsity_without_attention)
# ```
