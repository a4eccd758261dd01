"""The pruning core sits below the training loop: importing it pulls in no loop or data code."""

import subprocess
import sys

LOOP_AND_STUDY = (
    "accelerate",
    "transformers",  # the core recognises GPT-2's Conv1D without importing it
    "datasets",
    "pruning_lib.training.finetune",
    "pruning_lib.evaluation.data",
)


def imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_pruner_and_schedules_leave_the_loop_out():
    for statement in (
        "from pruning_lib import Pruner, Schedule, magnitude_masks, TrainHooks",
        "import pruning_lib.prune, pruning_lib.schedules, pruning_lib.selection",
    ):
        loaded = imported_after(statement)
        assert not loaded & set(LOOP_AND_STUDY), statement


def test_train_is_exported_lazily_from_the_package():
    loaded = imported_after("from pruning_lib import train, TrainConfig, L1Penalty")
    assert "pruning_lib.training.finetune" in loaded


def layer_of(module: str) -> int:
    parts = module.split(".")
    return {"training": 2, "evaluation": 2, "study": 3}.get(parts[1], 1) if len(parts) > 2 else 1


def test_no_import_reaches_up_a_layer():
    # Every `import` and `from ... import` of the package, resolved to a module name: the
    # library (pruning_lib/*.py) never imports training or the study, training never the study.
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "pruning_lib"
    arrows = []
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        module = ".".join(p for p in parts if p != "__init__")
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")[: len(module.split(".")) - node.level + is_package]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                names = [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith("pruning_lib.") and layer_of(name) > layer_of(module):
                    arrows.append(f"{module} -> {name}")
    # The package's __init__ loads train lazily (importlib), never at import time.
    assert arrows == []
    assert layer_of("pruning_lib.prune") == 1 and layer_of("pruning_lib.study.cli") == 3


def _import_graph() -> dict[str, set[str]]:
    """Every module of the package and the package modules it imports, at the top or
    inside a function."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "pruning_lib"
    modules = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        modules[".".join(p for p in parts if p != "__init__")] = path
    graph = {}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")[: len(module.split(".")) - node.level + is_package]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                names = [f"{source}.{a.name}" for a in node.names] + [source]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            targets |= {n for n in names if n in modules and n != module}
        graph[module] = targets
    return graph


def test_no_import_cycle_anywhere_in_the_package():
    # Function-level imports included: hiding an import inside a function hides the cycle
    # from the reader, not from this test. A package's __init__ importing its modules (and
    # theirs importing it back for nothing) would be a cycle too.
    graph = _import_graph()
    state: dict[str, int] = {}  # 1: on the path, 2: done
    cycles = []

    def visit(module, path):
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append(" -> ".join(path[path.index(target) :] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
    assert "pruning_lib.study.plans" in graph["pruning_lib.study.pool"]  # the graph is real
