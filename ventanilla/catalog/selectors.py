"""Reads of the catalogue shared by pages and the API. Every list uses a constant number of queries."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet

from ventanilla.core.errors import NotFound
from ventanilla.core.models import Institution, Office
from ventanilla.core.permissions import editable_institution_ids, is_platform_admin

from .models import Category, Channel, LifeEvent, Procedure, ProcedureVersion, Requirement, Simplification
from .search import clean_query, text_search

Status = Procedure.Status

GENERATION_KEY = "catalog:generation"
CACHE_SECONDS = 300


def catalog_generation() -> int:
    """A number that changes whenever published content may have changed (services.bump_generation):
    cached counts, facets and statistics are keyed by it, so they are never stale after a write."""
    from django.core.cache import cache

    return int(cache.get_or_set(GENERATION_KEY, 1, timeout=None) or 1)


def _cached(name: str, parts: Any, compute: Any) -> Any:
    import hashlib
    import json

    from django.core.cache import cache

    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]
    key = f"catalog:{name}:{catalog_generation()}:{digest}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value


@dataclass
class SearchFilters:
    q: str = ""
    institution: str = ""
    category: str = ""
    life_event: str = ""
    channel: str = ""
    online: bool = False
    free: bool = False
    level: int | None = None
    audience: str = ""

    def active(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None, False)}


@dataclass
class FacetValue:
    value: str
    label: str
    count: int


@dataclass
class SearchResult:
    items: list[Procedure]
    count: int
    page: int
    num_pages: int
    page_size: int
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    corrected_query: str | None = None

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _published() -> QuerySet[Procedure]:
    return Procedure.objects.filter(status=Status.PUBLISHED)


def _apply_filters(queryset: QuerySet[Procedure], filters: SearchFilters) -> QuerySet[Procedure]:
    if filters.institution:
        queryset = queryset.filter(institution__code=filters.institution.upper())
    if filters.category:
        queryset = queryset.filter(category__slug=filters.category)
    if filters.life_event:
        queryset = queryset.filter(life_events__slug=filters.life_event)
    if filters.channel:
        queryset = queryset.filter(channels__kind=filters.channel)
    if filters.online:
        queryset = queryset.filter(digitisation_level=Procedure.Level.FULLY_ONLINE)
    if filters.free:
        queryset = queryset.filter(is_free=True)
    if filters.level:
        queryset = queryset.filter(digitisation_level=filters.level)
    if filters.audience:
        queryset = queryset.filter(audience__in=[filters.audience, Procedure.Audience.BOTH])
    return queryset


SEARCH_COLUMNS = ("search_document", "search_stems", "name_stems", "search_vector")


def list_prefetch(queryset: QuerySet[Procedure]) -> QuerySet[Procedure]:
    return (
        queryset.defer(*SEARCH_COLUMNS)
        .select_related("institution", "category")
        .prefetch_related(Prefetch("channels", queryset=Channel.objects.only("id", "procedure_id", "kind")))
    )


def procedure_search(
    filters: SearchFilters, *, page: int = 1, page_size: int | None = None, with_facets: bool = True
) -> SearchResult:
    """Published procedures matching ``filters``, best first, one page, plus facet counts."""
    page_size = page_size or settings.VENTANILLA_PAGE_SIZE
    filtered = _apply_filters(_published(), filters)
    ranked, corrected = text_search(filtered, filters.q)
    ids_query = ranked.values("pk")

    def count_and_facets() -> tuple[int, dict[str, list[FacetValue]]]:
        total = ranked.count()
        found = _facets(Procedure.objects.filter(pk__in=ids_query)) if with_facets and total else {}
        return total, found

    # Counts and facets depend only on the filters and the catalogue's content: cached per generation.
    count, facets = _cached("search", [filters.__dict__, with_facets], count_and_facets)
    num_pages = max(1, math.ceil(count / page_size))
    page = min(max(1, page), num_pages)
    start = (page - 1) * page_size
    items = list(list_prefetch(ranked)[start : start + page_size])
    return SearchResult(
        items=items,
        count=count,
        page=page,
        num_pages=num_pages,
        page_size=page_size,
        facets=facets,
        corrected_query=corrected,
    )


def _facets(matched: QuerySet[Procedure]) -> dict[str, list[FacetValue]]:
    institutions = (
        matched.values("institution__code", "institution__acronym", "institution__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "institution__name")[:15]
    )
    categories = matched.values("category__slug", "category__name").annotate(n=Count("pk")).order_by("-n")
    channel_counts = (
        Channel.objects.filter(procedure__in=matched)
        .values("kind")
        .annotate(n=Count("procedure", distinct=True))
    )
    flags = matched.aggregate(
        online=Count("pk", filter=Q(digitisation_level=Procedure.Level.FULLY_ONLINE)),
        free=Count("pk", filter=Q(is_free=True)),
    )
    kind_labels = dict(Channel.Kind.choices)
    return {
        "institution": [
            FacetValue(r["institution__code"], r["institution__acronym"] or r["institution__code"], r["n"])
            for r in institutions
        ],
        "category": [FacetValue(r["category__slug"], r["category__name"], r["n"]) for r in categories],
        "channel": [
            FacetValue(r["kind"], str(kind_labels.get(r["kind"], r["kind"])), r["n"])
            for r in sorted(channel_counts, key=lambda r: r["kind"])
        ],
        "online": [FacetValue("1", "Completamente en línea", flags["online"])],
        "free": [FacetValue("1", "Gratuito", flags["free"])],
    }


def procedure_get_public(slug: str) -> Procedure:
    """A published procedure with everything its page shows (constant queries)."""
    procedure = (
        _published()
        .defer(*SEARCH_COLUMNS)
        .select_related("institution", "office", "category", "institution__parent")
        .prefetch_related(
            "life_events",
            Prefetch("requirements", queryset=Requirement.objects.select_related("issuer")),
            "steps",
            Prefetch("channels", queryset=Channel.objects.prefetch_related("offices")),
            "faqs",
        )
        .filter(slug=slug)
        .first()
    )
    if procedure is None:
        raise NotFound("El trámite no existe o no está publicado.")
    return procedure


def procedure_related(procedure: Procedure, limit: int = 4) -> list[Procedure]:
    return list(
        _published()
        .filter(category_id=procedure.category_id)
        .exclude(pk=procedure.pk)
        .select_related("institution")
        .order_by("-digitisation_level", "sort_key")[:limit]
    )


def category_list() -> list[Category]:
    return list(
        Category.objects.annotate(
            published=Count("procedures", filter=Q(procedures__status=Status.PUBLISHED))
        )
    )


def life_event_list() -> list[LifeEvent]:
    return list(
        LifeEvent.objects.annotate(
            published=Count("procedures", filter=Q(procedures__status=Status.PUBLISHED))
        )
    )


# -------------------------------------------------------------------------------------------- institutions


def institution_list(*, level: str = "", q: str = "", department: str = "") -> QuerySet[Institution]:
    queryset = (
        Institution.objects.filter(is_active=True)
        .annotate(
            published=Count("procedures", filter=Q(procedures__status=Status.PUBLISHED), distinct=True),
        )
        .select_related("parent")
    )
    if level:
        queryset = queryset.filter(level=level)
    if department:
        queryset = queryset.filter(department=department)
    q = clean_query(q)
    if q:
        queryset = queryset.filter(Q(name__icontains=q) | Q(acronym__icontains=q) | Q(code__icontains=q))
    return queryset.order_by("name")


def institution_get(code: str) -> Institution:
    institution = (
        Institution.objects.filter(code=code.upper(), is_active=True)
        .select_related("parent")
        .prefetch_related(
            Prefetch("offices", queryset=Office.objects.filter(is_active=True).order_by("name")),
            Prefetch("children", queryset=Institution.objects.filter(is_active=True).order_by("name")),
            Prefetch(
                "procedures",
                queryset=_published().select_related("category").order_by("sort_key"),
                to_attr="published_procedures",
            ),
        )
        .first()
    )
    if institution is None:
        raise NotFound("La institución no existe.")
    return institution


# ---------------------------------------------------------------------------------------------- back office


def procedure_list_for_editor(
    *, actor: Any, status: str = "", institution: str = "", q: str = "", pending: bool = False
) -> QuerySet[Procedure]:
    """Procedures the actor may manage: their institutions' (all for the platform agency)."""
    queryset = Procedure.objects.select_related("institution", "category")
    allowed = editable_institution_ids(actor)
    if allowed is not None:
        queryset = queryset.filter(institution_id__in=allowed)
    if status:
        queryset = queryset.filter(status=status)
    if pending:
        queryset = queryset.filter(pending_data__isnull=False)
    if institution:
        queryset = queryset.filter(institution__code=institution.upper())
    q = clean_query(q)
    if q:
        queryset = queryset.filter(Q(name__icontains=q) | Q(slug__icontains=q))
    return queryset.order_by("-updated_at")


