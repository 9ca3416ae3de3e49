# make demo: set up .venv, train a class-conditional GAN on the embedded MNIST digits,
# write a grid with one row per digit 0-9 and an interpolation GIF, print outputs.
# make test: set up .venv, run the test suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.genjax-installed
TORCH_STAMP := $(VENV)/.torch-installed
DEMO_DIR ?= runs/demo

.PHONY: setup demo test clean

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: setup
	$(PY) -m genjax.train --config configs/cgan.py:demo --workdir $(DEMO_DIR)
	$(PY) -m genjax.sample --workdir $(DEMO_DIR) --num 1000 --out $(DEMO_DIR)/samples.npz \
	    --class_grid $(DEMO_DIR)/final_grid.png
	$(PY) -m genjax.sample --workdir $(DEMO_DIR) --interpolate 12 --path_seeds 0,1,2,3 \
	    --formats gif --out $(DEMO_DIR)/interpolation
	@echo "Demo outputs in $(DEMO_DIR)/: final_grid.png, interpolation.gif, report.html, samples/, metrics.jsonl, tensorboard/, checkpoints/"

# PyTorch's CPU build, for the benchmark's PyTorch twins (experiments/torch_twins.py)
# and their tests: from a local wheel or the package index where there is one, else
# from PyTorch's CPU index; without it those tests skip.
$(TORCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet "torch==2.13.0+cpu" 2>/dev/null \
	  || $(PY) -m pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu \
	  || echo "PyTorch not installed: the PyTorch twin tests skip."
	touch $(TORCH_STAMP)

# One test process per core (pytest-xdist), each test file on one process so
# its shared fixtures are built once: most of the suite's time is XLA compiling
# on one thread. Files go out in collection order, the slowest first
# (tests/conftest.py: SLOW_FILES). (One process more than the cores measured
# slower: 21.2 against 20.3 min here.)
test: setup $(TORCH_STAMP)
	$(PY) -m pytest -q -n auto --dist loadfile --no-loadscope-reorder tests

clean:
	rm -rf $(VENV) runs .pytest_cache
