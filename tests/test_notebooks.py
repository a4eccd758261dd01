"""Notebooks: their shape, the profiles, papermill runs (smoke, hub-offline), the CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from pruning_lib.study import reproduce
from pruning_lib.study.runtime import REPOSITORY_URL

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CLI = [sys.executable, "-m", "pruning_lib.study.cli"]
ENV = {
    **os.environ,
    "MPLBACKEND": "agg",
    "OMP_NUM_THREADS": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
}


def test_every_notebook_of_the_order_exists():
    assert [p.stem for p in NOTEBOOKS] == list(reproduce.NOTEBOOK_ORDER)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_shape(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0].source
    assert (
        first.startswith("# ") and "mybinder.org" in first and "colab.research.google.com" in first
    )
    assert f"notebooks/{path.stem}.ipynb" in first
    assert "In this notebook you will" in " ".join(first.split())  # markdown joins lines
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    reproduce.notebook_parameters(path)  # plain literals only (ast.literal_eval)
    colab = next(c for c in nb.cells if c.cell_type == "code")
    assert "google.colab" in colab.source and REPOSITORY_URL in colab.source
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Summary" in text or "## The honest conclusion" in text
    assert "## Exercises" in text
    # Committed with the tutorial outputs (nbval checks them).
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", ["tutorial", "study", "smoke", "paper", "colab"])
def test_every_profile_passes_the_checks(name, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)  # paper, colab: on a GPU
    profile, jobs, merged = reproduce.plan(ROOT / "params" / f"{name}.yaml")
    assert profile == name
    rate_jobs = [j for j in jobs if j.notebook == "03_rate"]
    profile_text = yaml.safe_load((ROOT / "params" / f"{name}.yaml").read_text())
    rates = {"tutorial": [0.5, 0.9], "study": merged["sparsities"]}.get(name, merged["sparsities"])
    assert "rate_sparsities" in profile_text or name not in ("tutorial", "study")
    assert [j.parameters["sparsity"] for j in rate_jobs] == rates
    assert [j.output for j in rate_jobs] == [f"03_rate_{s}" for s in rates]


def checkout_runs() -> list:
    """What the checkout's runs/ holds, but the folders other tests make (test-*)."""
    runs = ROOT / "runs"
    if not runs.exists():
        return []
    return sorted(
        p for p in runs.rglob("*") if not p.relative_to(runs).parts[0].startswith("test-")
    )


def run_cli(*args, cwd=ROOT):
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=1800
    )


