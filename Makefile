# Every target creates .venv and installs chaosjax into it when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.chaosjax-installed
PYTEST_FLAGS ?=
# The tests run on two processes (pytest-xdist), a test file to a process (its module
# fixtures made once): the 2-core CI in about 7.5 minutes instead of 10.5.
# `make test PYTEST_WORKERS=0` runs them in this process.
PYTEST_WORKERS ?= 2

.PHONY: demo test test-all lint bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m chaosjax.demo

# Style, types and the docs build run before the tests: a failure names the file.
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples
	$(VENV)/bin/pyright
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir .site-check
	rm -rf .site-check

test: lint
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_FLAGS)

test-all: $(STAMP)
	$(PY) -m pytest -q -m "" -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_FLAGS)

# Writes benchmarks/RESULTS.md (~10 min on 2 cores); `make bench BENCH_FLAGS=--quick`
# is a smoke run of every script.
bench: $(STAMP)
	$(PY) benchmarks/run_all.py $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) out .pytest_cache
