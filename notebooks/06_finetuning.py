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
# 3. look closely at the first steps of the most pruned model: whether, and how early, it
#    recovers, for mean QA and
#    LAMBADA;
# 4. compare with the dense control given the same training, judged against the noise.
#
# **How long it takes.** About 14 s when its runs are cached or shipped with the package
# (the tutorial profile's are). Computing its 7 runs here, after you change a parameter or
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
sparsities = [0.1, 0.3, 0.5, 0.7, 0.9]

# %% tags=["nbval-ignore-output"]
# Names the machine and device.
# %matplotlib inline
import matplotlib.pyplot as plt

from pruning_lib.study import plans
from pruning_lib.study.notebook import compute, format_table, start

experiment = start(globals())

# %% tags=["nbval-ignore-output"]
# A progress bar while the runs not yet cached are computed (on every core; nothing shows
# when all are cached).
runs = compute(experiment, plans.finetuning(experiment.settings, sparsities))
curves = {f"sparsity {s}": run for s, run in runs["curves"].items()}
curves["dense control"] = runs["control"]

# %% [markdown]
# ## Recovery over the whole fine-tuning
#
# Each curve starts at step 0 (right after pruning) and is evaluated at four even steps.
# Dotted lines: chance. Shaded: the 95% noise of the evaluation items around each point
# (one seed; notebook 07 measures how much more the seed adds).

# %%
from pruning_lib.study.notebook import mean_qa

settings = experiment.settings
recipe = experiment.finetune_config()
tokens_per_step = recipe.batch_size * recipe.grad_accum_steps * experiment.block_size
corpus_tokens = len(experiment.stream())
dense_scores = curves["dense control"]["curve"][0]["scores"]
qa_chance = sum(dense_scores[t]["chance"] for t in ("nq_open", "web_questions", "trivia_qa")) / 3


from pruning_lib.study.uncertainty import item_term, mean_item_term

n_items = {task: len(items) for task, items in experiment.eval_sets().items()}
QA = ("nq_open", "web_questions", "trivia_qa")


def plot_curves(curves: dict, name: str, log_steps: bool = False) -> list[dict]:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
    rows = []
    for label, result in curves.items():
        steps = [point["step"] for point in result["curve"]]
        qa = [mean_qa(point["scores"]) for point in result["curve"]]
        lambada = [point["scores"]["lambada"]["acc"] for point in result["curve"]]
        x = [max(s, 0.5) for s in steps] if log_steps else steps  # step 0 drawn at 0.5
        # Band: the 95% noise of the evaluation items around each point (one seed: the
        # seed-to-seed spread, measured in 07, comes on top).
        qa_band = [mean_item_term([(p["scores"][t]["exact_match"], n_items[t]) for t in QA])
                    for p in result["curve"]]  # fmt: skip
        lambada_noise = [item_term(a, n_items["lambada"]) for a in lambada]
        line = left.plot(x, qa, marker="o", label=label)[0]
        left.fill_between(x, [q - n for q, n in zip(qa, qa_band)],
                          [q + n for q, n in zip(qa, qa_band)], color=line.get_color(),
                          alpha=0.12, lw=0)  # fmt: skip
        right.plot(x, lambada, marker="o", label=label, color=line.get_color())
        right.fill_between(x, [a - n for a, n in zip(lambada, lambada_noise)],
                           [a + n for a, n in zip(lambada, lambada_noise)],
                           color=line.get_color(), alpha=0.12, lw=0)  # fmt: skip
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
    # Below both panels, so that no curve hides behind it.
    fig.legend(*left.get_legend_handles_labels(), fontsize=8, loc="upper center",
               bbox_to_anchor=(0.5, -0.04), ncol=4)  # fmt: skip
    fig.savefig(experiment.figure_path(name), dpi=120, bbox_inches="tight")
    plt.show()
    return rows


rows = plot_curves(curves, "06_recovery")
print(format_table(rows, ["run", "step", "epochs", "mean QA", "LAMBADA"]))

