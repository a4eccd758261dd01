# Every target sets itself up on a fresh machine: a .venv, CPU PyTorch, this package.
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0
# Elsewhere, `make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu` keeps torch CPU-only.
TORCH_INDEX ?=
PROFILE ?= params/tutorial.yaml
export OMP_NUM_THREADS ?= 1
export MPLBACKEND ?= agg

.PHONY: setup test unit lint reproduce clean browser-deps lab sync-notebooks

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@# torch first: a bare `torch` requirement would pull a multi-GB CUDA build.
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install \
		$(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "torch==$(TORCH_VERSION)"
	$(PY) -m pip install -c constraints.txt -e ".[test,notebooks,lmeval]"
	@touch $@

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Lint; the tests on both cores (pytest-xdist: unit and doctests, papermill on the smoke
# profile, and the committed baseline of seed 0 retrained bit for bit); every run of the
# tutorial profile, on both cores (`pruning-lib compute`); then nbval on the committed
# notebooks, which find their runs cached.
test: lint browser-deps
	$(PY) -m pytest -n 2 --retrain-seeds 0
	$(VENV)/bin/pruning-lib compute params/tutorial.yaml
	$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		--nbval-cell-timeout 1800 -p no:xdist notebooks/

# Debian's Chromium for the JupyterLab browser test (no browser download); needs root.
browser-deps: setup
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| echo "browser-deps: install Debian's chromium to run the browser test"; }

unit: setup
	$(PY) -m pytest -m "not slow"

reproduce: setup
	$(VENV)/bin/pruning-lib reproduce $(PROFILE)

# Carry edits between each notebook and its text twin (notebooks/NN_name.py, jupytext percent
# format): the newer of the two wins, and the .ipynb keeps its outputs.
sync-notebooks: setup
	$(VENV)/bin/jupytext --sync notebooks/*.ipynb

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf runs/
