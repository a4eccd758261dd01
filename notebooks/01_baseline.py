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
# # 01 · The dense baseline
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/pruning-lib/pruning-lib/HEAD?urlpath=lab/tree/notebooks/01_baseline.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/pruning-lib/pruning-lib/blob/main/notebooks/01_baseline.ipynb)
#
# Every pruning experiment starts from a dense model. In this notebook you will:
#
# 1. generate the toy world, a small synthetic language with people and facts;
# 2. train a byte-level BPE tokenizer and a small GPT-2 on it (or load it from the cache);
# 3. look at its training curve;
# 4. score it on the six tasks of the paper, each beside its chance level;
# 5. look at the distribution of weight magnitudes, which is what magnitude pruning cuts.
#
# **How long it takes.** About 11 s when its one run is cached or shipped with the package
# (the tutorial profile's is). Computing it here, after you change a parameter or choose
# another profile, takes under a minute: an estimate from its cost (`Run.cost` in
# `pruning_lib/study/runs.py`). Another seed, or a changed training parameter, first trains
# a baseline that is not committed (those of seeds 0 to 3 are): about eight minutes on one
# CPU thread.

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

# %% tags=["nbval-ignore-output"]
# Names the machine and device.
# %matplotlib inline
import matplotlib.pyplot as plt

from pruning_lib.study import plans
from pruning_lib.study.notebook import compute, show_scores, start

experiment = start(globals())

# %% tags=["nbval-ignore-output"]
# A progress bar while what is not cached yet is computed (the baseline and its scores).
runs = compute(experiment, {"dense": plans.dense(experiment.settings)})

# %% [markdown]
# ## The toy world
#
# The paper evaluates on LAMBADA, StoryCloze, HellaSwag, NQ, WebQ and TriviaQA. Offline, a
# generated language stands in for them: each evaluation set mirrors one task, in the same
# hub schema, and goes through the same evaluation code as the real datasets.
#
# The world has 300 people with made-up names, each with one value of six relations (home
# town, job, pet, sport, colour, food). Biographies state every fact; the QA sets ask the
# (person, relation) pairs whose Q/A lines were held out of training, so the model must
# recall what it read in the biographies. That is what pruning takes away first: facts
# stored in the weights, not what the context says. So the choice sets ask those stored
# facts too, as a ranking of endings. The design, task by task:
#
# | task | what an item asks | what the model needs |
# | --- | --- | --- |
# | LAMBADA | the last word of a passage, fixed only by an earlier mention | the longer context (copying across other people and objects) |
# | StoryCloze | a story about a person; two endings state one of the person's facts, with the person's own value or another | one stored fact, ranked against one wrong value |
# | HellaSwag | a person at an activity; four endings state two of the person's facts, each right or wrong | two stored facts together, against three close wrong endings |
# | NQ, WebQ, TriviaQA | a question about a held-out (person, relation) | the stored fact, generated word for word |
#
# Three choices make every column move. **The load**: with 200 people this model recalled
# nearly every fact and the QA scores sat at their ceiling; 300 people (half again as many
# facts, about as many biography sentences) leave it short of capacity, so half its weights
# matter. **The prompt as training showed it**: a toy model knows no English, so its
# training Q/A lines read exactly as the evaluation prompts, NQ's "Answer these questions:"
# included; before they did, some training seeds learned no NQ at all. **Choices that need
# a stored fact**: an earlier design drew the wrong endings from another situation or
# activity; topic matching solved it, and it never left its ceiling. Now every wrong ending
# states a wrong value of the person's own facts. Ranking a right against a wrong fact is
# easier than generating it (two endings: half right by chance); the choice sets fall under
# pruning too, and `07_results` checks whether the completion tasks (LAMBADA and the two
# choice sets) fall more than the QA tasks, as the paper's do. `docs/toyworld.md`
# has the designs tried and their measured scores.

# %%
world = experiment.world
print(f"people: {len(world.people)}, training documents: {len(world.train_documents)}")
for document in world.train_documents[:3]:
    print("-", document.replace("\n", " / "))

# %%
from pruning_lib.evaluation.tasks import DISPLAY_NAMES, MultipleChoice, render_solved, to_record

for task, rows in world.eval_sets.items():
    record = to_record(task, rows[0])
    if isinstance(record, MultipleChoice):  # the context, then every ending
        print(f"{DISPLAY_NAMES[task]:>10}: {record.context!r}")
        for k, choice in enumerate(record.choices):
            print(f"{'right' if k == record.label else 'wrong':>16}: {choice.strip()!r}")
    else:  # the prompt and its answer, as training shows the held-in pairs
        print(f"{DISPLAY_NAMES[task]:>10}: {render_solved(task, rows[0])!r}")

# %% [markdown]
# ## Tokenizer and model
#
# The baseline is cached by the hash of its configuration: the first run trains it (about
# eight minutes on one CPU thread), later runs load it. Training ends by rounding every
# weight to float16, the precision most checkpoints on the Hugging Face hub ship in (the
# model computes in float32), so a baseline is stored in 2 MB. The tutorial's baselines of
# seeds 0 to 3 are committed that way (`pruning_lib/study/reference/baselines/`, with their
# training curves), so a fresh clone copies them. Training gives the same weights bit for
# bit: `pytest -m retrain tests/test_baseline_retrain.py` trains each seed again from
# scratch and compares every weight. Change any training parameter and this cell trains a
# new one.

# %%
lm, tokenizer = experiment.baseline()

# %%
from pruning_lib.efficiency import parameter_counts

print("vocabulary:", len(tokenizer))
print("tokens of a question:", tokenizer.tokenize("Q: where does " + world.people[0] + " live?"))
counts = parameter_counts(lm)
print(
    f"parameters: {counts['total']:,}, prunable (attention + MLP matrices): {counts['prunable']:,}"
)

