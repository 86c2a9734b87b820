# The two commands: `make demo` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Exact versions that passed CI: installs take them, `make lock` refreshes them.
LOCK := requirements.lock
export FLASK_APP := app:create_app
# Test services (started by .ci/services, loopback only)
export FSP_TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:55432/postgres
export FSP_TEST_REDIS_URL ?= redis://127.0.0.1:56379/0
export PLAYWRIGHT_CHROMIUM ?= /usr/bin/chromium

.PHONY: demo test test-scale bench venv sysdeps services db clean translations lock

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c $(LOCK) -e '.[dev]'
	touch $@

# Resolve pyproject.toml's ranges afresh in a scratch virtualenv and pin what it got.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q --upgrade pip
	.lock-venv/bin/pip install -q '.[dev]'
	( echo "# Pinned by \`make lock\` from pyproject.toml ($$(date -u +%Y-%m-%d), Python $$(.lock-venv/bin/python -c 'import sys; print(sys.version.split()[0])'))."; \
	  .lock-venv/bin/pip freeze --exclude-editable | grep -v '^front-end-supervisor' ) > $(LOCK)
	rm -rf .lock-venv build

venv: $(STAMP)

# Debian packages the tests talk to (snmpd, chromium, redis, postgresql, CJK fonts).
sysdeps:
	bash .ci/sysdeps

services: sysdeps
	bash .ci/services start

db: venv
	$(BIN)/flask db upgrade

demo: venv db
	$(BIN)/flask demo

# the default run in parallel processes (pytest-xdist): each test process holds its own
# simulator address slot and PostgreSQL database, so they do not meet; a test file runs
# whole on one process (--dist loadfile), so a module's fixture (a simulated fleet on its
# module's addresses) is never started by both at once; the tests that
# assert timing (marker `serial`) run afterwards alone, with the machine to themselves
# (pytest's status 5: the arguments selected none of them)
PYTEST_WORKERS ?= 2

test: venv services
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile -m 'not scale and not serial' $(PYTEST_ARGS)
	$(BIN)/python -m pytest -q -m 'serial and not scale' $(PYTEST_ARGS) || [ $$? -eq 5 ]

test-scale: venv services
	$(BIN)/python -m pytest -q -m scale $(PYTEST_ARGS)

bench: venv services
	$(BIN)/pip install -q -c $(LOCK) -e '.[dev,bench]'
	$(BIN)/python -m bench $(BENCH_ARGS)

# Re-extract page strings and update the zh_CN catalog (then translate the new msgstr lines
# in the .po and run this again to compile). The compiled .mo is committed: CI needs no build.
translations: venv
	$(BIN)/pybabel extract -F supervisor/translations/babel.cfg -k _l -k lazy_gettext --no-location \
	  --sort-output -o supervisor/translations/messages.pot supervisor/web templates
	$(BIN)/pybabel update -i supervisor/translations/messages.pot -d supervisor/translations \
	  -l zh_Hans_CN --no-fuzzy-matching
	$(BIN)/pybabel compile -d supervisor/translations -l zh_Hans_CN

clean:
	bash .ci/services stop || true
	rm -rf $(VENV) instance/*.db
