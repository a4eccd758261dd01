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

# Unit tests, the papermill tests (smoke profile, hub code path offline), then nbval on
# the committed notebooks. Beside them, a second process (one torch thread) runs the main
# sweep and the equal-size study of the tutorial's other seeds, so that 07_results and
# 09_scores_patterns find them cached, retrains the committed baseline of seed 0 to check it
# bit for bit (pytest -m retrain checks both), then runs seed 0's equal-size study from its
# end while nbval's 09 runs it from the start: both cores, never more than two processes
# (so no notebook starts its own helper process: PRUNING_LIB_WORKERS=1, study/beside.py).
test: export PRUNING_LIB_WORKERS = 1
test: lint browser-deps
	@mkdir -p runs
	@( $(PY) -m pruning_lib.study.results params/tutorial.yaml sweep equal-size && \
		$(PY) -m pytest -m retrain -k seed0 --basetemp=runs/retrain-tmp tests/test_baseline_retrain.py && \
		$(PY) -m pruning_lib.study.results params/tutorial.yaml help ) > runs/seeds.log 2>&1 & \
	seeds=$$!; \
	set -x; $(PY) -m pytest; status=$$?; \
	if [ $$status -eq 0 ]; then \
		$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
			--nbval-cell-timeout 1800 notebooks/; status=$$?; \
	else pkill -P $$seeds; kill $$seeds; fi; \
	if ! wait $$seeds; then \
		echo "the second process failed: see runs/seeds.log"; tail -n 30 runs/seeds.log; \
		[ $$status -ne 0 ] || status=1; \
	fi; exit $$status

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
