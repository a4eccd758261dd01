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
# # 05 · L1 regularization before pruning
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/pruning-lib/pruning-lib/HEAD?urlpath=lab/tree/notebooks/05_l1_regularization.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/pruning-lib/pruning-lib/blob/main/notebooks/05_l1_regularization.ipynb)
#
# The L1 penalty λ·Σ|w| pulls weights toward zero during training, so that pruning
# afterwards removes less of what the model uses. In this notebook you will:
#
# 1. train with several values of λ;
# 2. watch the weight histogram shift toward zero;
# 3. prune to the same sparsity and fine-tune, and compare the scores.

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
l1_lambdas = [0.0, 0.00003, 0.0001]  # lambda 0 is the reference
l1_steps = 75  # training steps with the penalty, before pruning
l1_sparsity = 0.5
high_sparsity = 0.9  # the high regime: no L1 against the proximal step at this sparsity

# %%
# NBVAL_IGNORE_OUTPUT
# Names the machine and device.
# %matplotlib inline
import matplotlib.pyplot as plt

from pruning_lib.study import plans
from pruning_lib.study.notebook import compute, format_table, show_comparison, start

experiment = start(globals())

# %%
# NBVAL_IGNORE_OUTPUT
# A progress bar while the runs not yet cached are computed (on every core; nothing shows
# when all are cached).
plan = plans.l1_sweep(experiment.settings, l1_lambdas, l1_steps, l1_sparsity, high_sparsity)
runs = compute(experiment, plan)
largest = max(l1_lambdas)

# %% [markdown]
# ## Training with the penalty, then pruning
#
# Each run trains `l1_steps` with the penalty λ·Σ|w| in the loss, prunes to `l1_sparsity`
# by magnitude, then fine-tunes with the masks held (`plans.l1_sweep` lists them).
#
# ### What size is λ?
#
# λ means nothing alone: the penalty λ·Σ|w| is added to the loss, so what matters is its
# size against the loss at the start of training. Σ|w| runs over every prunable weight.

# %%
from pruning_lib.prune import Pruner

results = {f"lambda={lam:g}": run for lam, run in runs["sweep"].items()}
dense_weights = Pruner(experiment.fresh_model()).weights.values()
sum_abs = sum(float(w.detach().abs().sum()) for w in dense_weights)
first_loss = next(iter(results.values()))["l1_history"][0]["loss"]
print(f"sum of |w| over the prunable weights: {sum_abs:.0f}; training loss at the start: "
      f"{first_loss:.3f}")  # fmt: skip
print(
    format_table(
        [
            {
                "lambda": f"{lam:g}",
                "penalty": lam * sum_abs,
                "penalty / loss": lam * sum_abs / first_loss,
            }
            for lam in l1_lambdas
        ],
        ["lambda", "penalty", "penalty / loss"],
        digits=3,
    )
)

# %% [markdown]
# ## Weight histograms after L1 training

# %%
fig, ax = plt.subplots(figsize=(6, 3))
for label, result in results.items():
    edges = result["bin_edges"]
    ax.step(edges[:-1], result["histogram"], where="post", label=label)
ax.set_yscale("log")
ax.set_xlabel("|w| (clipped at 0.3)")
ax.set_ylabel("weights")
ax.legend()
fig.savefig(experiment.figure_path("05_l1_histograms"), dpi=120, bbox_inches="tight")
plt.show()
print(
    format_table(
        [{"run": k, "mean |w|": r["mean_abs_weight"]} for k, r in results.items()],
        ["run", "mean |w|"],
        digits=4,
    )
)

# %% [markdown]
# ## Scores after L1, after pruning, after fine-tuning

# %%
from pruning_lib.study.notebook import mean_qa

rows = [
    {
        "run": label,
        "after L1": mean_qa(r["scores_after_l1"]),
        "pruned": mean_qa(r["scores_pruned"]),
        "fine-tuned": mean_qa(r["scores"]),
    }
    for label, r in results.items()
]
print("mean QA score")
print(format_table(rows, ["run", "after L1", "pruned", "fine-tuned"]))
show_comparison(results)

# %% [markdown]
# ## Exact zeros: the proximal step
#
# Under AdamW, the penalty's gradient λ·sign(w) only nudges each weight; Adam's step
# keeps it moving around zero, so L1 training leaves (almost) no weight exactly at zero:
# we still need magnitude pruning afterwards. The proximal step
# (`pruning_lib.regularization.ProximalL1`, the soft threshold of ISTA and Distiller)
# shrinks each weight toward zero after every optimizer step by λ times its own Adam
# step size and stops at zero. Same λ, same objective, another way to minimise it:

