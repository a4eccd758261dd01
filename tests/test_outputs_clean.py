"""What a student sees is the lesson: the committed notebooks' outputs hold no warning, no
traceback and no path of the machine that ran them; nbval's markers are cell tags, not
comments in the science; and each notebook's first cell says how long it takes, with the
figures of its own runs.

``output_problems`` is also what the papermill tests (``tests/test_notebooks.py``) check the
notebooks they execute with.
"""

from __future__ import annotations

import ast
import importlib.util
import math
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from pruning_lib.study import reproduce

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

WARNING = re.compile(r"\w*Warning\b|\bWARNING\b")  # UserWarning, TqdmWarning, a logger's
TRACEBACK = "Traceback (most recent call last)"
# A path of the machine: absolute with two parts or more (a URL's path and a relative
# `runs/tutorial/...` are not), under the home folder, a Windows drive, an installed package.
MACHINE_PATH = re.compile(
    r"(?<![\w.:/~-])/[\w.~-]+/[\w.~-]+|(?<![\w.:/-])~/|\b[A-Za-z]:\\|site-packages|dist-packages"
)


def _texts(output) -> list[str]:
    texts = [output.get("text", "")]
    texts += [v for k, v in output.get("data", {}).items() if k.startswith("text/")]
    return ["".join(text) if isinstance(text, list) else text for text in texts]


def output_problems(nb) -> list[str]:
    """What the outputs of ``nb`` show that a student should not see, one line each: a
    stream on stderr, an error, a warning, a traceback or a machine path."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            where = f"cell {index}"
            if output.get("output_type") == "error":
                found.append(f"{where}: an error ({output.get('ename')})")
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                found.append(f"{where}: stderr {_texts(output)[0][:120]!r}")
            for text in _texts(output):
                for pattern, what in ((WARNING, "a warning"), (MACHINE_PATH, "a machine path")):
                    match = pattern.search(text)
                    if match:
                        around = text[max(0, match.start() - 60) : match.end() + 60]
                        found.append(f"{where}: {what}: {around!r}")
                if TRACEBACK in text:
                    found.append(f"{where}: a traceback")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_outputs_show_no_warning_traceback_or_machine_path(path):
    nb = nbformat.read(path, as_version=4)
    assert output_problems(nb) == []


def test_the_check_finds_what_a_student_should_not_see():
    new = nbformat.v4
    clean = [
        "written: runs/tutorial/results.json, runs/tutorial/results.md\n",
        "see https://mybinder.org/v2/gh/pruning-lib/pruning-lib/HEAD\n",
        "sparsity 0.5/0.7, |w| < 0.02, local, torch 2.13.0+cpu, device cpu, AVX2 kernels\n",
    ]
    bad = [
        "/work/main/.venv/lib/python3.11/tqdm/auto.py:21: something\n",
        "/tmp/ipykernel_9923/3924423133.py:10: csr = weight.to_sparse_csr()\n",
        "UserWarning: Sparse CSR tensor support is in beta state\n",
        "[IPKernelApp] WARNING | Kernel is running over TCP without encryption\n",
        "loaded from ~/models/gpt\n",
        "loaded from C:\\Users\\me\\models\n",
        "lib/python3.11/site-packages/torch\n",
        "Traceback (most recent call last):\n",
    ]
    cells = [new.new_code_cell(outputs=[new.new_output("stream", text=t)]) for t in clean]
    assert output_problems(new.new_notebook(cells=cells)) == []
    for text in bad:
        cell = new.new_code_cell(outputs=[new.new_output("stream", text=text)])
        assert output_problems(new.new_notebook(cells=[cell])), text
    html = new.new_output("display_data", data={"text/html": "<td>/home/me/x</td>"})
    stderr = new.new_output("stream", name="stderr", text="runs: 100%|###| 1/1\n")
    error = new.new_output("error", ename="ValueError", evalue="x", traceback=[])
    for output in (html, stderr, error):
        nb = new.new_notebook(cells=[new.new_code_cell(outputs=[output])])
        assert output_problems(nb), output


def test_the_study_quiets_tqdms_ipywidgets_note_in_a_kernel_and_only_there():
    """In a Jupyter kernel without ipywidgets, importing ``tqdm.auto`` (as transformers does)
    prints a TqdmWarning naming site-packages; importing the study first imports it quietly,
    leaving no filter behind. ``ipykernel.zmqshell`` in ``sys.modules`` is what tqdm takes
    for a kernel."""
    pytest.importorskip("ipykernel")
    check = (
        "import warnings; warnings.simplefilter('always'); import ipykernel.zmqshell; {study}"
        "from tqdm.auto import tqdm as auto; from tqdm.std import tqdm as text; "
        "assert issubclass(auto, text); "
        "assert not [f for f in warnings.filters if f[1] is not None and 'IProgress' in "
        "f[1].pattern]"
    )

    def stderr(study: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", check.format(study=study)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stderr

    assert "IProgress" not in stderr("import pruning_lib.study; ")
    if importlib.util.find_spec("ipywidgets") is None:  # the note this test is about
        assert "IProgress not found" in stderr("")


def _tagged(nb) -> list[tuple[str, list[str]]]:
    return [(c.source, c.metadata.get("tags", [])) for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_nbval_markers_are_cell_tags(path):
    import jupytext

    plugin = pytest.importorskip("nbval.plugin")
    for nb in (nbformat.read(path, as_version=4), jupytext.read(path.with_suffix(".py"))):
        for source, tags in _tagged(nb):
            assert not re.search(r"^\s*#\s*(NBVAL_|PYTEST_VALIDATE_)", source, re.M), source
            for tag in tags:
                assert tag == "parameters" or tag in plugin.metadata_tags, tag
            if "start(globals())" in source:  # it prints the machine and its device
                assert "nbval-ignore-output" in tags


# -- how long a notebook takes ------------------------------------------------------------
COMMITTED_SEEDS = {0, 1, 2, 3}  # reference/baselines (tests/test_baseline_retrain.py checks them)
STEP_S = 0.29  # one training step of the tutorial model, measured on one CPU thread
WORKERS = 2  # "on two CPU cores"


def _text_twin(name: str):
    import jupytext

    return jupytext.read(ROOT / "notebooks" / f"{name}.py")


def _runs(name: str) -> list:
    """The runs the notebook asks for with its own defaults (its .py twin's parameters cell)
    under the tutorial profile's."""
    from pruning_lib.study.parameters import check_parameters, defaults
    from pruning_lib.study.plans import notebook_runs

    cell = next(c for c in _text_twin(name).cells if "parameters" in c.metadata.get("tags", []))
    own = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(cell.source).body
        if isinstance(node, ast.Assign)
    }
    own.pop("profile", None)
    settings, study = check_parameters({**defaults(), **own})
    return notebook_runs(name, settings, study)


