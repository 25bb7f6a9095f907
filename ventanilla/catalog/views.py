"""Public pages of the Portal de Trámites. No business rules here: selectors read, services write."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ventanilla.core.errors import DomainError, NotFound
from ventanilla.core.models import Institution
from ventanilla.core.ratelimit import rate_limit

from . import selectors, services
from .imports import export_csv, export_records
from .models import Channel, Procedure


def _int(value: str | None, default: int | None = None, *, low: int = 1, high: int = 10_000) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return default
    return number if low <= number <= high else default


def filters_from_request(request: HttpRequest) -> selectors.SearchFilters:
    get = request.GET
    channel = get.get("canal", "")
    audience = get.get("dirigido_a", "")
    return selectors.SearchFilters(
        q=get.get("q", "")[:200],
        institution=get.get("institucion", "")[:30],
        category=get.get("categoria", "")[:80],
        life_event=get.get("hecho", "")[:80],
        channel=channel if channel in Channel.Kind.values else "",
        online=get.get("en_linea") == "1",
        free=get.get("gratuito") == "1",
        level=_int(get.get("nivel"), None, low=1, high=4),
        audience=audience if audience in Procedure.Audience.values else "",
    )


ANONYMOUS_PAGE_TTL = 300


def anonymous_page_cache(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve a public page from the cache to visitors without a session (the catalogue is read-heavy and
    the same for everyone). Keyed by the catalogue generation, so any write is visible at once; never for
    signed-in users, anyone with a session or pending messages (their pages differ), never for errors."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if (
            request.user.is_authenticated
            or settings.SESSION_COOKIE_NAME in request.COOKIES
            or "messages" in request.COOKIES
        ):
            return view(request, *args, **kwargs)
        digest = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:40]
        partial = "hx" if request.headers.get("HX-Request") else "page"
        key = f"catalog:page:{view.__name__}:{selectors.catalog_generation()}:{partial}:{digest}"
        cached = cache.get(key)
        if cached is not None:
            content, content_type = cached
            response = HttpResponse(content, content_type=content_type)
            response["X-Cache"] = "hit"
            return response
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming and not response.cookies:
            cache.set(key, (response.content, response["Content-Type"]), ANONYMOUS_PAGE_TTL)
        return response

    return wrapper


@require_GET
@anonymous_page_cache
def home(request: HttpRequest) -> HttpResponse:
    stats = selectors.catalog_statistics()
    return render(
        request,
        "catalog/home.html",
        {
            "categories": selectors.category_list(),
            "life_events": selectors.life_event_list(),
            "stats": stats,
            "online_examples": selectors.procedure_search(
                selectors.SearchFilters(online=True), page_size=6, with_facets=False
            ).items,
        },
    )


@require_GET
@rate_limit("search", 120, 60)
@anonymous_page_cache
def procedure_search(request: HttpRequest) -> HttpResponse:
    filters = filters_from_request(request)
    result = selectors.procedure_search(filters, page=_int(request.GET.get("pagina"), 1) or 1)
    context = {
        "filters": filters,
        "result": result,
        "categories": {c.slug: c for c in selectors.category_list()},
        "life_event": next((e for e in selectors.life_event_list() if e.slug == filters.life_event), None),
        "channel_choices": Channel.Kind.choices,
    }
    template = "catalog/_results.html" if request.headers.get("HX-Request") else "catalog/search.html"
    return render(request, template, context)


@require_GET
def procedure_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        procedure = selectors.procedure_get_public(slug)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(
        request,
        "catalog/detail.html",
        {
            "procedure": procedure,
            "related": selectors.procedure_related(procedure),
            "rated": request.session.get(f"rated:{procedure.pk}", False),
        },
    )


@require_POST
def procedure_rate(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        procedure = selectors.procedure_get_public(slug)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    answer = request.POST.get("util")
    if answer not in ("si", "no"):
        messages.error(request, _("Elija «Sí» o «No» para calificar la página."))
        return redirect(procedure.get_absolute_url() + "#calificar")
    if not request.session.session_key:
        request.session.save()
    try:
        services.procedure_rate(
            procedure=procedure,
            useful=answer == "si",
            comment=request.POST.get("comentario", ""),
            session_key=request.session.session_key or "",
        )
    except DomainError as exc:
        raise Http404(exc.message) from exc
    request.session[f"rated:{procedure.pk}"] = True
    messages.success(request, _("¡Gracias! Su opinión nos ayuda a mejorar la información de este trámite."))
    return redirect(procedure.get_absolute_url() + "#calificar")


@require_GET
def institution_list(request: HttpRequest) -> HttpResponse:
    level = request.GET.get("nivel", "")
    level = level if level in Institution.Level.values else ""
    institutions = list(selectors.institution_list(level=level, q=request.GET.get("q", "")))
    return render(
        request,
        "catalog/institution_list.html",
        {
            "institutions": institutions,
            "level": level,
            "levels": Institution.Level.choices,
            "q": request.GET.get("q", "")[:200],
        },
    )


@require_GET
def institution_detail(request: HttpRequest, code: str) -> HttpResponse:
    try:
        institution = selectors.institution_get(code)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(request, "catalog/institution_detail.html", {"institution": institution})


@require_GET
def statistics(request: HttpRequest) -> HttpResponse:
    stats = selectors.catalog_statistics()
    max_institution = max((row["total"] for row in stats["by_institution"]), default=0)
    return render(request, "catalog/statistics.html", {"stats": stats, "max_institution": max_institution})


def _report_from_request(request: HttpRequest) -> dict:
    year = _int(request.GET.get("anio"), None, low=1990, high=2100)
    return selectors.simplification_report(year=year, institution=request.GET.get("institucion", "")[:30])


@require_GET
def simplification_report(request: HttpRequest) -> HttpResponse:
    report = _report_from_request(request)
    return render(
        request,
        "catalog/simplification_report.html",
        {
            "report": report,
            "years": selectors.simplification_years(),
            "institutions": selectors.institution_list()
            .filter(procedures__simplifications__isnull=False)
            .distinct(),
        },
    )


@require_GET
def simplification_report_csv(request: HttpRequest) -> HttpResponse:
    report = _report_from_request(request)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "institucion",
            "tramite",
            "fecha",
            "acto_normativo",
            "descripcion",
            "requisitos_antes",
            "requisitos_despues",
            "pasos_antes",
            "pasos_despues",
            "dias_antes",
            "dias_despues",
            "costo_antes",
            "costo_despues",
            "moneda",
            "canales_antes",
            "canales_despues",
            "volumen_anual",
            "dias_ciudadano_ahorrados",
            "dinero_ahorrado",
        ]
    )
    for item in report["rows"]:
        writer.writerow(
            [
                item.procedure.institution.code,
                item.procedure.name,
                item.date.isoformat(),
                item.legal_act,
                item.description,
                item.requirements_before,
                item.requirements_after,
                item.steps_before,
                item.steps_after,
                item.days_before,
                item.days_after,
                item.cost_before,
                item.cost_after,
                settings.COUNTRY_PACK.currency,
                "|".join(item.channels_before),
                "|".join(item.channels_after),
                item.annual_volume,
                item.citizen_days_saved,
                item.money_saved,
            ]
        )
    name = f"simplificacion-{report['year'] or 'todos'}.csv"
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
def catalog_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The published catalogue as open data (same layouts the import accepts)."""
    procedures = selectors.export_queryset(institution=request.GET.get("institucion", "")[:30])
    if fmt == "csv":
        response = HttpResponse(export_csv(procedures), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="catalogo-tramites.csv"'
        return response
    if fmt == "json":
        return JsonResponse(export_records(procedures), safe=False, json_dumps_params={"ensure_ascii": False})
    raise Http404(_("Formato no disponible."))
