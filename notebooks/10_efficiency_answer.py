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
# # 10 · Can pruning make it more efficient? Measured answers
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/pruning-lib/pruning-lib/HEAD?urlpath=lab/tree/notebooks/10_efficiency_answer.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/pruning-lib/pruning-lib/blob/main/notebooks/10_efficiency_answer.ipynb)
#
# The paper counts non-zero parameters. Users ask another question: is the pruned model
# *faster* and *smaller*, and what does that cost? In this notebook you will:
#
# 1. see, in plain PyTorch, why a masked matrix costs as much as a dense one, and why a
#    sparse format loses at 0.5 sparsity (it stores an index for every value it keeps);
# 2. read the speed and size measured on a gpt2-small-sized model on one CPU thread
#    (`benchmarks/`): sparse kernels against dense ones from 0.5 to 0.99 sparsity, and
#    models with whole MLP neurons removed;
# 3. put them beside the quality each way of pruning keeps (the equal-size study) in one
#    table, and print the way to prune for a given speed-up.
#
# **How long it takes.** About 12 s when its runs are cached or shipped with the package
# (the tutorial profile's are). Computing its 72 runs (notebook 09's equal-size study, 07's
# fine-tuned runs and 11's fine-tuned rows: after 09, 07 and 11 they are cached) here, after
# you change a parameter or choose another profile, takes about 4 minutes on two CPU cores:
# an estimate from the runs' costs (`Run.cost` in `pruning_lib/study/runs.py`) over two
# workers. Another seed, or a changed training parameter, first trains a baseline that is
# not committed (those of seeds 0 to 3 are): about eight minutes on one CPU thread.

# %%
# On Colab, install pruning-lib first; elsewhere it is installed already.
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
equal_size_sparsities = [0.5]  # notebook 09's grid (params/study.yaml: [0.5, 0.7])
equal_size_seeds = [0, 1, 2]  # notebook 09's seeds
dense_small_seeds = []  # notebook 09's dense model of the pruned size (study.yaml: [0, 1, 2])
sparsities = [0.1, 0.3, 0.5, 0.7, 0.9]  # 07's sweep: its fine-tuned quality beside CSR's speed
distill_weight = 1.0  # notebook 11's teacher weight (its distilled row)
removed_blocks = 1  # notebook 11's blocks removed (its shortened row)

# %% tags=["nbval-ignore-output"]
# Names the machine and device.
# %matplotlib inline
import matplotlib.pyplot as plt
import torch

from pruning_lib.study import plans
from pruning_lib.study.notebook import compute, format_table, start

experiment = start(globals())

# %% tags=["nbval-ignore-output"]
# A progress bar while the runs not cached yet are computed (notebook 09's equal-size
# study, whose quality figures the answer table reads, 07's fine-tuned runs at
# `sparsities`, and notebook 11's fine-tuned rows: run alone, this computes them, minutes;
# after 09, 07 and 11 they come from the cache).
plan = plans.equal_size(
    experiment.settings, equal_size_sparsities, equal_size_seeds, dense_small_seeds, sparsities
)
sweeps = compute(experiment, plan)
after_sweeps = compute(
    experiment,
    plans.answer_after(experiment.settings, equal_size_seeds, distill_weight, removed_blocks),
)

# %% [markdown]
# ## Why zeros alone do not make a model faster
#
# A dense matmul multiplies every stored number, zero or not. A sparse format (CSR:
# compressed sparse rows) stores only the non-zeros, but each with its column index, plus one
# pointer per row. On one of our matrices at 0.5 sparsity:

# %%
import warnings

from pruning_lib.prune import Pruner
from pruning_lib.structured import mlp_up_matrix, output_rows

# torch calls its CSR support "beta" in a warning; here we only count its bytes and time it.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
lm = experiment.fresh_model()
layer = min(1, lm.config.num_hidden_layers - 1)
name, module = mlp_up_matrix(lm, layer)
original = output_rows(module).detach().float().cpu().contiguous().clone()  # before pruning
Pruner(lm, include=[f"^{name}$"]).prune(0.5)
weight = output_rows(module).detach().float().cpu().contiguous()  # the pruned matrix
csr = weight.to_sparse_csr()
x = torch.randn(weight.shape[1], 16, generator=torch.Generator().manual_seed(0))
assert torch.allclose(csr @ x, weight @ x, atol=1e-5)  # the same product

