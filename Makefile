# Madang: `make run` serves the demo site, `make test` runs every check. Both install first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi
# The test suite runs on every core plus one (pytest-xdist; at most 4 workers, each with its
# own Chromium and servers): many tests wait on a server starting or a timeout, and a third
# worker on two cores keeps them busy (SQLite pass 7:42 against 8:08-8:29 with two).
# `make test PYTEST_WORKERS=0` runs it in one process.
PYTEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(len(os.sched_getaffinity(0)) + 1)')
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --maxprocesses 4 --dist loadgroup

.PHONY: install run run-production rehearse-production rehearse-workers services test test-postgres lint format translations chromium clean audit

install: $(VENV)/.installed node_modules/.installed static/vendor/.installed translations

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,loadtest]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Third-party browser assets are copied from node_modules at install time, never committed.
static/vendor/.installed: node_modules/.installed
	mkdir -p static/vendor
	cp node_modules/socket.io-client/dist/socket.io.min.js static/vendor/
	cp node_modules/socket.io-client/dist/socket.io.min.js.map static/vendor/ 2>/dev/null || true
	cp node_modules/chart.js/dist/chart.umd.min.js static/vendor/chart.umd.min.js
	touch $@

translations: $(VENV)/.installed
	@for dir in $$(find deliberation -type d -name translations); do \
		$(BIN)/pybabel compile --use-fuzzy -d $$dir >/dev/null || exit 1; \
	done

run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --if-empty
	$(BIN)/python -m deliberation.serve

# A production-shaped stack on loopback: PostgreSQL, Redis (password), the scheduler, two
# gunicorn gevent workers and nginx on http://127.0.0.1:8080 (docs/deploy.md). Ctrl-C stops it.
run-production: install services
	$(BIN)/python -m scripts.localstack run

# The live-roundtable rehearsal against a private production-shaped stack on free loopback
# ports, stopped afterwards; the last line printed is the rehearsal's JSON.
PARTICIPANTS ?= 1000
WORKERS ?= 2
rehearse-production: install services
	@$(BIN)/python -m scripts.localstack rehearse --participants $(PARTICIPANTS) \
		--workers $(WORKERS) $(if $(REFERENCE),--reference $(REFERENCE)) \
		$(if $(FAULT),--fault $(FAULT)) $(if $(WINDOW),--window $(WINDOW))

# One worker, then two, PAIRS times, each on a fresh stack: does a second worker help?
rehearse-workers: install services
	@$(BIN)/python -m scripts.compare_workers --participants $(PARTICIPANTS) \
		$(if $(PAIRS),--pairs $(PAIRS)) $(if $(WINDOW),--window $(WINDOW))

# PostgreSQL, Redis and nginx from Debian packages (installed as root, else a clear message).
services:
	@scripts/ensure-services.sh

chromium:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
		else echo "install Debian's chromium and fonts-noto-cjk packages" >&2; exit 1; fi; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install chromium services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m tests.security.dependency_audit --allow-offline
	$(BIN)/pytest $(PYTEST_PARALLEL) --both-databases

# Only the features' database tests, on a throwaway PostgreSQL cluster.
test-postgres: install services
	$(BIN)/pytest $(PYTEST_PARALLEL) --postgres -m "not browser" tests/voting tests/proposals tests/roundtables tests/mail tests/core/test_bulk.py

# Strict dependency audit: also fails when the advisory services cannot be reached.
audit: install
	$(BIN)/python -m tests.security.dependency_audit

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache
