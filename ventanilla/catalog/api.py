"""Catalogue API: institutions, procedures, statistics. Read-only and public (auth=None, stated per route)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Query, Router, Schema

from ventanilla.core.api import ErrorsOut

from . import selectors
from .models import Procedure
from .services import procedure_to_data

router = Router(tags=["Portal de Trámites"])


class OfficeOut(Schema):
    code: str
    name: str
    address: str
    department: str
    municipality: str
    opening_hours: str
    phone: str
    latitude: Decimal | None
    longitude: Decimal | None


class InstitutionSummaryOut(Schema):
    code: str
    name: str
    acronym: str
    level: str
    department: str
    website: str
    published_procedures: int
    url: str


class InstitutionOut(InstitutionSummaryOut):
    parent: str | None
    email: str
    phone: str
    description: str
    offices: list[OfficeOut]
    procedures: list[str]


class InstitutionPage(Schema):
    items: list[InstitutionSummaryOut]
    count: int


class CostOut(Schema):
    amount: Decimal
    currency: str


class ProcedureSummaryOut(Schema):
    slug: str
    name: str
    summary: str
    institution: str
    category: str
    cost: CostOut | None
    max_days: int
    digitisation_level: int
    channels: list[str]
    url: str
    updated_at: datetime


class ProcedurePage(Schema):
    items: list[ProcedureSummaryOut]
    count: int
    page: int
    num_pages: int
    next: str | None
    previous: str | None
    corrected_query: str | None = None


class RequirementOut(Schema):
    name: str
    description: str
    issuer: str | None
    issuer_name: str
    held_by_state: bool


class StepOut(Schema):
    title: str
    description: str


class ChannelOut(Schema):
    channel: str
    offices: list[str]
    hours: str
    url: str
    phone: str
    notes: str


class FaqOut(Schema):
    question: str
    answer: str


class ProcedureOut(Schema):
    slug: str
    name: str
    summary: str
    description: str
    institution: str
    office: str | None
    category: str
    life_events: list[str]
    audience: str
    keywords: str
    requirements: list[RequirementOut]
    steps: list[StepOut]
    channels: list[ChannelOut]
    faq: list[FaqOut]
    cost: CostOut | None
    payment_instructions: str
    legal_basis: str
    max_days: int
    digitisation_level: int
    runs_on_platform: bool
    min_assurance: str
    external_start_url: str
    external_tracking_url: str
    version: int
    updated_at: datetime
    url: str


class ProcedureFilters(Schema):
    q: str = Field("", max_length=200, description="Texto libre; insensible a tildes y mayúsculas.")
    institution: str = Field("", max_length=30, description="Código de la institución, p. ej. SEGIP.")
    category: str = Field("", max_length=80, description="Slug del tema.")
    life_event: str = Field("", max_length=80, description="Slug del hecho vital.")
    channel: Literal["", "presencial", "en_linea", "telefonico"] = ""
    online: bool = Field(False, description="Solo trámites completamente en línea (nivel 4).")
    free: bool = Field(False, description="Solo trámites gratuitos.")
    level: int | None = Field(None, ge=1, le=4, description="Nivel de digitalización.")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)


def _absolute(request: HttpRequest, path: str) -> str:
    return request.build_absolute_uri(path)


def _cost(procedure: Procedure) -> dict[str, Any] | None:
    if procedure.is_free or procedure.cost_amount is None:
        return None
    return {"amount": procedure.cost_amount, "currency": procedure.currency}


@router.get(
    "/procedures",
    response={200: ProcedurePage, 400: ErrorsOut},
    auth=None,
    summary="Buscar trámites publicados",
    operation_id="procedure_list",
)
def procedure_list(request: HttpRequest, filters: Query[ProcedureFilters]) -> dict[str, Any]:
    """Public. Paginated search with filters; a constant number of SQL queries per page. Answers are
    cached per catalogue generation (any write makes them fresh)."""
    digest = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()[:40]
    key = f"catalog:api:list:{selectors.catalog_generation()}:{digest}"
    cached = cache.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    answer = _procedure_list(request, filters)
    cache.set(key, answer, 300)
    return answer


def _procedure_list(request: HttpRequest, filters: ProcedureFilters) -> dict[str, Any]:
    search = selectors.SearchFilters(
        q=filters.q,
        institution=filters.institution,
        category=filters.category,
        life_event=filters.life_event,
        channel=filters.channel,
        online=filters.online,
        free=filters.free,
        level=filters.level,
    )
    result = selectors.procedure_search(
        search, page=filters.page, page_size=filters.page_size, with_facets=False
    )
    base = _absolute(request, reverse("api-v1:procedure_list"))
    params = {k: v for k, v in request.GET.items() if k != "page"}

    def page_url(number: int) -> str:
        return f"{base}?{urlencode({**params, 'page': number})}"

    return {
        "items": [
            {
                "slug": p.slug,
                "name": p.name,
                "summary": p.summary,
                "institution": p.institution.code,
                "category": p.category.slug,
                "cost": _cost(p),
                "max_days": p.max_days,
                "digitisation_level": p.digitisation_level,
                "channels": [c.kind for c in p.channels.all()],
                "url": _absolute(request, p.get_absolute_url()),
                "updated_at": p.updated_at,
            }
            for p in result.items
        ],
        "count": result.count,
        "page": result.page,
        "num_pages": result.num_pages,
        "next": page_url(result.page + 1) if result.has_next else None,
        "previous": page_url(result.page - 1) if result.has_previous else None,
        "corrected_query": result.corrected_query,
    }


@router.get(
    "/procedures/{slug}",
    response={200: ProcedureOut, 404: ErrorsOut},
    auth=None,
    summary="Detalle de un trámite publicado",
    operation_id="procedure_get",
)
def procedure_get(request: HttpRequest, slug: str) -> dict[str, Any]:
    """Public. Everything the procedure page shows (the 'carta de servicio')."""
    procedure = selectors.procedure_get_public(slug)
    data = procedure_to_data(procedure).as_dict()
    data.update(
        version=procedure.version,
        updated_at=procedure.updated_at,
        url=_absolute(request, procedure.get_absolute_url()),
        cost=_cost(procedure),
    )
    return data


def _institution_summary(request: HttpRequest, institution: Any, published: int) -> dict[str, Any]:
    return {
        "code": institution.code,
        "name": institution.name,
        "acronym": institution.acronym,
        "level": institution.level,
        "department": institution.department,
        "website": institution.website,
        "published_procedures": published,
        "url": _absolute(request, reverse("catalog:institution-detail", args=[institution.code])),
    }


@router.get(
    "/institutions",
    response={200: InstitutionPage, 400: ErrorsOut},
    auth=None,
    summary="Directorio de instituciones",
    operation_id="institution_list",
)
def institution_list(
    request: HttpRequest,
    level: Literal[
        "", "central", "departamental", "municipal", "indigena", "otros_organos", "empresa_publica"
    ] = "",
    q: str = Query("", max_length=200),
) -> dict[str, Any]:
    """Public. All active institutions (a few hundred at most per country), one query."""
    institutions = list(selectors.institution_list(level=level, q=q))
    return {
        "items": [_institution_summary(request, i, i.published) for i in institutions],
        "count": len(institutions),
    }


@router.get(
    "/institutions/{code}",
    response={200: InstitutionOut, 404: ErrorsOut},
    auth=None,
    summary="Detalle de una institución",
    operation_id="institution_get",
)
def institution_get(request: HttpRequest, code: str) -> dict[str, Any]:
    """Public. Institution with its offices and the slugs of its published procedures."""
    institution = selectors.institution_get(code)
    data = _institution_summary(request, institution, len(institution.published_procedures))
    data.update(
        parent=institution.parent.code if institution.parent else None,
        email=institution.email,
        phone=institution.phone,
        description=institution.description,
        offices=list(institution.offices.all()),
        procedures=[p.slug for p in institution.published_procedures],
    )
    return data


class StatisticsOut(Schema):
    country: str
    total: int
    online: int
    online_share: float
    free: int
    paid: int
    free_share: float
    on_platform: int
    on_platform_share: float
    linked_external: int
    institutions_total: int
    institutions_publishing: int
    institutions_publishing_share: float
    by_digitisation_level: list[dict[str, Any]]
    by_institution: list[dict[str, Any]]
    by_government_level: list[dict[str, Any]]


@router.get(
    "/statistics",
    response=StatisticsOut,
    auth=None,
    summary="Indicadores del catálogo",
    operation_id="catalog_statistics",
)
def catalog_statistics(request: HttpRequest) -> dict[str, Any]:
    """Public. Procedures per digitisation level, online per institution and government level, share
    through the single portal, free vs paid."""
    return {"country": settings.VENTANILLA_COUNTRY, **selectors.catalog_statistics()}
