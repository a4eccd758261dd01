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
# # 06 · How much fine-tuning does recovery take?
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/pruning-lib/pruning-lib/HEAD?urlpath=lab/tree/notebooks/06_finetuning.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/pruning-lib/pruning-lib/blob/main/notebooks/06_finetuning.ipynb)
#
# The fifth hyperparameter is the number of fine-tuning epochs after pruning (here counted in
# steps: the tutorial fine-tunes for a fraction of one epoch). In this
# notebook you will:
#
# 1. fine-tune one-shot pruned models at several sparsities with their masks held;
# 2. plot the scores as a function of fine-tuning steps and epochs;
# 3. look closely at the first steps: how much of the recovery comes early, for mean QA and
#    LAMBADA;
# 4. compare with the dense control given the same training, judged against the noise.

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
sparsities = [0.1, 0.3, 0.5]

# %%
# NBVAL_IGNORE_OUTPUT
# Names the machine and device.
# %matplotlib inline
import matplotlib.pyplot as plt

from pruning_lib.study import plans
from pruning_lib.study.notebook import compute, format_table, start

experiment = start(globals())

# %%
# NBVAL_IGNORE_OUTPUT
# A progress bar while the runs not yet cached are computed (on every core; nothing shows
# when all are cached).
runs = compute(experiment, plans.finetuning(experiment.settings, sparsities))
curves = {f"sparsity {s}": run for s, run in runs["curves"].items()}
curves["dense control"] = runs["control"]

# %% [markdown]
# ## Recovery over the whole fine-tuning
#
# Each curve starts at step 0 (right after pruning) and is evaluated at four even steps.
# Dotted lines: chance.

# %%
from pruning_lib.study.notebook import mean_qa

settings = experiment.settings
tokens_per_step = settings.batch_size * settings.grad_accum_steps * experiment.block_size
corpus_tokens = len(experiment.stream())
dense_scores = curves["dense control"]["curve"][0]["scores"]
qa_chance = sum(dense_scores[t]["chance"] for t in ("nq_open", "web_questions", "trivia_qa")) / 3


def plot_curves(curves: dict, name: str, log_steps: bool = False) -> list[dict]:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
    rows = []
    for label, result in curves.items():
        steps = [point["step"] for point in result["curve"]]
        qa = [mean_qa(point["scores"]) for point in result["curve"]]
        lambada = [point["scores"]["lambada"]["acc"] for point in result["curve"]]
        x = [max(s, 0.5) for s in steps] if log_steps else steps  # step 0 drawn at 0.5
        left.plot(x, qa, marker="o", label=label)
        right.plot(x, lambada, marker="o", label=label)
        rows += [
            {"run": label, "step": s, "epochs": s * tokens_per_step / corpus_tokens,
             "mean QA": q, "LAMBADA": a}
            for s, q, a in zip(steps, qa, lambada)
        ]  # fmt: skip
    for ax, title, chance in (
        (left, "mean QA exact match", qa_chance),
        (right, "LAMBADA accuracy", dense_scores["lambada"]["chance"]),
    ):
        ax.axhline(chance, color="black", ls=":", lw=1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("fine-tuning step" + (" (log scale; 0 drawn at 0.5)" if log_steps else ""))
        ax.set_title(title)
        if log_steps:
            ax.set_xscale("log")
    left.set_ylabel("score")
    left.legend(fontsize=8)
    fig.savefig(experiment.figure_path(name), dpi=120, bbox_inches="tight")
    plt.show()
    return rows


rows = plot_curves(curves, "06_recovery")
print(format_table(rows, ["run", "step", "epochs", "mean QA", "LAMBADA"]))

# %% [markdown]
# ## The first steps
#
# How fast does the pruned model recover? The most pruned run and the control again,
# evaluated after 1, 2, 5, 10, 20 and 50 steps (the same training, more evaluations).

# %%
most = max(sparsities)
early = {f"sparsity {most}": runs["early"]}
early_rows = plot_curves({**early, "dense control": curves["dense control"]}, "06_early", True)
print(format_table([r for r in early_rows if r["run"] != "dense control"],
                   ["run", "step", "mean QA", "LAMBADA"]))  # fmt: skip

# %%
saved = experiment.save_result("06_finetuning", {**curves, "early": early})

# %% [markdown]
# ## Summary
#
# Printed from the numbers above (one seed: the items alone give one mean QA score about
# ±0.04 of noise; a difference of two runs is paired item by item, so its noise depends on
# how many items the two answer differently: the ± printed below; `07_results` has
# intervals over seeds). Only what a pruned run gains beyond the dense control, fine-tuned
# as long, is recovery: the control's own change is more training.

# %%
from pruning_lib.study.notebook import qa_noise
from pruning_lib.study.uncertainty import verdict

curve = early[f"sparsity {most}"]["curve"]
start_qa, end_qa = mean_qa(curve[0]["scores"]), mean_qa(curve[-1]["scores"])
gain = end_qa - start_qa
if gain > 0:
    half_way = next(p["step"] for p in curve if mean_qa(p["scores"]) - start_qa >= gain / 2)
    print(f"- at sparsity {most}, mean QA {start_qa:.3f} right after pruning, {end_qa:.3f} after "
          f"{curve[-1]['step']} steps; half of that gain by step {half_way}")  # fmt: skip
control = curves["dense control"]
print("- " + verdict(f"control minus fine-tuned at {most} (mean QA)",
      mean_qa(control["scores"]) - mean_qa(early[f"sparsity {most}"]["scores"]),
      qa_noise(experiment, control["scores"], early[f"sparsity {most}"]["scores"])))  # fmt: skip

# %% [markdown]
# ## Exercises
#
# 1. The summary says whether the most pruned model is still below the control after
#    the profile's `finetune_steps`. Add `finetune_steps = 50` to the parameters cell and
#    rerun from there: does the verdict change? Judge it with
#    `verdict` and `qa_noise` as in the summary, not by eye.
# 2. The masks hold through fine-tuning. Check it on a fine-tuned model:
#
# ```python
# from pruning_lib.training.recipes import oneshot, finetune
# lm = experiment.fresh_model()
# pruner = oneshot(lm, 0.5)
# finetune(lm, pruner, experiment.stream(), experiment.finetune_config(20),
#          experiment.block_size, progress=False)
# assert all(bool((w[~pruner.masks[n]] == 0).all()) for n, w in pruner.weights.items())
# ```
#
# 3. Add `finetune_learning_rate = 1e-4` (ten times lower) to the parameters cell and rerun
#    from there: is recovery slower, judged by the step at which half of the gain is reached?
