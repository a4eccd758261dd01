"""JupyterLab in a real browser: headless Chromium runs 01_baseline with the smoke settings.

Needs Debian's chromium (/usr/bin/chromium, which `make browser-deps` installs and `make test`
calls) and the Python playwright package (the `test` extra); no browser is downloaded.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _ready(base: str, token: str) -> bool:
    try:
        _get(f"{base}/api/status?token={token}")
        return True
    except OSError:
        return False


def _smoke_notebook(folder: Path, cache: Path) -> Path:
    import papermill

    from pruning_lib.study.reproduce import notebook_parameters

    source = ROOT / "notebooks" / "01_baseline.ipynb"
    smoke = yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text())
    known = notebook_parameters(source)
    parameters = {k: v for k, v in smoke.items() if k in known}
    parameters["cache_dir"] = str(cache)
    parameters["profile"] = "test-browser"  # its results folder, removed afterwards
    target = folder / "01_baseline.ipynb"
    papermill.execute_notebook(
        str(source),
        str(target),
        parameters=parameters,
        prepare_only=True,
        kernel_name="python3",
        progress_bar=False,
    )
    nb = nbformat.read(target, as_version=4)
    for cell in nb.cells:  # start clean, as a reader would
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, target)
    return target


@pytest.mark.slow
def test_jupyterlab_runs_01_baseline_in_headless_chromium(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed: run `make browser-deps`")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    work = tmp_path / "lab"
    work.mkdir()
    notebook = _smoke_notebook(work, tmp_path / "cache")
    port, token = _free_port(), secrets.token_hex(16)
    log = open(tmp_path / "jupyter.log", "w")
    env = {
        **os.environ,
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "OMP_NUM_THREADS": "1",
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work}",
            "--allow-root",  # CI runs as root
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=work,
    )
    base = f"http://127.0.0.1:{port}"
    screenshot = ROOT / "runs" / "browser" / "01_baseline.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    try:
        for _ in range(120):
            if server.poll() is not None:
                break
            try:
                _get(f"{base}/api/status?token={token}")
                break
            except OSError:
                time.sleep(0.5)
        if server.poll() is not None or not _ready(base, token):
            log.flush()
            log_text = (tmp_path / "jupyter.log").read_text()[-2000:]
            pytest.fail("jupyter lab did not start: " + log_text)
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=FLAGS, headless=True
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{notebook.name}?token={token}")
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
            page.wait_for_function(  # the kernel has started
                "() => document.querySelector('.jp-Notebook') !== null", timeout=60_000
            )
            # Under load the kernel may take a while: "Run All Cells" before it is idle
            # runs nothing, so wait for it (two minutes at most) first.
            for _ in range(60):
                kernels = _get(f"{base}/api/kernels?token={token}")
                if kernels and all(k["execution_state"] == "idle" for k in kernels):
                    break
                time.sleep(2)
            time.sleep(2)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            deadline = time.time() + 600
            while time.time() < deadline:  # wait for every code cell to have run
                prompts = page.eval_on_selector_all(
                    ".jp-CodeCell .jp-InputPrompt", "els => els.map(e => e.textContent.trim())"
                )
                kernels = _get(f"{base}/api/kernels?token={token}")
                idle = kernels and all(k["execution_state"] == "idle" for k in kernels)
                ran = all(p.startswith("[") and p[1:-2].isdigit() for p in prompts)
                if prompts and idle and ran:
                    break
                time.sleep(2)
            else:
                pytest.fail(f"cells did not finish; prompts: {prompts}")
            images = page.locator(".jp-OutputArea-output img").count()
            page.screenshot(path=str(screenshot), full_page=True)
            page.keyboard.press("Control+s")
            time.sleep(3)
            browser.close()
    finally:
        shutil.rmtree(ROOT / "runs" / "test-browser", ignore_errors=True)
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert images >= 2, "the training curve and the histogram should render as images"
    saved = nbformat.read(notebook, as_version=4)
    errors = [
        o
        for c in saved.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors, errors
    pngs = [
        o
        for c in saved.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/png" in o.get("data", {})
    ]
    assert len(pngs) >= 2
    assert screenshot.stat().st_size > 20_000
