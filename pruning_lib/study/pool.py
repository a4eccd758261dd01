"""Compute a plan's runs on every usable core: one standard process pool.

:func:`compute` returns the results of a plan (see :mod:`~pruning_lib.study.plans`) in its
shape. The runs not cached yet are computed first: the baselines that must be trained, then
the runs, longest first (``Run.cost``), on a :class:`~concurrent.futures.ProcessPoolExecutor`
of ``usable cores // threads`` workers, each with the profile's torch threads (one in the
tutorial: on a shared core, two threads run several times slower, one keeps its speed).
Workers are started with ``spawn`` (a notebook's kernel forks badly). Each run seeds
itself, so a result is the same whichever worker computes it, and with one worker the same
runs are computed here, in the same order (``PRUNING_LIB_WORKERS=1``). A GPU is one
device: one worker.

Every result is written to its own file, atomically (``files.write_json``): nothing is
shared between workers but finished files.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Any

from tqdm import tqdm

from ..config import from_dict
from .experiment import Experiment
from .parameters import Settings
from .plans import runs_in
from .runs import Run

WORKERS_ENV = "PRUNING_LIB_WORKERS"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def workers(settings: Settings) -> int:
    """``PRUNING_LIB_WORKERS`` if set, else one on a GPU, else usable cores // threads."""
    text = os.environ.get(WORKERS_ENV)
    if text is not None:
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"{WORKERS_ENV}={text!r} must be a whole number >= 1")
        return int(text)
    if settings.device == "cuda" or (settings.device == "auto" and _has_gpu()):
        return 1
    return max(1, usable_cores() // settings.threads)


def _has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def compute(experiment: Experiment, plan, workers_: int | None = None):
    """The results of ``plan`` (a run, or a dict or list of them, nested) in its shape.

    Runs not cached yet are computed first, on ``workers_`` processes (default
    :func:`workers`). A failed run stops the others and raises its error; what was done is
    cached.
    """
    fill(experiment, plan, workers_)
    return _results(experiment, plan)


def fill(experiment: Experiment, plan, workers_: int | None = None, use_shipped=True) -> int:
    """Compute the runs of ``plan`` that are not cached yet (see :func:`compute`), without
    reading any result back; returns how many were computed. With ``use_shipped``, a run
    shipped with the package (:mod:`~pruning_lib.study.shipped`) is read from there
    instead, and the notebook says how many were."""
    from . import shipped

    missing = [run for run in runs_in(plan) if not experiment.path(run).is_file()]
    if missing and use_shipped:
        copied = shipped.restore(experiment, missing)
        if copied:
            print(
                f"{copied} of this notebook's runs read from the runs shipped with pruning-lib "
                f"(computed by `make reproduce`); {len(missing) - copied} to compute here"
            )
            missing = [run for run in missing if not experiment.path(run).is_file()]
    if missing:
        _fill(experiment, missing, workers(experiment.settings) if workers_ is None else workers_)
    return len(missing)


def _results(experiment: Experiment, plan):
    if isinstance(plan, Run):
        return experiment.result(plan)
    if isinstance(plan, dict):
        return {key: _results(experiment, value) for key, value in plan.items()}
    return [_results(experiment, value) for value in plan]


def _fill(experiment: Experiment, missing: list[Run], count: int) -> None:
    """Train the missing baselines, then compute ``missing``, longest first."""
    seeds = sorted({run.seed for run in missing})
    untrained = [seed for seed in seeds if experiment.at(seed).needs_training()]
    ordered = sorted(missing, key=lambda run: -run.cost)  # stable: plan order among equals
    bar = tqdm(
        total=len(untrained) + len(ordered),
        desc="runs",
        unit="run",
        disable=not experiment.progress,
    )
    with bar:
        if count <= 1 or len(untrained) + len(ordered) <= 1:
            for seed in untrained:
                experiment.at(seed).baseline()
                bar.update()
            for run in ordered:
                experiment.result(run)
                bar.update()
            return
        settings = dataclasses.asdict(experiment.settings)
        with ProcessPoolExecutor(
            count,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(experiment.settings.threads,),
        ) as pool:
            # Every run needs its seed's baseline: they are trained before any run starts.
            _all(pool, [pool.submit(_train, settings, seed) for seed in untrained], bar)
            _all(pool, [pool.submit(_compute, settings, run) for run in ordered], bar)


def _all(pool: ProcessPoolExecutor, futures: list, bar: tqdm) -> None:
    """Wait for every future, advancing ``bar``; the first failure cancels the rest."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, return_when=FIRST_EXCEPTION)
        bar.update(len(done))
        for future in done:
            if future.exception() is not None:
                for other in pending:
                    other.cancel()
                raise future.exception()


# -- in a worker ---------------------------------------------------------------------------
_experiments: dict[str, Experiment] = {}  # one per settings: each loads its baseline once


def _start_worker(threads: int) -> None:
    import torch
    import transformers

    torch.set_num_threads(threads)
    transformers.logging.set_verbosity_error()  # a worker's output is its result file
    transformers.logging.disable_progress_bar()


def _experiment(settings: dict[str, Any]) -> Experiment:
    key = repr(sorted(settings.items()))
    if key not in _experiments:
        _experiments[key] = Experiment(from_dict(Settings, settings), progress=False)
    return _experiments[key]


def _train(settings: dict[str, Any], seed: int) -> None:
    _experiment(settings).at(seed).baseline()


def _compute(settings: dict[str, Any], run: Run) -> None:
    _experiment(settings).result(run)
