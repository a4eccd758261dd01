"""CPU results bit for bit across x86 machines: importing the study pins the AVX2 kernels;
importing the library changes no process state."""

import os
import platform
import subprocess
import sys
import warnings

import pytest

from pruning_lib._cpu import PINNED

X86 = platform.machine().lower() in ("x86_64", "amd64")
PROBE = (
    "import torch, pruning_lib.study, os; "
    "print(pruning_lib.cpu_kernels(), os.environ.get('ATEN_CPU_CAPABILITY'))"
)


def _run(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in PINNED}
    result = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def test_importing_the_library_changes_no_environment_variable():
    code = "import os; before = dict(os.environ); import pruning_lib; print(before == os.environ)"
    assert _run(code) == "True"


def test_importing_the_study_pins_the_avx2_kernels_on_x86():
    kernels, variable = _run(PROBE).split()
    if X86:
        # AVX2 where the processor has it (every x86 machine of the last decade); a machine
        # without it keeps torch's DEFAULT kernels whatever we ask.
        assert variable == "avx2" and kernels in ("AVX2", "DEFAULT")
    else:
        assert variable == "None"  # nothing is pinned off x86


@pytest.mark.skipif(not X86, reason="the AVX2 pin exists on x86 only")
def test_an_empty_variable_counts_as_unset():
    kernels, variable = _run(PROBE, ATEN_CPU_CAPABILITY="").split()
    assert variable == "avx2" and kernels in ("AVX2", "DEFAULT")


def test_start_warns_where_torch_chose_avx512_despite_the_pin(monkeypatch):
    """Whatever this machine's processor: the check reads the kernels torch reports."""
    from pruning_lib.study import runtime

    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    monkeypatch.setattr(runtime, "cpu_kernels", lambda: "AVX512")
    with pytest.warns(RuntimeWarning, match="its AVX2 pin came too late"):
        runtime.check_cpu_kernels()
    monkeypatch.setattr(runtime, "cpu_kernels", lambda: "AVX2")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runtime.check_cpu_kernels()  # pinned in time: nothing said
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx512")
    monkeypatch.setattr(runtime, "cpu_kernels", lambda: "AVX512")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runtime.check_cpu_kernels()  # AVX-512 asked for: nothing said


def test_a_choice_of_your_own_is_kept():
    kernels, variable = _run(PROBE, ATEN_CPU_CAPABILITY="default").split()
    assert (kernels, variable) == ("DEFAULT", "default")


@pytest.mark.skipif(not X86, reason="the AVX2 pin exists on x86 only")
def test_a_pin_that_came_too_late_is_a_warning():
    """A torch operation before the import fixes the kernels: on an AVX-512 machine the
    notebooks' start() says so; elsewhere the kernels are AVX2 anyway and nothing is said."""
    code = (
        "import warnings, torch; torch.ones(3).add_(1); import pruning_lib.study; "
        "from pruning_lib.study.runtime import check_cpu_kernels; "
        "warnings.simplefilter('error'); "
        "print(pruning_lib.cpu_kernels(), end=' ')\n"
        "try:\n    check_cpu_kernels(); print('quiet')\n"
        "except RuntimeWarning as w:\n"
        "    print('warned' if 'AVX2 pin came too late' in str(w) else w)"
    )
    kernels, said = _run(code).split()
    assert said == ("warned" if kernels.startswith("AVX512") else "quiet")
