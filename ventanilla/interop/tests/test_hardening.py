"""Regression tests of the security review of the mediator: path traversal, SSRF through base URLs, header
allow-list, purpose and subject binding, bad header values, providers cut mid-stream, rate limits."""

from __future__ import annotations

import socket
import threading
from typing import Any

import httpx
import pytest

from ventanilla.core.errors import DomainError, Forbidden
from ventanilla.identity.models import DataUse
from ventanilla.interop import services
from ventanilla.interop.models import MessageLogEntry, Subsystem
from ventanilla.interop.services import (
    InteropError,
    ServiceData,
    registry_query,
    request_hash_header,
    service_save,
    subsystem_save,
)

from .conftest import World, grant, make_service

pytestmark = pytest.mark.urls("ventanilla.interop.tests.urls")

NO_SUBJECT = {"Interop-Subject": "", "Interop-User": ""}


def _last() -> MessageLogEntry:
    return MessageLogEntry.objects.order_by("-seq").first()


def _echo(world: World, **right: Any) -> Any:
    echo = make_service(world.provider, "eco", world.base + "/prueba-proveedor/eco/api")
    grant(world.consumer, echo, **right)
    return echo


def _query(world: World, service: Any, path: str, **values: Any) -> Any:
    return registry_query(
        actor=None,
        client=world.consumer.identifier,
        service=service.identifier,
        path=path,
        purpose=values.pop("purpose", "Prellenado de formularios de trámites"),
        **values,
    )


# -- 1. paths ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/personas/../../eco/secreto",
        "/personas/%2e%2e/secreto",
        "/personas/%252e%252e/secreto",
        "/personas//secreto",
        "/personas/a\\..\\secreto",
        "/personas/a%00b",
        "/personas/./a",
    ],
)
def test_registry_query_refuses_paths_out_of_normal_form(world: World, path: str) -> None:
    echo = _echo(world, operations="GET /personas/*")
    with pytest.raises(InteropError) as raised:
        _query(world, echo, path)
    assert raised.value.code == "invalid_header" and raised.value.status == 400
    assert _last().outcome == "invalid_header"  # logged like any refusal
    assert not MessageLogEntry.objects.filter(status=200).exists()


def test_http_mediator_refuses_encoded_traversal(world: World) -> None:
    echo = _echo(world, operations="GET /personas/*")
    for rest in ("personas/a%2F..%2F..%2Fsecreto", "personas/%252e%252e/secreto", "personas/%5C..%5Cx"):
        response = world.call(rest, service=echo, headers=world.headers(**NO_SUBJECT))
        assert response.status_code == 400, (rest, response.text)
        assert response.json()["errors"][0]["code"] == "invalid_header"
    assert not MessageLogEntry.objects.filter(status=200).exists()


def test_star_stays_within_one_segment_and_double_star_crosses(world: World) -> None:
    echo = _echo(world, operations="GET /personas/*\nGET /documentos/**")
    assert _query(world, echo, "/personas/1").data["path"] == "/prueba-proveedor/eco/api/personas/1"
    with pytest.raises(InteropError) as raised:
        _query(world, echo, "/personas/1/antecedentes")
    assert raised.value.code == "access_denied"
    assert _query(world, echo, "/documentos/a/b").data["path"] == "/prueba-proveedor/eco/api/documentos/a/b"
    # What the provider receives is the checked path, re-encoded.
    spaced = _query(world, echo, "/personas/Juan%20P%C3%A9rez")
    assert spaced.data["path"] == "/prueba-proveedor/eco/api/personas/Juan Pérez"


# -- 2. SSRF -------------------------------------------------------------------------------------------------


@pytest.fixture
def provider(db: Any, institution_a: Any, bob: Any) -> Subsystem:
    return subsystem_save(actor=bob, institution=institution_a, code="X", name="X", kind=Subsystem.Kind.BOTH)


def _save(provider: Subsystem, base_url: str, actor: Any = None) -> Any:
    code = f"s{provider.services.count()}"
    return service_save(
        actor=actor, subsystem=provider, data=ServiceData(code=code, name="S", base_url=base_url)
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "https://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:5432",
        "https://127.0.0.1:5432",
        "https://10.0.0.5/api",
        "https://[::1]/api",
        "https://[fe80::1]/api",
        "http://93.184.215.14/api",  # public, but plain HTTP
        "https://usuario:clave@93.184.215.14/api",
    ],
)
def test_base_url_into_the_platform_network_is_refused(
    provider: Subsystem, bob: Any, settings: Any, url: str
) -> None:
    settings.INTEROP_ALLOW_PRIVATE_PROVIDERS = False
    settings.INTEROP_PROVIDER_ALLOWED_NETWORKS = []
    with pytest.raises(DomainError) as raised:
        _save(provider, url, actor=bob)
    assert raised.value.field == "base_url"


