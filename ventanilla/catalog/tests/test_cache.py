"""Counts, facets and statistics are cached per catalogue generation; a write is visible immediately."""

from __future__ import annotations

from typing import Any

from conftest import make_procedure
from ventanilla.catalog.selectors import (
    SearchFilters,
    catalog_generation,
    catalog_statistics,
    procedure_search,
)
from ventanilla.catalog.services import procedure_archive


def test_cached_counts_follow_every_write(
    institution_a: Any, agency: Any, django_assert_max_num_queries: Any
) -> None:
    first = make_procedure(institution_a, "cedula-de-identidad", "Cédula de identidad")
    assert procedure_search(SearchFilters(q="cedula")).count == 1
    with django_assert_max_num_queries(3):  # count and facets come from the cache; only the page is read
        procedure_search(SearchFilters(q="cedula"))
    before = catalog_generation()

    make_procedure(institution_a, "renovacion-cedula", "Renovación de cédula de identidad")
    assert catalog_generation() > before
    assert procedure_search(SearchFilters(q="cedula")).count == 2
    assert catalog_statistics()["total"] == 2

    procedure_archive(actor=agency, procedure=first)
    assert procedure_search(SearchFilters(q="cedula")).count == 1
    assert catalog_statistics()["total"] == 1
