"""Spanish search over published procedures.

PostgreSQL: full-text search with the ``vt_spanish`` configuration (Spanish stemming + unaccent, GIN
index), ranked by ``ts_rank`` plus trigram similarity of the name; when nothing matches, a trigram
word-similarity pass tolerates typos. SQLite: the Snowball stems stored by the services, matched by prefix
and ranked by matches in the name; when nothing matches, query words are corrected against the catalogue's
vocabulary. Both are accent- and case-insensitive.
"""

from __future__ import annotations

import difflib
from typing import Any

from django.db import connection
from django.db.models import Case, F, FloatField, IntegerField, QuerySet, Value, When
from django.db.models.functions import Length

from ventanilla.core.text import fold, stems

from .models import Procedure

MAX_QUERY_LENGTH = 200
TRIGRAM_THRESHOLD = 0.45


def clean_query(q: str) -> str:
    return " ".join((q or "").split())[:MAX_QUERY_LENGTH]


def text_search(queryset: QuerySet[Procedure], q: str) -> tuple[QuerySet[Procedure], str | None]:
    """Filter and rank ``queryset`` by ``q``. Returns (ranked queryset, corrected query or None)."""
    q = clean_query(q)
    if not q or not stems(q):  # nothing but punctuation or stop words: list everything
        return queryset.order_by("sort_key"), None
    if connection.vendor == "postgresql":
        return _postgres(queryset, q)
    return _sqlite(queryset, q)


def _postgres(queryset: QuerySet[Procedure], q: str) -> tuple[QuerySet[Procedure], str | None]:
    from django.contrib.postgres.search import (
        SearchQuery,
        SearchRank,
        TrigramSimilarity,
        TrigramWordSimilarity,
    )

    folded = fold(q)
    query = SearchQuery(folded, config="vt_spanish", search_type="websearch")
    # search_vector is stored (trigger-maintained from search_document) and GIN-indexed, and name similarity
    # uses sort_key (the name already folded, trigram-indexed): nothing is re-parsed or unaccented per row.
    ranked = (
        queryset.filter(search_vector=query)
        .annotate(rank=SearchRank(F("search_vector"), query) + 2 * TrigramSimilarity("sort_key", folded))
        .order_by("-rank", Length("name"), "sort_key")
    )
    if ranked.exists():
        return ranked, None
    with connection.cursor() as cursor:  # the %> operator's threshold, for this connection
        cursor.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', %s, false)", [str(TRIGRAM_THRESHOLD)]
        )
    fuzzy = (
        # `sort_key %> query` can use the trigram GIN index (threshold: pg_trgm.word_similarity_threshold).
        queryset.filter(sort_key__trigram_word_similar=folded)
        .annotate(rank=TrigramWordSimilarity(folded, "sort_key"))
        .order_by("-rank", Length("name"), "sort_key")
    )
    return fuzzy, q


def _stem_filter(queryset: QuerySet[Procedure], terms: list[str]) -> QuerySet[Procedure]:
    for term in terms:
        queryset = queryset.filter(search_stems__contains=f" {term}")
    name_score: Any = Value(0, output_field=IntegerField())
    for term in terms:
        name_score = name_score + Case(
            When(name_stems__contains=f" {term}", then=Value(3)),
            default=Value(0),
            output_field=IntegerField(),
        )
    return queryset.annotate(_name_score=name_score)


def _sqlite(queryset: QuerySet[Procedure], q: str) -> tuple[QuerySet[Procedure], str | None]:
    folded = fold(q)
    terms = stems(q)
    if not terms:
        return queryset.order_by("sort_key"), None
    ranked = _stem_filter(queryset, terms)
    exact = Case(
        When(search_document__startswith=f"{folded} {folded} ", then=Value(5.0)),
        default=Value(0.0),
        output_field=FloatField(),
    )
    ranked = ranked.annotate(rank=F("_name_score") + exact).order_by("-rank", Length("name"), "sort_key")
    if ranked.exists():
        return ranked, None
    vocabulary = _vocabulary(queryset)
    corrected = []
    for term in terms:
        if term in vocabulary:
            corrected.append(term)
            continue
        match = difflib.get_close_matches(term, vocabulary, n=1, cutoff=0.7)
        corrected.append(match[0] if match else term)
    if corrected == terms:
        return ranked, None
    fuzzy = (
        _stem_filter(queryset, corrected)
        .annotate(rank=F("_name_score") * Value(1.0, output_field=FloatField()))
        .order_by("-rank", Length("name"), "sort_key")
    )
    return fuzzy, q


def _vocabulary(queryset: QuerySet[Procedure]) -> list[str]:
    words: set[str] = set()
    for value in queryset.values_list("search_stems", flat=True):
        words.update(value.split())
    return sorted(words)
