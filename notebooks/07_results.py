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
# # 07 · Results: our Tables 3 and 4, and Figures 3 and 4
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/pruning-lib/pruning-lib/HEAD?urlpath=lab/tree/notebooks/07_results.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/pruning-lib/pruning-lib/blob/main/notebooks/07_results.ipynb)
#
# This notebook gathers the runs of the other notebooks (from the cache; it computes
# what is missing) into the paper's Tables 3 and 4. In this notebook you will:
#
# 1. run the main sweep (dense, the control, each sparsity one-shot and fine-tuned) at
#    several training seeds, and see how much a score moves from seed to seed;
# 2. build our tables with 95% intervals, and set the paper's published rows beside them;
# 3. draw Figures 3 and 4 as *retention* (score / dense score, seed by seed) against sparsity;
# 4. check the paper's pattern in our numbers and in the paper's own, each check judged
#    against its noise.
#
# **How sure is a number?** A score moves with the training seed (initialisation, data
# order) and with the sample of evaluation items. Each score below is the mean over the
# seeds ± the half-width of a 95% interval that adds both: Student's t over the seeds, and
# the binomial error of a fraction of `n` items (`pruning_lib/study/uncertainty.py`). A
# difference between two variants (dense and pruned) is taken seed by seed, since each
# seed's model is pruned itself, and item by item, since both runs answer the same items:
# the interval of the per-seed differences, plus the items' term of the difference (an item
# both runs get right, or both wrong, says nothing about it). It is "within the noise" when
# it is smaller than that half-width.

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
seeds = [0, 1, 2, 3]  # training seeds of the main sweep; the world and its items stay fixed

# %%
# NBVAL_IGNORE_OUTPUT
# Names the machine and device.
# %matplotlib inline
import matplotlib.pyplot as plt

from pruning_lib.study import plans
from pruning_lib.study.notebook import compute, start

experiment = start(globals())

# %%
# NBVAL_IGNORE_OUTPUT
# A progress bar while the runs not cached yet are computed (at every seed: the baselines
# of seeds that are not committed are trained first, minutes each).
from pruning_lib.study.results import collect

sweeps = compute(experiment, plans.main_sweep(experiment.settings, sparsities, seeds))
results = collect(experiment, sweeps)

# %% [markdown]
# ## Seed to seed
#
# The same recipe, one initialisation and data order per seed of `seeds` (four in the
# tutorial). The spread below is why
# one run's number means little, and why differences are taken seed by seed.

# %%
from pruning_lib.evaluation.evaluate import main_metric
from pruning_lib.evaluation.tasks import DISPLAY_NAMES, TASK_NAMES
from pruning_lib.study.records import find
from pruning_lib.study.tables import format_table

records = results["records"]
spread = []
for variant, level in [("dense", 0.0), ("one-shot", 0.5), ("fine-tuned", 0.5)]:
    if level and level not in sparsities:
        continue
    for task in TASK_NAMES:
        record = find(records, variant, level, task, main_metric(task))
        values = " ".join(f"{v:.3f}" for v in record["values"])
        spread.append(
            {
                "run": f"{variant} {level}",
                "task": DISPLAY_NAMES[task],
                "per seed": values,
                "mean": record["mean"],
                "95% interval": f"[{record['ci_low']:.3f}, {record['ci_high']:.3f}]",
            }
        )
print(format_table(spread, ["run", "task", "per seed", "mean", "95% interval"]))
widest = max(
    TASK_NAMES, key=lambda t: max(find(records, "dense", 0.0, t, main_metric(t))["values"])
    - min(find(records, "dense", 0.0, t, main_metric(t))["values"]),
)  # fmt: skip
values = find(records, "dense", 0.0, widest, main_metric(widest))["values"]
print(f"\nthe dense {DISPLAY_NAMES[widest]} score spans {min(values):.3f} to {max(values):.3f} "
      f"across the seeds ({max(values) - min(values):.3f}): one run's score says little about "
      "the recipe, so differences are taken seed by seed")  # fmt: skip

