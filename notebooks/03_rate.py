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
# # 03 · Pruning by rate: one-shot, iterative, layer-wise and global
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/pruning-lib/pruning-lib/HEAD?urlpath=lab/tree/notebooks/03_rate.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/pruning-lib/pruning-lib/blob/main/notebooks/03_rate.ipynb)
#
# The pruning rate is the hyperparameter the paper studies in its Tables 3 and 4. In this
# notebook you will:
#
# 1. prune to a target sparsity at once, layer by layer and globally;
# 2. prune iteratively: the same rate of the remaining weights several times, with
#    fine-tuning in between (rate 0.1 five times gives sparsity 1 − 0.9⁵ = 0.40951);
# 3. fine-tune the one-shot model with its masks held;
# 4. compare against two controls: the dense model given the same extra fine-tuning, and
#    *random* pruning at the same sparsity (what magnitude must beat);
# 5. scan each layer alone at 0.5, 0.7 and 0.9 (a sensitivity heat map) and see whether
#    global pruning, which chooses each layer's sparsity itself, does worse, and why.
#
# `pruning-lib reproduce` runs this notebook once per sparsity (0.1, 0.3, 0.5).

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
seed = 0  # training seed: initialisation and data order
world_seed = 0  # the toy world and its evaluation items (fixed while seeds vary)
threads = 1  # torch CPU threads (1: CPU results do not depend on the core count)
device = "auto"  # "auto" picks the GPU when there is one
model = "toy"  # "toy": our small GPT; or a Hugging Face name / local folder
datasets = "toy"  # "toy", "hub", or a folder of <task>.jsonl files in the hub schemas
corpus = "toy"  # fine-tuning text: "toy", "hub" (WikiText-103) or a local file
toy_size = "tutorial"  # "tutorial" or "smoke" (seconds, for tests)
baseline_steps = 1600  # training steps of the toy baseline
baseline_learning_rate = 0.003
finetune_steps = 100  # optimizer steps of each fine-tuning
finetune_learning_rate = 0.001
batch_size = 16
method = "magnitude"  # score of one-shot pruning: "magnitude", "wanda" or "random"
pattern = "unstructured"  # or "N:M" such as "2:4" (then every sparsity is 1 - N/M)
calibration_sequences = 128  # Wanda: corpus windows whose input norms weigh |W|
eval_limit = None  # evaluate only the first N items of each set
eval_batch_size = 32
sparsity = 0.5  # final fraction of prunable weights that are zero
iterations = 5  # pruning rounds of the iterative run
sensitivity_scan = True  # each layer alone at 0.5/0.7/0.9: three evaluations per layer

# %%
# NBVAL_IGNORE_OUTPUT
# Names the machine and device.
# %matplotlib inline
import matplotlib.pyplot as plt

from pruning_lib.study.notebook import format_table, show_comparison, start

experiment = start(globals())

# %% [markdown]
# ## Words: rate and sparsity
#
# *Sparsity* is cumulative; a *rate* removes a fraction of what still stands.

# %%
from pruning_lib.prune import rate_to_sparsity, sparsity_to_rate

rate = sparsity_to_rate(sparsity, iterations)
print(f"rate 0.1 five times -> sparsity {rate_to_sparsity(0.1, 5):.5f}")
print(f"to reach sparsity {sparsity} in {iterations} rounds: rate {rate:.4f} per round")

# %% [markdown]
# ## One-shot pruning, without fine-tuning

# %%
# NBVAL_IGNORE_OUTPUT
# Progress bars.
dense = experiment.dense()
layer = experiment.oneshot(sparsity, scope="layer")
glob = experiment.oneshot(sparsity, scope="global")

# %% [markdown]
# The control every pruning score needs: remove the same number of weights at random.

# %%
# NBVAL_IGNORE_OUTPUT
# Progress bars.
random_layer = experiment.oneshot(sparsity, scope="layer", score="random")

# %%
show_comparison(
    {
        "dense": dense,
        "one-shot layer-wise": layer,
        "one-shot global": glob,
        "random, layer-wise": random_layer,
    }
)

# %% [markdown]
# ## Iterative pruning and fine-tuning
#
# Every fine-tuned run below gets `finetune_steps` optimizer steps on the same stream of
# batches. The iterative run prunes `iterations` times *within* those steps (one optimizer,
# one stream), so its later rounds have fewer steps to recover in than one-shot +
# fine-tuning has after its single cut; the control gets the same steps with no pruning.

