"""Domain errors and the API error format: {"errors": [{"code", "message", "field"}]} with a 4xx status."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any


@dataclass
class ErrorItem:
    code: str
    message: str
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "field": self.field}


@dataclass
class DomainError(Exception):
    """Raised by services when a request is well-formed but not allowed by the rules."""

    message: str
    code: str = "invalid"
    field: str | None = None
    status: int = 400
    extra: list[ErrorItem] = dc_field(default_factory=list)

    def __str__(self) -> str:
        return self.message

    def items(self) -> list[ErrorItem]:
        return [ErrorItem(self.code, self.message, self.field), *self.extra]


class NotFound(DomainError):
    def __init__(self, message: str = "No encontrado.") -> None:
        super().__init__(message=message, code="not_found", status=404)


class Forbidden(DomainError):
    def __init__(self, message: str = "No tiene permiso para realizar esta acción.") -> None:
        super().__init__(message=message, code="forbidden", status=403)


class InvalidTransition(DomainError):
    def __init__(self, current: str, action: str) -> None:
        super().__init__(
            message=f"No se puede «{action}» desde el estado «{current}».",
            code="invalid_transition",
            status=409,
        )


def error_body(items: list[ErrorItem]) -> dict[str, Any]:
    return {"errors": [item.as_dict() for item in items]}
