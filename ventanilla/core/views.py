"""Error pages (Spanish, accessible) and health probes."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .errors import ErrorItem, error_body

logger = logging.getLogger(__name__)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def _error(request: HttpRequest, status: int, code: str, title: str, message: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body([ErrorItem(code, message)]), status=status)
    return render(
        request, "core/error.html", {"status": status, "title": title, "message": message}, status=status
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request,
        404,
        "not_found",
        "Página no encontrada",
        "La dirección no existe o la página fue retirada. Puede buscar el trámite desde el inicio.",
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request, 403, "forbidden", "Acceso no permitido", "Su cuenta no tiene permiso para ver esta página."
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request,
        400,
        "bad_request",
        "Solicitud incorrecta",
        "No pudimos entender la solicitud. Revise los datos e intente de nuevo.",
    )


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            error_body([ErrorItem("server_error", "Error interno. Intente más tarde.")]), status=500
        )
    return render(request, "core/500.html", status=500)


@require_GET
@never_cache
def health_live(request: HttpRequest) -> JsonResponse:
    """The process answers. No dependency is checked (that is /health/ready)."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    """A real round trip: write a short-lived key and read it back (Redis in production)."""
    key = f"health:{uuid.uuid4().hex}"
    value = uuid.uuid4().hex
    cache.set(key, value, timeout=10)
    try:
        if cache.get(key) != value:
            raise RuntimeError("cache read-back mismatch")
    finally:
        cache.delete(key)


def queue_backend_is_rq() -> bool:
    backend = str(settings.TASKS.get("default", {}).get("BACKEND", ""))
    return backend.startswith("django_tasks_rq.")


def _check_queue() -> None:
    """PING the Redis behind the task queue, with a short timeout of its own (the workers' connection has
    none, since they block on Redis while waiting for jobs)."""
    import django_rq
    import redis

    pool = django_rq.get_connection("default").connection_pool
    kwargs = {**pool.connection_kwargs, "socket_timeout": 2, "socket_connect_timeout": 2}
    probe = redis.Redis(
        connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    )
    try:
        if not probe.ping():
            raise RuntimeError("redis did not answer PING")
    finally:
        probe.close()
        probe.connection_pool.disconnect()


def run_checks() -> dict[str, str]:
    """Each configured dependency: "ok" or "error: <ExceptionClass>" (not the message: it may hold a DSN)."""
    checks: dict[str, Callable[[], None]] = {"database": _check_database, "cache": _check_cache}
    if queue_backend_is_rq():
        checks["queue"] = _check_queue
    outcome: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as exc:
            logger.warning("health check %s failed: %s", name, exc.__class__.__name__)
            outcome[name] = f"error: {exc.__class__.__name__}"
        else:
            outcome[name] = "ok"
    return outcome


@require_GET
@never_cache
def health_ready(request: HttpRequest) -> JsonResponse:
    """Ready to serve: the database, the cache and (when tasks go to Redis) the queue answer. 503 otherwise,
    naming the failed checks, so the load balancer stops sending traffic to this process."""
    checks = run_checks()
    failed = [name for name, outcome in checks.items() if outcome != "ok"]
    body: dict[str, Any] = {"status": "error" if failed else "ok", "checks": checks}
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)
