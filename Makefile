# Ventanilla — developer commands. Quick start: `make run` then, in another terminal, `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= config.settings.dev

.PHONY: run install migrate demo serve worker test test-sqlite test-postgres lint format lock clean browser-deps

$(BIN)/.installed: requirements/dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "Se necesita $(PYTHON) (Python 3.11)."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements/dev.txt
	touch $@

install: $(BIN)/.installed

var:
	mkdir -p var

migrate: install var
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo

## Installs into .venv, migrates SQLite, loads the demo data and serves http://$(HOST):$(PORT) with a task worker.
run: demo
	@echo "Ventanilla en http://$(HOST):$(PORT)  (cuentas de demostración en README.md; Ctrl+C para salir)"
	@trap 'kill 0' EXIT INT TERM; \
	$(PY) manage.py db_worker --queue-name '*' & \
	$(PY) manage.py runserver $(HOST):$(PORT)

worker: install
	$(PY) manage.py db_worker --queue-name '*'

## Whole test suite on SQLite (DATABASE_URL=postgres://... runs it on PostgreSQL).
test: install browser-deps
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/pytest -n auto -q $(PYTEST_ARGS)

## Debian's Chromium for the browser and accessibility tests (tests/quality); never `playwright install`.
browser-deps:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; \
	else \
		echo "Aviso: falta /usr/bin/chromium y no se ejecuta como root; instálelo con 'sudo apt-get install chromium fonts-dejavu-core'. Las pruebas de navegador se omitirán."; \
	fi

test-sqlite: install
	DATABASE_URL= DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/pytest -n auto -q $(PYTEST_ARGS)

test-postgres: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ventanilla} \
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/pytest -n auto -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/mypy ventanilla/*/services.py ventanilla/*/selectors.py ventanilla/*/*_selectors.py ventanilla/catalog/search.py ventanilla/catalog/imports.py ventanilla/core/calendar.py ventanilla/identity/oidc.py ventanilla/identity/accounts.py ventanilla/identity/clients.py
	$(BIN)/lint-imports
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py check

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Recompile the hashed locks from pyproject.toml (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements/dev.txt
	uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -o requirements/prod.txt

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
