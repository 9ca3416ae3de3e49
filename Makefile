# make demo: set up .venv, train a class-conditional GAN on the embedded MNIST digits,
# write a grid with one row per digit 0-9 and an interpolation GIF, print outputs.
# make test: set up .venv, run the test suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.genjax-installed
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

# One test process per core (pytest-xdist), each test file on one process so
# its shared fixtures are built once: most of the suite's time is XLA compiling
# on one thread. Files go out in collection order, the slowest first
# (tests/conftest.py: SLOW_FILES).
test: setup
	$(PY) -m pytest -q -n auto --dist loadfile --no-loadscope-reorder tests

clean:
	rm -rf $(VENV) runs .pytest_cache