# %%
proximal = runs["proximal"]
plain = results[f"lambda={largest:g}"]
print(
    format_table(
        [
            {
                "run": f"{name}, lambda={largest:g}",
                "exact zeros after L1": r["zero_fraction"],
                "mean QA after L1": mean_qa(r["scores_after_l1"]),
                "pruned": mean_qa(r["scores_pruned"]),
                "fine-tuned": mean_qa(r["scores"]),
            }
            for name, r in (("penalty in the loss", plain), ("proximal step", proximal))
        ],
        ["run", "exact zeros after L1", "mean QA after L1", "pruned", "fine-tuned"],
    )
)

# %% [markdown]
# ## The high-sparsity regime
#
# At `l1_sparsity` pruning costs mean QA, but fine-tuning without L1 wins it back, so after
# fine-tuning there is little left for L1 to save. At `high_sparsity` fine-tuning recovers
# less, and a regularizer that has already pushed the unneeded weights
# to zero may matter more: no L1 against the proximal step, both pruned to `high_sparsity`
# and fine-tuned.

# %%
high = {"lambda=0": runs["high"]["no L1"], f"proximal lambda={largest:g}": runs["high"]["proximal"]}
show_comparison(high)

# %%
saved = experiment.save_result(
    "05_l1_regularization",
    {**results, f"proximal lambda={largest:g}": proximal, "high": high},
)

# %% [markdown]
# ## Summary
#
# Printed from the numbers above (one seed: the items alone give one mean QA score about
# ±0.04 of noise; a difference of two runs is paired item by item, so its noise depends on
# how many items the two answer differently: the ± printed below. Smaller differences are
# not evidence).

# %%
from pruning_lib.study.notebook import qa_noise
from pruning_lib.study.uncertainty import verdict

for label, r in results.items():
    print(
        f"- {label}: mean |w| {r['mean_abs_weight']:.4f}, mean QA after L1 "
        f"{mean_qa(r['scores_after_l1']):.3f}, pruned {mean_qa(r['scores_pruned']):.3f}, "
        f"fine-tuned {mean_qa(r['scores']):.3f}"
    )
none = results[f"lambda={min(l1_lambdas):g}"]
cheapest = max(results, key=lambda k: mean_qa(results[k]["scores_pruned"]))
cheap = mean_qa(results[cheapest]["scores_pruned"])
print(f"- cheapest to prune (best mean QA right after pruning): {cheapest}; " + verdict(
    "its lead over lambda=0", cheap - mean_qa(none["scores_pruned"]),
    qa_noise(experiment, results[cheapest]["scores_pruned"], none["scores_pruned"])))  # fmt: skip
tuned = {k: mean_qa(r["scores"]) for k, r in results.items()}
top, bottom = max(tuned, key=tuned.get), min(tuned, key=tuned.get)
print("- after fine-tuning: " + verdict(f"{top} minus {bottom} (mean QA)",
      tuned[top] - tuned[bottom],
      qa_noise(experiment, results[top]["scores"], results[bottom]["scores"])))  # fmt: skip
print(
    f"- exact zeros after L1 at lambda={largest:g}: {plain['zero_fraction']:.4f} with the "
    f"penalty, {proximal['zero_fraction']:.4f} with the proximal step"
)
print(f"- at {high_sparsity}: " + verdict(f"proximal lambda={largest:g} minus no L1 (mean QA)",
      mean_qa(high[f"proximal lambda={largest:g}"]["scores"]) - mean_qa(high["lambda=0"]["scores"]),
      qa_noise(experiment, *(r["scores"] for r in high.values()))))  # fmt: skip

# %% [markdown]
# ## Exercises
#
# 1. Prune by threshold after L1: how much sparsity does the same threshold give for each λ?
#
# ```python
# from pruning_lib.training.recipes import l1_then_prune
# for lam in l1_lambdas:
#     args = experiment.train_args(l1_steps)
#     r = l1_then_prune(experiment.fresh_model(), args["stream"], experiment.block_size, lam,
#                       args["config"], threshold=0.01, device=experiment.device.type,
#                       progress=False)
#     print(f"lambda={lam:g}: sparsity {r.sparsity_after_pruning:.3f}")
# ```
#
# 2. Soft-threshold by hand: write `w.sign() * (w.abs() - t).clamp(min=0)` for a
#    tensor and check it against the hook:
#
# ```python
# import torch
# from torch import nn
# from pruning_lib.regularization import ProximalL1
# layer = nn.Linear(8, 8)
# w = layer.weight.detach().clone()
# ProximalL1({"w": layer.weight}, lam=0.5, step_size=0.1).after_step(0)
# assert torch.allclose(layer.weight, w.sign() * (w.abs() - 0.05).clamp(min=0))
# ```
#
# 3. Which λ makes the penalty as large as the loss at the start? (Solve
#    λ·Σ|w| = loss with the numbers of "What size is λ?".)