dense_bytes = weight.numel() * weight.element_size()
csr_bytes = sum(
    t.numel() * t.element_size() for t in (csr.values(), csr.col_indices(), csr.crow_indices())
)
# By hand: 4 bytes per value and 8 per int64 column index for each kept weight, plus the
# row pointers.
kept = int((weight != 0).sum())
assert csr_bytes == kept * (4 + 8) + (weight.shape[0] + 1) * 8
print(f"matrix {tuple(weight.shape)}, {kept:,} of {weight.numel():,} weights kept")
print(f"dense: {dense_bytes / 1e3:.1f} kB; CSR: {csr_bytes / 1e3:.1f} kB "
      f"({csr_bytes / dense_bytes:.2f}x the dense bytes)")  # fmt: skip
print(
    f"CSR is smaller than dense only above sparsity {1 - 4 / 12:.3f} (4 bytes of 12 per kept weight)"
)

# %% [markdown]
# A sparse kernel also reads those indices and jumps around memory, where a dense kernel
# streams contiguous blocks through the vector units, zeros included. The timing below is
# this machine's (not checked): the matrix before pruning, the same matrix with half its
# weights zero, and its CSR form. Notebook 08 times the whole masked model.

# %% tags=["nbval-ignore-output"]
# Timings.
import time