# %% [markdown]
# ## Table 3: completion tasks
#
# `pr%` is the sparsity of the *prunable* weights (the block matrices). Our `nparams`
# counts the non-zero parameters of the whole model (embeddings and norms stay dense); the
# paper's nparams column is (1 − pr) × all parameters, shown as `paper_nparams`.

# %%
from pruning_lib.study import report
from pruning_lib.study.results import TABLE_COLUMNS, display_rows


def show(table: str) -> None:
    columns = [*TABLE_COLUMNS[table][:3], "paper_nparams", *TABLE_COLUMNS[table][3:]]
    print(report.markdown_table(display_rows(results[table], columns), columns))
    print()
    print("Published (GPT-Efficio, arXiv 2310.04573):")
    paper = report.PAPER_TABLE_3 if table == "table_3" else report.PAPER_TABLE_4
    print(report.markdown_table(paper, TABLE_COLUMNS[table]))


show("table_3")

# %% [markdown]
# ## Table 4: QA tasks

# %%
show("table_4")

# %% [markdown]
# ## Figures 3 and 4: how much of each score survives
#
# The paper plots bars per model; retention against sparsity shows the same numbers so
# that the two models can be compared although their absolute scores differ. One-shot
# rows are divided by the dense score; fine-tuned rows by the control (the dense model
# fine-tuned just as long), so that more training is not mistaken for recovery.

# %%
from pruning_lib.study.results import figures

paths = figures(results, experiment.out)
plt.show()

# %% [markdown]
# ## The paper's pattern in our numbers, and in the paper's

# %%
for check in results["checks"]:
    print(f"{'yes' if check['holds'] else 'NO '}  {check['claim']}")
    print(f"     ours: {check['detail']}")
    print(f"     paper: {check['paper']}")

# %%
from pruning_lib.study.results import write_results

written = write_results(results, experiment.out)
print("written:", ", ".join(f"runs/{experiment.settings.profile}/{p.name}" for p in written))

# %% [markdown]
# ## Summary
#
# The conclusions are printed from the numbers above.

# %%
from pruning_lib.study.records import mean_fall
from pruning_lib.study.uncertainty import verdict

qa = ("nq_open", "web_questions", "trivia_qa")
completion = ("lambada", "story_cloze", "hellaswag")
for level in sparsities:
    for name, tasks in (("QA", qa), ("completion", completion)):
        fall = mean_fall(records, "dense", "one-shot", level, tasks)
        print(f"- at {level} one-shot, " + verdict(f"the mean {name} fall", *fall))
print(
    f"- {len(seeds)} seeds, {results['n_items']['nq_open']} items per task; our absolute "
    "numbers are not the paper's: a 1M-parameter model on a toy language is not a 950M "
    "model on the real datasets (params/paper.yaml runs those on a GPU)."
)

# %% [markdown]
# ## Exercises
#
# 1. From the records, compute the retention of NQ at 0.5 one-shot seed by seed (each
#    seed's pruned score over its own dense score, then the mean) and check it against the
#    figure's value. A check:
#
# ```python
# from pruning_lib.study.records import retention
# r = find(records, "one-shot", 0.5, "nq_open", "exact_match")["values"]
# d = find(records, "dense", 0.0, "nq_open", "exact_match")["values"]
# mine = sum(x / y for x, y in zip(r, d)) / len(r)
# assert abs(mine - retention(records, "one-shot", 0.5, "nq_open", "dense")[0]) < 1e-12
# ```
#
#    Is it close to the ratio of the means? When would the two differ a lot (for instance,
#    if one seed's dense score were near zero)?
# 2. With `seeds = [0]`, which checks above change their verdict? Why can one seed not
#    tell you whether a 0.02 fall is real? (Hint: the seed term of the interval is zero
#    with one seed, but the spread you saw in "Seed to seed" is not.)
# 3. Add sparsity 0.7 to `sparsities`. Does the fall keep steepening?
