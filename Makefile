# Every target sets itself up on a fresh machine: a .venv, CPU PyTorch, this package.
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0
# Elsewhere, `make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu` keeps torch CPU-only.
TORCH_INDEX ?=
PROFILE ?= params/tutorial.yaml
export OMP_NUM_THREADS ?= 1
export MPLBACKEND ?= agg

.PHONY: setup test unit lint reproduce clean browser-deps lab sync-notebooks refresh-notebooks \
	ship-runs

setup: $(VENV)/.installed

# torch first: a bare `torch` requirement would pull a multi-GB CUDA build.
$(VENV)/.torch:
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install \
		$(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "torch==$(TORCH_VERSION)"
	@touch $@

# Everything: the package, the notebooks' tools, the tests' tools and lm-eval.
$(VENV)/.installed: pyproject.toml constraints.txt $(VENV)/.torch
	$(PY) -m pip install -c constraints.txt -e ".[test,notebooks,lmeval]"
	@touch $@ $(VENV)/.notebooks

# What `make reproduce` needs: the package and the notebooks' tools (a minute less to set up).
$(VENV)/.notebooks: pyproject.toml constraints.txt $(VENV)/.torch
	$(PY) -m pip install -c constraints.txt -e ".[notebooks]"
	@touch $@

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Lint; the tests on both cores (pytest-xdist: unit and doctests, papermill on the smoke
# profile); every run of the tutorial profile recomputed from the committed baselines, on
# both cores (`pruning-lib compute`, which checks them against the runs shipped with the
# package; `-m trained` then checks the baselines' weights against their recorded hashes);
# then nbval on the committed notebooks, which find their runs cached. Retraining the
# baselines from scratch, bit for bit, is `pytest -m retrain` (about eight minutes a seed).
test: lint browser-deps
	$(PY) -m pytest -n 2
	$(VENV)/bin/pruning-lib compute params/tutorial.yaml
	$(PY) -m pytest -m trained tests/test_baseline_retrain.py tests/test_exercises.py
	$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		--nbval-cell-timeout 1800 -p no:xdist notebooks/

# Debian's Chromium for the JupyterLab browser test (no browser download); needs root.
browser-deps: setup
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| echo "browser-deps: install Debian's chromium to run the browser test"; }

unit: setup
	$(PY) -m pytest -n 2 -m "not slow"

reproduce: $(VENV)/.notebooks
	$(VENV)/bin/pruning-lib reproduce $(PROFILE)

# Carry edits between each notebook and its text twin (notebooks/NN_name.py, jupytext percent
# format): the newer of the two wins, and the .ipynb keeps its outputs.
sync-notebooks: setup
	$(VENV)/bin/jupytext --sync notebooks/*.ipynb

# Execute the committed notebooks in place with their defaults (the tutorial profile), so that
# they carry its outputs; their runs are computed first, on both cores.
refresh-notebooks: setup
	$(VENV)/bin/pruning-lib compute params/tutorial.yaml
	$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.kernel_name=python3 --ExecutePreprocessor.timeout=-1 \
		--ExecutePreprocessor.record_timing=False notebooks/*.ipynb

# Store every run of the tutorial profile as the runs shipped with the package (what a
# notebook opened alone reads), after a change that is meant to change results; `make test`
# and `make reproduce` recompute them and fail while they differ.
ship-runs: setup
	$(VENV)/bin/pruning-lib compute params/tutorial.yaml --ship

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf runs/
