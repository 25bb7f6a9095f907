"""Consumer → mediator → provider over real HTTP (live server): allowed calls and every refusal."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import httpx
import pytest
from django.utils import timezone

from ventanilla.interop.models import AccessRight, MessageLogEntry
from ventanilla.interop.providers import CIVIL_REGISTRY_PATH
from ventanilla.interop.services import access_right_revoke, request_hash_header

from .conftest import World, build_world, grant, make_service, token_for
from .urls import INTERNALS, SLOW_SECONDS

pytestmark = pytest.mark.urls("ventanilla.interop.tests.urls")


def _last() -> MessageLogEntry:
    return MessageLogEntry.objects.order_by("-seq").first()


def test_allowed_call_returns_the_registry_answer_and_is_logged(world: World) -> None:
    response = world.call()
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["nombres"] == "Juan Carlos"
    assert data["documento"] == {"tipo": "CI", "numero": "4567891", "complemento": ""}
    request_id = response.headers["Interop-Request-Id"]
    assert response.headers["Interop-Client"] == "INSTB/EXPEDIENTES"
    assert response.headers["Interop-Service"] == "INSTA/REGISTRO/personas"
    entry = _last()
    assert entry.request_id == request_id
    assert (entry.status, entry.outcome, entry.client) == (200, "ok", "INSTB/EXPEDIENTES")
    assert entry.service_id == world.service.pk and entry.consumer_id == world.consumer.pk
    assert (entry.purpose, entry.subject, entry.user) == (
        "Prellenado de formularios de trámites",
        "CI-4567891",
        "bob",
    )
    assert entry.path == "/personas/CI-4567891"
    assert entry.response_hash == hashlib.sha256(response.content).hexdigest()
    assert entry.request_hash == hashlib.sha256(b"").hexdigest()
    assert entry.request_body is None and entry.response_body is None  # bodies only where configured
    assert response.headers["Interop-Request-Hash"] == request_hash_header(
        method="GET",
        service_id=world.service.identifier,
        path="/personas/CI-4567891",
        client="INSTB/EXPEDIENTES",
        purpose=entry.purpose,
        subject="CI-4567891",
        user="bob",
        body_hash=entry.request_hash,
    )


def test_provider_answer_4xx_passes_through(world: World) -> None:
    response = world.call("personas/CI-9999999", headers=world.headers(**{"Interop-Subject": "CI-9999999"}))
    assert response.status_code == 404
    assert response.json()["error"] == "no_registrado"
    assert "Interop-Error" not in response.headers
    assert _last().outcome == "ok"


def test_provider_refuses_calls_that_bypass_the_mediator(world: World) -> None:
    direct = httpx.get(f"{world.base}{CIVIL_REGISTRY_PATH}/personas/CI-4567891")
    assert direct.status_code == 401
    forged = httpx.get(
        f"{world.base}{CIVIL_REGISTRY_PATH}/personas/CI-4567891",
        headers={"Interop-Provider-Secret": "adivinado"},
    )
    assert forged.status_code == 401


def test_provider_gets_who_asks_and_its_secret_but_not_the_consumer_token(world: World) -> None:
    echo = make_service(world.provider, "eco", world.base + "/prueba-proveedor/eco")
    grant(world.consumer, echo)
    response = world.call("algo/mas?x=1", service=echo, headers=world.headers(Cookie="sessionid=abc"))
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["path"] == "/prueba-proveedor/eco/algo/mas" and seen["query"] == {"x": "1"}
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["interop-client"] == "INSTB/EXPEDIENTES"
    assert headers["interop-service"] == "INSTA/REGISTRO/eco"
    assert headers["interop-subject"] == "CI-4567891" and headers["interop-user"] == "bob"
    assert headers["interop-request-id"] == response.headers["Interop-Request-Id"]
    assert headers["interop-provider-secret"] == echo.provider_secret
    assert "authorization" not in headers and "cookie" not in headers
    # The provider's own headers that reveal internals never reach the consumer.
    assert "internal=1" not in response.headers.get("set-cookie", "")
    assert "interno" not in response.headers.get("server", "")


def test_large_bodies_are_streamed_both_ways(world: World) -> None:
    echo = make_service(world.provider, "eco", world.base + "/prueba-proveedor/eco")
    big = make_service(world.provider, "grande", world.base + "/prueba-proveedor/grande")
    grant(world.consumer, echo)
    grant(world.consumer, big)
    body = b"0123456789abcdef" * (3 * 65536)  # 3 MiB, above DATA_UPLOAD_MAX_MEMORY_SIZE's spirit
    sent = world.call(
        "subir",
        method="POST",
        service=echo,
        content=body,
        headers=world.headers(**{"Content-Type": "application/octet-stream"}),
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["size"] == len(body)
    assert sent.json()["sha256"] == hashlib.sha256(body).hexdigest()
    assert _last().request_hash == hashlib.sha256(body).hexdigest()
    with httpx.stream("GET", world.url("bajar?mb=6", big), headers=world.headers(), timeout=30) as streamed:
        assert streamed.status_code == 200
        size = sum(len(chunk) for chunk in streamed.iter_raw())
    assert size == 6 * 1024 * 1024
    assert _last().outcome == "ok"


def test_no_access_right_is_refused(world: World) -> None:
    other = make_service(world.provider, "otro", world.base + CIVIL_REGISTRY_PATH)
    response = world.call(service=other)
    assert response.status_code == 403
    assert response.headers["Interop-Error"] == "access_denied"
    assert response.json()["errors"][0]["code"] == "access_denied"
    entry = _last()
    assert (entry.status, entry.outcome, entry.service_id) == (403, "access_denied", other.pk)


def test_expired_right_is_refused(world: World) -> None:
    AccessRight.objects.filter(pk=world.right.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    response = world.call()
    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert error["code"] == "access_denied" and "venció" in error["message"]


def test_revoked_right_is_refused(world: World) -> None:
    assert world.call().status_code == 200
    access_right_revoke(actor=None, right=world.right, comment="Fin del convenio")
    response = world.call()
    assert response.status_code == 403
    assert "revocado" in response.json()["errors"][0]["message"]


def test_operations_limit_the_right(world: World) -> None:
    AccessRight.objects.filter(pk=world.right.pk).update(operations="GET /empresas/*")
    response = world.call()
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "access_denied"


def test_provider_timeout(world: World) -> None:
    slow = make_service(world.provider, "lento", world.base + "/prueba-proveedor/lento", timeout_seconds=0.3)
    grant(world.consumer, slow)
    response = world.call("algo", service=slow)
    assert response.status_code == 504
    assert response.headers["Interop-Error"] == "provider_timeout"
    assert response.json()["errors"][0]["code"] == "provider_timeout"
    entry = _last()
    assert (entry.status, entry.outcome) == (504, "provider_timeout")
    assert entry.latency_ms < SLOW_SECONDS * 1000


def test_provider_error_never_leaks_internals(world: World) -> None:
    failing = make_service(world.provider, "falla", world.base + "/prueba-proveedor/falla")
    grant(world.consumer, failing)
    response = world.call("algo", service=failing)
    assert response.status_code == 502
    assert response.headers["Interop-Error"] == "provider_error"
    assert "secreto-interno" not in response.text and "db-interno" not in response.text
    assert INTERNALS not in response.text
    assert "Apache" not in response.headers.get("server", "") and "x-powered-by" not in response.headers
    assert _last().outcome == "provider_error"


def test_unreachable_provider_is_a_provider_error(world: World) -> None:
    dead = make_service(world.provider, "caido", "http://127.0.0.1:9/no-hay-nadie")
    grant(world.consumer, dead)
    response = world.call("x", service=dead)
    assert response.status_code == 502
    assert "127.0.0.1" not in response.text


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Authorization": None}, 401, "bad_client"),
        ({"Authorization": "Bearer inventado"}, 401, "bad_client"),
        ({"Interop-Client": "INSTA/REGISTRO"}, 401, "bad_client"),
        ({"Interop-Client": None}, 400, "missing_header"),
        ({"Interop-Purpose": None}, 400, "missing_header"),
        ({"Interop-Subject": None}, 400, "missing_header"),
        ({"Interop-User": None}, 400, "missing_header"),
        ({"Interop-Subject": "pasaporte"}, 400, "invalid_header"),
    ],
)
def test_bad_requests_are_refused_precisely(
    world: World, headers: dict[str, Any], status: int, code: str
) -> None:
    response = world.call(headers=world.headers(**headers))
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["code"] == code
    assert response.headers["Interop-Error"] == code
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_service(world: World) -> None:
    response = httpx.get(f"{world.base}/interop/r1/INSTA/REGISTRO/nada/x", headers=world.headers())
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "unknown_service"
    assert _last().outcome == "unknown_service"


def test_another_subsystems_token_cannot_impersonate(world: World, institution_a: Any) -> None:
    from ventanilla.interop.services import subsystem_client_create, subsystem_save

    other = subsystem_save(actor=None, institution=institution_a, code="OTRO", name="Otro", kind="consumidor")
    client_id, secret = subsystem_client_create(actor=None, subsystem=other)
    token = token_for(world.base, client_id, secret)
    response = world.call(headers=world.headers(Authorization=f"Bearer {token}"))
    assert response.status_code == 401


def test_rate_limit_per_consumer(world: World) -> None:
    world.consumer.rate_limit = 2
    world.consumer.save(update_fields=["rate_limit"])
    assert world.call().status_code == 200
    assert world.call().status_code == 200
    refused = world.call()
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1


def test_path_traversal_is_refused(world: World) -> None:
    response = httpx.get(world.url("personas/%2E%2E/%2E%2E/admin"), headers=world.headers())
    assert response.status_code in (400, 404)
    assert MessageLogEntry.objects.filter(status=200).count() == 0


def test_a_suspended_consumer_cannot_call(world: World) -> None:
    world.consumer.status = "suspendido"
    world.consumer.save(update_fields=["status"])
    assert world.call().status_code == 401


def test_registry_answer_json_is_logged_only_when_configured(world: World) -> None:
    world.service.log_bodies = True
    world.service.save(update_fields=["log_bodies"])
    response = world.call()
    entry = _last()
    assert bytes(entry.response_body) == response.content
    assert json.loads(bytes(entry.response_body))["nombres"] == "Juan Carlos"


def test_world_without_token_helper(
    live_server: Any, interop_log_flushable: Any, institution_a: Any, institution_b: Any
) -> None:
    world = build_world(live_server.url, institution_a, institution_b, token=False)
    assert world.call(headers=world.headers(Authorization=None)).status_code == 401


def test_a_client_suspended_by_the_agency_stops_at_once(world: World, agency: Any) -> None:
    from ventanilla.identity.clients import client_suspend

    assert world.call().status_code == 200
    client_suspend(actor=agency, registration=world.consumer.oauth_application.registration, comment="Abuso")
    response = world.call()  # same token, issued before the suspension
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "bad_client"
