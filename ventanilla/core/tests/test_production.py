"""Production mode inside one process: settings wiring (Redis, sessions, queue, JSON logs), readiness checks,
the protected Prometheus endpoint and the JSON log formatter. Two real processes sharing PostgreSQL and
Redis are tested in tests/production/."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any
from unittest import mock

import pytest
from django.db.utils import OperationalError
from django.test import Client, override_settings

from ventanilla.core import metrics, views
from ventanilla.core.logging import JsonFormatter
from ventanilla.core.middleware import RequestContext, _current

from .test_settings import GOOD_SECRET, OIDC_KEY, _start

TOKEN = "test-metrics-token"


# -- settings ---------------------------------------------------------------------------------------------


@pytest.fixture
def prod_env(tmp_path: Any) -> dict[str, str]:
    """A complete production environment (as in test_settings); nothing here connects to it."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "VENTANILLA_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "SECRET_KEY": GOOD_SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "ALLOWED_HOSTS": "ventanilla.gob.bo",
        "OIDC_RSA_PRIVATE_KEY": OIDC_KEY,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }


@pytest.mark.parametrize("how", ["unset", "empty"])
def test_production_refuses_to_start_without_redis(prod_env: dict[str, str], how: str) -> None:
    if how == "unset":
        del prod_env["REDIS_URL"]
    else:
        prod_env["REDIS_URL"] = ""
    result = _start(prod_env)
    assert result.returncode != 0
    assert "Faltan variables de entorno obligatorias para producción: REDIS_URL" in result.stderr


def test_every_missing_variable_is_named_including_redis(prod_env: dict[str, str]) -> None:
    for name in ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "OIDC_RSA_PRIVATE_KEY", "REDIS_URL"):
        del prod_env[name]
    result = _start(prod_env)
    assert result.returncode != 0
    expected = "SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS, OIDC_RSA_PRIVATE_KEY, REDIS_URL"
    assert f"obligatorias para producción: {expected}" in result.stderr


