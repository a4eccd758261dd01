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
# `pruning-lib reproduce` runs this notebook once per value of the profile's
# `rate_sparsities`: the tutorial at 0.5, the first sparsity where one-shot pruning clearly
# costs this model, and 0.9, where it collapses (notebook 07 measures every sparsity at four
# seeds and says how far each falls); `params/study.yaml` at 0.1, 0.3, 0.5, 0.7 and 0.9.
#
# **How long it takes.** About 10 s when its runs are cached or shipped with the package
# (the tutorial profile's are). Computing its 56 runs here, after you change a parameter or
# choose another profile, takes about 2 minutes on two CPU cores: an estimate from the runs'
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
sparsity = 0.5  # final fraction of prunable weights that are zero
iterations = 5  # pruning rounds of the iterative run
sensitivity_scan = True  # each layer alone at 0.5/0.7/0.9: three evaluations per layer

# %% tags=["nbval-ignore-output"]
# Names the machine and device.
# %matplotlib inline
import matplotlib.pyplot as plt

from pruning_lib.study import plans
from pruning_lib.study.notebook import compute, format_table, show_comparison, start

experiment = start(globals())

# %% tags=["nbval-ignore-output"]
# A progress bar while the runs not cached yet are computed (every run of this notebook:
# see `plans.rate`).
runs = compute(experiment, plans.rate(experiment.settings, sparsity, iterations, sensitivity_scan))

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
#
# Layer-wise and global, and beside them the control every pruning score needs: the same
# number of weights removed at random.

# %%
dense = runs["dense"]
layer = runs["one-shot layer-wise"]
glob = runs["one-shot global"]
random_layer = runs["random, layer-wise"]
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
# Every fine-tuned run (computed at the top) gets the profile's `finetune_steps` optimizer
# steps on the same stream of batches. The iterative run prunes `iterations` times *within* those steps (one optimizer,
# one stream), so its later rounds have fewer steps to recover in than one-shot +
# fine-tuning has after its single cut; the control gets the same steps with no pruning.

# %%
iterative = runs["iterative + fine-tuning"]
finetuned = runs["one-shot + fine-tuning"]
random_tuned = runs["random + fine-tuning"]
control = runs["control (dense + fine-tuning)"]
print(format_table(iterative["trace"], ["iteration", "sparsity"], digits=4))
compared = {
    "dense": dense,
    "control (dense + fine-tuning)": control,
    "one-shot": layer,
    "one-shot + fine-tuning": finetuned,
    "iterative + fine-tuning": iterative,
    "random + fine-tuning": random_tuned,
}
show_comparison(compared)

# %%
from pruning_lib.evaluation.evaluate import main_metric
from pruning_lib.evaluation.tasks import DISPLAY_NAMES
from pruning_lib.study.notebook import ordered

