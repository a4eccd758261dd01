"""The pruning core sits below the training loop: importing it pulls in no loop or data code."""

import subprocess
import sys

LOOP_AND_STUDY = ("accelerate", "pruning_lib.finetune", "pruning_lib.data", "datasets")


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
    assert "pruning_lib.finetune" in loaded
