"""The notebooks' exercises: every one ends in a check, every check passes its reference
solution (solutions/) and fails the untouched stub, and the notebooks, the checks and the
solutions name the same functions.

The exercises are read from the notebooks' text twins (notebooks/NN_name.py): each numbered
item of the "## Exercises" section ends with a fenced python block holding the stub, the
import of its check from pruning_lib.study.exercises and the call. The tests run that block
as a student would: as it stands (the stub must fail), and with the stub replaced by the
solution of the same name (it must pass).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import math
import re
from dataclasses import dataclass
from pathlib import Path
from statistics import mean, stdev
from types import ModuleType

import pytest
import tomllib
import torch

from pruning_lib.study import exercises
from pruning_lib.study.uncertainty import t95

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
SOLUTIONS = ROOT / "solutions"
MODULE = "pruning_lib.study.exercises"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@dataclass(frozen=True)
class Exercise:
    notebook: str
    number: int
    text: str  # the item's markdown, from its number to the next item
    code: str  # its check block ("" when it has none)

    @property
    def id(self) -> str:
        return f"{self.notebook}-{self.number}"

    def nodes(self) -> list[ast.stmt]:
        return ast.parse(self.code).body

    @property
    def stubs(self) -> list[str]:
        return [n.name for n in self.nodes() if isinstance(n, ast.FunctionDef)]

    @property
    def checks(self) -> list[str]:
        return [
            alias.name
            for n in self.nodes()
            if isinstance(n, ast.ImportFrom) and n.module == MODULE
            for alias in n.names
        ]

    @property
    def calls(self) -> list[str]:
        return [
            n.value.func.id
            for n in self.nodes()
            if isinstance(n, ast.Expr)
            and isinstance(n.value, ast.Call)
            and isinstance(n.value.func, ast.Name)
        ]


def exercises_markdown(path: Path) -> str:
    """The "## Exercises" section of a text twin, uncommented, up to the next cell."""
    text = path.read_text()
    start = text.index("# ## Exercises")
    end = text.find("\n# %%", start)
    section = text[start : end if end != -1 else None]
    return "\n".join(line[2:] if line.startswith("# ") else "" for line in section.splitlines())


def read_exercises(path: Path) -> list[Exercise]:
    parts = re.split(r"^(\d+)\. ", exercises_markdown(path), flags=re.M)
    found = []
    for number, text in zip(parts[1::2], parts[2::2]):
        blocks = [b for b in BLOCK.findall(text) if MODULE in b]
        found.append(Exercise(path.stem, int(number), text, blocks[0] if len(blocks) == 1 else ""))
    return found


ALL = [e for path in NOTEBOOKS for e in read_exercises(path)]
CHECKED = [e for e in ALL if e.code]
# Checks that evaluate the tutorial model at the main sweep's four seeds (minutes): they
# read the runs and baselines `make test`'s `pruning-lib compute` leaves in the cache, and
# run under `-m trained`, after it.
TRAINED = {"check_layer_allocation"}


@pytest.fixture(autouse=True)
def _own_cache_unless_trained(request, tmp_path_factory, monkeypatch):
    """A check that reads the tutorial's runs restores them from the shipped runs into the
    cache; outside `-m trained` that cache is the test's own, so that `make test`'s later
    `pruning-lib compute` still computes every run from scratch. `-m trained` runs after it
    and reads the computed runs and baselines."""
    if request.node.get_closest_marker("trained") is None:
        monkeypatch.setenv("PRUNING_LIB_CACHE", str(tmp_path_factory.mktemp("cache")))


def solved(exercise: Exercise):
    """The exercise, marked ``trained`` where its check needs the trained baselines."""
    marks = [pytest.mark.trained] if set(exercise.checks) & TRAINED else []
    return pytest.param(exercise, marks=marks, id=exercise.id)


@functools.cache
def solutions(notebook: str) -> ModuleType:
    """solutions/<notebook>.py, imported by path (solutions/ is not a package)."""
    path = SOLUTIONS / f"{notebook}.py"
    spec = importlib.util.spec_from_file_location(f"solutions_{notebook}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_block(exercise: Exercise, functions: dict | None = None, unwritten=False) -> None:
    """Run the exercise's block statement by statement, as a notebook cell would; its stub
    definitions are replaced by ``functions`` where given, or by stubs that raise
    NotImplementedError with ``unwritten``."""
    namespace: dict = {}
    for node in exercise.nodes():
        if isinstance(node, ast.FunctionDef) and functions is not None:
            namespace[node.name] = functions[node.name]
            continue
        if isinstance(node, ast.FunctionDef) and unwritten:
            node.body = [ast.parse("raise NotImplementedError").body[0]]
        code = compile(ast.fix_missing_locations(ast.Module([node], [])), exercise.id, "exec")
        exec(code, namespace)


def test_every_notebook_has_exercises():
    assert len(NOTEBOOKS) == 11
    for path in NOTEBOOKS:
        assert [e.number for e in ALL if e.notebook == path.stem][:1] == [1], path.stem


@pytest.mark.parametrize("exercise", ALL, ids=lambda e: e.id)
def test_every_exercise_ends_in_its_stub_and_check(exercise):
    assert exercise.code, f"{exercise.id}: no ```python block with a check of {MODULE}"
    assert exercise.text.rstrip().endswith("```"), f"{exercise.id}: the check is not last"
    assert len(exercise.stubs) == 1 and len(exercise.checks) == 1, exercise.id
    assert exercise.calls == exercise.checks, f"{exercise.id}: the block must call its check"
    stub = next(n for n in exercise.nodes() if isinstance(n, ast.FunctionDef))
    assert ast.unparse(stub.body) == "...", f"{exercise.id}: the stub's body is `...`"


def test_checks_solutions_and_notebooks_name_the_same_functions():
    defined = {
        name
        for name, f in vars(exercises).items()
        if name.startswith("check_") and inspect.isfunction(f) and f.__module__ == MODULE
    }
    named = [c for e in CHECKED for c in e.checks]
    assert sorted(named) == sorted(set(named)), "a check is named by two exercises"
    assert set(named) == defined, "checks without an exercise, or exercises without a check"
    for exercise in CHECKED:
        module = solutions(exercise.notebook)
        for stub in exercise.stubs:
            assert inspect.isfunction(getattr(module, stub, None)), f"{exercise.id}: {stub}"
            assert (getattr(module, stub).__doc__ or "").strip(), f"{exercise.id}: docstring"
    assert {p.stem for p in SOLUTIONS.glob("*.py")} == {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("exercise", [solved(e) for e in CHECKED])
def test_the_solution_passes_its_check(exercise, capsys):
    module = solutions(exercise.notebook)
    run_block(exercise, {name: getattr(module, name) for name in exercise.stubs})
    assert capsys.readouterr().out.startswith("correct: ")


@pytest.mark.parametrize("exercise", CHECKED, ids=lambda e: e.id)
def test_the_untouched_stub_fails_its_check(exercise, capsys):
    with pytest.raises(AssertionError) as failure:
        run_block(exercise)
    assert str(failure.value), "a check says what is wrong"
    assert "correct" not in capsys.readouterr().out


@pytest.mark.parametrize("exercise", CHECKED, ids=lambda e: e.id)
def test_a_stub_raising_not_implemented_fails_its_check(exercise):
    with pytest.raises(AssertionError, match="not written yet"):
        run_block(exercise, unwritten=True)


def _sorted_keep(magnitudes, sparsity, count=int):
    keep = torch.ones(magnitudes.numel(), dtype=torch.bool)
    keep[torch.sort(magnitudes, stable=True).indices[: count(sparsity * magnitudes.numel())]] = 0
    return keep


def _global_masks(weights, sparsity):
    every = torch.cat([w.abs().flatten() for w in weights.values()])
    cutoff = every.kthvalue(round(sparsity * every.numel())).values
    return {name: w.abs() > cutoff for name, w in weights.items()}


def _no_rezero(weight, mask, optimizer):
    weight.grad.mul_(mask)
    optimizer.step()


def _qa_mean_of_terms(a, b):
    paired_noise = solutions("06_finetuning").paired_noise
    difference, _ = solutions("06_finetuning").qa_difference(a, b)
    return difference, sum(paired_noise(a[t], b[t]) for t in a) / len(a)


def _terms_added(a, b):
    """The seed and item terms of exercise 09.3 added, not combined as a root of squares."""
    seeds = len(a)
    deltas = [x.count("1") / len(x) - y.count("1") / len(y) for x, y in zip(a, b)]
    seed_term = t95(seeds - 1) * stdev(deltas) / math.sqrt(seeds) if seeds > 1 else 0.0
    items = [sum(int(x[i]) - int(y[i]) for x, y in zip(a, b)) / seeds for i in range(len(a[0]))]
    items += [1.0, -1.0]
    item_term = 1.959963984540054 * stdev(items) / math.sqrt(len(items))
    return mean(deltas), seed_term + item_term


# Plausible wrong answers: each check must catch its mistake.
MISTAKES = {
    "check_parameter_count": lambda d, layers, vocab, positions: layers * 12 * d * d,
    "check_prune_smallest": _sorted_keep,  # int() where the library rounds
    "check_seed_interval": lambda values, n_items: (min(values), max(values)),
    "check_layerwise_masks": _global_masks,
    "check_global_layer_sparsity": lambda weights, s: {name: s for name in weights},
    "check_sparsity_from_histogram": lambda counts, edges, t: sum(
        c for c, high in zip(counts, edges[1:]) if high <= t
    ),  # a count, not a fraction
    "check_balancing_lambda": lambda weights, loss: loss / sum(w.numel() for w in weights),
    "check_qa_difference": _qa_mean_of_terms,
    "check_half_gain_step": lambda steps, v: next(s for s, x in zip(steps, v) if x >= v[-1] / 2),
    "check_fall_slopes": lambda s, v: [a - b for a, b in zip(v, v[1:])],  # per step, not per unit
    "check_wanda_mask": lambda rows, norms, s: solutions("09_scores_patterns").wanda_mask(
        rows, torch.ones_like(norms), s
    ),  # the norms left out
    "check_paired_interval": _terms_added,
    "check_threshold_for_sparsity": lambda m, s: float(m.median()),  # right for 0.5 only
    "check_sparsity_without_attention": lambda d, m, s: s * 2 / 3,  # m = 4d only
    "check_iterative_trace": lambda s, n, steps: [
        (i * steps // n, s * (i + 1) / n) for i in range(n)
    ],
    "check_rate_per_round": lambda s, n: s / n,
    "check_pruning_steps": lambda b, e, f: list(range(b, e + 1, f)),  # misses a late end
    "check_cubic_schedule": lambda t, s_i, s_f, T: s_i + (s_f - s_i) * (t / T) ** 3,
    "check_paired_noise": lambda a, b: (
        1.96
        * torch.tensor([int(x) - int(y) for x, y in zip(a, b)], dtype=torch.float64).std().item()
        / len(a) ** 0.5
    ),  # without the pseudo-items
    "check_soft_threshold": lambda w, t: w * (w.abs() > t),  # hard threshold
    "check_masked_step": _no_rezero,
    "check_retention_by_seed": lambda p, d: sum(p) / sum(d),  # the ratio of the means
    "check_paired_fall": lambda d, p: (sum(d) / len(d) - sum(p) / len(p), 0.0),
    "check_bitmask_bytes": lambda numel, nonzero, size: numel / 8 + 4 * nonzero,
    "check_sparsity_for_size": lambda ratio, bits: 1 - ratio,
    "check_matmul_macs": lambda shapes, tokens: sum(out * inputs for out, inputs in shapes),
    "check_nm_mask": lambda rows, n, m: _sorted_keep(rows.abs().flatten(), 1 - n / m, round).view(
        rows.shape
    ),  # N:M over the whole matrix, not per group
    "check_csr_breakeven": lambda rows, cols, value, index: 1 - value / (value + index),
    "check_block_macs": lambda T, d, m: 4 * T * d * d + 2 * T * d * m,  # attention left out
    # Sparing the sensitive layers without pruning the others more: not the same size.
    "check_reconstruct_row": lambda X, w, keep: w * keep,  # the mask alone, nothing refitted
    # The cosine of the whole tensors, not token by token.
    "check_block_influence": lambda a, b: (
        1 - float(torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0))
    ),
    # The smallest magnitudes over the whole matrix: the pruned zeros "dropped" again.
    "check_set_drop": lambda w, keep, f: (
        keep.flatten()
        .index_fill(0, w.abs().flatten().argsort()[: round(f * int(keep.sum()))], False)
        .view(keep.shape)
    ),
    "check_layer_allocation": lambda falls, sizes, target: {
        name: target / 2 if fall[0.9] > 0.1 else target for name, fall in falls.items()
    },
}


@pytest.mark.parametrize("check, mistake", MISTAKES.items(), ids=list(MISTAKES))
def test_a_plausible_mistake_fails_its_check(check, mistake, capsys):
    assert set(MISTAKES) == {c for e in CHECKED for c in e.checks}
    with pytest.raises(AssertionError):
        getattr(exercises, check)(mistake)
    assert "correct" not in capsys.readouterr().out


def test_solutions_stay_out_of_the_installed_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["tool"]["setuptools"]["packages"]["find"]["include"] == ["pruning_lib*"]
    assert not (SOLUTIONS / "__init__.py").exists()