def test_allowed_provider_networks_but_never_loopback_or_link_local(
    provider: Subsystem, bob: Any, settings: Any
) -> None:
    settings.INTEROP_ALLOW_PRIVATE_PROVIDERS = False
    settings.INTEROP_PROVIDER_ALLOWED_NETWORKS = ["10.0.0.0/8", "169.254.0.0/16", "127.0.0.0/8"]
    assert _save(provider, "https://10.20.30.40/api", actor=bob).base_url == "https://10.20.30.40/api"
    for url in (
        "https://169.254.169.254/x",
        "https://127.0.0.1/x",
        "http://10.20.30.40/api",
        "https://192.168.1.1",
    ):
        with pytest.raises(DomainError):
            _save(provider, url, actor=bob)
    assert _save(provider, "https://93.184.215.14/api", actor=bob)


def test_base_url_is_checked_again_before_each_call(world: World, settings: Any) -> None:
    echo = _echo(world)
    settings.INTEROP_ALLOW_PRIVATE_PROVIDERS = False  # e.g. the name now resolves to a private address
    settings.INTEROP_PROVIDER_ALLOWED_NETWORKS = []
    response = world.call("x", service=echo, headers=world.headers(**NO_SUBJECT))
    assert response.status_code == 502
    assert response.json()["errors"][0]["code"] == "provider_error"
    assert "127.0.0.1" not in response.text and "localhost" not in response.text
    assert _last().outcome == "provider_error"


# -- 4. headers to the provider ------------------------------------------------------------------------------


def test_only_allowed_headers_reach_the_provider(world: World) -> None:
    echo = _echo(world, operations="GET /personas/*")
    headers = world.headers(**NO_SUBJECT)
    headers.update(
        {
            "X-HTTP-Method-Override": "DELETE",
            "X-Original-URL": "/admin/borrar",
            "X-Forwarded-Prefix": "/x",
            "X-Rewrite-URL": "/admin",
            "Accept-Language": "es-BO",
        }
    )
    response = world.call("personas/1", service=echo, headers=headers)
    assert response.status_code == 200, response.text
    seen = {k.lower() for k in response.json()["headers"]}
    assert not {"x-http-method-override", "x-original-url", "x-forwarded-prefix", "x-rewrite-url"} & seen
    assert "interop-client" in seen


def test_method_override_in_the_query_is_refused_when_operations_are_limited(world: World) -> None:
    echo = _echo(world, operations="GET /personas/*")
    response = world.call("personas/1?_method=DELETE", service=echo, headers=world.headers(**NO_SUBJECT))
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "access_denied"
    with pytest.raises(InteropError):
        _query(world, echo, "/personas/1?X-HTTP-Method-Override=DELETE")


# -- 5. purpose and subject ----------------------------------------------------------------------------------


def test_purpose_must_be_one_of_the_rights(world: World) -> None:
    for purpose in ("Cualquier cosa", "Trámites varios", "Trámitex"):
        response = world.call(headers=world.headers(**{"Interop-Purpose": purpose}))
        assert response.status_code == 403, purpose
        error = response.json()["errors"][0]
        assert error["code"] == "access_denied" and error["field"] == "Interop-Purpose"
        assert "finalidad" in error["message"]
    assert not DataUse.objects.exists()
    for purpose in ("PRELLENADO  de formularios de trámites", "Trámite: Licencia de funcionamiento"):
        assert world.call(headers=world.headers(**{"Interop-Purpose": purpose})).status_code == 200


def test_the_civil_registry_answers_only_about_the_subject(world: World) -> None:
    response = world.call(
        "personas/CI-4567891", headers=world.headers(**{"Interop-Subject": "CI-5123987-1B"})
    )
    assert response.status_code == 403  # the provider's answer, passed through
    assert "Interop-Error" not in response.headers
    assert response.json()["error"] == "sujeto_distinto"
    assert (
        world.call("personas/4567891", headers=world.headers(**{"Interop-Subject": "CI-4567891"})).status_code
        == 200
    )


# -- 6. header values, request building, request hash --------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Interop-Purpose": "Prellenado%00x"},
        {"Interop-Purpose": "Prellenado%0Ax"},
        {"Interop-User": "bob%7F"},
        {"Interop-User": "b" * 151},
        {"Interop-Purpose": "P" * 201},
    ],
)
def test_bad_interop_header_values_are_logged_refusals(world: World, headers: dict[str, str]) -> None:
    before = MessageLogEntry.objects.count()
    raw = world.headers()
    raw.update(headers)
    response = world.call(headers=raw)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["code"] == "invalid_header"
    assert MessageLogEntry.objects.count() == before + 1
    entry = _last()
    assert entry.outcome == "invalid_header" and "\x00" not in entry.purpose


def test_a_failure_while_building_the_request_is_a_logged_refusal(world: World, monkeypatch: Any) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("cabecera imposible")

    monkeypatch.setattr(services, "_build_request", broken)
    response = world.call()
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_header"
    assert _last().outcome == "invalid_header"


