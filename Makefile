# raymlx: `make demo` and `make test` each install into a local virtualenv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo demo-nas docs docs-serve test test-parallel test-fast lint typecheck check bench bench-hpo bench-bbob bench-schedulers bench-stacking bench-nas bench-scaling clean

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

demo-nas: install
	$(PY) examples/nas_digits.py

# one process, as CI runs it: the `serial` tests (they stop every Ray on the host) last.
# Two pytest-xdist workers (make test-parallel) take about two thirds of the time, but on
# 2 cores the wall-clock tests and the fault tests' two Ray instances then disturb each
# other, and CI saw failures and a hang that one process does not have
test: install
	RAY_AUTH_MODE=disabled $(PY) -m pytest -q --durations=25 -m "not serial" tests examples/extending
	RAY_AUTH_MODE=disabled $(PY) -m pytest -q -m serial tests examples/extending

test-parallel: install
	RAY_AUTH_MODE=disabled $(PY) -m pytest -q -n 2 --dist loadscope -m "not serial" tests examples/extending
	RAY_AUTH_MODE=disabled $(PY) -m pytest -q -m serial tests examples/extending

# the unit tests that need no Ray and time nothing, for day-to-day work (Ray is made
# unreachable, so a test that needs it and is not marked `ray` fails instead of starting it)
test-fast: install
	RAY_AUTH_MODE=disabled RAY_ADDRESS=127.0.0.1:1 $(PY) -m pytest -q -m "not ray and not timing" tests examples/extending

# the documentation site: the generated benchmark pages, then mkdocs with warnings as errors
docs: install
	$(PY) docs/gen_benchmarks.py
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

docs-serve: docs
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

lint: install
	$(VENV)/bin/ruff check raymlx tests benchmarks examples docs

typecheck: install
	$(VENV)/bin/mypy raymlx

# what CI runs before the tests
check: lint typecheck

bench: install
	$(PY) -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(PY) benchmarks/tabular.py

bench-hpo: install
	$(PY) -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(PY) benchmarks/hpo.py

# the 24 BBOB functions of COCO, 1 and 4 concurrent trials (about 30 minutes on 2 cores)
bench-bbob: install
	$(PY) -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(PY) benchmarks/bbob.py --jobs 2

bench-schedulers: install
	$(PY) -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(PY) benchmarks/schedulers.py

bench-nas: install
	$(PY) -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(PY) benchmarks/nas.py --parts memory,quality,scaling

bench-scaling: install
	$(PY) benchmarks/scaling.py --parts overhead,cpus,cluster --trials 100 --rounds 5 --time-limit 90

# AutoGluon in its own virtualenv: it pins an older Ray than raymlx (ray<2.59)
AG_VENV ?= .venv-autogluon
$(AG_VENV)/.installed-stamp:
	$(PYTHON) -m venv $(AG_VENV)
	$(AG_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AG_VENV)/bin/python -m pip install --quiet "torch==2.13.0+cpu" "autogluon.tabular[all]==1.6.3"
	touch $@

bench-stacking: install $(AG_VENV)/.installed-stamp
	$(PY) benchmarks/stacking.py

clean:
	rm -rf $(VENV) raymlx_runs .pytest_cache site docs/benchmarks/results
