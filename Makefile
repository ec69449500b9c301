# make quickstart   install into .venv (first time only) and run the offline MNIST-1D experiment
# make test         install into .venv (first time only) and run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install quickstart test

# uv installs torch/torchvision/ray from the package index (pip's local wheel folders are not consulted).
$(BIN)/cords-tune: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet -e ".[dev]"
	touch $@

install: $(BIN)/cords-tune

quickstart: install
	$(BIN)/cords-tune run experiments/mnist1d.yaml

test: install
	$(BIN)/python -m pytest
