# Every target creates .venv and installs chaosjax into it when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.chaosjax-installed
PYTEST_FLAGS ?=

.PHONY: demo test test-all bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m chaosjax.demo

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_FLAGS)

test-all: $(STAMP)
	$(PY) -m pytest -q -m "" $(PYTEST_FLAGS)

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) out .pytest_cache
