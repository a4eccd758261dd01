"""Paths and atomic writes of the study: where runs and the cache go, and JSON or folders
written under a temporary name and renamed, so a failure never leaves half a file.

Outputs go where the user is: ``runs/`` in the current folder, or, when working inside a
checkout of the repository (its root, ``notebooks/``...), the checkout's ``runs/``, so that
``make reproduce`` and the notebooks share one. ``$PRUNING_LIB_OUT`` (what ``--out`` sets)
chooses another folder; ``$PRUNING_LIB_CACHE`` (or a profile's ``cache_dir``) moves the cache
alone. Imports nothing heavy (no torch), so every module can use it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def repo_root() -> Path | None:
    """The checkout this package runs from, or None when installed elsewhere."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


OUT_ENV = "PRUNING_LIB_OUT"


def out_dir() -> Path:
    """``$PRUNING_LIB_OUT``; else ``runs/`` of the checkout when the current folder is inside
    it; else ``./runs``."""
    if os.environ.get(OUT_ENV):
        return Path(os.environ[OUT_ENV]).resolve()
    here, root = Path.cwd().resolve(), repo_root()
    if root is not None and (here == root or root in here.parents):
        return root / "runs"
    return here / "runs"


def default_cache_dir() -> Path:
    """``$PRUNING_LIB_CACHE``, else ``cache/`` in :func:`out_dir`."""
    if os.environ.get("PRUNING_LIB_CACHE"):
        return Path(os.environ["PRUNING_LIB_CACHE"])
    return out_dir() / "cache"


def runs_dir(profile: str) -> Path:
    """Where a profile's results go: ``<out>/<profile>``."""
    return out_dir() / profile


def write_json(path: Path, value: Any) -> Path:
    """Write JSON to a temporary name, then rename: a failure never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def atomic_dir(target: Path) -> Path:
    """A fresh temporary folder beside ``target``; pass it to :func:`commit_dir`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))


def commit_dir(tmp: Path, target: Path) -> None:
    """Replace ``target`` with ``tmp`` (the old folder survives until the rename)."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    tmp.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
