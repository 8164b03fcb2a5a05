# Two entry points: `make lab` (set up, then open the quickstart in JupyterLab) and `make test`.
# The newest Python >= 3.11 found runs everything (3.11 serves fastest, see the README); PY=... wins.
PY ?= $(shell for p in python3.13 python3.12 python3; do \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && echo $$p && break; \
	done)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup lab demo test lint types pytest bench clean exports chromium

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

# The Mermaid export is rendered by the real mermaid.js in a browser test: the one file it needs
# comes from the npm package's tarball (no dependencies, no node_modules). Without npm the test
# is skipped and says why; MERMAID_JS set by hand wins.
MERMAID_VERSION := 11.17.2
MERMAID_DIR := $(VENV)/mermaid-$(MERMAID_VERSION)
MERMAID_FILE := $(MERMAID_DIR)/package/dist/mermaid.min.js

$(MERMAID_FILE): | $(STAMP)
	@if command -v npm >/dev/null 2>&1; then \
	  mkdir -p $(MERMAID_DIR) && cd $(MERMAID_DIR) && \
	  npm pack --silent mermaid@$(MERMAID_VERSION) >/dev/null && \
	  tar -xzf mermaid-$(MERMAID_VERSION).tgz package/dist/mermaid.min.js && \
	  rm mermaid-$(MERMAID_VERSION).tgz; \
	else echo "npm not found: the Mermaid render test will be skipped"; fi

# The browser tests need Chromium: installed here where it can be (as root, with apt); on any
# other machine they are skipped, each saying why.
CHROMIUM_PATH ?= /usr/bin/chromium
chromium:
	@if [ -x "$(CHROMIUM_PATH)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Chromium (apt) for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium fonts-noto-color-emoji >/dev/null) \
	  || echo "could not install Chromium: the browser tests will be skipped"; \
	else echo "no Chromium (and no root apt to install it): the browser tests will be skipped"; fi

# byte-compiled once (stale files only), as pip does on install: with PYTHONDONTWRITEBYTECODE
# set, every process the tests spawn would compile each module again
pytest: $(STAMP) $(MERMAID_FILE) chromium
	$(BIN)/python -m compileall -q flowbuilder >/dev/null
	MERMAID_JS="$${MERMAID_JS:-$$(realpath -e $(MERMAID_FILE) 2>/dev/null)}" $(BIN)/python -m pytest

test: lint types pytest

# the peers' extra too (FastAPI, uvicorn, uvloop); VENV=.venv313 PY=python3.13 for another Python
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/peers.py
	$(BIN)/python benchmarks/engine.py
	$(BIN)/python benchmarks/server.py
	$(BIN)/python benchmarks/sandbox.py
	$(BIN)/python benchmarks/builder.py

# Rewrite exports/ from flowbuilder/examples.py (a test fails when they are stale).
exports: $(STAMP)
	$(BIN)/python -m flowbuilder.export.regenerate exports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
