"""The papermill runner behind ``pruning-lib reproduce``.

Runs every notebook in order with the parameters of a profile (``03_rate`` once per
sparsity of ``rate_sparsities``, by default of ``sparsities``) into
``runs/<profile>/notebooks/``; the notebooks write
``results.json``, ``results.md`` and the figures under ``runs/<profile>/``.

- Every key of the profile must be a parameter of some notebook, with the type of its
  default: a typo is an error before anything runs, not papermill's warning.
- A notebook whose output is current (same notebook, parameters and library) is skipped,
  so an interrupted run resumes; ``resume=False`` runs everything again.
- A failure names the notebook and the cell, keeps every earlier output, and leaves the
  failed notebook beside them as ``<name>.failed.ipynb``.
- Every run the notebooks ask for (``plans.NOTEBOOK_PLANS``) is computed first, on every
  usable core (``pool.compute``); the notebooks then only read the cache, and run as many
  at a time as there are workers (a kernel each), reported in order.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .configs import load_profile
from .files import OUT_ENV, out_dir, repo_root, runs_dir, write_json
from .parameters import RUNNER_KEYS, SHARED, check_parameters, defaults

NOTEBOOK_ORDER = (
    "01_baseline",
    "02_threshold",
    "03_rate",
    "04_schedules",
    "05_l1_regularization",
    "06_finetuning",
    "07_results",
    "08_efficiency",
    "09_scores_patterns",
    "10_efficiency_answer",
    "11_after_magnitude",
)
# Keys a notebook has but a profile must not set, and why.
SHADOWED = {
    "sparsity": "03_rate runs once per value of 'rate_sparsities'; set rate_sparsities: [...]"
}


class ReproduceError(RuntimeError):
    """A notebook failed; the message names it and the cell."""


@dataclass
class Job:
    notebook: str  # name without suffix
    output: str  # output name without suffix
    parameters: dict[str, Any]


def _rate_sparsities(values: Any, name: str) -> list[float]:
    """The sparsities 03_rate runs at, checked: a non-empty list of numbers in [0, 1)."""
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        or not all(0 <= v < 1 for v in values)
    ):
        raise ValueError(
            f"{name}: rate_sparsities={values!r} must be a non-empty list of sparsities, "
            "each in [0, 1)"
        )
    return [float(v) for v in values]


def root_dir() -> Path:
    root = repo_root()
    if root is None:
        raise ValueError("pruning-lib reproduce runs from a checkout of the repository")
    return root


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The parameters cell of a notebook: ``{name: default value}``."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            values: dict[str, Any] = {}
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                    values[node.targets[0].id] = ast.literal_eval(node.value)
            return values
    raise ValueError(f"notebook {path.name} has no cell tagged 'parameters'")


def plan(profile_path: str | Path) -> tuple[str, list[Job], dict[str, Any]]:
    """Read and check a profile; return its name, the jobs and the parameters.

    Raises ValueError (one line) for a missing or empty file, bad YAML, an unknown or
    shadowed key, a value of the wrong type or range, relations that do not hold
    (``initial_sparsity`` above ``target_sparsity``), a path that does not exist, a notebook
    that does not exist, a GPU asked for and not there, or an N:M pattern the model's
    weights cannot take (``plans.preflight``). Nothing is written before these checks pass.
    """
    name = Path(profile_path).name
    profile = load_profile(profile_path)
    if not profile:
        raise ValueError(f"{name} is empty; a profile sets at least its name (profile: NAME)")
    folder = root_dir() / "notebooks"
    names = profile.get("notebooks", list(NOTEBOOK_ORDER))
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"notebooks={names!r} must be a list of notebook names")
    for notebook in names:
        if notebook not in NOTEBOOK_ORDER or not (folder / f"{notebook}.ipynb").is_file():
            raise ValueError(f"notebook {notebook!r} does not exist in {folder}")
    for key, why in SHADOWED.items():
        if key in profile:
            raise ValueError(f"{name}: key {key!r} cannot be set in a profile: {why}")
    values = {k: v for k, v in profile.items() if k not in RUNNER_KEYS}
    values.setdefault("profile", Path(profile_path).stem)
    try:
        # One schema: types, ranges, relations, paths; the sweep's sparsities always, so a
        # pattern such as 2:4 meets the default sparsities it cannot reach before any work.
        settings, _ = check_parameters({"sparsities": defaults()["sparsities"], **values})
        from .plans import preflight

        preflight(settings)  # a GPU that is not there, a pattern the model cannot take
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    merged = {**defaults(), **values}
    rates = _rate_sparsities(profile.get("rate_sparsities", merged["sparsities"]), name)
    jobs = []
    # A notebook gets every shared setting (its parameters cell names only `profile` and its
    # own parameters; start() reads the rest from its globals) and its own parameters.
    shared = {k: merged[k] for k in SHARED}
    for notebook in names:
        own = notebook_parameters(folder / f"{notebook}.ipynb")
        parameters = {**shared, **{k: merged[k] for k in own if k in merged}}
        if notebook == "03_rate":
            for sparsity in rates:
                output = f"{notebook}_{sparsity}"
                jobs.append(Job(notebook, output, {**parameters, "sparsity": sparsity}))
        else:
            jobs.append(Job(notebook, notebook, parameters))
    return merged["profile"], jobs, merged


def library_fingerprint() -> str:
    """A hash of the library's sources: outputs made by other code are not current."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parents[1].rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _stamp(job: Job, notebook: Path) -> str:
    payload = json.dumps([job.parameters, library_fingerprint()], sort_keys=True, default=str)
    return hashlib.sha256(notebook.read_bytes() + payload.encode()).hexdigest()[:16]


