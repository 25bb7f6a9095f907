"""Building blocks every app's API shares: the error format and its exception handlers."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from .errors import DomainError, ErrorItem, error_body


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None


class ErrorsOut(Schema):
    errors: list[ErrorOut]


LOCATIONS = ("body", "query", "path", "form", "header", "cookie")
PARAM_NAMES = ("payload", "form", "filters", "data")


def _field_path(loc: Any) -> str | None:
    """``["body", "payload", "body"]`` → ``"body"``: drop the location and the view's parameter name only,
    so a field that happens to be called ``body`` (a notification's text) keeps its name."""
    parts = [str(p) for p in (loc or [])]
    if parts and parts[0] in LOCATIONS:
        parts.pop(0)
    if len(parts) > 1 and parts[0] in PARAM_NAMES:
        parts.pop(0)
    if parts == ["payload"]:
        return None
    return ".".join(parts) or None


RATE_LIMITED_RESPONSE = {
    "description": (
        "Demasiadas solicitudes desde esta dirección IP (límite por minuto, docs/operations.md). "
        "La cabecera `Retry-After` indica cuántos segundos esperar."
    ),
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Segundos hasta reintentar."}},
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["errors"],
                "properties": {
                    "errors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string", "enum": ["rate_limited"]},
                                "message": {"type": "string"},
                                "field": {"type": "string", "nullable": True},
                            },
                        },
                    }
                },
            }
        }
    },
}


def document_rate_limit(api: NinjaAPI) -> None:
    """Every /api/v1/ operation can answer 429 (core.ratelimit.ApiRateLimitMiddleware): say so in OpenAPI."""
    build_schema = api.get_openapi_schema

    def get_openapi_schema(**kwargs: Any) -> Any:
        schema = build_schema(**kwargs)
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                if isinstance(operation, dict) and "responses" in operation:
                    operation["responses"].setdefault(429, RATE_LIMITED_RESPONSE)
        return schema

    api.get_openapi_schema = get_openapi_schema  # type: ignore[method-assign]


def install_error_handlers(api: NinjaAPI) -> None:
    """Every error leaves as {"errors": [{"code","message","field"}]} with a 4xx status, never a traceback.
    Also documents the rate limit's 429 on every operation (same shape, code ``rate_limited``)."""
    document_rate_limit(api)

    def respond(request: HttpRequest, items: list[ErrorItem], status: int) -> HttpResponse:
        return api.create_response(request, error_body(items), status=status)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        items = [
            ErrorItem(
                code=str(err.get("type", "invalid")),
                message=_spanish_message(err),
                field=_field_path(err.get("loc")),
            )
            for err in exc.errors
        ]
        return respond(request, items or [ErrorItem("invalid", "Solicitud inválida.")], 400)

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return respond(request, exc.items(), exc.status)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, [ErrorItem("not_found", str(exc) or "No encontrado.")], 404)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return respond(request, [ErrorItem("unauthenticated", "Se requiere autenticación.")], 401)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return respond(request, [ErrorItem("http_error", str(exc))], exc.status_code)


def _spanish_message(err: dict[str, Any]) -> str:
    kind = str(err.get("type", ""))
    messages = {
        "missing": "Campo obligatorio.",
        "int_parsing": "Debe ser un número entero.",
        "int_type": "Debe ser un número entero.",
        "bool_parsing": "Debe ser verdadero o falso.",
        "string_too_long": "Texto demasiado largo.",
        "greater_than_equal": "Valor demasiado pequeño.",
        "less_than_equal": "Valor demasiado grande.",
        "literal_error": "Valor no permitido.",
        "enum": "Valor no permitido.",
        "json_invalid": "JSON mal formado.",
    }
    return messages.get(kind, str(err.get("msg", "Valor inválido.")))
