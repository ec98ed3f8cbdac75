# Chronicle developer tasks (GNU make).  Run `make` or `make help` for a list.

VENV   ?= .venv
PYTHON ?= python3
PYTEST_ARGS ?=

BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP     := $(VENV)/.installed-dev

.DEFAULT_GOAL := help

.PHONY: help venv install install-dev run project test lint bench bench-quick clean

help: ## Show this help
	@echo "Usage: make <target> [VENV=.venv] [PYTHON=python3] [PYTEST_ARGS=...]"
	@echo
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

# The interpreter inside the virtualenv; created only if missing.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

# Reinstall only when pyproject.toml changes (or the venv is recreated).
$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $@

venv: $(BIN)/python ## Create the virtualenv (if missing)

install: $(RUNTIME_STAMP) ## Install the runtime package into the venv

install-dev: $(DEV_STAMP) ## Install the package with dev extras (pytest, ruff, mypy, ...)

run: install ## Serve the API on 127.0.0.1:8000 (embedded store, no database needed)
	$(BIN)/chronicle serve --host 127.0.0.1 --port 8000

project: install ## Run projection workers against the configured store
	$(BIN)/chronicle project

# pytest exit code 5 means "no tests collected": treat it as a failure.
test: install-dev ## Run the test suite (needs PostgreSQL + Redis; see TEST_DATABASE_URL / TEST_REDIS_URL)
	@$(BIN)/pytest -q $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then \
		echo "make test: pytest collected no tests (exit code 5) - failing" >&2; \
		exit 1; \
	fi; \
	exit $$rc

lint: install-dev ## Run ruff (lint and format check) and mypy strict over every package
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy domain application projections infrastructure interfaces

# The scratch database's Chronicle tables are dropped and recreated; never point BENCH_DATABASE_URL at real data.
BENCH_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/chronicle_bench
BENCH_ARGS ?=

bench: install-dev ## Run every benchmark scenario (20 min to an hour on 2 cores) and write docs/benchmarks.md
	$(BIN)/python -m bench --database-url $(BENCH_DATABASE_URL) --output docs/benchmarks.md $(BENCH_ARGS)

bench-quick: install-dev ## Smoke-run every benchmark scenario at tiny sizes (seconds; timings not meaningful)
	$(BIN)/python -m bench --quick --database-url $(BENCH_DATABASE_URL) $(BENCH_ARGS)

clean: ## Remove the venv, local data and caches
	rm -rf $(VENV) data build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
	rm -rf *.egg-info
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
