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
# # 08 · Does pruning make the model more efficient?
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/pruning-lib/pruning-lib/HEAD?urlpath=lab/tree/notebooks/08_efficiency.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/pruning-lib/pruning-lib/blob/main/notebooks/08_efficiency.ipynb)
#
# The paper's question, answered with measurements rather than parameter counts. In this
# notebook you will:
#
# 1. count total, prunable and non-zero parameters;
# 2. measure bytes on disk: the standard dense file, and a lossless sparse encoding;
# 3. measure forward latency of the dense and the pruned model;
# 4. draw the honest conclusion.
#
# **How long it takes.** About 12 s: it computes no runs of its own (it prunes the baseline
# here, and times it). Another seed, or a changed training parameter, first trains a
# baseline that is not committed (those of seeds 0 to 3 are): about eight minutes on one CPU
# thread.

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
efficiency_sparsity = 0.5
latency_tokens = 128  # tokens per forward pass
latency_repeats = 20

# %% tags=["nbval-ignore-output"]
# Names the machine and device.
# %matplotlib inline
import matplotlib.pyplot as plt

from pruning_lib.study.notebook import format_table, start

experiment = start(globals())

# %%
from pruning_lib.efficiency import parameter_counts, size_report
from pruning_lib.prune import Pruner

dense_model = experiment.fresh_model()
pruned_model = experiment.fresh_model()
Pruner(pruned_model).prune(efficiency_sparsity)
rows = []
for label, m in (("dense", dense_model), (f"pruned {efficiency_sparsity}", pruned_model)):
    counts, sizes = parameter_counts(m), size_report(m)
    rows.append(
        {
            "model": label,
            "total": counts["total"],
            "non-zero": counts["nonzero"],
            "prunable non-zero": counts["prunable_nonzero"],
            "prunable MB dense": sizes["prunable_dense_bytes"] / 1e6,
            "prunable MB sparse": sizes["prunable_sparse_bytes"] / 1e6,
        }
    )
print(format_table(rows, list(rows[0])))

# %% [markdown]
# ## Bytes on disk

# %%
import gzip
import tempfile
from pathlib import Path

import torch

from pruning_lib.efficiency import load_sparse, save_sparse

with tempfile.TemporaryDirectory() as tmp:
    pruned_model.save_pretrained(Path(tmp) / "dense", safe_serialization=True)
    dense_path = Path(tmp) / "dense" / "model.safetensors"
    dense_file = dense_path.stat().st_size
    # gzip finds the zeros too: a general-purpose compressor is the baseline to beat.
    gzip_file = len(gzip.compress(dense_path.read_bytes(), compresslevel=6, mtime=0))
    sparse_file = save_sparse(pruned_model, Path(tmp) / "sparse.safetensors").stat().st_size
    restored = load_sparse(Path(tmp) / "sparse.safetensors")
exact = all(
    torch.equal(restored[k], v) for k, v in pruned_model.state_dict().items() if k in restored
)
print(f"pruned model, standard safetensors: {dense_file / 1e6:.2f} MB")
print(
    f"pruned model, safetensors + gzip:   {gzip_file / 1e6:.2f} MB ({gzip_file / dense_file:.2f}x)"
)
print(
    f"pruned model, bitmask + values:     {sparse_file / 1e6:.2f} MB ({sparse_file / dense_file:.2f}x)"
)
print("sparse file restores the weights exactly:", exact)

# %% [markdown]
# ## Latency
#
# Timings depend on the machine; this cell is not checked.

# %% tags=["nbval-ignore-output"]
# Timings.
from pruning_lib.efficiency import measure_latency

