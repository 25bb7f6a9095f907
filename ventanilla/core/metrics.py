"""Prometheus metrics: request count and latency per route, and the health of the database and the cache.

Under gunicorn every worker is its own process. With ``PROMETHEUS_MULTIPROC_DIR`` set (``make serve-prod``
sets it and gunicorn.conf.py cleans dead workers' files), prometheus_client writes each process's values to
files in that directory and ``/metrics`` merges them, whichever worker answers the scrape. Without it (dev,
tests, a single process) the default in-process registry is used.

Labels are bounded: the route is the URL *pattern* (``tramites/<slug:slug>/``), never the raw path, so a
crawler cannot create one time series per URL.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from .views import run_checks

UNMATCHED_ROUTE = "<unmatched>"

REQUESTS = Counter(
    "ventanilla_http_requests_total",
    "HTTP requests answered, by method, route pattern and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "ventanilla_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route pattern.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
# "livemostrecent": across gunicorn workers, the value most recently set by a live process.
HEALTH = Gauge(
    "ventanilla_dependency_up",
    "1 when the dependency (database, cache, queue) answered its check at the last scrape, else 0.",
    ["check"],
    multiprocess_mode="livemostrecent",
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None)
    return f"/{route}" if route is not None else UNMATCHED_ROUTE


class MetricsMiddleware:
    """Outermost middleware: counts and times every response, including those short-circuited inside."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - start
        method = request.method if request.method in _METHODS else "OTHER"
        route = route_of(request)
        REQUESTS.labels(method, route, str(response.status_code)).inc()
        LATENCY.labels(method, route).observe(elapsed)
        return response


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _authorized(request: HttpRequest) -> bool | None:
    """None when no token is configured (metrics off), else whether the bearer token matches."""
    expected = getattr(settings, "METRICS_TOKEN", "")
    if not expected:
        return None
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for a scraper holding ``Authorization: Bearer $METRICS_TOKEN``."""
    authorized = _authorized(request)
    if authorized is None:
        return HttpResponse("Métricas deshabilitadas: defina METRICS_TOKEN.\n", status=403)
    if not authorized:
        response = HttpResponse("Se requiere un token de métricas válido.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    for name, outcome in run_checks().items():
        HEALTH.labels(name).set(1 if outcome == "ok" else 0)
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
