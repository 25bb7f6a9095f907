"""Rate limits: a fixed-window counter per client IP and scope, kept in the Django cache.

In production the cache is Redis, so every app process (and every machine) counts against the same window;
with the local-memory cache of dev/test each process counts on its own. The client IP is ``REMOTE_ADDR``
only (see ``core.middleware.client_ip``): behind a proxy, gunicorn must receive it through the PROXY
protocol (docs/operations.md), or every client would share the proxy's budget.

Limits come from ``settings.VENTANILLA_RATE_LIMITS`` (``{"scope": {"limit": n, "window": seconds}}``, and
``"*"`` for any scope not named), so an operator can tune them without code (in production through the
environment variable of the same name, as JSON); the numbers given to ``rate_limit(...)`` are the fallback.

A refused request gets 429 with ``Retry-After`` (seconds until the window ends): under /api/ in the API's
error shape ``{"errors": [{"code": "rate_limited", ...}]}``, elsewhere as a Spanish page.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from .errors import ErrorItem, error_body
from .middleware import client_ip

API_PREFIX = "/api/v1/"
API_PREFIXES = (API_PREFIX, "/v2/")
API_SCOPE = "api"

_clock = time.time  # replaced in tests to cross a window boundary without sleeping


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    limit: int
    retry_after: int


def limit_for(scope: str, limit: int, window: int) -> tuple[int, int]:
    """The (limit, window) in force for a scope: the scope's entry in settings, else the ``"*"`` entry
    (test settings use it to lift every limit, present and future), else the caller's defaults."""
    limits = getattr(settings, "VENTANILLA_RATE_LIMITS", {})
    configured = limits.get(scope) or limits.get("*") or {}
    return int(configured.get("limit", limit)), max(1, int(configured.get("window", window)))


def hit(scope: str, key: str, *, limit: int, window: int, now: float | None = None) -> Verdict:
    """Count one request of ``key`` in ``scope``'s current window and say whether it is within the limit."""
    now = _clock() if now is None else now
    window_start = int(now // window) * window
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]  # fixed length, no raw IPs in cache keys
    cache_key = f"rl:{scope}:{window}:{window_start}:{digest}"
    # add() only writes when absent (SET NX on Redis) and incr() is atomic, so concurrent processes agree.
    cache.add(cache_key, 0, timeout=window + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add() and incr(): this request opens the window again
        cache.set(cache_key, 1, timeout=window + 5)
        count = 1
    retry_after = max(1, math.ceil(window_start + window - now))
    return Verdict(allowed=count <= limit, count=count, limit=limit, retry_after=retry_after)


def too_many_requests(request: HttpRequest, retry_after: int) -> HttpResponse:
    message = f"Demasiadas solicitudes. Espere {retry_after} segundos e intente de nuevo."
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body([ErrorItem("rate_limited", message)]), status=429)
    else:
        response = render(
            request,
            "core/error.html",
            {"status": 429, "title": "Demasiadas solicitudes", "message": message},
            status=429,
        )
    response["Retry-After"] = str(retry_after)
    return response


def check(request: HttpRequest, scope: str, limit: int, window: int) -> HttpResponse | None:
    """Count the request; a 429 response when it is over the limit, else None."""
    limit, window = limit_for(scope, limit, window)
    verdict = hit(scope, client_ip(request) or "unknown", limit=limit, window=window)
    if verdict.allowed:
        return None
    return too_many_requests(request, verdict.retry_after)


def rate_limit(
    scope: str, limit: int, window: int, *, methods: Iterable[str] | None = None
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a view: at most ``limit`` requests per ``window`` seconds per client IP (only the given
    HTTP methods count, e.g. ``methods=["POST"]`` for a sign-in form)."""
    counted = {m.upper() for m in methods} if methods is not None else None

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if counted is None or request.method in counted:
                refused = check(request, scope, limit, window)
                if refused is not None:
                    return refused
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class ApiRateLimitMiddleware:
    """One budget per client IP for the public APIs (scope ``api``): /api/v1/ and the GOV.UK
    Notify-compatible /v2/ (the interoperability mediator has its own per-consumer limit)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIXES):
            refused = check(request, API_SCOPE, 300, 60)
            if refused is not None:
                return refused
        return self.get_response(request)