# %% [markdown]
# ## The first steps
#
# How fast does the pruned model recover? The most pruned run evaluated again after 1, 2,
# 5, 10, 20 and 50 steps (the same training, more evaluations), beside the control at its
# usual points. At the tutorial's most pruned, 0.9, the run starts below chance; the table
# says whether the steps bring anything back, and the summary prints the step by which half
# of the gain is won only where there is a gain (at one seed and with no interval: a hint).

# %%
most = max(sparsities)
early = {f"sparsity {most}": runs["early"]}
early_rows = plot_curves({**early, "dense control": curves["dense control"]}, "06_early", True)
print(format_table([r for r in early_rows if r["run"] != "dense control"],
                   ["run", "step", "mean QA", "LAMBADA"]))  # fmt: skip

# %%
saved = experiment.save_result("06_finetuning", {**curves, "early": early})

# %% [markdown]
# ## The loop in plain PyTorch
#
# Every run above trained through `pruning_lib.training`, where the pruning hides in hooks
# of one shared loop. Here is that loop with nothing hidden, so you can see where a mask
# must act and why, and copy it into code of your own. It runs on copies of the baseline,
# with the profile's fine-tuning config cut down to 6 steps, its windows shortened to 32 tokens
# (seconds on one CPU thread), and each `assert` checks it against the library, weight for
# weight: if the two ever drifted apart, the notebook would stop there.
#
# First the pieces the loop needs: the prunable weights (GPT-2 keeps its attention and MLP
# matrices in `Conv1D` layers; embeddings and the output head tied to them stay dense),
# magnitude pruning with the library's tie rule, and the learning-rate schedule.

# %%
import dataclasses
import math

import torch
from transformers.pytorch_utils import Conv1D

from pruning_lib.training import recipes

stream, window = experiment.stream(), 32  # short windows: cheap steps
config = dataclasses.replace(experiment.finetune_config(6), batch_size=4, warmup_steps=2,
                             grad_accum_steps=1, log_every=1)  # fmt: skip


def prunable(model) -> dict[str, torch.nn.Parameter]:
    return {f"{n}.weight": m.weight for n, m in model.named_modules() if isinstance(m, Conv1D)}


def prune_smallest(weight, keep, k: int) -> torch.Tensor:
    """A mask that prunes the k smallest |w|, counting the weights pruned already (they sort
    first); ties go to the weight that comes first, as in the library."""
    score = weight.detach().abs().flatten().masked_fill(~keep.flatten(), -1)
    new = torch.ones(weight.numel(), dtype=torch.bool)
    new[torch.argsort(score, stable=True)[:k]] = False
    return new.view(weight.shape)


def lr_at_step(step: int, c) -> float:
    """Linear warm-up to the peak, then cosine decay to min_lr_ratio of the peak."""
    if step < c.warmup_steps:
        return c.learning_rate * (step + 1) / c.warmup_steps
    progress = min(1.0, (step - c.warmup_steps) / max(1, c.steps - c.warmup_steps))
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return c.learning_rate * (c.min_lr_ratio + (1 - c.min_lr_ratio) * cosine)


print([round(lr_at_step(s, config), 6) for s in range(config.steps)])

# %% [markdown]
# The loop. The masks act twice per step, and both matter. Gradients are zeroed *before*
# clipping, so that the clipping norm measures only the weights that can still move. The
# weights are zeroed again *after* the optimizer step, because AdamW moves a weight by its
# running average of past gradients: a weight pruned in the middle of training still
# carries that momentum and would drift back from zero. `moved` counts the pruned weights
# the optimizer step moved off zero, before the masks put them back.
#
# The library builds AdamW with weight decay on matrices only; the profile's weight decay
# is 0, so one parameter group does the same here (and `weight_decay=0.0` must be given:
# PyTorch's AdamW decays by 0.01 by default).

# %%
assert config.weight_decay == 0


