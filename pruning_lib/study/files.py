"""Paths and atomic writes of the study: where a checkout keeps its runs and cache, and JSON
or folders written under a temporary name and renamed, so a failure never leaves half a file.

Imports nothing heavy (no torch), so every module can use it.
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


def default_cache_dir() -> Path:
    """``$PRUNING_LIB_CACHE``, else ``runs/cache`` in the checkout, else ``~/.cache``."""
    if os.environ.get("PRUNING_LIB_CACHE"):
        return Path(os.environ["PRUNING_LIB_CACHE"])
    root = repo_root()
    if root is not None:
        return root / "runs" / "cache"
    return Path.home() / ".cache" / "pruning-lib"


def runs_dir(profile: str) -> Path:
    root = repo_root() or Path.cwd()
    return root / "runs" / profile


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
