"""The tutorial profile's runs, shipped with the package, so that any notebook opens in
minutes on Binder or Colab.

Every run of the tutorial profile's notebooks (``pruning-lib compute params/tutorial.yaml``)
is stored in ``reference/tutorial_runs.json``, one run per line, keyed by its cache key
(``Run.key``: the run and every setting that shapes it). A notebook that finds a run neither
in its cache nor computed reads it from there (:func:`restore`, called by ``pool.fill``):
alone on a fresh machine, notebook 07 then needs no baseline trained and no run computed.
A key holds its settings, so another profile, seed or parameter never reads a shipped run.

They can never go stale: ``pruning-lib compute`` and ``pruning-lib reproduce`` (so ``make
test`` and ``make reproduce``) compute every run from the baselines, never read these, and
then :func:`check` them against the computed ones (equal as JSON, float for float); a
difference, or a run of the tutorial profile that is not shipped, stops with an error that
says how to refresh them (``make ship-runs``, after a change that is meant).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from .files import write_json
from .runs import Run

SHIPPED = Path(__file__).resolve().parent / "reference" / "tutorial_runs.json"


@lru_cache(maxsize=1)
def _load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    return json.loads(path.read_text())


def shipped(path: Path = SHIPPED) -> dict[str, Any]:
    """The shipped results, by cache key (empty where the file is absent)."""
    return _load(path)


def restore(experiment, runs: list[Run], path: Path = SHIPPED) -> int:
    """Copy into ``experiment``'s cache each of ``runs`` that is shipped and not cached yet;
    returns how many were copied."""
    found = shipped(path)
    copied = 0
    for run in runs:
        key, target = run.key(experiment.settings), experiment.path(run)
        if key in found and not target.is_file():
            write_json(target, found[key])
            copied += 1
    return copied


def check(experiment, runs: list[Run], path: Path = SHIPPED) -> None:
    """Raise ValueError unless every cached result of ``runs`` that is shipped equals the
    shipped one, and (for the tutorial profile) every run is shipped."""
    found = shipped(path)
    differ, absent = [], []
    for run in runs:
        key = run.key(experiment.settings)
        if key not in found:
            absent.append(run)
        elif json.loads(experiment.path(run).read_text()) != found[key]:
            differ.append(run)
    if experiment.settings.profile != "tutorial":
        absent = []  # another profile's runs are not shipped
    if differ or absent:
        first = (differ or absent)[0]
        raise ValueError(
            f"the shipped runs ({path.name}) are stale: {len(differ)} differ from the runs "
            f"computed here and {len(absent)} are not shipped (e.g. {first.label}); after a "
            "change that is meant to change results, run `make ship-runs` and commit the file"
        )


def write(experiment, runs: list[Run], path: Path = SHIPPED) -> Path:
    """Store the cached results of ``runs`` in ``path``, one run per line, sorted by key."""
    results = {run.key(experiment.settings): experiment.path(run) for run in runs}
    lines = [
        f"{json.dumps(key)}: {json.dumps(json.loads(results[key].read_text()), sort_keys=True)}"
        for key in sorted(results)
    ]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    tmp.replace(path)  # a failure never leaves half a file
    _load.cache_clear()
    return path