# %% [markdown]
# ## Training curve

# %%
import json

from pruning_lib.study.baseline import baseline_key

history_file = (
    experiment.cache
    / (
        "baseline-"
        + baseline_key(
            experiment.world_config, experiment.model_config, experiment.baseline_train_config()
        )
    )
    / "history.json"
)
if history_file.is_file():
    history = json.loads(history_file.read_text())
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([h["step"] for h in history], [h["loss"] for h in history])
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title("Baseline training")
    fig.savefig(experiment.figure_path("01_training_curve"), dpi=120, bbox_inches="tight")
    plt.show()
    print(f"final training loss: {history[-1]['loss']:.3f}")
else:
    print("a pretrained hub model: no training curve")

# %% [markdown]
# ## The six dense scores
#
# Chance is what a model that knows nothing would score: 1 / choices for multiple choice, and for the rest the score of always giving the most common answer.

# %%
dense = runs["dense"]
show_scores(dense["scores"])

# %% [markdown]
# ## Weight magnitudes
#
# Magnitude pruning removes the weights closest to zero. The histogram shows how many
# weights a given sparsity removes and how large they are; whether removing them costs
# anything depends on how much the model *uses* them, which magnitude only estimates (the
# random-pruning control in `03_rate` and `method = "wanda"`, an activation-aware
# score, test that estimate).

# %%
import torch

from pruning_lib.prune import prunable_weights

magnitudes = torch.cat(
    [w.detach().abs().flatten().float().cpu() for w in prunable_weights(lm).values()]
)
fig, ax = plt.subplots(figsize=(6, 3))
ax.hist(magnitudes.numpy(), bins=80)
# Where pruning 10%, 30% and 50% of the weights (all layers together) cuts.
for q, style in ((0.1, ":"), (0.3, "--"), (0.5, "-")):
    cut = magnitudes.quantile(q).item()
    ax.axvline(cut, color="black", ls=style, lw=1, label=f"{q:.0%} pruned below {cut:.3f}")
ax.legend(fontsize=8)
ax.set_xlabel("|w|")
ax.set_ylabel("weights")
ax.set_title("Prunable weight magnitudes (dense)")
fig.savefig(experiment.figure_path("01_weight_histogram"), dpi=120, bbox_inches="tight")
plt.show()
for q in (0.1, 0.3, 0.5):
    print(f"{q:.0%} of the prunable weights have |w| below {magnitudes.quantile(q).item():.4f}")

# %%
saved = experiment.save_result("01_baseline", dense)

# %% [markdown]
# ## Summary
#
# Printed from the numbers above.

# %%
from pruning_lib.evaluation.evaluate import main_metric
from pruning_lib.study.notebook import ordered

print(f"- {counts['total']:,} parameters, {counts['prunable']:,} of them prunable "
      f"({counts['prunable'] / counts['total']:.0%})")  # fmt: skip
for task in ordered(dense["scores"]):
    score = dense["scores"][task]
    margin = score[main_metric(task)] - score["chance"]
    print(f"- {DISPLAY_NAMES[task]}: {score[main_metric(task)]:.3f}, chance "
          f"{score['chance']:.3f} (margin {margin:+.3f})")  # fmt: skip
print(f"- half of the prunable weights have |w| below {magnitudes.quantile(0.5).item():.4f}; "
      f"the largest is {magnitudes.max().item():.3f}")  # fmt: skip

# %% [markdown]
# ## Exercises
#
# 1. Compute the parameter count of the model by hand: a GPT-2 block has
#    4·d² + 4·d (attention) + 8·d² + 5·d (MLP) + 4·d (two layer norms) parameters for width
#    d, plus the embeddings (the output layer shares the input embedding's matrix) and the
#    final layer norm. Write it for any size; the check compares it with GPT-2s that
#    transformers builds. Then compare `gpt2_parameters(128, 4, len(tokenizer), 128)` (our
#    model: width 128, 4 blocks, 128 positions) with `counts["total"]` above.
#
# ```python
# def gpt2_parameters(d, layers, vocab, positions):
#     ...  # your code: the parameter count
#
# from pruning_lib.study.exercises import check_parameter_count
# check_parameter_count(gpt2_parameters)
# ```
#
# 2. How many prunable weights does sparsity 0.5 remove, and below which |w| do they lie?
#    Write the mask of magnitude pruning for a vector of magnitudes: exactly
#    `round(sparsity * n)` of the smallest are pruned (Python's `round`, as the library and
#    `torch.nn.utils.prune` do), and where several weights tie at the cut-off the library
#    prunes the ones that come first (see `pruning_lib/selection.py`). On this model,
#    `mask = keep_mask(magnitudes, 0.5)` answers the question: `int((~mask).sum())` weights,
#    all with |w| at most `magnitudes[~mask].max()`.
#
# ```python
# def keep_mask(magnitudes, sparsity):
#     ...  # your code: a bool mask, True = kept
#
# from pruning_lib.study.exercises import check_prune_smallest
# check_prune_smallest(keep_mask)
# ```
#
# 3. Change `seed` (the training seed): how much do the six scores move? Compare with the
#    intervals of `07_results`: they add the spread over seeds (a t interval) and the
#    sampling of the evaluation items (`pruning_lib/study/uncertainty.py` says how). Write
#    that interval for one score from its per-seed values, then see whether the scores of
#    the seeds you tried lie in it.
#
# ```python
# def seed_interval(values, n_items):
#     ...  # your code: (low, high), the 95% interval of the mean, within [0, 1]
#
# from pruning_lib.study.exercises import check_seed_interval
# check_seed_interval(seed_interval)
# ```
