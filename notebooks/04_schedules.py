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
# # 04 · Pruning schedules
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/pruning-lib/pruning-lib/HEAD?urlpath=lab/tree/notebooks/04_schedules.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/pruning-lib/pruning-lib/blob/main/notebooks/04_schedules.ipynb)
#
# Gradual pruning raises the sparsity during fine-tuning instead of all at once. In this
# notebook you will:
#
# 1. draw the constant schedule (the target from the first step) and the linear,
#    exponential and cubic ones (from `initial_sparsity` to the target at `schedule_end_step`);
# 2. prune on each schedule inside the training loop;
# 3. compare the loss curves and the final scores side by side.
#
# **How long it takes.** About 10 s when its runs are cached or shipped with the package
# (the tutorial profile's are). Computing its 15 runs here, after you change a parameter or
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
schedule_kinds = ["constant", "linear", "exponential", "cubic"]
initial_sparsity = 0.0
varied_initial_sparsity = 0.25  # the cubic schedule once more, from this initial sparsity
target_sparsity = 0.5
schedule_end_step = 30  # the target is reached exactly here
schedule_frequency = 5  # steps between pruning events
high_sparsity = 0.9  # the high regime: constant against cubic at this target
seeds = [0, 1, 2, 3]  # training seeds of the high-regime comparison

# %% tags=["nbval-ignore-output"]
# Names the machine and device.
# %matplotlib inline
import matplotlib.pyplot as plt

from pruning_lib.study import plans
from pruning_lib.study.notebook import compute, show_comparison, start

experiment = start(globals())

# %% tags=["nbval-ignore-output"]
# A progress bar while the runs not yet cached are computed (on every core; nothing shows
# when all are cached).
plan = plans.schedules(
    experiment.settings, schedule_kinds, initial_sparsity, target_sparsity, schedule_end_step,
    schedule_frequency, high_sparsity, seeds, varied_initial_sparsity,
)  # fmt: skip
runs = compute(experiment, plan)

# %% [markdown]
# ## The schedules

# %%
from pruning_lib.schedules import Schedule

# The schedules the runs above follow (plans.schedules makes the same ones).
schedules = {
    kind: Schedule(kind, initial_sparsity, target_sparsity, begin_step=0,
                   end_step=schedule_end_step, frequency=schedule_frequency)
    for kind in schedule_kinds
}  # fmt: skip
total_steps = max(experiment.settings.finetune_steps, schedule_end_step + 1)
fig, ax = plt.subplots(figsize=(6, 3))
for kind, schedule in schedules.items():
    ax.step(range(total_steps + 1), schedule.curve(total_steps), where="post", label=kind)
ax.set_xlabel("step")
ax.set_ylabel("sparsity")
ax.legend()
fig.savefig(experiment.figure_path("04_schedule_curves"), dpi=120, bbox_inches="tight")
plt.show()
for kind, schedule in schedules.items():
    values = [round(schedule.sparsity_at(s), 3) for s in schedule.pruning_steps()]
    print(f"{kind:>11}: {values}")

# %% [markdown]
# ## Pruning inside the training loop
#
# The runs were computed at the top (`runs["target"]`); here are their loss histories.

# %%
results = runs["target"]
fig, ax = plt.subplots(figsize=(6, 3))
for kind, result in results.items():
    ax.plot(
        [h["step"] for h in result["history"]], [h["loss"] for h in result["history"]], label=kind
    )
ax.axvline(schedule_end_step, color="gray", linestyle=":")
ax.set_xlabel("step")
ax.set_ylabel("training loss")
ax.legend()
fig.savefig(experiment.figure_path("04_schedule_loss"), dpi=120, bbox_inches="tight")
plt.show()
# Beside the dense model fine-tuned as many steps (the control): the schedules' runs were
# trained too, and only what they keep of the control's score is what pruning costs.
show_comparison({"dense": runs["dense"], "control": runs["control"], **results})

# %% [markdown]
# ## The high-sparsity regime
#
# At 0.5 the one-shot cut costs this model a fall beyond the noise before fine-tuning, and
# the steps after it win back most of its gap to the dense model fine-tuned as long
# (`07_results`, four seeds, prints how much). Gradual schedules were
# proposed for high sparsity (Zhu and Gupta's cubic schedule); here is the constant schedule
# against the cubic one at `high_sparsity`, same steps, same batches.

# %%
high = {f"{kind} to {high_sparsity}": run for kind, run in runs["high"].items()}
show_comparison(high)

# %% [markdown]
# A difference at one seed may be the seed's: the cubic and constant schedules to
# `high_sparsity` are run again at every seed of `seeds`, each seed pruning its own model,
# and compared seed by seed below.

# %%
from pruning_lib.study.notebook import format_table, mean_qa