@pytest.mark.parametrize(
    "content, words",
    [
        (None, ["does not exist"]),
        ("seed: [1, 2\n", ["not valid YAML"]),
        ("profile: bad\nsparsitys: [0.5]\n", ["unknown key 'sparsitys'"]),
        ("profile: bad\nseed: 0.5\n", ["seed=0.5", "integer"]),
        ("profile: bad\nthreads: 0\n", ["threads=0", "[1, 1024]"]),
        ("profile: bad\nnotebooks: [09_missing]\n", ["notebook '09_missing' does not exist"]),
        ("profile: bad\nsparsities: [0.5, 1.5]\n", ["sparsities item=1.5", "[0, 1)"]),
        ("profile: ../../x\n", ["profile='../../x'", "plain name"]),
    ],
)
def test_reproduce_bad_input_one_line_exit_2_nothing_touched(tmp_path, capsys, content, words):
    # In-process: the command line's own main(); one case below runs it as a program.
    from pruning_lib.study import cli

    path = tmp_path / "profile.yaml"
    if content is not None:
        path.write_text(content)
    before = checkout_runs()
    assert cli.main(["reproduce", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pruning-lib: error:")
    for word in words:
        assert word in lines[0]
    assert checkout_runs() == before and not (ROOT / "runs" / "bad").exists()


def test_the_command_line_program_exits_2_with_one_line(tmp_path):
    path = tmp_path / "profile.yaml"
    path.write_text("profile: bad\npattern: 2:4\nsparsities: [0.5]\n")  # YAML reads 124
    done = run_cli("reproduce", str(path))
    assert done.returncode == 2 and not done.stdout
    assert done.stderr.strip().splitlines() == [
        "pruning-lib: error: profile.yaml: notebook parameters.pattern=124 is a number: YAML "
        "reads an unquoted 2:4 as 124 (base 60); quote it: pattern: '2:4'"
    ]


@pytest.mark.parametrize(
    "content, words",
    [
        ("profile: bad\nschedule_frequency: 0\n", ["schedule_frequency=0", "[1, "]),
        ("profile: bad\nschedule_frequency: -1\n", ["schedule_frequency=-1"]),
        ("profile: bad\niterations: 0\n", ["iterations=0", "[1, 1000]"]),
        ("profile: bad\ntarget_sparsity: 1.0\n", ["target_sparsity=1.0", "[0, 1)"]),
        (
            "profile: bad\ninitial_sparsity: 0.6\ntarget_sparsity: 0.5\n",
            ["initial_sparsity=0.6", "above target_sparsity=0.5"],
        ),
        ("profile: bad\nthresholds: [.nan]\n", ["thresholds[0]=nan", "finite"]),
        ("profile: bad\nl1_lambdas: [-0.1]\n", ["l1_lambdas item=-0.1", "[0, inf)"]),
        ("profile: bad\nefficiency_sparsity: -0.1\n", ["efficiency_sparsity=-0.1"]),
        ("profile: bad\nseed: 1.0e+23\n", ["seed=1e+23", "integer"]),
        ("profile: bad\nseed: 100000000000000000000000\n", ["seed=", "[0, 4294967295]"]),
        ("profile: bad\nfinetune_steps: 100000000000000000000000\n", ["finetune_steps="]),
        ("profile: bad\ndatasets: /no/such/folder\n", ["datasets='/no/such/folder'"]),
        ("profile: bad\ndatasets: /tmp\n", ["datasets='/tmp'", "lambada.jsonl", "folder"]),
        ("profile: bad\nsparsity: 0.5\n", ["'sparsity'", "rate_sparsities"]),
        ("profile: bad\nrate_sparsities: []\n", ["rate_sparsities=[]", "each in [0, 1)"]),
        ("profile: bad\nrate_sparsities: [0.5, 1.0]\n", ["rate_sparsities=[0.5, 1.0]", "[0, 1)"]),
        ("profile: bad\nrate_sparsities: 0.5\n", ["rate_sparsities=0.5", "list"]),
        ("profile: bad\nrate_sparsities: [true]\n", ["rate_sparsities=[True]", "[0, 1)"]),
        ("profile: bad\nl1_lambdas: []\n", ["l1_lambdas=[]", "empty"]),
        ("", ["is empty"]),
        ("profile: ../../x\n", ["profile='../../x'", "plain name"]),
        ("profile: /tmp/abs\n", ["profile='/tmp/abs'", "plain name"]),
        ("profile: bad\npattern: 2:4\nsparsities: [0.5]\n", ["pattern=124", "quote it"]),
        (
            "profile: bad\npattern: '1:3'\nsparsities: [0.6666666666666667]\n",
            ["pattern='1:3' does not fit the model", "m=3 to divide", "has 128 inputs"],
        ),
        ("profile: bad\ndevice: cuda\n", ["device='cuda'", "no GPU", "device: cpu", "tutorial"]),
    ],
)
def test_plan_checks_every_key_range_and_relation_before_any_work(
    tmp_path, monkeypatch, content, words
):
    # Each of these once started a run and failed minutes later inside a notebook.
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)  # whatever this machine has
    path = tmp_path / "profile.yaml"
    path.write_text(content)
    before = checkout_runs()
    with pytest.raises(ValueError) as error:
        reproduce.plan(path)
    assert "\n" not in str(error.value)
    for word in words:
        assert word in str(error.value)
    assert checkout_runs() == before


def test_help_describes_every_option(capsys):
    from pruning_lib.study import cli

    for args, words in (
        (["--help"], ["reproduce", "compute", "compare"]),
        (["reproduce", "--help"], ["--no-resume", "--out", "profile"]),
        (["compute", "--help"], ["profile", "notebooks of PROFILE", "--out"]),
        (["compare", "--help"], ["--reference", "95%", "--out"]),
    ):
        with pytest.raises(SystemExit) as done:
            cli.main(args)
        assert done.value.code == 0
        out = capsys.readouterr().out
        for word in words:
            assert word in out, (args, word)


def _fresh_profile(tmp_path, name, extra=""):
    text = (
        (ROOT / "params" / "smoke.yaml").read_text().replace("profile: smoke", f"profile: {name}")
    )
    path = tmp_path / f"{name}.yaml"
    path.write_text(text + extra + f"cache_dir: {tmp_path / 'cache'}\n")
    shutil.rmtree(ROOT / "runs" / name, ignore_errors=True)
    return path


@pytest.mark.slow
def test_smoke_profile_end_to_end_then_resume(tmp_path):
    # with 11's sparse training too (seconds at this size; the tutorial trains none)
    path = _fresh_profile(tmp_path, "test-smoke", "sparse_training_seeds: [0, 1]\n")
    try:
        done = run_cli("reproduce", str(path))
        assert done.returncode == 0, done.stderr[-3000:]
        out = ROOT / "runs" / "test-smoke"
        names = sorted(p.stem for p in (out / "notebooks").glob("*.ipynb"))
        assert names == [
            "01_baseline",
            "02_threshold",
            "03_rate_0.1",
            "03_rate_0.5",
            "04_schedules",
            "05_l1_regularization",
            "06_finetuning",
            "07_results",
            "08_efficiency",
            "09_scores_patterns",
            "10_efficiency_answer",
            "11_after_magnitude",
        ]
        from tests.test_outputs_clean import output_problems

        for executed in sorted((out / "notebooks").glob("*.ipynb")):  # what a student sees
            problems = output_problems(nbformat.read(executed, as_version=4))
            assert problems == [], (executed.name, problems)
        results = json.loads((out / "results.json").read_text())
        assert [r["pr%"] for r in results["table_3"]] == ["-", "-", ".1", ".1", ".5", ".5", ""]
        assert (out / "results.md").read_text().count("| GPT-Efficio |") == 8
        assert (out / "figure_3.png").stat().st_size > 10_000
        assert (out / "figure_4.png").stat().st_size > 10_000
        again = run_cli("reproduce", str(path))
        assert again.returncode == 0
        assert again.stdout.count("current, skipped") == 12
        # Two seeds: every record carries one value per seed; every run was computed
        # before the notebooks ran, so the second time computes nothing.
        assert results["seeds"] == [0, 1]
        assert all(len(r["values"]) == 2 for r in results["records"])
        computed = re.search(r"(\d+) runs, (\d+) to compute", done.stdout)
        assert computed and computed[1] == computed[2] != "0"  # a fresh cache: every run
        assert "to compute" not in again.stdout  # every notebook current: nothing asked for
        answer = json.loads((out / "results" / "10_efficiency_answer.json").read_text())
        assert answer["rows"][0]["pruning"] == "none (dense)"
        # 11's sparse training ran at the profile's two seeds, each judged against its reference
        after = json.loads((out / "results" / "11_after_magnitude.json").read_text())
        assert after["sparse_training_seeds"] == [0, 1]
        judged = {(c["a"][0], c["b"][0]) for c in after["comparisons"]}
        assert {("sparse, static mask", "magnitude, fine-tuned"),
                ("sparse, SET", "sparse, static mask"),
                ("sparse, SET", "dense-small")} <= judged  # fmt: skip
        # compare: a run against itself agrees; a value moved beyond its interval does not.
        same = run_cli(
            "compare", str(out / "results.json"), "--reference", str(out / "results.json")
        )
        assert same.returncode == 0 and "records agree" in same.stdout
        moved = json.loads((out / "results.json").read_text())
        record = next(r for r in moved["records"] if r["metric"] == "ppl")
        record["mean"] = record["ci_high"] = record["ci_low"] = record["mean"] * 100
        (tmp_path / "moved.json").write_text(json.dumps(moved))
        off = run_cli(
            "compare", str(tmp_path / "moved.json"), "--reference", str(out / "results.json")
        )
        assert off.returncode == 1
    finally:
        shutil.rmtree(ROOT / "runs" / "test-smoke", ignore_errors=True)


def _hub_offline_files(tmp_path):
    """A tiny model saved with save_pretrained and the six datasets in the hub schemas."""
    from pruning_lib.study.configs import ModelConfig
    from pruning_lib.study.model import save_model, small_gpt, train_tokenizer
    from tests.test_data import HUB_ROWS

    texts = [json.dumps(row) for row in HUB_ROWS.values()] * 20
    tokenizer = train_tokenizer(texts, 400)
    model = small_gpt(
        ModelConfig(vocab_size=400, n_layer=2, n_head=2, n_embd=16, block_size=256),
        vocab_size=len(tokenizer),
    )
    save_model(model, tokenizer, tmp_path / "tiny-model")
    data = tmp_path / "datasets"
    data.mkdir()
    for task, row in HUB_ROWS.items():
        (data / f"{task}.jsonl").write_text("".join(json.dumps(row) + "\n" for _ in range(4)))
    corpus = tmp_path / "wikitext.jsonl"
    lines = [{"text": ""}, {"text": " = Valkyria Chronicles III = \n"}]
    lines += [{"text": " Senjō no Valkyria 3 is a tactical role @-@ playing game . \n"}] * 40
    corpus.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return tmp_path / "tiny-model", data, corpus


@pytest.mark.slow
def test_paper_profile_code_path_offline(tmp_path):
    model, data, corpus = _hub_offline_files(tmp_path)
    extra = f"model: {model}\ndatasets: {data}\ncorpus: {corpus}\nblock_size: 32\n"
    path = _fresh_profile(tmp_path, "test-hub-offline", extra)
    try:
        done = run_cli("reproduce", str(path))
        assert done.returncode == 0, done.stderr[-3000:]
        results = json.loads((ROOT / "runs" / "test-hub-offline" / "results.json").read_text())
        assert results["table_3"][0]["model"] == str(model)
    finally:
        shutil.rmtree(ROOT / "runs" / "test-hub-offline", ignore_errors=True)


@pytest.mark.slow
def test_failure_names_notebook_and_cell_and_keeps_earlier_results(tmp_path):
    path = _fresh_profile(tmp_path, "test-failure", "notebooks: [01_baseline]\n")
    out = ROOT / "runs" / "test-failure"
    try:
        assert run_cli("reproduce", str(path)).returncode == 0
        good = (out / "notebooks" / "01_baseline.ipynb").read_bytes()
        # A cached result gone bad: the runs are "computed", the notebook reading it fails.
        for cached in (tmp_path / "cache" / "results").glob("dense-*.json"):
            cached.write_text("{not json")
        done = run_cli("reproduce", str(path), "--no-resume")
        assert done.returncode == 1
        assert "01_baseline: cell" in done.stderr and "JSONDecodeError" in done.stderr
        assert (out / "notebooks" / "01_baseline.ipynb").read_bytes() == good
        assert (out / "notebooks" / "01_baseline.failed.ipynb").is_file()
    finally:
        shutil.rmtree(out, ignore_errors=True)


def test_tables_print_the_same_from_cache_or_fresh(capsys):
    """A result read back from the JSON cache (keys sorted) prints like a fresh one."""
    from pruning_lib.evaluation.tasks import TASK_NAMES
    from pruning_lib.study.notebook import show_comparison, show_scores

    fresh = {t: {"acc": 0.5, "exact_match": 0.25, "ppl": 3.0, "chance": 0.1} for t in TASK_NAMES}
    cached = json.loads(json.dumps(fresh, sort_keys=True))
    assert list(cached) != list(fresh)
    outputs = []
    for scores in (fresh, cached):
        show_scores(scores)
        show_comparison({"run": {"scores": scores, "sparsity": 0.5}})
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert outputs[0].index("LAMBADA") < outputs[0].index("StoryCloze") < outputs[0].index("NQ")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_code_equals_its_text_source(path):
    # The .py twin (jupytext percent format) is the source of truth; `make sync-notebooks`
    # carries an edit of either into the other.
    import jupytext

    text = jupytext.read(path.with_suffix(".py"))
    notebook = nbformat.read(path, as_version=4)

    def cells(nb):
        return [
            (c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", []))) for c in nb.cells
        ]

    assert cells(text) == cells(notebook)
    assert notebook.metadata["jupytext"]["formats"] == "ipynb,py:percent"


def test_parameters_cells_hold_the_profile_and_the_notebooks_own_knobs():
    from pruning_lib.study.configs import load_profile
    from pruning_lib.study.parameters import SHARED, STUDY, defaults

    schema = defaults()
    seen = set()
    for path in NOTEBOOKS:
        cell = reproduce.notebook_parameters(path)
        assert next(iter(cell)) == "profile" and cell["profile"] == "tutorial", path.stem
        # The profile supplies the shared settings: none is repeated in a cell.
        assert not set(cell) & (set(SHARED) - {"profile"}), path.stem
        for key, value in cell.items():
            assert value == schema[key], (path.stem, key)
        seen |= set(cell)
    assert set(STUDY) <= seen  # every notebook parameter belongs to some notebook
    profile = yaml.safe_load((ROOT / "params" / "tutorial.yaml").read_text())
    for key, value in profile.items():
        assert key in reproduce.RUNNER_KEYS or schema[key] == value, key
    # The study profile extends the tutorial with more seeds and the rest of the equal-size
    # study: every other key equal, so it reuses every run the tutorial cached.
    study = load_profile(ROOT / "params" / "study.yaml")
    differ = {k for k in {*study, *profile} if study.get(k) != profile.get(k)}
    assert differ == {"profile", "equal_size_sparsities", "dense_small_seeds", "seeds",
                      "rate_sparsities", "sparse_training_seeds"}  # fmt: skip
    assert (
        set(profile["rate_sparsities"])
        < set(study["rate_sparsities"])
        == set(profile["sparsities"])
    )
    assert study["seeds"][: len(profile["seeds"])] == profile["seeds"]
    assert set(profile["equal_size_sparsities"]) < set(study["equal_size_sparsities"])
    assert study["dense_small_seeds"] and not profile["dense_small_seeds"]
    assert study["sparse_training_seeds"] and not profile["sparse_training_seeds"]
    # The sparse-training profile adds only the models trained from scratch (09's, 11's).
    sparse = load_profile(ROOT / "params" / "sparse_training.yaml")
    differ = {k for k in {*sparse, *profile} if sparse.get(k) != profile.get(k)}
    assert differ == {"profile", "notebooks", "dense_small_seeds", "sparse_training_seeds"}
    assert sparse["notebooks"] == ["09_scores_patterns", "11_after_magnitude"]
    assert sparse["sparse_training_seeds"] == study["sparse_training_seeds"]
    assert sparse["dense_small_seeds"] == study["dense_small_seeds"]


def test_a_profile_extends_another_and_refuses_a_circle(tmp_path):
    from pruning_lib.study.configs import load_profile

    (tmp_path / "base.yaml").write_text("profile: base\nseed: 3\nfinetune_steps: 7\n")
    (tmp_path / "child.yaml").write_text("extends: base\nfinetune_steps: 9\n")
    assert load_profile(tmp_path / "child.yaml") == {"seed": 3, "finetune_steps": 9}
    assert reproduce.plan(tmp_path / "child.yaml")[2]["profile"] == "child"
    (tmp_path / "a.yaml").write_text("extends: b\n")
    (tmp_path / "b.yaml").write_text("extends: a\n")
    with pytest.raises(ValueError, match="goes round in a circle"):
        load_profile(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("extends: missing\n")
    with pytest.raises(ValueError, match="extends='missing' names no file"):
        load_profile(tmp_path / "c.yaml")


def test_start_reads_the_profile_then_the_notebooks_own_values():
    from pruning_lib.study.notebook import profile_values

    assert profile_values("tutorial")["seeds"] == [0, 1, 2, 3]
    assert profile_values("study")["seeds"] == [0, 1, 2, 3, 4, 5]  # params/study.yaml
    assert profile_values("smoke")["toy_size"] == "smoke"
    assert profile_values("not-a-profile") == profile_values("tutorial")  # injected by papermill
    # A notebook opened with any shipped profile's name starts: the runner's own keys
    # (`notebooks`, `rate_sparsities`) are not its parameters.
    from pruning_lib.study.parameters import check_parameters

    for path in sorted((ROOT / "params").glob("*.yaml")):
        values = profile_values(path.stem)
        assert not set(values) & reproduce.RUNNER_KEYS, path.name
        check_parameters(values)


def test_hub_only_parameters_reach_every_notebook(tmp_path):
    path = tmp_path / "hubby.yaml"
    path.write_text("profile: hubby\nblock_size: 256\nmixed_precision: bf16\n")
    _, jobs, _ = reproduce.plan(path)
    assert all(j.parameters["block_size"] == 256 for j in jobs)
    assert all(j.parameters["mixed_precision"] == "bf16" for j in jobs)


def test_papermill_does_not_warn_of_the_shared_keys_a_notebook_reads(caplog):
    import logging

    from pruning_lib.study import reproduce

    logger = logging.getLogger("papermill")
    logger.addFilter(reproduce._QUIET)
    try:
        with caplog.at_level(logging.WARNING, logger="papermill"):
            logger.warning("Passed unknown parameter: grad_accum_steps")  # shared: read anyway
            logger.warning("Passed unknown parameter: not_a_key")  # kept: a real surprise
    finally:
        logger.removeFilter(reproduce._QUIET)
    assert [r.getMessage() for r in caplog.records] == ["Passed unknown parameter: not_a_key"]


def test_outputs_go_where_the_user_is(tmp_path, monkeypatch):
    from pruning_lib.study import files

    monkeypatch.delenv("PRUNING_LIB_OUT", raising=False)
    monkeypatch.delenv("PRUNING_LIB_CACHE", raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # an editable install used from another folder
    assert files.runs_dir("tutorial") == elsewhere / "runs" / "tutorial"
    assert files.default_cache_dir() == elsewhere / "runs" / "cache"
    monkeypatch.chdir(ROOT / "notebooks")  # inside the checkout: its runs/, as make reproduce
    assert files.out_dir() == ROOT / "runs"
    monkeypatch.setenv("PRUNING_LIB_OUT", str(tmp_path / "chosen"))
    assert files.runs_dir("smoke") == tmp_path / "chosen" / "smoke"


@pytest.mark.slow
def test_reproduce_from_another_folder_writes_there_and_nowhere_else(tmp_path):
    text = (ROOT / "params" / "smoke.yaml").read_text().replace("profile: smoke", "profile: away")
    (tmp_path / "away.yaml").write_text(text + "notebooks: [01_baseline]\n")
    before = checkout_runs()
    done = run_cli("compute", "away.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert list((tmp_path / "runs" / "cache" / "results").glob("dense-*.json"))
    out = tmp_path / "chosen"
    done = run_cli("reproduce", "away.yaml", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    executed = out / "away" / "notebooks" / "01_baseline.ipynb"
    assert executed.is_file()
    from tests.test_outputs_clean import output_problems

    assert output_problems(nbformat.read(executed, as_version=4)) == []  # no path of tmp_path
    assert list((out / "cache" / "results").glob("dense-*.json"))
    assert checkout_runs() == before  # nothing in the checkout


def _globals_assigned(source: str) -> set[str]:
    """Module-level names a cell assigns (not those inside functions or comprehensions)."""
    import ast

    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    names: set[str] = set()

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            return
        if isinstance(
            node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
        ):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse("\n".join(lines)))
    return names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_cell_but_the_parameters_cell_assigns_a_parameters_name(path):
    """start(globals()) reads every global named like a parameter: a later cell that assigns
    one (`model = ...`, `for sparsity in ...`) would feed a stale value to the next start."""
    from pruning_lib.study.parameters import SHARED, STUDY

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        clash = _globals_assigned(cell.source) & (set(SHARED) | set(STUDY))
        assert not clash, (path.stem, sorted(clash), cell.source.splitlines()[0])


@pytest.mark.slow
def test_a_notebook_opened_alone_reads_the_shipped_runs_and_computes_none(tmp_path, monkeypatch):
    # Notebook 07 alone on a fresh machine (Binder, Colab): an empty cache, no baseline in
    # it. Every run it asks for is read from the package, none is computed.
    import papermill

    monkeypatch.setenv("PRUNING_LIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PRUNING_LIB_OUT", str(tmp_path / "out"))
    executed = tmp_path / "07.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "07_results.ipynb"), str(executed), kernel_name="python3",
        progress_bar=False, cwd=str(ROOT / "notebooks"),
    )  # fmt: skip
    text = "\n".join(
        "".join(output.get("text", ""))
        for cell in nbformat.read(executed, as_version=4).cells
        for output in cell.get("outputs", [])
    )
    assert "the tutorial profile's runs ship with pruning-lib" in text
    assert "48 of this notebook's runs read from the runs shipped" in text
    assert "0 to compute here" in text
    trained = sorted(p.name for p in (tmp_path / "cache").glob("baseline-*"))
    assert len(trained) <= 1, trained  # seed 0's committed baseline at most (copied)
    results = json.loads((tmp_path / "out" / "tutorial" / "results.json").read_text())
    reference = ROOT / "pruning_lib" / "study" / "reference" / "tutorial_results.json"
    assert results == json.loads(reference.read_text())
