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
#
# **How long it takes.** About 12 s when its runs are cached or shipped with the package
# (the tutorial profile's are). Computing its 21 runs here, after you change a parameter or
# choose another profile, takes about 3 minutes on two CPU cores: an estimate from the runs'
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
l1_lambdas = [0.0, 0.00003, 0.0001]  # lambda 0 is the reference
l1_steps = 75  # training steps with the penalty, before pruning
l1_sparsity = 0.5
high_sparsity = 0.9  # the high regime: no L1 against the proximal step at this sparsity
seeds = [0, 1, 2, 3]  # training seeds of the comparisons right after pruning

# %% tags=["nbval-ignore-output"]
# Names the machine and device.
# %matplotlib inline
import matplotlib.pyplot as plt

from pruning_lib.study import plans
from pruning_lib.study.notebook import compute, format_table, show_comparison, start

experiment = start(globals())

# %% tags=["nbval-ignore-output"]
# A progress bar while the runs not yet cached are computed (on every core; nothing shows
# when all are cached).
plan = plans.l1_sweep(experiment.settings, l1_lambdas, l1_steps, l1_sparsity, high_sparsity, seeds)
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
# λ means nothing alone: the penalty λ·Σ|w| is added to the loss, so one measure of its
# size is the loss at the start of training. Σ|w| runs over every prunable weight. A penalty
# several times the loss need not hurt, though: what moves a weight is its gradient, λ for
# the penalty against the loss's own gradient for that weight, and Adam divides each
# weight's step by the size of its recent gradients, so the scores after L1 training below
# move far less than the penalty's share of the loss suggests.

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
# At `l1_sparsity` pruning costs mean QA, and fine-tuning without L1 wins most of it back
# (07 prints the share of the gap to the control, at four seeds), so after fine-tuning there
# is less left for L1 to save. At `high_sparsity` fine-tuning recovers
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
# ## The same comparisons at every seed
#
# Right after pruning, before any fine-tuning, each λ and the high-sparsity pair are run
# again at every seed of `seeds` (`runs["seeds"]`: no fine-tuning there, so the comparisons
# made at every seed are those right after pruning).

# %%
per_seed = runs["seeds"]
rows = []
for each_seed, sweep in per_seed.items():
    row = {"seed": each_seed}
    row.update(
        {f"lambda={lam:g}": mean_qa(r["scores_pruned"]) for lam, r in sweep["sweep"].items()}
    )
    row.update({f"{name} at {high_sparsity}": mean_qa(r["scores_pruned"])
                for name, r in sweep["high"].items()})  # fmt: skip
    rows.append(row)
print("mean QA right after pruning, seed by seed")
print(format_table(rows, list(rows[0])))

# %% [markdown]
# ## Summary
#
# Printed from the numbers above. Right after pruning, the comparisons are made at every
# seed (evidence); after fine-tuning, at one seed, whose interval holds the items' noise
# only (hints).

# %%
from pruning_lib.study.notebook import paired_qa
from pruning_lib.study.uncertainty import Verdicts

verdicts = Verdicts()
for label, r in results.items():
    print(
        f"- {label}: mean |w| {r['mean_abs_weight']:.4f}, mean QA after L1 "
        f"{mean_qa(r['scores_after_l1']):.3f}, pruned {mean_qa(r['scores_pruned']):.3f}, "
        f"fine-tuned {mean_qa(r['scores']):.3f}"
    )


def pruned(lam):
    """Each seed's scores right after pruning, λ = ``lam``."""
    return [sweep["sweep"][lam]["scores_pruned"] for sweep in per_seed.values()]


# The cheapest λ is picked by its mean over the seeds, then set against λ = 0 at the same
# seeds (picked as the best of several, it is favoured a little by that choice).
reference = min(l1_lambdas)
by_mean = {lam: sum(map(mean_qa, pruned(lam))) / len(per_seed) for lam in l1_lambdas}
cheapest = max((lam for lam in l1_lambdas if lam != reference), key=by_mean.get)
print(f"- cheapest to prune (best mean QA right after pruning, mean of {len(per_seed)} seeds): "
      f"lambda={cheapest:g}; " + verdicts(f"its lead over lambda={reference:g}",
                                          *paired_qa(pruned(cheapest), pruned(reference))))  # fmt: skip
tuned = {k: mean_qa(r["scores"]) for k, r in results.items()}
top, bottom = max(tuned, key=tuned.get), min(tuned, key=tuned.get)
print("- after fine-tuning: " + verdicts(f"{top} minus {bottom} (mean QA)",
      *paired_qa(results[top]["scores"], results[bottom]["scores"])))  # fmt: skip
print(
    f"- exact zeros after L1 at lambda={largest:g}: {plain['zero_fraction']:.4f} with the "
    f"penalty, {proximal['zero_fraction']:.4f} with the proximal step"
)
high_pruned = {name: [sweep["high"][name]["scores_pruned"] for sweep in per_seed.values()]
               for name in ("proximal", "no L1")}  # fmt: skip
print(f"- at {high_sparsity}, right after pruning: " + verdicts(
    f"proximal lambda={largest:g} minus no L1 (mean QA)",
    *paired_qa(high_pruned["proximal"], high_pruned["no L1"])))  # fmt: skip
print(f"- at {high_sparsity}, fine-tuned: " + verdicts(
    f"proximal lambda={largest:g} minus no L1 (mean QA)",
    *paired_qa(high[f"proximal lambda={largest:g}"]["scores"], high["lambda=0"]["scores"])))  # fmt: skip
print("-", verdicts.note())

# %% [markdown]
# ## Exercises
#
# 1. Prune by threshold after L1: how much sparsity does the same threshold give for each λ?
#    The runs above kept the |w| histogram after L1 training (`r["histogram"]` and
#    `r["bin_edges"]`: bins of 0.01 up to 0.3, larger |w| in the last). Read the sparsity
#    at a threshold off it, then print it for each λ at 0.01:
#    `{k: sparsity_below(r["histogram"], r["bin_edges"], 0.01) for k, r in results.items()}`
#    (`recipes.l1_then_prune(..., threshold=0.01)` gets the same by training again).
#
# ```python
# def sparsity_below(counts, edges, threshold):
#     ...  # your code: the fraction of the weights with |w| below threshold
#
# from pruning_lib.study.exercises import check_sparsity_from_histogram
# check_sparsity_from_histogram(sparsity_below)
# ```
#
# 2. Soft-threshold by hand: `w.sign() * (w.abs() - t).clamp(min=0)` moves every weight
#    toward zero by t and stops at zero. The check compares it with the hook
#    (`ProximalL1(weights, lam, step_size).after_step(0)` shrinks by t = λ · step_size).
#
# ```python
# def soft_threshold(w, t):
#     ...  # your code: a tensor like w
#
# from pruning_lib.study.exercises import check_soft_threshold
# check_soft_threshold(soft_threshold)
# ```
#
# 3. Which λ makes the penalty as large as the loss at the start? Solve
#    λ·Σ|w| = loss, then apply it to the numbers of "What size is λ?":
#    `balancing_lambda(list(Pruner(experiment.fresh_model()).weights.values()), first_loss)`.
#
# ```python
# def balancing_lambda(weights, loss):
#     ...  # your code: lambda, for a list of weight tensors
#
# from pruning_lib.study.exercises import check_balancing_lambda
# check_balancing_lambda(balancing_lambda)
# ```
