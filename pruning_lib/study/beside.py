"""A notebook's runs on the second core: a helper process that works from the other end.

Every process here uses one torch thread (two threads on a shared core run several times
slower), so a notebook alone leaves the second core idle. :func:`beside` starts a helper
process that runs the notebook's cached experiments from the *last* to the first, while
the notebook runs them from the first: the two meet in the middle, a run that one of them
has claimed the other waits for (``files.compute_once``), and every result is the same
whichever process computed it (each run seeds itself). ``reproduce`` and ``make test``
already use the second core for the other seeds' runs: they set ``PRUNING_LIB_WORKERS=1``,
and no helper starts.

A call is ``(method, keyword arguments)``, or ``(method, keyword arguments, seed)`` for a
run of the same experiment trained with another seed (``results.with_seed``: notebook 07's
main sweep and 09's equal-size study at every seed). Example, in a notebook (it needs a
trained baseline, so it is not a doctest; see ``tests/test_beside.py`` and notebooks 03 and
05)::

    calls = [("l1", {"lam": lam, "sparsity": 0.5, "l1_steps": 75}) for lam in (0.0, 1e-4)]
    helper = beside(experiment, calls)
    runs = [experiment.l1(**args) for _, args in calls]
    finish(helper)
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import threading
import warnings
from typing import Any

WORKERS_ENV = "PRUNING_LIB_WORKERS"
# Experiment methods a helper may run (their arguments travel as JSON), and one step of
# 09's equal-size study (``equal_size.run_step``).
ALLOWED = ("l1", "layer_alone", "oneshot", "iterative", "threshold", "control", "dense")
EQUAL_SIZE_STEP = "equal_size_step"
# (method, keyword arguments) or (method, keyword arguments, training seed)
Call = tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], int]
_running: list[subprocess.Popen] = []  # helpers of this process that may still run


def workers() -> int:
    """How many processes a notebook may use: ``PRUNING_LIB_WORKERS`` (default 2)."""
    text = os.environ.get(WORKERS_ENV, "2")
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{WORKERS_ENV}={text!r} must be a whole number >= 1")
    return int(text)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def beside(experiment, calls: list[Call]) -> subprocess.Popen | None:
    """Start the helper on ``calls`` (``(method of Experiment, keyword arguments[, seed])``,
    in the order the notebook will run them), or return None where it would not help: one worker
    allowed, too few cores for two processes of ``threads`` threads each, a GPU (one
    device, already busy), or fewer than two calls. A helper still running from an earlier
    call (an interrupted cell) is stopped first, so that at most one runs."""
    for call in calls:
        if len(call) not in (2, 3):
            raise ValueError(f"calls: {call!r} must be (method, kwargs) or (method, kwargs, seed)")
        if call[0] not in (*ALLOWED, EQUAL_SIZE_STEP):
            allowed = [*ALLOWED, EQUAL_SIZE_STEP]
            raise ValueError(f"calls: {call[0]!r} is not allowed; allowed: {allowed}")
        if len(call) == 3 and (isinstance(call[2], bool) or not isinstance(call[2], int)):
            raise ValueError(f"calls: the seed of {call[0]!r} must be an int, not {call[2]!r}")
    stop()
    threads = experiment.settings.threads or 1
    if workers() < 2 or 2 * threads > _cores():
        return None
    if experiment.device.type != "cpu" or len(calls) < 2:
        return None
    payload = {
        "settings": dataclasses.asdict(experiment.settings),
        "calls": calls,
        "parent": os.getpid(),  # the helper stops when its notebook is gone
    }
    log = experiment.cache / f"beside-{os.getpid()}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as stream:  # the child keeps its own handle
        process = subprocess.Popen(
            [sys.executable, "-m", "pruning_lib.study.beside"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stream,
            env={**os.environ, WORKERS_ENV: "1", "OMP_NUM_THREADS": str(threads)},
            text=True,
        )
    process.stdin.write(json.dumps(payload))
    process.stdin.close()
    process.log = log  # type: ignore[attr-defined]
    # Reap it as soon as it ends: a killed helper must not stay a zombie whose pid would
    # still hold its claim on a cached run (files.compute_once) for ever.
    threading.Thread(target=process.wait, daemon=True).start()
    _running.append(process)
    return process


def finish(process: subprocess.Popen | None) -> None:
    """Wait for the helper (it has nothing left once the notebook has every result). Its
    failure only costs time, since the notebook computed whatever it left: a warning, with
    the end of its log."""
    if process is None:
        return
    if process.wait() != 0:
        tail = process.log.read_text()[-2000:]  # type: ignore[attr-defined]
        warnings.warn(
            f"the helper process failed (exit {process.returncode}); this process ran its "
            f"share instead. Its log ends:\n{tail}",
            RuntimeWarning,
            stacklevel=2,
        )
    if process in _running:
        _running.remove(process)


@contextlib.contextmanager
def helping(experiment, calls: list[Call]):
    """``beside`` for the length of a ``with`` block: the helper is waited for at its end
    (:func:`finish`), and stopped at once if the block fails (nothing is left to share).

    Example (not a doctest: it needs a trained baseline)::

        with helping(experiment, calls):
            runs = [getattr(experiment, name)(**kwargs) for name, kwargs in calls]
    """
    process = beside(experiment, calls)
    try:
        yield process
    except BaseException:
        stop()
        raise
    finish(process)


@atexit.register
def stop() -> None:
    """Stop every helper of this process that still runs (an interrupted notebook)."""
    while _running:
        process = _running.pop()
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def run_calls(experiment, calls: list[Call], parent: int | None = None) -> int:
    """Run ``calls`` on ``experiment`` (or on the same experiment trained with a call's seed)
    in the order given; stop early if ``parent`` (a pid) is no longer our parent process (a
    notebook whose kernel was killed). Returns the number of calls run."""
    from .equal_size import run_step
    from .results import with_seed

    seeded: dict[int, Any] = {}  # one experiment a seed: its baseline loads once
    done = 0
    for name, kwargs, *seed in calls:
        if parent is not None and os.getppid() != parent:
            break
        target = experiment
        if seed:
            if seed[0] not in seeded:
                seeded[seed[0]] = with_seed(experiment, seed[0])
            target = seeded[seed[0]]
        if name == EQUAL_SIZE_STEP:
            run_step(target, **kwargs)
        else:
            getattr(target, name)(**kwargs)
        done += 1
    return done


def main() -> int:
    """Read the settings and calls from stdin and run the calls from the last."""
    from ..config import from_dict
    from .experiment import Experiment
    from .parameters import Settings

    payload = json.loads(sys.stdin.read())
    experiment = Experiment(from_dict(Settings, payload["settings"]), progress=False)
    run_calls(experiment, list(reversed(payload["calls"])), payload.get("parent"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