per_seed = runs["seeds"]
rows = [
    {"seed": seed, "constant": mean_qa(pair["constant"]["scores"]),
     "cubic": mean_qa(pair["cubic"]["scores"])}
    for seed, pair in per_seed.items()
]  # fmt: skip
print(format_table(rows, ["seed", "constant", "cubic"]))

# %% [markdown]
# ## The initial sparsity
#
# The sixth hyperparameter: where the schedule starts. The cubic schedule from
# `varied_initial_sparsity` instead of `initial_sparsity` prunes that share at the first
# step, with no training in between, and the rest gradually.

# %%
varied = runs["varied_initial"]
cubic_from = {
    f"cubic from {initial_sparsity}": results["cubic"],
    f"cubic from {varied_initial_sparsity}": varied,
}
for label, result in cubic_from.items():
    first = result["pruning"][0]
    print(f"{label}: first pruning step {first['step']} to sparsity {first['sparsity']:.3f}; "
          f"{len(result['pruning'])} pruning steps")  # fmt: skip
show_comparison(cubic_from)

# %%
saved = experiment.save_result("04_schedules", {**results, **high, **cubic_from})

# %% [markdown]
# ## Summary
#
# Printed from the numbers above. The comparison at `high_sparsity` is made at every seed
# (evidence); the others at one seed, whose interval holds the items' noise only (hints).

# %%
from pruning_lib.study.notebook import mean_qa, paired_qa
from pruning_lib.study.uncertainty import Verdicts

verdicts = Verdicts()
for kind, result in results.items():
    print(f"- {kind}: sparsity {result['sparsity']:.3f}, mean QA {mean_qa(result['scores']):.3f}, "
          f"final training loss {result['history'][-1]['loss']:.3f}")  # fmt: skip
# Best and worst are picked after looking, the largest of six pairwise differences: the
# difference is favoured by that choice, one more reason to read it as a hint.
best = max(results, key=lambda k: mean_qa(results[k]["scores"]))
worst = min(results, key=lambda k: mean_qa(results[k]["scores"]))
print(f"- at {target_sparsity}: " + verdicts(
    f"best ({best}) minus worst ({worst}) mean QA",
    *paired_qa(results[best]["scores"], results[worst]["scores"])))  # fmt: skip
cubic_runs = [pair["cubic"]["scores"] for pair in per_seed.values()]
constant_runs = [pair["constant"]["scores"] for pair in per_seed.values()]
print(f"- at {high_sparsity}: " + verdicts("cubic minus constant mean QA",
      *paired_qa(cubic_runs, constant_runs)))  # fmt: skip
print(f"- from initial sparsity {varied_initial_sparsity}: " + verdicts(
    f"cubic from {varied_initial_sparsity} minus from {initial_sparsity} (mean QA)",
    *paired_qa(varied["scores"], results["cubic"]["scores"])))  # fmt: skip
print("-", verdicts.note())

# %% [markdown]
# ## Exercises
#
# 1. Set `schedule_frequency = 7` (the span is no longer a multiple) and rerun from the
#    parameters cell: the last
#    pruning step must still be the end step, and the run must end at the target:
#    `assert schedules["cubic"].pruning_steps()[-1] == schedule_end_step` and
#    `assert abs(results["cubic"]["sparsity"] - target_sparsity) < 1e-3`. Write the pruning
#    steps of a schedule: the begin step, every `frequency` steps after it, and the end step.
#
# ```python
# def pruning_steps(begin, end, frequency):
#     ...  # your code: the steps at which the schedule prunes
#
# from pruning_lib.study.exercises import check_pruning_steps
# check_pruning_steps(pruning_steps)
# ```
#
# 2. Write the cubic schedule by hand, s(t) = s_f + (s_i − s_f)(1 − t/T)³ at the pruning
#    steps (begin step 0, end step T), and check it against `Schedule("cubic")`:
#
# ```python
# def cubic_sparsity(t, s_i, s_f, T):
#     ...  # your code: the sparsity at step t
#
# from pruning_lib.study.exercises import check_cubic_schedule
# check_cubic_schedule(cubic_sparsity)
# ```
#
# 3. Move `schedule_end_step` close to the profile's `finetune_steps`
#    (`experiment.settings.finetune_steps`): what happens to the scores, and is
#    the change larger than the noise? The summary pairs two runs item by item: write the
#    noise of their difference on one task from their outcomes (one character per item,
#    `"1"` right: `results[kind]["scores"][task]["correct"]`), with one pseudo-item won and
#    one lost added (`pruning_lib/study/uncertainty.py` says why).
#
# ```python
# def paired_noise(a, b):
#     ...  # your code: the 95% half-width of mean(a) - mean(b)
#
# from pruning_lib.study.exercises import check_paired_noise
# check_paired_noise(paired_noise)
# ```