def test_production_keeps_shared_state_in_redis_and_logs_json(prod_env: dict[str, str]) -> None:
    prod_env["REDIS_URL"] = "redis://cache.interna:6379/3"
    prod_env["VENTANILLA_RATE_LIMITS"] = '{"login": {"limit": 7, "window": 30}}'
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({"
        "'cache': [s.CACHES['default']['BACKEND'], s.CACHES['default']['LOCATION']],"
        "'session': s.SESSION_ENGINE, 'tasks': s.TASKS['default'],"
        "'rq': {k: v['URL'] for k, v in s.RQ_QUEUES.items()}, 'rq_app': 'django_rq' in s.INSTALLED_APPS,"
        "'log': s.LOGGING['formatters']['json']['()'], 'stream': s.LOGGING['handlers']['stdout']['stream'],"
        "'limits': s.VENTANILLA_RATE_LIMITS, 'conn_max_age': s.DATABASES['default']['CONN_MAX_AGE'],"
        "'storage': s.STORAGES['staticfiles']['BACKEND']}))"
    )
    result = _start(prod_env, code)
    assert result.returncode == 0, result.stderr
    wired = json.loads(result.stdout)
    assert wired["cache"] == ["django.core.cache.backends.redis.RedisCache", "redis://cache.interna:6379/3"]
    assert wired["session"] == "django.contrib.sessions.backends.cached_db"
    assert wired["tasks"] == {
        "BACKEND": "django_tasks_rq.RQBackend",
        "QUEUES": ["default", "email", "webhooks"],
    }
    assert wired["rq"] == dict.fromkeys(("default", "email", "webhooks"), "redis://cache.interna:6379/3")
    assert wired["rq_app"] is True
    assert wired["log"] == "ventanilla.core.logging.JsonFormatter"
    assert wired["stream"] == "ext://sys.stdout"
    assert wired["limits"]["login"] == {"limit": 7, "window": 30}
    assert wired["limits"]["api"] == {"limit": 300, "window": 60}
    assert wired["conn_max_age"] == 60
    assert wired["storage"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_unparseable_rate_limits_refuse_to_start(prod_env: dict[str, str]) -> None:
    prod_env["VENTANILLA_RATE_LIMITS"] = "{login: 5}"
    result = _start(prod_env)
    assert result.returncode != 0
    assert "VENTANILLA_RATE_LIMITS no es JSON válido" in result.stderr


def test_test_settings_need_no_redis_and_run_tasks_immediately() -> None:
    from django.conf import settings

    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert settings.TASKS["default"]["BACKEND"] == "django_tasks.backends.immediate.ImmediateBackend"
    assert not views.queue_backend_is_rq()


# -- /health/ready ----------------------------------------------------------------------------------------


def test_ready_checks_database_and_cache(client: Client, db: Any) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}


def test_ready_is_503_naming_a_broken_cache(client: Client, db: Any) -> None:
    with mock.patch.object(views.cache, "get", return_value=None):
        response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["failed"] == ["cache"]
    assert body["checks"] == {"database": "ok", "cache": "error: RuntimeError"}


def test_ready_is_503_naming_a_broken_database(client: Client, db: Any) -> None:
    with mock.patch.object(views, "_check_database", side_effect=OperationalError("connection refused")):
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
    assert response.json()["checks"]["database"] == "error: OperationalError"  # no message: it may hold a DSN


@override_settings(TASKS={"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}})
def test_ready_checks_the_queue_when_tasks_go_to_redis(client: Client, db: Any) -> None:
    with mock.patch.object(views, "_check_queue") as ping:
        assert client.get("/health/ready").json()["checks"]["queue"] == "ok"
    ping.assert_called_once()
    with mock.patch.object(views, "_check_queue", side_effect=ConnectionError("redis down")):
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["failed"] == ["queue"]


def test_live_does_not_touch_dependencies(client: Client) -> None:
    with mock.patch.object(views, "run_checks") as checks:
        assert client.get("/health/live").status_code == 200
    checks.assert_not_called()


# -- /metrics ---------------------------------------------------------------------------------------------


def test_metrics_need_the_bearer_token(client: Client, db: Any) -> None:
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer otro-token").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401


@override_settings(METRICS_TOKEN="")
def test_metrics_are_off_without_a_configured_token(client: Client, db: Any) -> None:
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def _sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_by_route_pattern_and_report_health(client: Client, db: Any) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    before = client.get("/metrics", **auth).content.decode()
    client.get("/health/live")
    client.get("/no-existe-esta-pagina-42/")
    response = client.get("/metrics", **auth)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    counted = {"method": "GET", "route": "/health/live", "status": "200"}
    assert _sample(text, "ventanilla_http_requests_total", **counted) == (
        _sample(before, "ventanilla_http_requests_total", **counted) + 1
    )
    unmatched = {"method": "GET", "route": metrics.UNMATCHED_ROUTE, "status": "404"}
    assert _sample(text, "ventanilla_http_requests_total", **unmatched) >= 1
    assert "no-existe-esta-pagina-42" not in text  # raw paths never become labels
    latency = {"method": "GET", "route": "/health/live"}
    assert _sample(text, "ventanilla_http_request_duration_seconds_count", **latency) >= 1
    assert _sample(text, "ventanilla_dependency_up", check="database") == 1.0
    assert _sample(text, "ventanilla_dependency_up", check="cache") == 1.0


def test_route_label_is_the_url_pattern(client: Client, procedure_a: Any) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    client.get(f"/api/v1/procedures/{procedure_a.slug}")
    text = client.get("/metrics", **auth).content.decode()
    assert 'route="/api/v1/procedures/<slug>"' in text
    assert procedure_a.slug not in text


# -- JSON logs --------------------------------------------------------------------------------------------


def _record(message: str = "hola %s", args: tuple[Any, ...] = ("mundo",), **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("ventanilla.prueba", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_json_log_line_has_time_level_logger_message() -> None:
    line = JsonFormatter().format(_record())
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "ventanilla.prueba"
    assert entry["message"] == "hola mundo"
    assert entry["time"].endswith("+00:00")
    assert "request_id" not in entry


def test_json_log_carries_the_request_id_of_the_current_request() -> None:
    token = _current.set(RequestContext(ip_address="10.0.0.1", request_id="abc123"))
    try:
        entry = json.loads(JsonFormatter().format(_record()))
    finally:
        _current.reset(token)
    assert entry["request_id"] == "abc123"


def test_json_log_takes_the_request_id_from_djangos_request_extra() -> None:
    request = mock.Mock(request_id="desde-la-solicitud")
    entry = json.loads(JsonFormatter().format(_record(request=request, status_code=404)))
    assert entry["request_id"] == "desde-la-solicitud"
    assert entry["status_code"] == 404
    assert "request" not in entry  # objects are not dumped


def test_json_log_includes_the_exception() -> None:
    try:
        raise ValueError("fallo de prueba")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "falló", (), sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: fallo de prueba" in entry["exc_info"]
    assert entry["message"] == "falló"


def test_request_id_reaches_logs_written_during_the_request(client: Client, db: Any) -> None:
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(JsonFormatter().format(record))

    handler = Capture()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        client.get("/no-existe-pagina-log/", HTTP_X_REQUEST_ID="rastreo-77")
    finally:
        logger.removeHandler(handler)
    assert any(json.loads(line).get("request_id") == "rastreo-77" for line in lines)
