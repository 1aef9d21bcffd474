# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs bench wheel clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --constraint constraints.txt --editable ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/digits_pipeline.py

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check sk_dim tests examples benchmarks docs/conf.py .ci
	$(VENV)/bin/ruff format --check sk_dim tests examples benchmarks docs/conf.py .ci

docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

bench: $(STAMP)
	$(PY) benchmarks/linear_probe.py

# The wheel, installed into an empty virtual environment, fits a pipeline.
WHEEL_VENV := build/wheel-venv
wheel: $(STAMP)
	rm -rf dist $(WHEEL_VENV)
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist .
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install --quiet --constraint constraints.txt dist/sk_dim-*.whl
	cd $(WHEEL_VENV) && bin/python $(CURDIR)/.ci/wheel_check.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache benchmarks/results docs/_build docs/generated docs/auto_examples
