# Two entry points: `make demo` and `make test`. Each creates .venv if it is missing.
# `make check` (lint, types, layering) is for contributors; CI runs it after the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The C extensions are built by the install: a changed _scan.c or _kernels.c
# reinstalls, so a stale build never runs the tests.
$(STAMP): pyproject.toml setup.py constraints.txt tui/core/_scan.c tui/core/_kernels.c
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test,check]'
	touch $(STAMP)

.PHONY: demo test check test-timing bench
demo: $(STAMP)
	$(BIN)/trailscope sample_logs

test: $(STAMP)
	$(BIN)/python -m pytest -q

# ruff lint (rules in pyproject.toml), mypy on the package (tui, widgets), and the
# import layering (tests/test_layers.py, tests/core/test_import_hygiene.py).
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q tests/test_layers.py tests/core/test_import_hygiene.py

# Tests that assert wall-clock speed: meaningful only on an idle machine, so not in CI.
test-timing: $(STAMP)
	$(BIN)/python -m pytest -q -m timing

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py
