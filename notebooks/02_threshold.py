# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
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
# 1. prune with absolute thresholds and see which sparsity each gives;
# 2. prune with Han et al.'s rule, a threshold of q times each layer's standard deviation;
# 3. compare per-layer sparsity under the two rules;
# 4. watch the six scores as the threshold grows (no fine-tuning yet).

# %%
# On Colab, install pruning-lib first; elsewhere it is installed already.
# (Runtime > Change runtime type > T4 GPU makes the fine-tuning cells fast.)
import sys

from IPython import get_ipython

if "google.colab" in sys.modules:  # the test of pruning_lib.study.runtime.in_colab()
    get_ipython().run_line_magic("pip", "install -q git+https://github.com/pruning-lib/pruning-lib")

# %% [markdown]
# ## Parameters
#
# The defaults are the tutorial profile (offline, CPU, minutes). `pruning-lib reproduce params/<profile>.yaml` runs this notebook with other values.
# The hub profiles (`params/paper.yaml`, `params/colab.yaml`) also set `corpus_limit`,
# `grad_accum_steps`, `block_size` and `mixed_precision`; every parameter and its range is
# defined once in `pruning_lib/study/parameters.py`.

# %% tags=["parameters"]
profile = "tutorial"  # results go to runs/<profile>/
seed = 0  # one seed: world, initialisation, data order
threads = 1  # torch CPU threads (1: CPU results do not depend on the core count)
device = "auto"  # "auto" picks the GPU when there is one
model = "toy"  # "toy": our small GPT; or a Hugging Face name / local folder
datasets = "toy"  # "toy", "hub", or a folder of <task>.jsonl files in the hub schemas
corpus = "toy"  # fine-tuning text: "toy", "hub" (WikiText-103) or a local file
toy_size = "tutorial"  # "tutorial" or "smoke" (seconds, for tests)
baseline_steps = 1600  # training steps of the toy baseline
baseline_learning_rate = 0.003
finetune_steps = 150  # optimizer steps of each fine-tuning
finetune_learning_rate = 0.001
batch_size = 16
eval_limit = None  # evaluate only the first N items of each set
eval_batch_size = 32
thresholds = [0.0, 0.02, 0.04, 0.06, 0.08, 0.1]  # absolute |w| cut-offs
q_values = [0.25, 0.5, 0.75, 1.0]  # Han et al.: the threshold is q times the std of each layer

# %%
# NBVAL_IGNORE_OUTPUT
# Names the machine and device.
# %matplotlib inline
import matplotlib.pyplot as plt

from pruning_lib.study.notebook import format_table, show_comparison, start

experiment = start(globals())

# %% [markdown]
# ## Absolute thresholds

# %%
# NBVAL_IGNORE_OUTPUT
# Progress bars.
absolute = {f"|w| < {t}": experiment.threshold(threshold=t) for t in thresholds}

# %%
show_comparison(absolute)

# %%
from pruning_lib.study.notebook import mean_qa

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
left.plot(thresholds, [r["sparsity"] for r in absolute.values()], marker="o")
left.set_xlabel("threshold")
left.set_ylabel("sparsity")
right.plot(
    thresholds, [mean_qa(r["scores"]) for r in absolute.values()], marker="o", label="mean QA"
)
right.plot(
    thresholds,
    [r["scores"]["story_cloze"]["acc"] for r in absolute.values()],
    marker="o",
    label="StoryCloze",
)
right.set_xlabel("threshold")
right.set_ylabel("score")
right.legend()
fig.savefig(experiment.figure_path("02_threshold_sweep"), dpi=120, bbox_inches="tight")
plt.show()

# %% [markdown]
# ## q × standard deviation
#
# One absolute threshold prunes layers unevenly, because layers have different scales. Han et al. scale the threshold by each layer's spread.

# %%
# NBVAL_IGNORE_OUTPUT
# Progress bars.
relative = {f"q = {q}": experiment.threshold(q=q) for q in q_values}

# %%
show_comparison(relative)

# %% [markdown]
# ## Per-layer sparsity

# %%
near = min(absolute.values(), key=lambda r: abs(r["sparsity"] - relative["q = 0.5"]["sparsity"]))
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
print(
    format_table(
        [
            {"layer": n, "absolute": a["sparsity"], "q*std": b["sparsity"]}
            for n, a, b in zip(names, layers_abs, layers_q)
        ],
        ["layer", "absolute", "q*std"],
    )
)

# %%
saved = experiment.save_result("02_threshold", {"absolute": absolute, "relative": relative})

# %% [markdown]
# ## Summary
#
# - A threshold fixes a cut-off, not a sparsity: the sparsity it gives depends on the weights.
# - The q × std rule prunes every layer to a similar fraction; one absolute threshold does not.
# - Without fine-tuning, LAMBADA and the QA tasks fade first as the threshold grows (at
#   |w| < 0.04: LAMBADA 0.620 → 0.365, WebQ 0.730 → 0.480, NQ 0.640 → 0.510), while StoryCloze
#   and HellaSwag stay near 1.
#
# ## Exercises
#
# 1. Which threshold gives 50% sparsity? Compare its scores with `03_rate` at 0.5.
# 2. Exclude the attention weights (`Pruner(model, exclude=[r"\.attn\."])`): what changes?
# 3. Plot per-layer sparsity for q = 1.0.