def test_a_baseline_takes_about_eight_minutes_on_one_thread():
    from pruning_lib.study.parameters import Settings

    assert round(Settings().baseline_steps * STEP_S / 60) == 8


@pytest.mark.parametrize("name", reproduce.NOTEBOOK_ORDER)
def test_first_cell_says_how_long_the_notebook_takes(name):
    first = _text_twin(name).cells[0]
    assert first.cell_type == "markdown"
    text = " ".join(first.source.split())
    assert re.search(r"\*\*How long it takes\.\*\* About \d+ s\b", text), text
    runs = _runs(name)
    seconds = sum(run.cost for run in runs) / WORKERS  # the estimate the cell states
    if not runs:
        assert "it computes no runs" in text
    elif len(runs) == 1:
        assert "its one run" in text and "under a minute" in text
    else:
        minutes = "under a minute" if seconds < 60 else f"about {math.ceil(seconds / 60)} minutes"
        assert f"Computing its {len(runs)} runs" in text
        assert f"takes {minutes} on two CPU cores" in text
        assert "`Run.cost`" in text
    assert "about eight minutes on one CPU thread" in text
    extra = sorted({run.seed for run in runs} - COMMITTED_SEEDS)
    if len(extra) == 1:
        assert f"Its runs at seed {extra[0]} need that seed's baseline" in text
    elif extra:
        seeds = ", ".join(map(str, extra[:-1])) + f" and {extra[-1]}"
        assert f"Its runs at seeds {seeds} need their baselines" in text
