# PeerHub: `make run` serves the site, `make test` runs the whole suite. Each sets itself up.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
AXE := .cache/axe-core/axe.min.js
AXE_VERSION := 4.14.1
ICALJS := .cache/icaljs/node_modules/ical.js/package.json
ICALJS_VERSION := 2.2.1
CHROMIUM ?= /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test bench setup setup-test translations i18n-extract i18n-update lint migrate backup-sqlite clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed translations

setup-test: $(VENV)/.installed-test translations $(AXE) $(ICALJS) $(CHROMIUM)

# Debian's Chromium drives the browser tests; Playwright never downloads a browser here.
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "Chromium is missing and apt-get is not available: install chromium yourself." >&2; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# axe-core (npm) is injected into pages by the browser tests; fetched once, never committed.
$(AXE):
	@command -v npm >/dev/null || { command -v apt-get >/dev/null && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	mkdir -p .cache/axe-core
	cd .cache && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && tar xzf axe-core-$(AXE_VERSION).tgz -C axe-core --strip-components=1 package && rm axe-core-$(AXE_VERSION).tgz

# ical.js (npm, the parser inside Thunderbird) expands our calendar files in tests/interop.
$(ICALJS):
	@command -v npm >/dev/null || { command -v apt-get >/dev/null && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	mkdir -p .cache/icaljs
	npm install --prefix .cache/icaljs --no-save --no-package-lock --no-audit --no-fund --silent ical.js@$(ICALJS_VERSION)
	test -f $@

translations: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d peerhub/translations

i18n-extract: $(VENV)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg -w 100 -k _l -k lazy_gettext -o peerhub/translations/messages.pot --no-location --sort-output --project PeerHub .

i18n-update: i18n-extract
	$(BIN)/pybabel -q update -w 100 -i peerhub/translations/messages.pot -d peerhub/translations --no-fuzzy-matching

migrate: setup
	$(FLASK) db upgrade

run: migrate
	$(FLASK) seed-demo
	@echo "PeerHub runs on http://$(HOST):$(PORT) (Ctrl+C stops it)."
	$(FLASK) run --host $(HOST) --port $(PORT)

test: setup-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup-test
	$(BIN)/python -m bench

lint: setup-test
	$(BIN)/ruff check .

# Backups (README): SQLite copies itself consistently with VACUUM INTO.
backup-sqlite: setup
	mkdir -p instance/backups
	$(FLASK) backup instance/backups/peerhub-$$(date -u +%Y%m%dT%H%M%SZ).sqlite3

clean:
	rm -rf $(VENV) .cache .pytest_cache