def finetune_by_hand(model, masks, config, before_step=None) -> tuple[list, list]:
    weights = prunable(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, betas=(0.9, 0.95),
                                  weight_decay=0.0)  # fmt: skip
    generator = torch.Generator().manual_seed(config.seed)  # the batches the library draws
    losses, moved = [], []
    model.train()
    for step in range(config.steps):
        for group in optimizer.param_groups:
            group["lr"] = lr_at_step(step, config)
        if before_step is not None:
            before_step(step)  # iterative pruning tightens the masks here
        starts = torch.randint(len(stream) - window, (config.batch_size,), generator=generator)
        batch = torch.stack([stream[s : s + window] for s in starts.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        for name, keep in masks.items():
            weights[name].grad.mul_(keep)  # no gradient for a pruned weight
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():
            moved.append(sum(int((weights[n][~keep] != 0).sum()) for n, keep in masks.items()))
            for name, keep in masks.items():
                weights[name].mul_(keep)  # momentum moved some pruned weights: zero them again
        losses.append(loss.item())
    model.eval()
    return losses, moved


# %% [markdown]
# One-shot pruning to 50 % (each layer to its own 50 %), then fine-tuning with the masks
# held, by hand and by `recipes.finetune`, on two copies of the same model. The library
# runs on the CPU here, as the loop by hand does: on a GPU it would train in mixed
# precision, which rounds differently.

# %%
mine, theirs = experiment.fresh_model().cpu(), experiment.fresh_model().cpu()
masks = {name: prune_smallest(w, torch.ones_like(w, dtype=torch.bool), round(0.5 * w.numel()))
         for name, w in prunable(mine).items()}  # fmt: skip
with torch.no_grad():
    for name, w in prunable(mine).items():
        w.mul_(masks[name])
losses, moved = finetune_by_hand(mine, masks, config)

pruner = recipes.oneshot(theirs, 0.5)
result = recipes.finetune(theirs, pruner, stream, config, window, device="cpu", progress=False)
assert masks.keys() == pruner.masks.keys()
assert all(torch.equal(masks[n], pruner.masks[n]) for n in masks)
assert all(torch.equal(a, b) for a, b in zip(mine.parameters(), theirs.parameters()))
assert losses == [h["loss"] for h in result.history]
print("losses:", [round(x, 3) for x in losses])
print("pruned weights moved off zero by AdamW, per step:", moved)
print("every weight equal to the library's after", config.steps, "steps")

# %% [markdown]
# In one-shot pruning the masks never move a weight: a weight pruned before training never
# had a gradient, so its running averages are zero and AdamW leaves it at zero. Iterative
# pruning is where the second mask earns its place. The rounds share one run (one
# optimizer, one schedule, one stream of batches); each round starts by pruning the same
# share of the weights still standing, a rate chosen so that the rounds compound to the
# target, and the last round tops up by a weight or two should rounding have fallen short.

# %%
target, rounds = 0.5, 3
rate = 1 - (1 - target) ** (1 / rounds)  # (1 - rate) ** rounds == 1 - target
# Equal rounds (the library gives the earlier rounds the remainder).
assert config.steps % rounds == 0
round_starts = list(range(0, config.steps, config.steps // rounds))

mine, theirs = experiment.fresh_model().cpu(), experiment.fresh_model().cpu()
weights = prunable(mine)
masks = {name: torch.ones_like(w, dtype=torch.bool) for name, w in weights.items()}


def prune_round(step: int) -> None:
    if step not in round_starts:
        return
    for name, w in weights.items():
        standing = int(masks[name].sum())
        k = w.numel() - standing + round(rate * standing)
        if step == round_starts[-1]:
            k = max(k, round(target * w.numel()))  # land on the target despite rounding
        masks[name] = prune_smallest(w, masks[name], k)
        with torch.no_grad():
            w.mul_(masks[name])


losses, moved = finetune_by_hand(mine, masks, config, prune_round)
result = recipes.iterative(theirs, stream, config, window, target, rounds, device="cpu",
                           progress=False)  # fmt: skip
assert round_starts == recipes.round_steps(config.steps, rounds)
assert all(torch.equal(masks[n], result.pruner.masks[n]) for n in masks)
assert all(torch.equal(a, b) for a, b in zip(mine.parameters(), theirs.parameters()))
print("sparsity after each round:", [round(r["sparsity"], 4) for r in result.trace])
print("pruned weights moved off zero by AdamW, per step:", moved)

# %% [markdown]
# The weights pruned at step 0 never move: like one-shot pruning, they had no gradient yet.
# Every weight pruned in a later round does, at every step after, although its gradient is
# zero: AdamW's running average of its past gradients still pushes it. Without the zeroing
# after each step, iterative pruning would quietly undo itself.
#
# ### The same masks with `torch.nn.utils.prune`
#
# PyTorch ships magnitude pruning too. It keeps the dense weight as `weight_orig`, the mask
# as a buffer `weight_mask`, and a forward pre-hook that recomputes `weight = weight_orig *
# weight_mask` before every forward pass: nothing is lost, but the model's state dict has
# new keys, and the pruned entries of `weight_orig` keep their values. `prune.remove` bakes
# the mask in and gives back a plain weight. `pruning_lib` zeroes the weight itself and
# keeps the mask beside the model, so the state dict stays standard.
#
# Both prune exactly `round(amount * n)` weights, the smallest. Where several weights tie
# at the threshold, which of them go is a convention: PyTorch's `topk` picks in no promised
# order, `pruning_lib` the first in model order. Our baseline's weights are float16 numbers
# (as most checkpoints on the hub are), so thousands of them share a magnitude and some tie
# at the threshold: the check below asks for the same count, and differences only among
# weights tied at the threshold.

# %%
from torch.nn.utils import prune

from pruning_lib.prune import Pruner


def same_up_to_ties(mine: list, theirs: list, weights: list) -> None:
    """Two sets of masks (True: kept) that keep the same number of weights and differ only
    where a weight's magnitude equals the largest pruned magnitude (a tie at the threshold)."""
    magnitudes = torch.cat([w.detach().abs().flatten() for w in weights])
    mine, theirs = torch.cat([m.flatten() for m in mine]), torch.cat([m.flatten() for m in theirs])
    threshold = magnitudes[~theirs].max()
    differ = mine != theirs
    assert mine.sum() == theirs.sum() and (magnitudes[differ] == threshold).all()
    tied = int((magnitudes == threshold).sum())
    print(f"{tied} weights tie at the threshold; the masks differ on {int(differ.sum())} of them")


lm = experiment.fresh_model().cpu()
layer = lm.transformer.h[0].mlp.c_fc
prune.l1_unstructured(layer, "weight", amount=0.3)
print("state dict:", list(layer.state_dict()))
print("trained parameters:", [n for n, _ in layer.named_parameters()])
print("forward pre-hooks:", [type(h).__name__ for h in layer._forward_pre_hooks.values()])
assert torch.equal(layer.weight, layer.weight_orig * layer.weight_mask)  # what the hook computes

ours = Pruner(experiment.fresh_model().cpu(), include=[r"h\.0\.mlp\.c_fc\.weight"])
ours.prune(0.3)
same_up_to_ties([ours.masks["transformer.h.0.mlp.c_fc.weight"]], [layer.weight_mask.bool()],
                [layer.weight_orig])  # fmt: skip

prune.remove(layer, "weight")
print("after remove:", list(layer.state_dict()), len(layer._forward_pre_hooks), "hooks")

# %% [markdown]
# Across the whole model, `prune.global_unstructured` ranks all the weights together, as
# `scope="global"` does: the same count again, the same masks up to ties at the threshold.

# %%
lm = experiment.fresh_model().cpu()
layers = [m for m in lm.modules() if isinstance(m, Conv1D)]
prune.global_unstructured([(m, "weight") for m in layers], prune.L1Unstructured, amount=0.5)
ours = Pruner(experiment.fresh_model().cpu(), scope="global")
ours.prune(0.5)
same_up_to_ties(list(ours.masks.values()), [m.weight_mask.bool() for m in layers],
                [m.weight_orig for m in layers])  # fmt: skip
print("layer sparsities:", [round(1 - m.weight_mask.mean().item(), 3) for m in layers])

# %% [markdown]
# ## Summary
#
# Printed from the numbers above (one seed: the items alone give one mean QA score about
# ±0.04 of noise; a difference of two runs is paired item by item, so its noise depends on
# how many items the two answer differently: the ± printed below; `07_results` has
# intervals over seeds). A pruned run is judged against the dense control, fine-tuned as
# long: the control's own change (here a fall) is what the training does by itself.

# %%
from pruning_lib.study.notebook import paired_qa
from pruning_lib.study.uncertainty import Verdicts

verdicts = Verdicts()

curve = early[f"sparsity {most}"]["curve"]
start_qa, end_qa = mean_qa(curve[0]["scores"]), mean_qa(curve[-1]["scores"])
gain = end_qa - start_qa
if gain > 0:
    half_way = next(p["step"] for p in curve if mean_qa(p["scores"]) - start_qa >= gain / 2)
    print(f"- at sparsity {most}, mean QA {start_qa:.3f} right after pruning, {end_qa:.3f} after "
          f"{curve[-1]['step']} steps; half of that gain by step {half_way}")  # fmt: skip
control = curves["dense control"]
for level, run in runs["curves"].items():
    print(f"- at {level}: " + verdicts("fine-tuned minus control (mean QA)",
          *paired_qa(run["scores"], control["scores"])))  # fmt: skip
print("-", verdicts.note(), "Notebook 07 makes these comparisons at four seeds.")

# %% [markdown]
# ## Exercises
#
# 1. The summary says whether the most pruned model is still below the control after
#    the profile's `finetune_steps`. Add `finetune_steps = 100` (twice the profile's) to
#    the parameters cell and rerun from there: does the verdict change? Judge it as the
#    summary does, the
#    difference against its noise, not by eye. Write that pair for one seed from two runs'
#    outcomes (`{task: scores[task]["correct"]}` for NQ, WebQ and TriviaQA): the mean QA
#    difference and its noise, each task's paired term (exercise 3 of `04_schedules`)
#    combined as √(Σ term²) / 3.
#
# ```python
# def qa_difference(a, b):
#     ...  # your code: (difference, noise) of mean QA of a minus b
#
# from pruning_lib.study.exercises import check_qa_difference
# check_qa_difference(qa_difference)
# ```
#
# 2. The masks hold through fine-tuning: after every optimizer step the pruned weights are
#    exactly zero, although AdamW's running averages keep moving them (`02_threshold`).
#    Write the step the `Pruner`'s hooks take, called after `loss.backward()`; the check
#    runs five AdamW steps with it and compares them with the same steps done by hand.
#
# ```python
# def masked_step(weight, mask, optimizer):
#     ...  # your code: step the optimizer; where mask is False the weight stays exactly zero
#
# from pruning_lib.study.exercises import check_masked_step
# check_masked_step(masked_step)
# ```
#
# 3. Add `finetune_learning_rate = 1e-4` (ten times lower) to the parameters cell and rerun
#    from there: is recovery slower, judged by the step at which half of the gain is reached?
#    Write that step for a curve (the summary's `half_way`), then compare the two runs' at
#    0.7, which recovers at the profile's learning rate
#    (`curve = runs["curves"][0.7]["curve"]`):
#    `half_gain_step([p["step"] for p in curve], [mean_qa(p["scores"]) for p in curve])`.
#
# ```python
# def half_gain_step(steps, scores):
#     ...  # your code: the first step by which half of the gain is won
#
# from pruning_lib.study.exercises import check_half_gain_step
# check_half_gain_step(half_gain_step)
# ```
