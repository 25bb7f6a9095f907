"""Request context for the audit log and security headers on every response."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None
    request_id: str


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("vt_request", default=None)


def current_request_context() -> RequestContext | None:
    return _current.get()


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: the proxy in front must set it (gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]  # for logs written after the chain
        token = _current.set(RequestContext(ip_address=client_ip(request), request_id=request_id))
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-Id"] = request_id
        return response


class ApiErrorShapeMiddleware:
    """Keep the API's error contract for the few errors Django/ninja answer before our handlers (405)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 405
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            from .errors import ErrorItem, error_body

            allowed = response.get("Allow", "")
            replacement = JsonResponse(
                error_body([ErrorItem("method_not_allowed", f"Método no permitido. Use: {allowed}.")]),
                status=405,
            )
            if allowed:
                replacement["Allow"] = allowed
            return replacement
        return response


class SecurityHeadersMiddleware:
    """Content-Security-Policy (no 'unsafe-inline') and Permissions-Policy on every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        override = getattr(response, "content_security_policy", None)
        response.setdefault("Content-Security-Policy", override or self.policy)
        response.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=(), payment=()")
        response.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
        return response