def test_request_hash_is_a_json_array_with_the_query(world: World) -> None:
    echo = _echo(world)
    headers = world.headers(**NO_SUBJECT)
    first = world.call("x?id=1", service=echo, headers=headers)
    second = world.call("x?id=2", service=echo, headers=headers)
    assert first.headers["Interop-Request-Hash"] != second.headers["Interop-Request-Hash"]
    expected = request_hash_header(
        method="GET",
        service_id=echo.identifier,
        path="/x",
        query="id=2",
        client=world.consumer.identifier,
        purpose="Prellenado de formularios de trámites",
        subject="",
        user="",
        body_hash=services.EMPTY_HASH,
    )
    assert second.headers["Interop-Request-Hash"] == expected
    # Unambiguous: moving a newline between fields changes the hash.
    a = request_hash_header(
        method="GET",
        service_id="A/B/c",
        path="",
        client="x\ny",
        purpose="p",
        subject="",
        user="",
        body_hash="",
    )
    b = request_hash_header(
        method="GET",
        service_id="A/B/c",
        path="",
        client="x",
        purpose="y\np",
        subject="",
        user="",
        body_hash="",
    )
    assert a != b


# -- 8. provider cut mid-stream; Content-Length --------------------------------------------------------------


def test_a_provider_cut_mid_stream_aborts_the_consumer_connection(world: World) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def serve() -> None:
        for _ in range(2):
            conn, _address = server.accept()
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
                + b"x" * 200_000
            )
            conn.close()
        server.close()

    threading.Thread(target=serve, daemon=True).start()
    broken = make_service(world.provider, "rota", f"http://127.0.0.1:{port}")
    grant(world.consumer, broken)
    # The answer never looks complete: the connection is aborted (gunicorn) or, with the development
    # server that keeps the connection open, the promised Content-Length never arrives.
    with pytest.raises(httpx.HTTPError):
        world.call("x", service=broken, headers=world.headers(**NO_SUBJECT), timeout=3)
    entry = _last()
    assert (entry.status, entry.outcome) == (502, "provider_broke_off")
    # In-process, the cut is an error too, never a short answer taken for the whole.
    with pytest.raises(InteropError) as raised:
        _query(world, broken, "/x")
    assert raised.value.code == "provider_error"
    assert _last().outcome == "provider_broke_off"


def test_content_length_of_the_provider_is_passed_on(world: World) -> None:
    response = world.call()
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content)


def test_chunked_upload_without_length_is_refused(world: World) -> None:
    echo = _echo(world)

    def body() -> Any:
        yield b"abc"
        yield b"def"

    response = world.call(
        "x", method="POST", service=echo, headers=world.headers(**NO_SUBJECT), content=body()
    )
    assert response.status_code == 411
    assert response.json()["errors"][0]["code"] == "length_required"


# -- 9. rate limits ------------------------------------------------------------------------------------------


def test_a_subsystem_limit_never_exceeds_the_platform_limit(world: World, settings: Any) -> None:
    settings.VENTANILLA_RATE_LIMITS = {"interop": {"limit": 2, "window": 60}}
    world.consumer.rate_limit = 1_000_000
    world.consumer.save(update_fields=["rate_limit"])
    assert world.call().status_code == 200
    assert world.call().status_code == 200
    assert world.call().status_code == 429


def _resave(actor: Any, subsystem: Subsystem, **changes: Any) -> Subsystem:
    values = {
        "code": subsystem.code,
        "name": subsystem.name,
        "kind": subsystem.kind,
        "status": subsystem.status,
        "rate_limit": subsystem.rate_limit,
    }
    values.update(changes)
    return subsystem_save(
        actor=actor, institution=subsystem.member.institution, subsystem=subsystem, **values
    )


def test_only_the_agency_raises_a_limit_or_lifts_its_suspension(
    db: Any, institution_b: Any, charlie: Any, agency: Any
) -> None:
    consumer = subsystem_save(
        actor=charlie,
        institution=institution_b,
        code="C",
        name="C",
        kind=Subsystem.Kind.CONSUMER,
        rate_limit=100,
    )
    consumer = _resave(charlie, consumer, rate_limit=50)  # lowering is always allowed
    for higher in (60, None):
        with pytest.raises(DomainError) as raised:
            _resave(charlie, Subsystem.objects.get(pk=consumer.pk), rate_limit=higher)
        assert raised.value.status == 403 and raised.value.field == "rate_limit"
    consumer = _resave(agency, Subsystem.objects.get(pk=consumer.pk), rate_limit=500)
    assert consumer.rate_limit == 500

    consumer = _resave(agency, consumer, status=Subsystem.Status.SUSPENDED)
    assert consumer.suspended_by_platform
    with pytest.raises(Forbidden):
        _resave(charlie, Subsystem.objects.get(pk=consumer.pk), status=Subsystem.Status.ACTIVE)
    _resave(charlie, Subsystem.objects.get(pk=consumer.pk), name="Otro nombre")  # still suspended: fine
    consumer = _resave(agency, Subsystem.objects.get(pk=consumer.pk), status=Subsystem.Status.ACTIVE)
    assert consumer.status == Subsystem.Status.ACTIVE and not consumer.suspended_by_platform
    # An institution that suspended its own subsystem reactivates it itself.
    consumer = _resave(charlie, consumer, status=Subsystem.Status.SUSPENDED)
    assert _resave(charlie, consumer, status=Subsystem.Status.ACTIVE).status == Subsystem.Status.ACTIVE
