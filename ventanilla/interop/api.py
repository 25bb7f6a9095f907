"""Interoperabilidad: /api/v1/interop/... read endpoints (django-ninja). Public (auth=None): the same
catalogue as /interoperabilidad/, without base URLs or provider secrets. Calls to services go through the
mediator at /interop/r1/, not through this API."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema

from ventanilla.core.api import ErrorsOut

from . import selectors

router = Router(tags=["Interoperabilidad"])

MAX_PAGE_SIZE = 100


class ServiceOut(Schema):
    id: str = Field(description="MIEMBRO/SUBSISTEMA/SERVICIO")
    institution: str
    institution_name: str
    subsystem: str
    code: str
    version: str
    name: str
    description: str
    classification: str
    personal_data: str
    legal_basis: str
    needs_consent: bool


class ServicePage(Schema):
    items: list[ServiceOut]
    count: int
    page: int
    num_pages: int


class ServiceFilters(Schema):
    q: str = Field("", max_length=100)
    institution: str = Field("", max_length=30)
    page: int = Field(1, ge=1)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)


def _service(service: Any) -> dict[str, Any]:
    institution = service.subsystem.member.institution
    return {
        "id": service.identifier,
        "institution": institution.code,
        "institution_name": institution.name,
        "subsystem": service.subsystem.code,
        "code": service.code,
        "version": service.version,
        "name": service.name,
        "description": service.description,
        "classification": service.classification,
        "personal_data": service.personal_data,
        "legal_basis": service.legal_basis,
        "needs_consent": service.needs_consent,
    }


@router.get(
    "/interop/services",
    response={200: ServicePage, 400: ErrorsOut},
    auth=None,
    summary="Catálogo de servicios de interoperabilidad",
    operation_id="interop_service_list",
)
def service_list(request: HttpRequest, filters: Query[ServiceFilters]) -> dict[str, Any]:
    """Public. Active services, searchable; constant number of queries per page."""
    services = selectors.public_service_list(q=filters.q, institution=filters.institution)
    count = services.count()
    num_pages = max(1, -(-count // filters.page_size))
    page = min(filters.page, num_pages)
    start = (page - 1) * filters.page_size
    items = list(services[start : start + filters.page_size])
    return {"items": [_service(s) for s in items], "count": count, "page": page, "num_pages": num_pages}


@router.get(
    "/interop/services/{member}/{subsystem}/{service}",
    response={200: ServiceOut, 404: ErrorsOut},
    auth=None,
    summary="Un servicio de interoperabilidad",
    operation_id="interop_service_get",
)
def service_get(request: HttpRequest, member: str, subsystem: str, service: str) -> dict[str, Any]:
    """Public. One active service."""
    try:
        return _service(selectors.public_service_get(f"{member}/{subsystem}/{service}"))
    except Http404 as exc:
        from ventanilla.core.errors import NotFound

        raise NotFound("Servicio no encontrado.") from exc