def procedure_get_for_editor(*, actor: Any, slug: str) -> Procedure:
    """A procedure the actor may manage; another institution's procedure is 'not found' (no leak)."""
    procedure = procedure_list_for_editor(actor=actor).filter(slug=slug).first()
    if procedure is None:
        raise NotFound("El trámite no existe o no pertenece a su institución.")
    return procedure


def review_queue(*, actor: Any) -> QuerySet[Procedure]:
    if not is_platform_admin(actor):
        return Procedure.objects.none()
    return (
        Procedure.objects.filter(Q(status=Status.IN_REVIEW) | Q(pending_data__isnull=False))
        .select_related("institution", "category")
        .order_by("updated_at")
    )


def procedure_versions(procedure: Procedure) -> QuerySet[ProcedureVersion]:
    return procedure.versions.select_related("created_by").order_by("-number")


# ----------------------------------------------------------------------------------------------- statistics


def _share(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def catalog_statistics() -> dict[str, Any]:
    """The seeds' indicators, computed from the published catalogue (cached per catalogue generation)."""
    return _cached("statistics", [], _catalog_statistics)


def _catalog_statistics() -> dict[str, Any]:
    published = _published()
    online = Q(digitisation_level=Procedure.Level.FULLY_ONLINE)
    totals = published.aggregate(
        total=Count("pk"),
        online=Count("pk", filter=online),
        free=Count("pk", filter=Q(is_free=True)),
        on_platform=Count("pk", filter=Q(runs_on_platform=True)),
        linked=Count("pk", filter=Q(runs_on_platform=False) & ~Q(external_start_url="")),
    )
    total = totals["total"]
    by_level = {
        row["digitisation_level"]: row["n"]
        for row in published.values("digitisation_level").annotate(n=Count("pk"))
    }
    level_labels = dict(Procedure.Level.choices)
    per_institution = list(
        published.values(
            "institution__code", "institution__acronym", "institution__name", "institution__level"
        )
        .annotate(
            total=Count("pk"),
            online=Count("pk", filter=online),
            partial=Count("pk", filter=Q(digitisation_level=Procedure.Level.TRANSACTIONAL)),
        )
        .order_by("-total", "institution__name")
    )
    gov_level_labels = dict(Institution.Level.choices)
    per_gov_level: dict[str, dict[str, Any]] = {}
    for row in per_institution:
        entry = per_gov_level.setdefault(
            row["institution__level"], {"institutions": 0, "total": 0, "online": 0}
        )
        entry["institutions"] += 1
        entry["total"] += row["total"]
        entry["online"] += row["online"]
    institutions_total = Counter(Institution.objects.filter(is_active=True).values_list("level", flat=True))
    government_levels = []
    for level, label in gov_level_labels.items():
        entry = per_gov_level.get(level, {"institutions": 0, "total": 0, "online": 0})
        government_levels.append(
            {
                "level": level,
                "label": str(label),
                "institutions_total": institutions_total.get(level, 0),
                "institutions_publishing": entry["institutions"],
                "procedures": entry["total"],
                "online": entry["online"],
                "online_share": _share(entry["online"], entry["total"]),
                "publishing_share": _share(entry["institutions"], institutions_total.get(level, 0)),
            }
        )
    return {
        "total": total,
        "online": totals["online"],
        "online_share": _share(totals["online"], total),
        "free": totals["free"],
        "paid": total - totals["free"],
        "free_share": _share(totals["free"], total),
        "on_platform": totals["on_platform"],
        "on_platform_share": _share(totals["on_platform"], total),
        "linked_external": totals["linked"],
        "by_digitisation_level": [
            {
                "level": lvl,
                "label": str(level_labels[lvl]),
                "count": by_level.get(lvl, 0),
                "share": _share(by_level.get(lvl, 0), total),
            }
            for lvl in (1, 2, 3, 4)
        ],
        "by_institution": [
            {
                "code": r["institution__code"],
                "acronym": r["institution__acronym"] or r["institution__code"],
                "name": r["institution__name"],
                "level": r["institution__level"],
                "total": r["total"],
                "online": r["online"],
                "partially_online": r["partial"],
                "online_share": _share(r["online"], r["total"]),
            }
            for r in per_institution
        ],
        "by_government_level": government_levels,
        "institutions_publishing": len(per_institution),
        "institutions_total": sum(institutions_total.values()),
        "institutions_publishing_share": _share(len(per_institution), sum(institutions_total.values())),
    }


# ----------------------------------------------------------------------------------- simplification report


def simplification_years() -> list[int]:
    return sorted({d.year for d in Simplification.objects.dates("date", "year")}, reverse=True)


def simplification_report(*, year: int | None = None, institution: str = "") -> dict[str, Any]:
    """Simplifications in ``year`` (all years when None), per procedure and per institution, with the
    estimated citizen days and money saved per year (saving per case × annual volume)."""
    queryset = Simplification.objects.select_related("procedure", "procedure__institution").order_by(
        "procedure__institution__name", "date"
    )
    if year:
        queryset = queryset.filter(date__year=year)
    if institution:
        queryset = queryset.filter(procedure__institution__code=institution.upper())
    rows = list(queryset)
    per_institution: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "name": "",
            "simplifications": 0,
            "procedures": set(),
            "requirements_removed": 0,
            "steps_removed": 0,
            "citizen_days_saved": 0,
            "money_saved": Decimal(0),
        }
    )
    for item in rows:
        inst = item.procedure.institution
        entry = per_institution[inst.code]
        entry["name"] = inst.name
        entry["simplifications"] += 1
        entry["procedures"].add(item.procedure_id)
        entry["requirements_removed"] += max(item.requirements_before - item.requirements_after, 0)
        entry["steps_removed"] += max(item.steps_before - item.steps_after, 0)
        entry["citizen_days_saved"] += item.citizen_days_saved
        entry["money_saved"] += item.money_saved
    institutions = []
    for code, entry in sorted(per_institution.items(), key=lambda kv: kv[1]["name"]):
        institutions.append({**entry, "code": code, "procedures": len(entry["procedures"])})
    totals = {
        "simplifications": len(rows),
        "procedures": len({r.procedure_id for r in rows}),
        "requirements_removed": sum(i["requirements_removed"] for i in institutions),
        "steps_removed": sum(i["steps_removed"] for i in institutions),
        "citizen_days_saved": sum(i["citizen_days_saved"] for i in institutions),
        "money_saved": sum((i["money_saved"] for i in institutions), Decimal(0)),
    }
    return {
        "year": year,
        "institution": institution.upper(),
        "rows": rows,
        "institutions": institutions,
        "totals": totals,
    }


def export_queryset(*, institution: str = "") -> QuerySet[Procedure]:
    queryset = (
        _published()
        .select_related("institution", "office", "category")
        .prefetch_related(
            "life_events",
            Prefetch("requirements", queryset=Requirement.objects.select_related("issuer")),
            "steps",
            Prefetch("channels", queryset=Channel.objects.prefetch_related("offices")),
            "faqs",
        )
        .order_by("institution__code", "slug")
    )
    if institution:
        queryset = queryset.filter(institution__code=institution.upper())
    return queryset


def procedure_by_id(procedure_id: int) -> Procedure | None:
    """Any procedure by id (other apps: Expedientes attaches definitions to it)."""
    return Procedure.objects.select_related("institution").filter(pk=procedure_id).first()


def procedures_for_institutions(institution_ids: set[int] | None) -> QuerySet[Procedure]:
    """Procedures of the given institutions (None = all), for the definition editor's list."""
    qs = Procedure.objects.select_related("institution").order_by("institution__name", "name")
    return qs if institution_ids is None else qs.filter(institution_id__in=institution_ids)


def procedure_by_slug(slug: str) -> Procedure | None:
    return Procedure.objects.select_related("institution").filter(slug=slug).first()
