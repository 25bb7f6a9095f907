"""Rate limits per client IP: sign-in (POST only), catalogue search and the public API. Test settings disable
them; each test here sets small limits. Sharing the counters between processes through Redis is tested in
tests/production/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings

from ventanilla.core import ratelimit

LIMITS = {
    "login": {"limit": 3, "window": 60},
    "search": {"limit": 4, "window": 60},
    "api": {"limit": 5, "window": 60},
}
T0 = 1_800_000_000.0  # a window boundary for 60-second windows (divisible by 60)


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Small limits, an empty cache and a frozen clock in the middle of a window."""
    cache.clear()
    monkeypatch.setattr(ratelimit, "_clock", lambda: T0 + 20)
    with override_settings(VENTANILLA_RATE_LIMITS=LIMITS):
        yield
    cache.clear()


def _get_many(client: Client, url: str, n: int, **extra: Any) -> list[Any]:
    return [client.get(url, **extra) for _ in range(n)]


# -- public API --------------------------------------------------------------------------------------------


def test_api_over_the_limit_is_429_with_retry_after_and_the_error_shape(client: Client, db: Any) -> None:
    responses = _get_many(client, "/api/v1/procedures", 6)
    assert [r.status_code for r in responses] == [200] * 5 + [429]
    refused = responses[-1]
    assert refused["Retry-After"] == "40"  # the window ends 40 s after the frozen clock
    assert refused["Content-Type"] == "application/json"
    body = refused.json()
    assert [e["code"] for e in body["errors"]] == ["rate_limited"]
    assert "40 segundos" in body["errors"][0]["message"]
    assert refused["X-Request-Id"]  # still a normal response of ours: headers, request id
    assert "frame-ancestors 'none'" in refused["Content-Security-Policy"]


def test_api_budget_is_shared_by_every_endpoint(client: Client, procedure_a: Any) -> None:
    _get_many(client, "/api/v1/procedures", 3)
    _get_many(client, "/api/v1/institutions", 2)
    assert client.get(f"/api/v1/procedures/{procedure_a.slug}").status_code == 429
    assert client.get("/api/v1/openapi.json").status_code == 429


def test_different_ips_have_independent_budgets(client: Client, db: Any) -> None:
    assert _get_many(client, "/api/v1/procedures", 6, REMOTE_ADDR="10.1.1.1")[-1].status_code == 429
    assert client.get("/api/v1/procedures", REMOTE_ADDR="10.1.1.2").status_code == 200
    assert client.get("/api/v1/procedures", REMOTE_ADDR="10.1.1.1").status_code == 429


def test_forwarded_for_headers_do_not_change_the_client(client: Client, db: Any) -> None:
    """Only REMOTE_ADDR counts: a client cannot escape its budget by inventing X-Forwarded-For."""
    for n in range(6):
        response = client.get("/api/v1/procedures", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert response.status_code == 429


def test_the_window_resets(client: Client, db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _get_many(client, "/api/v1/procedures", 6)[-1].status_code == 429
    monkeypatch.setattr(ratelimit, "_clock", lambda: T0 + 59.5)
    refused = client.get("/api/v1/procedures")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "1"  # never 0
    monkeypatch.setattr(ratelimit, "_clock", lambda: T0 + 60)
    assert [r.status_code for r in _get_many(client, "/api/v1/procedures", 6)] == [200] * 5 + [429]


def test_pages_outside_the_api_do_not_spend_the_api_budget(client: Client, db: Any) -> None:
    _get_many(client, "/health/live", 10)
    assert client.get("/api/v1/procedures").status_code == 200


def test_openapi_documents_429_on_every_operation(client: Client, db: Any) -> None:
    schema = client.get("/api/v1/openapi.json", REMOTE_ADDR="10.9.9.9").json()
    operations = [op for item in schema["paths"].values() for op in item.values()]
    assert operations
    for operation in operations:
        documented = operation["responses"]["429"]
        assert "Retry-After" in documented["headers"]
        assert "errors" in documented["content"]["application/json"]["schema"]["properties"]


# -- catalogue search (HTML) -------------------------------------------------------------------------------


def test_search_over_the_limit_is_a_spanish_429_page(client: Client, procedure_a: Any) -> None:
    responses = _get_many(client, "/tramites/?q=licencia", 5)
    assert [r.status_code for r in responses] == [200] * 4 + [429]
    refused = responses[-1]
    assert refused["Retry-After"] == "40"
    assert refused["Content-Type"].startswith("text/html")
    page = refused.content.decode()
    assert "<h1>Demasiadas solicitudes</h1>" in page
    assert "Espere 40 segundos" in page
    # other pages are not limited by the search budget
    assert client.get(f"/tramites/{procedure_a.slug}/").status_code == 200


# -- sign-in --------------------------------------------------------------------------------------------


def test_sign_in_counts_posts_only(client: Client, alice: Any) -> None:
    assert all(r.status_code == 200 for r in _get_many(client, "/cuenta/ingresar/", 6))
    wrong = {"identifier": "alice", "password": "no-es-la-clave"}
    statuses = [client.post("/cuenta/ingresar/", wrong).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.post("/cuenta/ingresar/", {"identifier": "alice", "password": "clave-de-prueba-123"})
    assert refused.status_code == 429  # even the right password waits for the window
    assert refused["Retry-After"] == "40"
    assert "no-store" in refused["Cache-Control"]
    assert client.get("/cuenta/ingresar/").status_code == 200  # the form still shows


def test_sign_in_limit_is_per_ip(client: Client, alice: Any) -> None:
    wrong = {"identifier": "alice", "password": "no-es-la-clave"}
    for _ in range(4):
        client.post("/cuenta/ingresar/", wrong, REMOTE_ADDR="10.2.2.2")
    ok = client.post(
        "/cuenta/ingresar/",
        {"identifier": "alice", "password": "clave-de-prueba-123"},
        REMOTE_ADDR="10.2.2.3",
    )
    assert ok.status_code == 302


# -- the building blocks ------------------------------------------------------------------------------------


def test_decorator_falls_back_to_its_own_numbers_for_an_unconfigured_scope() -> None:
    calls: list[str] = []

    @ratelimit.rate_limit("prueba", 2, 10)
    def view(request: HttpRequest) -> HttpResponse:
        calls.append(request.method or "")
        return HttpResponse("ok")

    factory = RequestFactory()
    statuses = [view(factory.get("/prueba/")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert len(calls) == 2


def test_star_entry_covers_every_scope_not_named() -> None:
    with override_settings(
        VENTANILLA_RATE_LIMITS={"*": {"limit": 9, "window": 30}, "login": LIMITS["login"]}
    ):
        assert ratelimit.limit_for("registro", 2, 10) == (9, 30)
        assert ratelimit.limit_for("login", 20, 60) == (3, 60)
    with override_settings(VENTANILLA_RATE_LIMITS={}):
        assert ratelimit.limit_for("registro", 2, 10) == (2, 10)


def test_test_settings_lift_every_limit() -> None:
    from config.settings import test as test_settings

    assert test_settings.VENTANILLA_RATE_LIMITS == {"*": {"limit": 10**9, "window": 60}}


def test_hit_counts_per_scope_and_key() -> None:
    first = [ratelimit.hit("a", "k1", limit=2, window=60, now=T0).allowed for _ in range(3)]
    assert first == [True, True, False]
    assert ratelimit.hit("b", "k1", limit=2, window=60, now=T0).allowed
    assert ratelimit.hit("a", "k2", limit=2, window=60, now=T0).allowed
    assert ratelimit.hit("a", "k1", limit=2, window=60, now=T0 + 60).count == 1
