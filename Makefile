# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export INTERRUPTERS_ENV ?= development

.PHONY: run test install install-test translations messages lint bench soak

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .
	$(MAKE) -s translations

install-test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(MAKE) -s translations
	@# Browser tests drive Debian's Chromium; Playwright must never download a browser.
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

translations:
	$(BIN)/pybabel compile -d interrupters/translations

## Re-extract the messages and merge them into the catalogs (then translate the new ones)
messages:
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 --no-location --sort-output \
		-o interrupters/translations/messages.pot .
	$(BIN)/pybabel update -N -i interrupters/translations/messages.pot -d interrupters/translations

## Install, migrate SQLite in instance/, add the demo data and serve on http://127.0.0.1:5000:
## the Procfile's web server (gunicorn) and scheduler, run by honcho. Ctrl-C stops both; either
## one ending stops the other.
run: install
	$(BIN)/flask --app app db-upgrade
	$(BIN)/flask --app app demo
	@# No drain on this one machine: Ctrl-C stops at once (docs/deploy.md explains the drain).
	PATH="$(abspath $(BIN)):$$PATH" DRAIN_SECONDS=$${DRAIN_SECONDS:-0} $(BIN)/honcho start --port 5000

## Install and run the whole suite: lint, types, tests on SQLite and PostgreSQL, browser tests
test: install-test
	INTERRUPTERS_ENV=test $(BIN)/python -m pytest -p no:cacheprovider
	$(MAKE) -s lint

lint:
	$(BIN)/lint-imports
	$(BIN)/ruff check interrupters tests bench
	$(BIN)/ruff format --check interrupters tests bench
	$(BIN)/mypy

## The benchmarks (figures in bench/results/): page weight, one phone's 1,000 records on slow
## 4G, the sync endpoint under gunicorn with 200 phones, Web Push (a level-4 alert, a briefing
## to 200 members); fails if any misses its goal
bench: install-test
	@status=0; \
	for script in page_budget sync_device sync_load push_latency; do \
		$(BIN)/python bench/$$script.py || status=1; \
	done; \
	exit $$status

## Two hosts on PostgreSQL and Redis, 200 devices, 30 minutes (SOAK="--hours 4" for longer)
soak: install-test
	$(BIN)/python bench/soak.py $(SOAK)
