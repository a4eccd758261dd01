"""The paper's question answered with measurements: speed, size and quality side by side.

Notebook 10 builds its table here. Speed and size come from the benchmarks measured on a
gpt2-small-sized model on one CPU thread (``reference/benchmarks/*.json``, written by
``benchmarks/bench_sparse_kernels.py`` and ``benchmarks/bench_structured.py``, and shipped
with the package so that a pip install reads them too); quality comes from the equal-size
study (``equal_size``: the toy model, several seeds, fine-tuned): the change of the mean
QA score from the dense model, paired by seed, with its 95% half-width.

Example:
    >>> kernels = {"rows": [
    ...     {"sparsity": 0.9, "tokens": 1, "speedup": 0.7},
    ...     {"sparsity": 0.9, "tokens": 1, "speedup": 0.8}]}
    >>> speedup_range(kernels, 0.9, 1)
    (0.7, 0.8)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .equal_size import reference
from .plans import percent, structured_label
from .records import QA_TASKS, mean_fall, mean_record
from .uncertainty import change_interval

MEASURED = Path(__file__).resolve().parent / "reference" / "benchmarks"
BENCHMARK_FILES = ("sparse_kernels", "structured")  # needed; gpu_semi_structured if measured
OPTIONAL_FILES = ("gpu_semi_structured", "blocks")  # shown where measured
BAR = 0.85  # the structured speed-up must reach this share of the multiply-add ratio


def load_benchmarks(folder: str | Path | None = None) -> dict[str, Any] | None:
    """The measured figures (``{"sparse_kernels": ..., "structured": ...}``, and
    ``"gpu_semi_structured"`` once it has been measured on a GPU), or None when a needed file
    is missing."""
    folder = Path(folder) if folder is not None else MEASURED
    paths = {name: folder / f"{name}.json" for name in BENCHMARK_FILES}
    if not all(path.is_file() for path in paths.values()):
        return None
    figures = {name: json.loads(path.read_text()) for name, path in paths.items()}
    for name in OPTIONAL_FILES:
        path = folder / f"{name}.json"
        figures[name] = json.loads(path.read_text()) if path.is_file() else None
    return figures


def speedup_range(kernels: dict[str, Any], sparsity: float, tokens: int) -> tuple[float, float]:
    """The lowest and highest CSR-over-dense speed-up among the matrix shapes measured at
    ``sparsity`` for ``tokens`` tokens."""
    values = [
        row["speedup"]
        for row in kernels["rows"]
        if abs(row["sparsity"] - sparsity) < 1e-9 and row["tokens"] == tokens
    ]
    if not values:
        raise ValueError(f"no sparse-kernel measurement at sparsity={sparsity}, tokens={tokens}")
    return min(values), max(values)


def csr_size_factor(sparsity: float) -> float:
    """Bytes of a CSR matrix over its dense bytes, for large matrices: each kept weight
    costs 4 bytes of float32 value and 8 of int64 column index, against 4 dense (the row
    pointers, one per row, are left out).

    Example:
        >>> csr_size_factor(0.5), round(csr_size_factor(0.95), 2)
        (1.5, 0.15)
    """
    return (4 + 8) * (1 - sparsity) / 4


def quality_change(study: dict[str, Any], variant: str, sparsity: float) -> tuple[float, float]:
    """The variant's mean QA minus its reference's (a fine-tuned variant: the dense model
    fine-tuned as long, ``equal_size.reference``), paired by seed: (change, half-width)."""
    base = reference(variant)[0]
    fall, noise = mean_fall(study["records"], base, variant, sparsity, QA_TASKS)
    return -fall, noise


def _row(study, pruning, speed, speedup, file, variant, sparsity, whole_model) -> dict[str, Any]:
    """One row of the answer table; the quality column is the variant's mean QA change from
    its reference (``equal_size.reference``), kept where a change can go."""
    change = noise = None
    if variant == "dense":
        change, shown = 0.0, "0 (the reference: dense, fine-tuned as long)"
    elif (variant, sparsity) in study["sizes"]:
        change, noise = quality_change(study, variant, sparsity)
        base = mean_record(study["records"], reference(variant)[0], 0.0, QA_TASKS)["mean"]
        shown = f"{change:+.3f} ± {noise:.3f}"
        if change - noise < -base or change + noise > 1.0 - base:  # kept where it can go
            low, high = change_interval(change, noise, base)
            shown = f"{change:+.3f} [{low:+.3f}, {high:+.3f}]"
    else:
        shown = "not measured"
    return {
        "pruning": pruning,
        "CPU speed": speed,
        "file (gpt2-small)": file,
        "mean QA change (toy)": shown,
        "speedup": speedup,
        "change": change,
        "whole_model": whole_model,
    }


def answer_rows(
    benchmarks: dict[str, Any], study: dict[str, Any], matched_fraction: float
) -> list[dict[str, Any]]:
    """One row per way of pruning: the measured CPU speed-up (and what was timed), the file
    of the gpt2-small-sized model, and the toy model's quality change after fine-tuning.
    ``speedup`` and ``change`` hold the numbers (``change`` None where quality was not
    measured); ``whole_model`` marks rows whose speed is
    a whole forward pass of the blocks (a matmul alone is not a model)."""
    kernels = benchmarks["sparse_kernels"]
    sizes = benchmarks["structured"]["file_mb"]

    def row(pruning, speed, speedup, file, variant, sparsity, whole_model=False):
        return _row(study, pruning, speed, speedup, file, variant, sparsity, whole_model)

    rows = [  # the quality column: each fine-tuned variant against the control
        row("none (dense)", "1.00x", 1.0, f"{sizes['dense']:.1f} MB", "dense", 0.0, True),
        row(
            "unstructured 0.5, masked",
            "as dense (same matmuls; not timed)",
            1.0,
            f"{sizes['unstructured_50_dense_file']:.1f} MB "
            f"(gzip {sizes['unstructured_50_dense_file_gzip']:.1f})",
            "magnitude unstructured fine-tuned",
            0.5,
        ),
    ]
    for sparsity in sorted({r["sparsity"] for r in kernels["rows"]}):
        one = speedup_range(kernels, sparsity, 1)
        prompt = speedup_range(kernels, sparsity, 128)
        rows.append(
            row(
                f"unstructured {sparsity:g}, CSR kernels",
                f"{one[0]:.2f}-{one[1]:.2f}x / {prompt[0]:.2f}-{prompt[1]:.2f}x (matmuls)",
                one[0],
                f"x{csr_size_factor(sparsity):.2f} of the matrices",
                "magnitude unstructured fine-tuned",
                sparsity,
            )
        )
    gpu = benchmarks.get("gpu_semi_structured")
    gpu_speedup = gpu["end_to_end"]["speedup"] if gpu else 0.0
    gpu_speed = f"{gpu_speedup:.2f}x on {gpu['device']}" if gpu else "not run"
    rows.append(row("2:4 on a CPU", "as dense (a mask only; not timed)", 1.0, "as dense",
                    "magnitude 2:4 fine-tuned", 0.5))  # fmt: skip
    rows.append(row("2:4 on a GPU", gpu_speed, gpu_speedup, "as dense", "magnitude 2:4 fine-tuned",
                    0.5))  # fmt: skip
    for measured, variant, matched in _timed_neurons(benchmarks, matched_fraction):
        label = f"{percent(measured['mlp_neurons_removed'])} of MLP neurons removed"
        sparsity = 0.5 if matched else _structured_sparsity(study, variant)
        rows.append(
            row(
                label + (" (size of 0.5)" if matched else ""),
                f"{measured['speedup']:.2f}x (blocks)",
                measured["speedup"],
                f"{measured['file_mb']:.1f} MB",
                variant,
                sparsity,
                whole_model=True,
            )
        )
    return rows


def after_rows(
    benchmarks: dict[str, Any], study: dict[str, Any], share: float
) -> list[dict[str, Any]]:
    """Notebook 11's ways beside the others (its study at the equal-size seeds): refitted
    and distilled unstructured 0.5 (masks: as dense on a CPU), and whole blocks removed
    (``share`` of them; speed from ``benchmarks/bench_blocks.py``: as many twelfths of
    gpt2-small's blocks, where measured)."""
    sizes = benchmarks["structured"]["file_mb"]
    masked = f"{sizes['unstructured_50_dense_file']:.1f} MB"
    rows = []
    ways = (
        ("unstructured 0.5, reconstructed, masked", "reconstruction, fine-tuned"),
        ("unstructured 0.5, distilled, masked", "distilled, fine-tuned"),
    )
    for label, variant in ways:
        speed = "as dense (same matmuls; not timed)"
        rows.append(_row(study, label, speed, 1.0, masked, variant, 0.5, False))
    blocks = benchmarks.get("blocks")
    timed = None
    if blocks:
        layers = blocks["rows"][0]["blocks_kept"]
        same = [r for r in blocks["rows"] if abs(r["blocks_removed"] / layers - share) < 1e-9]
        timed = same[0] if same else None
    speed = f"{timed['speedup']:.2f}x (blocks)" if timed else "not measured"
    file = f"{timed['file_mb']:.1f} MB" if timed else "not measured"
    speedup = timed["speedup"] if timed else 0.0
    variant = "blocks removed, fine-tuned"
    rows.append(_row(study, f"{percent(share)} of blocks removed", speed, speedup, file, variant,
                     share, bool(timed)))  # fmt: skip
    return rows


def _timed_neurons(benchmarks: dict[str, Any], matched_fraction: float):
    """Each timed removal of MLP neurons: (its benchmark row, the study variant that gives
    its quality, fine-tuned, and whether it is the one matched to unstructured 0.5)."""
    for measured in benchmarks["structured"]["rows"]:
        fraction = measured["mlp_neurons_removed"]
        if fraction:
            matched = abs(fraction - matched_fraction) < 0.01
            variant = structured_label(matched_fraction if matched else fraction, True)
            yield measured, variant, matched


def _structured_sparsity(study: dict[str, Any], variant: str) -> float:
    """The sparsity key of a structured variant in the study (any value if it is absent)."""
    return next((s for v, s in study["sizes"] if v == variant), math.nan)


def structured_checks(benchmarks: dict[str, Any]) -> list[str]:
    """One sentence per measured fraction: does the speed-up reach ``BAR`` of the ratio?"""
    out = []
    for measured in benchmarks["structured"]["rows"]:
        if measured["mlp_neurons_removed"]:
            share = measured["speedup"] / measured["mac_ratio"]
            verdict = "meets" if share >= BAR else "misses"
            out.append(
                f"{percent(measured['mlp_neurons_removed'])} removed: speed-up "
                f"{measured['speedup']:.2f}x is {share:.2f} of the multiply-add ratio "
                f"{measured['mac_ratio']:.2f}x ({verdict} the {BAR} bar)"
            )
    return out


def advice(rows: list[dict[str, Any]], target: float) -> str:
    """Among the rows whose whole-model speed-up reaches ``target``, the one with the
    smallest measured quality loss (the largest change; unmeasured quality last), printed so
    that it follows the numbers."""
    timed = [r for r in rows if r.get("whole_model")]
    fast = [r for r in timed if r["speedup"] >= target]
    if not fast:
        best = max(timed, key=lambda r: r["speedup"])
        return (
            f"for a {target:g}x faster model on the benchmark's CPU, no measured whole-model "
            f"way of pruning is enough; the fastest is {best['pruning']} at {best['speedup']:.2f}x"
        )

    choice = max(fast, key=lambda r: (r["change"] is not None, r["change"] or 0.0))
    return (
        f"for a {target:g}x faster model on the benchmark's CPU: {choice['pruning']} "
        f"({choice['speedup']:.2f}x measured on a gpt2-small-sized model); expect a mean QA "
        f"change of {choice['mean QA change (toy)']} (our toy model, after fine-tuning, against "
        "the dense model fine-tuned as long)"
    )
