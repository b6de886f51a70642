# Every target sets up its own virtualenv (.venv) with what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: venv demo test bench clean

$(BIN)/hier-keras: setup.py
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

venv: $(BIN)/hier-keras

## The main job: train the default preset on Fashion-MNIST (full set if installed, bundled subset otherwise).
demo: venv
	$(BIN)/hier-keras demo

## The whole test suite.
test: venv
	$(BIN)/python -m pytest -q -n 2 --durations=15

clean:
	rm -rf $(VENV) .pytest_cache
