# Ventanilla — developer commands. Quick start: `make run` then, in another terminal, `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= config.settings.dev

.PHONY: system-deps run install migrate demo serve worker test test-sqlite test-postgres lint format lock clean browser-deps \
	serve-prod security

## WeasyPrint (PDF) needs Pango; poppler-utils' pdfsig is the independent signature check in tests.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "Faltan paquetes del sistema:$$missing (sudo apt-get install$$missing)"; exit 1; fi

$(BIN)/.installed: requirements/dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "Se necesita $(PYTHON) (Python 3.11)."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements/dev.txt
	touch $@

install: system-deps $(BIN)/.installed

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
	$(PY) manage.py run_periodic & \
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

## Production mode on this machine (docs/operations.md): gunicorn workers + an RQ worker on PostgreSQL and
## Redis, JSON logs on stdout, Ctrl+C stops both. Every variable below is only a default: an exported value
## wins. SECRET_KEY and the OIDC signing key are generated once into var/. DEMO=1 also loads the demo data.
PROD_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/ventanilla
PROD_REDIS_URL ?= redis://127.0.0.1:6379/0
DEMO ?= 0

define CREATEDB_PY
import os
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql

url = urlsplit(os.environ["DATABASE_URL"])
name = unquote(url.path.lstrip("/"))
admin_url = url._replace(path="/postgres").geturl()
with psycopg.connect(admin_url, autocommit=True) as conn:
    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"Base de datos {name} creada.")
endef
export CREATEDB_PY

serve-prod: install var
	@set -euo pipefail; \
	export DJANGO_SETTINGS_MODULE=config.settings.prod; \
	export DATABASE_URL="$${DATABASE_URL:-$(PROD_DATABASE_URL)}"; \
	export REDIS_URL="$${REDIS_URL:-$(PROD_REDIS_URL)}"; \
	export ALLOWED_HOSTS="$${ALLOWED_HOSTS:-127.0.0.1,localhost}"; \
	export SECURE_SSL_REDIRECT="$${SECURE_SSL_REDIRECT:-0}"; \
	export SECURE_COOKIES="$${SECURE_COOKIES:-$${SECURE_SSL_REDIRECT}}"; \
	export METRICS_TOKEN="$${METRICS_TOKEN:-local-metrics-token}"; \
	export PROMETHEUS_MULTIPROC_DIR="$${PROMETHEUS_MULTIPROC_DIR:-$(CURDIR)/var/prometheus}"; \
	export GUNICORN_BIND="$${GUNICORN_BIND:-$(HOST):$(PORT)}"; \
	if [ -z "$${SECRET_KEY:-}" ]; then \
		[ -s var/prod-secret ] || (umask 077; $(PY) -c 'import secrets; print(secrets.token_urlsafe(50))' > var/prod-secret); \
		SECRET_KEY="$$(cat var/prod-secret)"; export SECRET_KEY; \
	fi; \
	if [ -z "$${OIDC_RSA_PRIVATE_KEY:-}" ]; then \
		[ -s var/prod-oidc-key.pem ] || (umask 077; $(PY) -c 'from ventanilla.core.crypto import generate_rsa_pem; print(generate_rsa_pem(), end="")' > var/prod-oidc-key.pem); \
		OIDC_RSA_PRIVATE_KEY="$$(cat var/prod-oidc-key.pem)"; export OIDC_RSA_PRIVATE_KEY; \
	fi; \
	rm -rf "$$PROMETHEUS_MULTIPROC_DIR"; mkdir -p "$$PROMETHEUS_MULTIPROC_DIR"; \
	$(PY) -c "$$CREATEDB_PY"; \
	$(PY) manage.py migrate --noinput; \
	$(PY) manage.py collectstatic --noinput -v 0; \
	if [ "$(DEMO)" = "1" ]; then $(PY) manage.py load_demo; fi; \
	echo "Ventanilla (modo producción) en http://$${GUNICORN_BIND}  métricas: Authorization: Bearer $$METRICS_TOKEN  (Ctrl+C para salir)"; \
	trap 'kill 0' EXIT INT TERM; \
	$(PY) manage.py rqworker default email webhooks --job-class django_tasks_rq.Job --with-scheduler & \
	$(PY) manage.py run_periodic & \
	$(BIN)/gunicorn -c config/gunicorn.conf.py

# Reads pip-audit's JSON report: a package that could not be checked fails the target, except when *no*
# package could be (the vulnerability service is unreachable from this network): then a warning, or a
# failure with PIP_AUDIT_REQUIRED=1. Known vulnerabilities already made pip-audit itself fail.
define AUDIT_REPORT_PY
import json
import os
import sys

deps = json.load(open(sys.argv[1]))["dependencies"]
skipped = [d for d in deps if d.get("skip_reason")]
if not skipped:
    print(f"pip-audit: {len(deps)} paquetes de requirements/prod.txt auditados, sin vulnerabilidades conocidas.")
elif len(skipped) < len(deps):
    for dep in skipped:
        print("pip-audit no pudo auditar:", dep["skip_reason"])
    sys.exit(1)
else:
    print("AVISO: pip-audit no pudo consultar el servicio de vulnerabilidades de PyPI desde esta red;")
    print("       ningún paquete fue auditado. Repítalo con acceso a PyPI (PIP_AUDIT_REQUIRED=1 lo exige).")
    sys.exit(1 if os.environ.get("PIP_AUDIT_REQUIRED") == "1" else 0)
endef
export AUDIT_REPORT_PY

## Known vulnerabilities in the locked production dependencies (pip-audit), and bandit on the code.
security: install var
	$(BIN)/pip-audit -r requirements/prod.txt --require-hashes --disable-pip --progress-spinner off \
		--format json --output var/pip-audit.json || { cat var/pip-audit.json; echo; exit 1; }
	$(PY) -c "$$AUDIT_REPORT_PY" var/pip-audit.json
	$(BIN)/bandit -q -c pyproject.toml -r ventanilla config -x '*/tests/*'

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Recompile the hashed locks from pyproject.toml (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements/dev.txt
	uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -o requirements/prod.txt

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

## Benchmarks (not part of `make test`): production mode (gunicorn + config.settings.prod semantics) on a
## throwaway PostgreSQL database `ventanilla_bench` and Redis db 14, a generated large data set, load from
## wrk on 127.0.0.1 only. Writes bench/results/latest.md and latest.json; fails only on errors, not on
## missed goals. Knobs: BENCH_SCALE, BENCH_DURATION, BENCH_WORKERS, ... (bench/README.md).
.PHONY: bench bench-deps
bench: install bench-deps
	$(PY) bench/run.py

## wrk (Debian package) drives the load; without root and without wrk, bench/run.py falls back to a Python client.
bench-deps:
	@if command -v wrk >/dev/null; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk; \
	else \
		echo "Aviso: falta wrk y no se ejecuta como root; instálelo con 'sudo apt-get install wrk'. Se usará el cliente Python."; \
	fi