tasks = ordered(dense["scores"])
fig, ax = plt.subplots(figsize=(9, 3.2))
width = 0.8 / len(compared)
for i, (label, result) in enumerate(compared.items()):
    values = [result["scores"][t][main_metric(t)] for t in tasks]
    ax.bar(
        [k + (i - len(compared) / 2 + 0.5) * width for k in range(len(tasks))],
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
ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside, not on, the bars
fig.savefig(experiment.figure_path(f"03_rate_{sparsity}"), dpi=120, bbox_inches="tight")
plt.show()

# %% [markdown]
# ## Which layers can lose weights? A sensitivity scan
#
# Each weight matrix pruned *alone* by magnitude, the rest dense, no fine-tuning: the
# fall of the mean score (the main metric of the six tasks) against dense, both on the first
# 100 items of each set (half of the 200 of LAMBADA and the QA sets, all that StoryCloze and
# HellaSwag are scored on; three runs per weight matrix, 48 on the toy model). Beside it, the
# sparsity that global pruning gives each layer at this notebook's sparsity.

# %%
import numpy as np

from pruning_lib.prune import Pruner

scan = runs["scan"]
scan_sparsities = plans.SCAN_SPARSITIES if sensitivity_scan else ()
layer_names = plans.layer_names(experiment.settings)
global_pruner = Pruner(experiment.fresh_model(), scope="global")
global_pruner.prune(sparsity)
global_sparsity = {row["name"]: row["sparsity"] for row in global_pruner.report()[:-1]}

# %%
from pruning_lib.study.kinds import SCAN_ITEMS
from pruning_lib.study.notebook import mean_score

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
    # Diverging around zero: a rise (a negative fall) is not drawn as "no change".
    reach = max(float(np.abs(fall).max()), 1e-9)
    image = left.imshow(fall, cmap="RdBu_r", aspect="auto", vmin=-reach, vmax=reach)
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
saved = experiment.save_result(f"03_rate_{sparsity}", compared)

# %% [markdown]
# ## Summary
#
# Printed from the numbers above. Every comparison here is at one seed: its interval holds
# the items' noise only (a difference of two runs is paired item by item), while the
# seed-to-seed spread that `07_results` measures at four seeds comes on top, so each is a
# hint, not evidence. The scan's ranking has no interval: layers whose falls are close may
# trade places in another run.

# %%
from pruning_lib.study.notebook import mean_qa, paired_qa
from pruning_lib.study.uncertainty import Verdicts

verdicts = Verdicts()


def say(what: str, a: dict, b: dict) -> None:
    """A verdict on mean QA(a) − mean QA(b), paired item by item (one seed: a hint)."""
    print("- " + verdicts(what, *paired_qa(a["scores"], b["scores"])))


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
    tolerant, sensitive = [short[i] for i in order[:3]], [short[i] for i in order[::-1][:3]]
    print(f"- alone at {scan_sparsities[-1]}, the least sensitive layers are {tolerant}, the "
          f"most sensitive {sensitive} (the most first)")  # fmt: skip
heavy = sorted(layer_names, key=lambda n: -global_sparsity[n])[:3]
print("- global pruning prunes hardest: "
      + ", ".join(f"{short[layer_names.index(n)]} {global_sparsity[n]:.2f}" for n in heavy))  # fmt: skip
print("-", verdicts.note(), "Notebook 07 compares one-shot and fine-tuned runs at four seeds.")

# %% [markdown]
# ## Exercises
#
# 1. Set `iterations = 1` and rerun from the parameters cell: is the iterative run then the same as one-shot + fine-tuning?
#    A check: `assert iterative["scores"] == finetuned["scores"]` (both prune once at the
#    start of the same steps on the same batches). Write when the iterative run prunes and
#    to which sparsity: its rounds share the fine-tuning steps (the earlier rounds get the
#    remainder), and each starts by pruning the same rate of what still stands. With one
#    round, your trace is one cut at step 0, as one-shot's.
#
# ```python
# def iterative_trace(sparsity, iterations, steps):
#     ...  # your code: [(first step of a round, sparsity after its cut), ...]
#
# from pruning_lib.study.exercises import check_iterative_trace
# check_iterative_trace(iterative_trace)
# ```
#
# 2. Compute the rate per round by hand for sparsity 0.5 in 5 rounds, (1 − 0.5)^(1/5)
#    kept each round, and compare it with `rate` above.
#
# ```python
# def rate_per_round(sparsity, rounds):
#     ...  # your code: the fraction of the remaining weights pruned each round
#
# from pruning_lib.study.exercises import check_rate_per_round
# check_rate_per_round(rate_per_round)
# ```
#
# 3. Where global pruning loses most against layer-wise pruning (the summary's one-seed
#    hint; after `make reproduce`, `runs/tutorial/notebooks/03_rate_*.ipynb` hold it at
#    each of the profile's `rate_sparsities`), does the sensitivity scan explain it?
#    Compare the layers global
#    prunes hardest with the layers whose fall is largest at 0.9 (printed in the summary),
#    or read 0.7 off the heat map; remember that the scan has 100 items a set and no
#    interval, so compare large falls, not neighbours. First write what global pruning
#    gives each matrix (one |w| cut-off over all of them); the check compares it with
#    `torch.nn.utils.prune.global_unstructured`, and on this model
#    `global_layer_sparsity(Pruner(experiment.fresh_model()).weights, sparsity)` gives the
#    bars of the scan's figure.
#
# ```python
# def global_layer_sparsity(weights, sparsity):
#     ...  # your code: {name: the sparsity of that matrix}
#
# from pruning_lib.study.exercises import check_global_layer_sparsity
# check_global_layer_sparsity(global_layer_sparsity)
# ```
#
# 4. Beat uniform pruning at equal size (MIT EfficientML lab 1's exercise). Uniform pruning
#    to 0.7 costs this model much of its score; the scan above says which weights can lose
#    more and which must lose less. Choose a sparsity for every weight matrix from the
#    scan's falls so that, in total, the same 70% of the prunable weights go, and beat
#    uniform 0.7 one-shot by more than the noise over the main sweep's four seeds (the
#    check prunes your allocation at each seed and pairs it with uniform pruning seed by
#    seed and item by item).
#
#    The check calls `allocate(falls, sizes, target)` with `falls[name][s]`, the fall of the
#    mean score of the six tasks with that weight alone at sparsity `s` (the heat map above,
#    as a dict: `{n: dict(zip(scan_sparsities, row)) for n, row in zip(layer_names, fall)}`),
#    `sizes[name]`, its number of weights, and `target = 0.7`; it judges the mean of the six
#    tasks, as the scan does.
#
# ```python
# def allocate(falls, sizes, target):
#     ...  # your code: {name: sparsity}, pruning `target` of all the weights in total
#
# from pruning_lib.study.exercises import check_layer_allocation
# check_layer_allocation(allocate)
# ```