# %%
# NBVAL_IGNORE_OUTPUT
# Progress bars while fine-tuning. The runs from here to the sensitivity scan are
# independent: a helper process runs them from the last on the second core (`beside`).
from pruning_lib.prune import Pruner
from pruning_lib.study.beside import beside, finish

scan_sparsities = [0.5, 0.7, 0.9] if sensitivity_scan else []
layer_names = list(Pruner(experiment.fresh_model()).weights)
# Each run below, as (experiment method, its arguments): the helper gets the same list.
later = {
    "iterative": ("iterative", {"sparsity": sparsity, "iterations": iterations}),
    "finetuned": ("oneshot", {"sparsity": sparsity, "scope": "layer", "finetune": True}),
    "random_tuned": (
        "oneshot",
        {"sparsity": sparsity, "scope": "layer", "finetune": True, "score": "random"},
    ),
    "control": ("control", {}),
}
scan_calls = {
    (n, s): ("layer_alone", {"name": n, "sparsity": s})
    for n in layer_names
    for s in scan_sparsities
}
helper = beside(experiment, [*later.values(), *scan_calls.values()])
iterative, finetuned, random_tuned, control = (
    getattr(experiment, method)(**args) for method, args in later.values()
)

# %%
print(format_table(iterative["trace"], ["iteration", "sparsity"], digits=4))
runs = {
    "dense": dense,
    "control (dense + fine-tuning)": control,
    "one-shot": layer,
    "one-shot + fine-tuning": finetuned,
    "iterative + fine-tuning": iterative,
    "random + fine-tuning": random_tuned,
}
show_comparison(runs)

# %%
from pruning_lib.study.evaluate import main_metric
from pruning_lib.study.notebook import ordered
from pruning_lib.study.tasks import DISPLAY_NAMES

tasks = ordered(dense["scores"])
fig, ax = plt.subplots(figsize=(9, 3.2))
width = 0.8 / len(runs)
for i, (label, result) in enumerate(runs.items()):
    values = [result["scores"][t][main_metric(t)] for t in tasks]
    ax.bar(
        [k + (i - len(runs) / 2 + 0.5) * width for k in range(len(tasks))],
        values,
        width,
        label=label,
    )
ax.set_xticks(range(len(tasks)), [DISPLAY_NAMES[t] for t in tasks])
ax.set_ylabel("score")
ax.set_ylim(0, 1)
for k, task in enumerate(tasks):  # chance, per task
    chance = dense["scores"][task]["chance"]
    ax.hlines(chance, k - 0.45, k + 0.45, colors="black", linestyles=":", lw=1)
ax.set_title(f"sparsity {sparsity} (dotted: chance)")
ax.legend(fontsize=7, ncol=3, loc="lower right")
fig.savefig(experiment.figure_path(f"03_rate_{sparsity}"), dpi=120, bbox_inches="tight")
plt.show()

# %% [markdown]
# ## Which layers can lose weights? A sensitivity scan
#
# Each weight matrix pruned *alone* by magnitude, the rest dense, no fine-tuning: the
# fall of the mean score (the main metric of the six tasks) against dense, both on the first
# 100 items of each set (48 runs: half the items halve the scan's time). Beside it, the
# sparsity that global pruning gives each layer at this notebook's sparsity.

# %%
# NBVAL_IGNORE_OUTPUT
# Progress bars (the scan is cached: it runs once for all sparsities).
import numpy as np

from pruning_lib.study.notebook import mean_score

scan = {key: experiment.layer_alone(**args) for key, (_, args) in scan_calls.items()}
finish(helper)
global_pruner = Pruner(experiment.fresh_model(), scope="global")
global_pruner.prune(sparsity)
global_sparsity = {row["name"]: row["sparsity"] for row in global_pruner.report()[:-1]}

# %%
from pruning_lib.study.experiment import SCAN_ITEMS