ids = torch.randint(0, len(experiment.tokenizer), (1, min(latency_tokens, experiment.block_size)))
dense_time = measure_latency(dense_model, ids, latency_repeats)["median_s"]
pruned_time = measure_latency(pruned_model, ids, latency_repeats)["median_s"]
print(
    f"dense {dense_time * 1e3:.2f} ms, pruned {pruned_time * 1e3:.2f} ms, "
    f"ratio {pruned_time / dense_time:.2f}"
)
fig, ax = plt.subplots(figsize=(4, 3))
ax.bar(["dense", f"pruned {efficiency_sparsity}"], [dense_time * 1e3, pruned_time * 1e3])
ax.set_ylabel("forward pass (ms)")
fig.savefig(experiment.figure_path("08_latency"), dpi=120, bbox_inches="tight")
plt.show()
saved = experiment.save_result(
    "08_efficiency",
    {
        "sizes": rows,
        "dense_file": dense_file,
        "gzip_file": gzip_file,
        "sparse_file": sparse_file,
        "dense_latency_s": dense_time,
        "pruned_latency_s": pruned_time,
    },
)

# %% [markdown]
# ## The honest conclusion
#
# Printed from the numbers above, except speed (timings are not checked).

# %%
dense_row, pruned_row = rows
print(f"- parameters: at pr = {efficiency_sparsity}, {pruned_row['prunable non-zero']:,} of "
      f"{dense_row['prunable non-zero']:,} prunable weights stay non-zero; the whole model keeps "
      f"{pruned_row['non-zero']:,} of {pruned_row['total']:,} (embeddings and norms stay dense). "
      f"The paper's nparams would say (1 - pr) x all = "
      f"{round((1 - efficiency_sparsity) * pruned_row['total']):,}.")  # fmt: skip
print(f"- disk: the standard file stores the zeros ({dense_file / 1e6:.2f} MB); gzip of it gives "
      f"{gzip_file / dense_file:.2f}x, the bitmask + values encoding "
      f"{sparse_file / dense_file:.2f}x.")  # fmt: skip

# %% [markdown]
# - **Speed:** dense kernels multiply the zeros too, so a masked model does the same work.
#   Sparse kernels (`torch.sparse` CSR) skip the zeros but pay for indexing; on one CPU
#   thread they break even only at high sparsity (measured in `benchmarks/README.md`: about
#   0.9 to 0.95 for one-token decoding, 0.7 to 0.9 for a 128-token prompt, on a
#   gpt2-small-sized model). Removing whole MLP neurons (structured pruning) shrinks the
#   matrices themselves: the blocks ran 1.2x, 1.5x, 2.0x and 2.2x faster with 25%, 50%, 75%
#   and 87.5% of the neurons removed (`10_efficiency_answer` reads them back). A 2:4 pattern is only a mask on a CPU and
#   needs a GPU's semi-structured kernels to gain.
#
# ## Exercises
#
# 1. Write the bitmask encoding's size by hand: one bit per weight (in whole bytes, per
#    matrix) plus `element_size` bytes per non-zero (4 for fp32). Summed over
#    `Pruner(pruned_model).weights`, it gives `size_report(pruned_model)["prunable_sparse_bytes"]`.
#
# ```python
# def bitmask_bytes(numel, nonzero, element_size):
#     ...  # your code: the bytes of one matrix encoded
#
# from pruning_lib.study.exercises import check_bitmask_bytes
# check_bitmask_bytes(bitmask_bytes)
# ```
#
# 2. At which sparsity would the bitmask + fp32 values encoding be half the dense bytes?
#    Solve 1/32 + (1 − s) = 1/2 by hand, for any share and bits per value; the check
#    prunes a tensor to your sparsity and reads `size_report`.
#
# ```python
# def sparsity_for_size(ratio, bits):
#     ...  # your code: the sparsity at which the encoding takes `ratio` of the dense bytes
#
# from pruning_lib.study.exercises import check_sparsity_for_size
# check_sparsity_for_size(sparsity_for_size)
# ```
#
# 3. Measure `latency_tokens = 16` and `128` (the toy model's context is 128 tokens: a
#    larger value is cut to it): does the ratio change? What a dense kernel does: count the
#    multiply-adds of the prunable matrices on T tokens, zeros included (the check counts
#    them with torch's FLOP counter on matrices with zeros), then their ratio pruned /
#    dense at 16 and at 128 tokens.
#
# ```python
# def matmul_macs(shapes, tokens):
#     ...  # your code: the multiply-adds of x @ W.T for every (out, in) shape
#
# from pruning_lib.study.exercises import check_matmul_macs
# check_matmul_macs(matmul_macs)
# ```
