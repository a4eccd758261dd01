"""Paths and atomic writes of the study: where a checkout keeps its runs and cache, and JSON
or folders written under a temporary name and renamed, so a failure never leaves half a file.

Imports nothing heavy (no torch), so every module can use it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
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


def compute_once(path: Path, compute: Callable[[], Any], poll_s: float = 2.0) -> None:
    """Write ``compute()`` to ``path`` as JSON, unless another process is computing it: then
    wait for that process's file instead of computing the same thing twice (:func:`run_once`
    with the claim ``<path>.lock``). ``reproduce`` runs the notebooks and the other seeds'
    runs in two processes that may reach the same cached run."""
    lock = path.with_name(path.name + ".lock")
    run_once(lock, path.is_file, lambda: write_json(path, compute()), poll_s)


def run_once(
    lock: Path, done: Callable[[], bool], work: Callable[[], Any], poll_s: float = 2.0
) -> None:
    """Run ``work()`` until ``done()``, one process at a time: a process that finds another
    holding the claim waits until that one is done instead of doing the same work twice.

    The claim is ``lock`` created exclusively and holding the owner's pid; a claim whose
    process is gone (killed, crashed) is taken over. (Two waiters that both find the owner
    dead may both take over and do the work twice; the atomic writes keep the result whole.
    Our runs have at most two processes, so that takes a third that died.)
    """
    lock.parent.mkdir(parents=True, exist_ok=True)
    while not done():
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            if _claimed(lock):
                time.sleep(poll_s)
            else:
                lock.unlink(missing_ok=True)  # a stale claim
            continue
        try:
            os.write(handle, str(os.getpid()).encode())
            os.close(handle)
            if not done():
                work()
                if not done():  # a work that does not do what done() checks: never loop
                    raise RuntimeError(f"{lock.name}: the work ran but left its result missing")
        finally:
            lock.unlink(missing_ok=True)


def _claimed(lock: Path) -> bool:
    """Whether another living process holds ``lock``."""
    try:
        text = lock.read_text().strip()
        age = time.time() - lock.stat().st_mtime
    except OSError:
        return False  # released meanwhile
    if not text:
        return age < 30  # created, its pid not written yet
    pid = int(text) if text.isdigit() else -1
    if pid <= 0 or pid == os.getpid():
        return False  # ours: a claim left by a failed run of this process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