def median_ms(matrices: dict, repeats: int = 200) -> dict:
    """Median milliseconds of ``matrix @ x`` for each matrix, timed in turn (after a warm-up)
    so that the machine's state favours none of them."""
    times = {key: [] for key in matrices}
    for _ in range(10):
        for matrix in matrices.values():
            matrix @ x
    for _ in range(repeats):
        for key, matrix in matrices.items():
            start = time.perf_counter()
            matrix @ x
            times[key].append(time.perf_counter() - start)
    return {key: sorted(values)[len(values) // 2] * 1e3 for key, values in times.items()}


timed = median_ms({"dense, before pruning": original, "dense, half zeros": weight, "CSR": csr})
print(", ".join(f"{key} {ms:.3f} ms" for key, ms in timed.items()))

# %% [markdown]
# ## Measured on a gpt2-small-sized model (one CPU thread)
#
# These figures come from `benchmarks/` (commands and dates in `benchmarks/README.md`); a
# notebook cannot time a 124M-parameter model in the tutorial's minutes, and timings vary
# from machine to machine, so the committed measurements are read back here.

# %%
from pruning_lib.study import answer

benchmarks = answer.load_benchmarks()
if benchmarks is None:
    print("the measured figures are missing: run the benchmarks (benchmarks/README.md)")
else:
    kernels = benchmarks["sparse_kernels"]
    kernel_sparsities = sorted({row["sparsity"] for row in kernels["rows"]})
    rows = []
    for level in kernel_sparsities:
        one = answer.speedup_range(kernels, level, 1)
        prompt = answer.speedup_range(kernels, level, 128)
        rows.append(
            {
                "sparsity": level,
                "decoding (1 token)": f"{one[0]:.2f} to {one[1]:.2f}",
                "prompt (128 tokens)": f"{prompt[0]:.2f} to {prompt[1]:.2f}",
            }
        )
    print("CSR speed-up over dense matmul, over gpt2-small's four matrix shapes")
    print(format_table(rows, list(rows[0])))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for tokens, colour in ((1, "tab:blue"), (128, "tab:orange")):
        for shape in sorted({row["matrix"] for row in kernels["rows"]}):
            points = [r for r in kernels["rows"] if r["matrix"] == shape and r["tokens"] == tokens]
            ax.plot([r["sparsity"] for r in points], [r["speedup"] for r in points],
                    marker="o", color=colour, alpha=0.6,
                    label=f"{tokens} token{'s' if tokens > 1 else ''}" if shape.startswith("attn.c_attn") else None)  # fmt: skip
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("sparsity")
    ax.set_ylabel("speed-up of CSR over dense")
    ax.legend(title="one line per matrix shape")
    fig.savefig(experiment.figure_path("10_break_even"), dpi=120, bbox_inches="tight")
    plt.show()

# %%
if benchmarks is not None:
    structured_rows = [
        {
            "MLP neurons removed": plans.percent(row["mlp_neurons_removed"]),
            "blocks ms": f"{row['blocks_ms']:.1f}",
            "speed-up": f"{row['speedup']:.2f}",
            "multiply-add ratio": f"{row['mac_ratio']:.2f}",
            "file MB": f"{row['file_mb']:.1f}",
        }
        for row in benchmarks["structured"]["rows"]
    ]
    print("gpt2-small-sized model, transformer blocks on a 128-token prompt")
    print(format_table(structured_rows, list(structured_rows[0])))
    for sentence in answer.structured_checks(benchmarks):
        print("-", sentence)
    gpu = benchmarks["gpu_semi_structured"]
    if gpu is None:
        print("- 2:4 on a GPU: not measured yet (benchmarks/gpu_semi_structured.py needs CUDA)")
    else:
        print(f"- 2:4 on {gpu['device']}: end-to-end speed-up {gpu['end_to_end']['speedup']:.2f}x")

# %% [markdown]
# Removing neurons shrinks the matrices, so a dense kernel does less work; the sentences
# above compare the measured speed-up with the multiply-add ratio. Unstructured zeros pay
# off only in a sparse kernel, and only far beyond the paper's 0.5. A 2:4 pattern has GPU
# kernels (`torch.sparse.to_sparse_semi_structured`, CUDA only); **on a CPU a 2:4 mask is
# only a mask**. `benchmarks/gpu_semi_structured.py` measures it on a GPU.
#
# ## Quality at equal size (the equal-size study's runs)

# %%
from pruning_lib.study import equal_size

matched = plans.matched_fraction(experiment.settings)
study = equal_size.collect(experiment, sweeps)
print(f"toy model, seeds {study['seeds']}; removing {plans.percent(matched)} of the MLP neurons "
      "removes what unstructured 0.5 removes")  # fmt: skip

# %% [markdown]
# ## The answer table
#
# Speed and size: gpt2-small-sized model, one CPU thread; for CSR kernels the speed-up of
# the matmuls alone, one-token decoding / 128-token prompt, over the four matrix shapes;
# for removed neurons the transformer blocks on a 128-token prompt. Quality: our toy model,
# change of the mean QA score after fine-tuning from the dense model *fine-tuned as long*
# (the control: against the untrained dense model, the extra training would pass for
# recovery), mean over the equal-size study's seeds (`equal_size_seeds`, 0 to 2: three of
# 07's four, so 07's numbers at four seeds differ a little) ± 95% interval (paired by seed
# and item by item; "not measured" where the study has no such run). The last rows are
# notebook 11's: the kept weights refitted after the mask (reconstruction) or fine-tuned
# toward the dense model's logits (distillation), and whole transformer blocks removed
# (timed on gpt2-small with the same share of its blocks removed,
# `benchmarks/bench_blocks.py`).

# %%
if benchmarks is not None:
    after_study = equal_size.collect(experiment, after_sweeps)
    share = removed_blocks / experiment.fresh_model().config.num_hidden_layers
    table = answer.answer_rows(benchmarks, study, matched)
    table += answer.after_rows(benchmarks, after_study, share)
    print(
        format_table(table, ["pruning", "CPU speed", "file (gpt2-small)", "mean QA change (toy)"])
    )
    print()
    for target in (1.5, 2.0):
        print("-", answer.advice(table, target))
    saved = experiment.save_result("10_efficiency_answer", {"rows": table})

# %% [markdown]
# ## Summary
#
# - Zeros in a dense matrix cost as much as any other number: a dense kernel does the same
#   multiply-adds for the masked matrix (the timing above compares them on this machine;
#   notebook 08 times the whole masked model), and its standard file is as large as the
#   dense one (gzip finds the zeros).
# - Sparse kernels skip the zeros but pay for indices: on the benchmark's CPU (one thread)
#   they break even only around 0.9 to 0.95 sparsity for decoding (the table above), where
#   the answer table shows what the toy model's quality has become by then.
# - Whole neurons removed give a smaller dense model, faster in proportion to its
#   multiply-adds (the checks above); the answer table puts what that costs in quality on
#   our toy model next to unstructured pruning of the same size.
#
# ## Exercises
#
# 1. From the CSR byte count above, at which sparsity does a CSR matrix take as many bytes
#    as the dense one? Solve it for any matrix and any value and index sizes (int32
#    indices: 4 bytes; the row pointers count too); the check builds torch CSR tensors at
#    your sparsity.
#
# ```python
# def csr_breakeven(rows, cols, value_bytes, index_bytes):
#     ...  # your code: the sparsity at which CSR takes the dense bytes
#
# from pruning_lib.study.exercises import check_csr_breakeven
# check_csr_breakeven(csr_breakeven)
# ```
#
# 2. Count the multiply-adds of one GPT-2 block on T tokens with width d and MLP width m
#    (q, k, v, output projections: 4Td²; attention: 2T²d; MLP: 2Tdm); the check counts them
#    with torch's FLOP counter. Then check the ratio in the structured table for 50% of the
#    neurons removed: `block_macs(128, 768, 3072) / block_macs(128, 768, 1536)` against
#    `benchmarks["structured"]["rows"][2]["mac_ratio"]`.
#
# ```python
# def block_macs(T, d, m):
#     ...  # your code: the multiply-adds of one block
#
# from pruning_lib.study.exercises import check_block_macs
# check_block_macs(block_macs)
# ```
