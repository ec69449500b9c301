# make quickstart   install into .venv (first time only) and run the offline MNIST-1D experiment
# make test         install into .venv (first time only) and run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install quickstart test

# uv installs torch/torchvision/ray from the package index (pip's local wheel folders are not consulted).
# --compile-bytecode: where PYTHONDONTWRITEBYTECODE is set, Python never caches bytecode, and every Ray worker
# would compile torch from source at start (measured: 9.5 s of imports per worker instead of 3.5 s).
$(BIN)/cords-tune: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode -e ".[dev]"
	touch $@

install: $(BIN)/cords-tune

quickstart: install
	$(BIN)/cords-tune run experiments/mnist1d.yaml

# One process: `pytest -n 2` (two workers) takes 13-15 minutes instead of 17-18, but once left a Ctrl-C during the
# finalists unanswered for 60 s (docs/benchmarks.md, "The test suite in two workers"); until that is understood, CI
# runs the suite in one process.
test: install
	$(BIN)/python -m pytest --durations=25   # the slowest tests, to keep the suite near 15 minutes
