"""Anonymous catalogue pages come from the cache (no database work), are fresh after any write, and are
never shared with signed-in users."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conftest import login, make_procedure

pytestmark = pytest.mark.django_db


def test_anonymous_search_is_served_from_cache_and_fresh_after_a_write(
    client: Client, procedure_a: Any, institution_a: Any
) -> None:
    first = client.get("/tramites/?q=licencia")
    assert first.status_code == 200 and "X-Cache" not in first
    with CaptureQueriesContext(connection) as queries:
        second = client.get("/tramites/?q=licencia")
    assert second["X-Cache"] == "hit" and second.content == first.content
    assert len(queries.captured_queries) == 0
    make_procedure(institution_a, "licencia-de-pesca", "Licencia de pesca")  # a write bumps the generation
    third = client.get("/tramites/?q=licencia")
    assert "X-Cache" not in third and "Licencia de pesca" in third.content.decode()


def test_signed_in_users_never_get_the_shared_page(procedure_a: Any, alice: Any, client: Client) -> None:
    client.get("/")
    signed = login(alice).get("/")
    assert "X-Cache" not in signed
    assert "Salir" in signed.content.decode() or "salir" in signed.content.decode().lower()


def test_api_search_is_cached_per_generation(client: Client, procedure_a: Any, institution_a: Any) -> None:
    first = client.get("/api/v1/procedures?q=licencia").json()
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/procedures?q=licencia").json() == first
    assert len(queries.captured_queries) == 0
    make_procedure(institution_a, "licencia-de-pesca", "Licencia de pesca")
    fresh = client.get("/api/v1/procedures?q=licencia").json()
    assert fresh["count"] == first["count"] + 1