dense_mean = mean_score(dense["scores"], SCAN_ITEMS)  # the scan's items
fall = np.array(
    [
        [dense_mean - mean_score(scan[(n, s)]["scores"]) for s in scan_sparsities]
        for n in layer_names
    ]
).reshape(len(layer_names), len(scan_sparsities))
short = [n.replace("transformer.h.", "h").replace(".weight", "") for n in layer_names]
fig, (left, right) = plt.subplots(
    1, 2, figsize=(9, 0.3 * len(short) + 1.5), gridspec_kw={"width_ratios": [3, 2]}, sharey=True
)
if scan_sparsities:
    image = left.imshow(fall, cmap="magma_r", aspect="auto", vmin=0)
    fig.colorbar(image, ax=left)
else:
    left.text(0.5, 0.5, "sensitivity_scan = False", ha="center", transform=left.transAxes)
left.set_xticks(range(len(scan_sparsities)), [f"{s}" for s in scan_sparsities])
left.set_yticks(range(len(short)), short, fontsize=7)
left.set_xlabel("sparsity of that layer alone")
left.set_title("fall of the mean score")
right.barh(range(len(short)), [global_sparsity[n] for n in layer_names])
right.axvline(sparsity, color="gray", ls=":")
right.set_xlim(0, 1)
right.set_xlabel(f"sparsity global pruning gives (total {sparsity})")
fig.tight_layout()
fig.savefig(experiment.figure_path(f"03_sensitivity_{sparsity}"), dpi=120, bbox_inches="tight")
plt.show()

# %%
saved = experiment.save_result(f"03_rate_{sparsity}", runs)

# %% [markdown]
# ## Summary
#
# Printed from the numbers above (one seed: the items alone give one mean QA score about
# ±0.04 of noise; a difference of two runs is paired item by item, so its noise depends on
# how many items the two answer differently: the ± printed below. Smaller differences are
# not evidence; `07_results` has four seeds). The scan's ranking has no interval: layers
# whose falls are close may trade places in another run.

# %%
from pruning_lib.study.notebook import mean_qa, qa_noise
from pruning_lib.study.uncertainty import verdict


def say(what: str, a: dict, b: dict) -> None:
    """A verdict on mean QA(a) − mean QA(b), against the items' noise of that difference."""
    value = mean_qa(a["scores"]) - mean_qa(b["scores"])
    print("- " + verdict(what, value, qa_noise(experiment, a["scores"], b["scores"])))


print(f"- sparsity {sparsity}: mean QA dense {mean_qa(dense['scores']):.3f}, layer-wise one-shot "
      f"{mean_qa(layer['scores']):.3f}")  # fmt: skip
say("dense minus layer-wise one-shot", dense, layer)
say("magnitude minus random (one-shot)", layer, random_layer)
say("layer-wise minus global (one-shot)", layer, glob)
say("one-shot + fine-tuning minus the control", finetuned, control)
say("iterative minus one-shot + fine-tuning", iterative, finetuned)
say("magnitude minus random (fine-tuned)", finetuned, random_tuned)
if scan_sparsities:
    order = np.argsort(fall[:, -1], kind="stable")
    tolerant, sensitive = [short[i] for i in order[:3]], [short[i] for i in order[-3:]]
    print(f"- alone at {scan_sparsities[-1]}, the least sensitive layers are {tolerant}, the "
          f"most sensitive {sensitive}")  # fmt: skip
heavy = sorted(layer_names, key=lambda n: -global_sparsity[n])[:3]
print("- global pruning prunes hardest: "
      + ", ".join(f"{short[layer_names.index(n)]} {global_sparsity[n]:.2f}" for n in heavy))  # fmt: skip

# %% [markdown]
# ## Exercises
#
# 1. Set `iterations = 1`: is the iterative run then the same as one-shot + fine-tuning?
#    A check: `assert iterative["scores"] == finetuned["scores"]` (both prune once at the
#    start of the same steps on the same batches).
# 2. Compute the rate per round by hand for sparsity 0.5 in 5 rounds, (1 − 0.5)^(1/5)
#    kept each round, and check it: `assert abs(rate - (1 - 0.5 ** (1 / 5))) < 1e-12`.
# 3. Where global pruning loses beyond the noise (the summary says at which sparsity), does
#    the sensitivity scan explain it? Compare the layers global
#    prunes hardest with the layers whose fall is largest at 0.9 (printed in the summary),
#    or read 0.7 off the heat map; remember that the scan has 100 items a set and no
#    interval, so compare large falls, not neighbours.
