"""Error pages (Spanish, accessible) and health probes."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .errors import ErrorItem, error_body


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


@require_GET
@never_cache
def health_ready(request: HttpRequest) -> JsonResponse:
    """Ready to serve: the database answers."""
    checks: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "error", "checks": checks}, status=200 if ready else 503
    )