def job_runs(job: Job) -> list:
    """The runs ``job``'s notebook asks for with its parameters."""
    from .plans import notebook_runs

    settings, study = check_parameters({**defaults(), **job.parameters})
    return notebook_runs(job.notebook, settings, study)


def compute_runs(jobs: list[Job], log=print, workers: int | None = None, ship=False) -> int:
    """Compute (or find cached) every run of ``jobs``' notebooks, on every usable core, and
    check the runs shipped with the package against them (``ship``: store them as the
    shipped runs instead); returns how many runs the notebooks ask for."""
    from . import shipped
    from .experiment import Experiment
    from .pool import fill
    from .pool import workers as default_workers

    if not jobs:
        return 0
    runs = list(dict.fromkeys(run for job in jobs for run in job_runs(job)))
    settings, _ = check_parameters({**defaults(), **jobs[0].parameters})
    experiment = Experiment(settings, progress=False)
    missing = sum(not experiment.path(run).is_file() for run in runs)
    count = default_workers(settings) if workers is None else workers
    log(f"{len(runs)} runs, {missing} to compute on {count} worker(s)")
    fill(experiment, runs, count, use_shipped=False)  # computed from the baselines, then:
    if ship:
        log(f"shipped: {shipped.write(experiment, runs)}")
    else:
        shipped.check(experiment, runs)  # the runs shipped for a notebook opened alone
    return len(runs)


def run(profile_path: str | Path, resume: bool = True, log=print, workers: int | None = None):
    """Compute the profile's runs, then run its notebooks; returns ``runs/<profile>/``.

    Every run is computed first (:func:`compute_runs`); the notebooks then only read the
    cache, so they run on the same number of workers, each in its own kernel, and are
    reported in order.
    """
    from .pool import workers as default_workers

    profile, jobs, merged = plan(profile_path)
    root = root_dir()
    out = runs_dir(profile)
    notebooks_out = out / "notebooks"
    notebooks_out.mkdir(parents=True, exist_ok=True)
    state_path = out / "state.json"
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    started = time.perf_counter()
    # One stamp per job: each hashes the library's sources.
    stamps = {j.output: _stamp(j, root / "notebooks" / f"{j.notebook}.ipynb") for j in jobs}

    def current(job: Job) -> bool:
        target = notebooks_out / f"{job.output}.ipynb"
        return resume and state.get(job.output) == stamps[job.output] and target.is_file()

    todo = [job for job in jobs if not current(job)]
    compute_runs(todo, log, workers)
    settings, _ = check_parameters({**defaults(), **{k: merged[k] for k in SHARED}})
    count = default_workers(settings) if workers is None else workers
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max(1, min(count, len(todo))), mp_context=context) as pool:
        # The notebooks run in notebooks/: they find this output folder through the
        # environment of their worker (this process's stays as it was).
        outputs = str(out_dir())
        futures = {j.output: pool.submit(_execute, j, root, notebooks_out, outputs) for j in todo}
        try:
            for index, job in enumerate(jobs, 1):
                label = f"[{index}/{len(jobs)}] {job.output}"
                if job.output not in futures:
                    log(f"{label}: current, skipped")
                    continue
                seconds = futures[job.output].result()
                state[job.output] = stamps[job.output]
                write_json(state_path, state)
                log(f"{label}: done in {seconds:.0f} s")
        except BaseException:
            for future in futures.values():
                future.cancel()
            raise
    minutes = (time.perf_counter() - started) / 60
    log(f"finished in {minutes:.1f} min; results in {out}/")
    return out


class _SharedParameters(logging.Filter):
    """Drops papermill's "Passed unknown parameter" for the shared keys: a notebook reads
    them whether or not its parameters cell names them (``parameters.parameters_in``), so
    the warning would only alarm a reader."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        prefix = "Passed unknown parameter: "
        return not (message.startswith(prefix) and message[len(prefix) :] in SHARED)


_QUIET = _SharedParameters()


def _execute(job: Job, root: Path, notebooks_out: Path, outputs: str) -> float:
    """Run one job into ``<output>.ipynb`` (a failed run is kept as ``.failed.ipynb``),
    its kernel writing under ``outputs``; returns its seconds. Runs in a worker process."""
    import papermill

    os.environ[OUT_ENV] = outputs

    logging.getLogger("papermill").addFilter(_QUIET)  # a no-op once it is there
    tick = time.perf_counter()
    source = root / "notebooks" / f"{job.notebook}.ipynb"
    tmp = notebooks_out / f".{job.output}.running.ipynb"
    try:
        papermill.execute_notebook(
            str(source),
            str(tmp),
            parameters=job.parameters,
            kernel_name="python3",
            progress_bar=False,
            cwd=str(root / "notebooks"),
        )
    except papermill.PapermillExecutionError as error:
        failed = notebooks_out / f"{job.output}.failed.ipynb"
        shutil.move(str(tmp), failed)
        raise ReproduceError(
            f"{job.output}: cell {error.cell_index} failed with {error.ename}: "
            f"{error.evalue.strip().splitlines()[-1] if error.evalue.strip() else ''} "
            f"(the executed notebook is {failed})"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(notebooks_out / f"{job.output}.ipynb")
    (notebooks_out / f"{job.output}.failed.ipynb").unlink(missing_ok=True)
    return time.perf_counter() - tick
