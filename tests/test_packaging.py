"""The ways in stay consistent: dependencies, CI command, README commands."""

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"torch": "pytorch"}  # PyPI name -> conda-forge name


def _name(requirement: str) -> str:
    return re.split(r"[<>=!\[ ;]", requirement, maxsplit=1)[0].lower()


def _pyproject_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_name(r) for r in project["dependencies"]}
    for extra in ("notebooks", "test"):
        names |= {_name(r) for r in project["optional-dependencies"][extra]}
    return {CONDA_NAMES.get(n, n) for n in names}


def _conda_names(path: Path) -> set[str]:
    env = yaml.safe_load(path.read_text())
    names = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    for extra in env["dependencies"]:
        if isinstance(extra, dict):
            names |= {_name(d) for d in extra.get("pip", [])}
    return names - {"python", "pip"}


def test_environment_files_name_the_same_dependencies():
    wanted = _pyproject_names()
    assert _conda_names(ROOT / "environment.yml") == wanted
    assert _conda_names(ROOT / "binder" / "environment.yml") == wanted


def test_binder_uses_cpu_torch_and_installs_the_package():
    env = (ROOT / "binder" / "environment.yml").read_text()
    assert re.search(r"pytorch[^\n]*=cpu\*", env)
    assert "conda-forge" in env
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "set -e" in post and "pip install --no-deps -e ." in post
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make reproduce" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert "ruff check" in makefile and "ruff format --check" in makefile
    assert "torch==$(TORCH_VERSION)" in makefile  # CPU torch first, never a CUDA pull


def test_repo2docker_reads_binder_folder_and_plans_post_build():
    import shutil
    import subprocess
    import sys

    beside_python = Path(sys.executable).parent / "repo2docker"
    repo2docker = shutil.which("repo2docker") or str(beside_python)
    done = subprocess.run(
        [repo2docker, "--no-build", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    plan = done.stdout + done.stderr
    assert 'env update -p ${NB_PYTHON_PREFIX} --file "binder/environment.yml"' in plan
    assert "RUN ./binder/postBuild" in plan
    assert "COPY --chown=0:0 src/binder/environment.yml" in plan
