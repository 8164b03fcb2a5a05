# Two entry points: `make lab` (set up, then open the quickstart in JupyterLab) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup lab demo test lint types pytest bench clean exports

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# JupyterLab refuses to run as root (containers, CI) unless told it may
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) notebooks/01_quickstart.ipynb

demo: $(STAMP)
	$(BIN)/python -m flowbuilder demo

lint: $(STAMP)
	$(BIN)/ruff check flowbuilder tests benchmarks exports
	$(BIN)/ruff format --check flowbuilder tests benchmarks exports

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

test: lint types pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/engine.py
	$(BIN)/python benchmarks/server.py
	$(BIN)/python benchmarks/sandbox.py
	$(BIN)/python benchmarks/builder.py

# Rewrite exports/ from flowbuilder/examples.py (a test fails when they are stale).
exports: $(STAMP)
	$(BIN)/python -m flowbuilder.export.regenerate exports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
