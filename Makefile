# raymlx: `make demo` and `make test` each install into a local virtualenv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench bench-hpo bench-schedulers clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned (constraints.txt): an unpinned torch would pull a CUDA build
	$(PY) -m pip install --quiet -c constraints.txt torch
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) examples/wine_quality.py

test: install
	RAY_AUTH_MODE=disabled $(PY) -m pytest -q tests

lint: install
	$(VENV)/bin/ruff check raymlx tests benchmarks examples

bench: install
	$(PY) -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(PY) benchmarks/tabular.py

bench-hpo: install
	$(PY) -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(PY) benchmarks/hpo.py

bench-schedulers: install
	$(PY) -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(PY) benchmarks/schedulers.py

clean:
	rm -rf $(VENV) raymlx_runs .pytest_cache
