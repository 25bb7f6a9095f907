"""The public catalogue (pages and API): browsable, searchable, and without secrets."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from ventanilla.interop.models import Service
from ventanilla.interop.services import ServiceData, service_save, subsystem_save


@pytest.fixture
def published(institution_a: Any) -> Service:
    provider = subsystem_save(
        actor=None, institution=institution_a, code="REGISTRO", name="Registro A", kind="proveedor"
    )
    service_save(
        actor=None,
        subsystem=provider,
        data=ServiceData(
            code="oculto",
            name="Servicio en borrador",
            base_url="https://interno.example/b",
            status="borrador",
        ),
    )
    return service_save(
        actor=None,
        subsystem=provider,
        data=ServiceData(
            code="personas",
            name="Consulta de personas",
            description="Datos de identidad",
            base_url="https://sistema-interno.insta.example/api/v1",
            personal_data="Nombres y apellidos",
            legal_basis="Ley 1",
            needs_consent=True,
            openapi={
                "openapi": "3.0.3",
                "info": {"title": "t", "version": "1"},
                "servers": [{"url": "https://sistema-interno.insta.example"}],
                "paths": {"/personas/{doc}": {"get": {"summary": "Una persona"}}},
            },
        ),
    )


def _no_secrets(text: str, service: Service) -> None:
    assert "sistema-interno" not in text
    assert service.provider_secret not in text


def test_public_catalogue_lists_and_searches_without_secrets(
    published: Service, django_assert_max_num_queries: Any
) -> None:
    client = Client()
    with django_assert_max_num_queries(8):
        page = client.get("/interoperabilidad/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Consulta de personas" in html and "Servicio en borrador" not in html
    _no_secrets(html, published)
    assert "Consulta de personas" in client.get("/interoperabilidad/", {"q": "identidad"}).content.decode()
    assert (
        "Consulta de personas" not in client.get("/interoperabilidad/", {"q": "vehículos"}).content.decode()
    )
    assert (
        "Consulta de personas" in client.get("/interoperabilidad/", {"institucion": "INSTA"}).content.decode()
    )


def test_public_service_page_and_openapi(published: Service) -> None:
    client = Client()
    page = client.get("/interoperabilidad/servicios/INSTA/REGISTRO/personas/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Una persona" in html and "Requerido" in html
    _no_secrets(html, published)
    document = client.get("/interoperabilidad/servicios/INSTA/REGISTRO/personas/openapi.json")
    _no_secrets(document.content.decode(), published)
    assert document.json()["servers"][0]["url"].endswith("/interop/r1/INSTA/REGISTRO/personas")
    assert client.get("/interoperabilidad/servicios/INSTA/REGISTRO/oculto/").status_code == 404


def test_public_api(published: Service, django_assert_max_num_queries: Any) -> None:
    client = Client()
    with django_assert_max_num_queries(4):
        data = client.get("/api/v1/interop/services").json()
    assert [s["id"] for s in data["items"]] == ["INSTA/REGISTRO/personas"]
    _no_secrets(str(data), published)
    one = client.get("/api/v1/interop/services/INSTA/REGISTRO/personas")
    assert one.status_code == 200 and one.json()["needs_consent"] is True
    missing = client.get("/api/v1/interop/services/INSTA/REGISTRO/oculto")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "not_found"
    assert client.get("/api/v1/interop/services", {"page_size": 1000}).status_code in (400, 422)


def test_public_service_page_says_who_may_consult_it(published: Service, institution_b: Any) -> None:
    from ventanilla.interop.services import access_right_grant, access_right_request

    consumer = subsystem_save(
        actor=None, institution=institution_b, code="EXPEDIENTES", name="Expedientes B", kind="consumidor"
    )
    access_right_grant(
        actor=None, consumer=consumer, service=published, purpose="Licencias", legal_basis="Ley 9"
    )
    other = subsystem_save(
        actor=None, institution=institution_b, code="OTRO", name="Solo pidió", kind="consumidor"
    )
    access_right_request(actor=None, consumer=other, service=published, purpose="Pendiente", legal_basis="x")
    html = Client().get("/interoperabilidad/servicios/INSTA/REGISTRO/personas/").content.decode()
    assert "Expedientes B" in html and "Licencias" in html and "Ley 9" in html
    assert "Solo pidió" not in html
