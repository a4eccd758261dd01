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
# # 06 · How much fine-tuning does recovery take?
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/pruning-lib/pruning-lib/HEAD?urlpath=lab/tree/notebooks/06_finetuning.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/pruning-lib/pruning-lib/blob/main/notebooks/06_finetuning.ipynb)
#
# The fifth hyperparameter is the number of fine-tuning epochs after pruning. In this
# notebook you will:
#
# 1. fine-tune one-shot pruned models at several sparsities with their masks held;
# 2. plot the scores as a function of fine-tuning steps and epochs;
# 3. compare with the dense control given the same training.

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
sparsities = [0.1, 0.3, 0.5]

# %%
# NBVAL_IGNORE_OUTPUT
# Names the machine and device.
# %matplotlib inline
import matplotlib.pyplot as plt

from pruning_lib.study.notebook import format_table, start

experiment = start(globals())

# %%
# NBVAL_IGNORE_OUTPUT
# Progress bars while fine-tuning.
curves = {f"sparsity {s}": experiment.oneshot(s, scope="layer", finetune=True) for s in sparsities}
curves["dense control"] = experiment.control()

# %%
from pruning_lib.study.notebook import mean_qa

tokens_per_step = batch_size * experiment.settings.grad_accum_steps * experiment.block_size
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
    rows += [
        {"run": label, "step": s, "epochs": e, "mean QA": q, "StoryCloze": c}
        for s, e, q, c in zip(steps, epochs, qa, story)
    ]
for ax, name in ((left, "mean QA exact match"), (right, "StoryCloze acc")):
    ax.set_xlabel("fine-tuning epochs")
    ax.set_ylabel(name)
left.legend(fontsize=8)
fig.savefig(experiment.figure_path("06_recovery"), dpi=120, bbox_inches="tight")
plt.show()
print(format_table(rows, ["run", "step", "epochs", "mean QA", "StoryCloze"]))

# %%
saved = experiment.save_result("06_finetuning", curves)

# %% [markdown]
# ## Summary
#
# - At low sparsity there is little to recover; at 0.5 most of the recovery comes early.
# - The dense control shows what the same training does without pruning.
#
# ## Exercises
#
# 1. Double `finetune_steps`: does the 0.5 model reach the control?
# 2. Lower `finetune_learning_rate` ten-fold: is recovery slower or better?
