"""The public catalogue API at /api/v1/: procedures, institutions, statistics and the OpenAPI document.

Real HTTP calls through the Django test client; errors always come back as
{"errors": [{"code", "message", "field"}]} with a 4xx status."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conftest import make_procedure
from ventanilla.catalog.services import ChannelData, FaqData, RequirementData, StepData
from ventanilla.core.models import Institution, Office

LIST = "/api/v1/procedures"


@pytest.fixture
def api() -> Client:
    return Client()


@pytest.fixture
def catalogue(institution_a: Institution, institution_b: Institution) -> None:
    make_procedure(
        institution_a,
        "licencia-de-conducir",
        "Licencia de conducir",
        category="vehiculos-y-transporte",
        keywords="brevet",
        life_events=["vehiculo"],
        digitisation_level=4,
        channels=[
            ChannelData(channel="presencial", offices=["INSTA-SEDE"]),
            ChannelData(channel="en_linea", url="https://licencias.example.bo"),
        ],
        external_start_url="https://licencias.example.bo",
    )
    make_procedure(
        institution_a,
        "renovacion-licencia-de-conducir",
        "Renovación de licencia de conducir",
        category="vehiculos-y-transporte",
        digitisation_level=3,
    )
    make_procedure(
        institution_a,
        "cedula-de-identidad",
        "Cédula de identidad",
        digitisation_level=2,
        runs_on_platform=True,
    )
    make_procedure(
        institution_b,
        "certificado-de-nacimiento",
        "Certificado de nacimiento",
        category="familia-y-registro-civil",
        cost_amount=None,
        currency="",
        digitisation_level=4,
        channels=[ChannelData(channel="en_linea", url="https://registro.example.bo")],
    )
    make_procedure(
        institution_b,
        "permiso-de-construccion",
        "Permiso de construcción",
        category="vivienda-y-construccion",
        cost_amount=None,
        currency="",
        channels=[ChannelData(channel="telefonico", phone="800-10-1234")],
    )
    make_procedure(
        institution_a,
        "licencia-de-conducir-borrador",
        "Licencia de conducir borrador",
        status="borrador",
        digitisation_level=4,
    )
    make_procedure(institution_b, "licencia-archivada", "Licencia de conducir archivada", status="archivado")


def get(client: Client, path: str, **params: Any) -> tuple[int, Any]:
    response = client.get(path, params)
    assert response["Content-Type"].startswith("application/json")
    return response.status_code, response.json()


def slugs(body: dict[str, Any]) -> list[str]:
    return [item["slug"] for item in body["items"]]


def assert_error_shape(body: Any) -> list[dict[str, Any]]:
    assert set(body) == {"errors"}
    assert body["errors"]
    for error in body["errors"]:
        assert set(error) == {"code", "message", "field"}
        assert error["code"] and error["message"]
    return body["errors"]


# ------------------------------------------------------------------------------------------ procedure list


def test_procedure_list_shape(api: Client, catalogue: None) -> None:
    status, body = get(api, LIST)
    assert status == 200
    assert {"items", "count", "page", "num_pages", "next", "previous", "corrected_query"} <= set(body)
    assert body["count"] == 5
    assert (body["page"], body["num_pages"], body["next"], body["previous"]) == (1, 1, None, None)
    item = next(i for i in body["items"] if i["slug"] == "licencia-de-conducir")
    assert item["name"] == "Licencia de conducir"
    assert item["institution"] == "INSTA"
    assert item["category"] == "vehiculos-y-transporte"
    assert item["cost"] == {"amount": "17.00", "currency": "BOB"}
    assert sorted(item["channels"]) == ["en_linea", "presencial"]
    assert item["digitisation_level"] == 4
    assert item["max_days"] == 3
    assert item["url"] == "http://testserver/tramites/licencia-de-conducir/"
    assert item["updated_at"]
    free = next(i for i in body["items"] if i["slug"] == "certificado-de-nacimiento")
    assert free["cost"] is None


def test_procedure_list_never_shows_drafts_or_archived(api: Client, catalogue: None) -> None:
    for params in ({}, {"q": "licencia de conducir"}, {"q": "borrador"}, {"q": "archivada"}):
        _, body = get(api, LIST, **params)
        assert "licencia-de-conducir-borrador" not in slugs(body)
        assert "licencia-archivada" not in slugs(body)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "licencia de conducir"}, ["licencia-de-conducir", "renovacion-licencia-de-conducir"]),
        ({"q": "LICENCIA DE CONDUCÍR"}, ["licencia-de-conducir", "renovacion-licencia-de-conducir"]),
        ({"q": "brevet"}, ["licencia-de-conducir"]),
        ({"institution": "INSTB"}, ["certificado-de-nacimiento", "permiso-de-construccion"]),
        ({"institution": "instb"}, ["certificado-de-nacimiento", "permiso-de-construccion"]),
        ({"category": "vehiculos-y-transporte"}, ["licencia-de-conducir", "renovacion-licencia-de-conducir"]),
        ({"life_event": "vehiculo"}, ["licencia-de-conducir"]),
        ({"channel": "en_linea"}, ["certificado-de-nacimiento", "licencia-de-conducir"]),
        ({"channel": "telefonico"}, ["permiso-de-construccion"]),
        ({"online": "true"}, ["certificado-de-nacimiento", "licencia-de-conducir"]),
        ({"free": "true"}, ["certificado-de-nacimiento", "permiso-de-construccion"]),
        (
            {"free": "false"},
            [
                "cedula-de-identidad",
                "licencia-de-conducir",
                "permiso-de-construccion",
                "certificado-de-nacimiento",
                "renovacion-licencia-de-conducir",
            ],
        ),
        ({"level": "2"}, ["cedula-de-identidad"]),
        ({"q": "licencia", "institution": "INSTB"}, []),
        ({"online": "1", "free": "1"}, ["certificado-de-nacimiento"]),
    ],
)
def test_procedure_list_filters(
    api: Client, catalogue: None, params: dict[str, str], expected: list[str]
) -> None:
    status, body = get(api, LIST, **params)
    assert status == 200
    if "q" in params:
        assert slugs(body) == expected  # ranked: best match first
    else:
        assert sorted(slugs(body)) == sorted(expected)
    assert body["count"] == len(expected)


def test_procedure_list_without_query_is_alphabetical_by_name(api: Client, catalogue: None) -> None:
    _, body = get(api, LIST, institution="INSTA")
    assert [i["name"] for i in body["items"]] == [
        "Cédula de identidad",
        "Licencia de conducir",
        "Renovación de licencia de conducir",
    ]


def test_typo_query_sets_corrected_query(api: Client, catalogue: None) -> None:
    _, body = get(api, LIST, q="licensia de condusir")
    assert slugs(body)[0] == "licencia-de-conducir"
    assert body["corrected_query"]


def test_pagination_links(api: Client, catalogue: None) -> None:
    status, first = get(api, LIST, page_size=2, free="false")
    assert status == 200
    assert (first["count"], first["num_pages"], first["page"]) == (5, 3, 1)
    assert first["previous"] is None
    next_url = urlsplit(first["next"])
    assert next_url.path == LIST
    assert parse_qs(next_url.query) == {"page_size": ["2"], "free": ["false"], "page": ["2"]}

    _, second = get(api, first["next"])
    assert second["page"] == 2
    assert parse_qs(urlsplit(second["previous"]).query)["page"] == ["1"]
    assert parse_qs(urlsplit(second["next"]).query)["page"] == ["3"]

    _, last = get(api, second["next"])
    assert (last["page"], last["next"], len(last["items"])) == (3, None, 1)
    seen = slugs(first) + slugs(second) + slugs(last)
    assert len(set(seen)) == 5


def test_page_beyond_the_end_returns_the_last_page(api: Client, catalogue: None) -> None:
    status, body = get(api, LIST, page=50, page_size=2)
    assert status == 200
    assert body["page"] == 3
    assert len(body["items"]) == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page_size": "1000"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"level": "9"}, "level"),
        ({"level": "x"}, "level"),
        ({"channel": "x"}, "channel"),
        ({"online": "quizas"}, "online"),
        ({"q": "a" * 201}, "q"),
    ],
)
def test_bad_parameters_are_400_with_the_field(
    api: Client, catalogue: None, params: dict[str, str], field: str
) -> None:
    status, body = get(api, LIST, **params)
    assert status == 400
    errors = assert_error_shape(body)
    assert [e["field"] for e in errors] == [field]


def test_several_bad_parameters_are_all_reported(api: Client, catalogue: None) -> None:
    status, body = get(api, LIST, page="abc", level="9", channel="fax")
    assert status == 400
    assert {e["field"] for e in assert_error_shape(body)} == {"page", "level", "channel"}


def _many(institution_a: Institution, institution_b: Institution, n: int) -> None:
    for i in range(n):
        institution = institution_a if i % 2 else institution_b
        make_procedure(
            institution,
            f"tramite-de-prueba-{i}",
            f"Licencia de prueba número {i}",
            category=["vehiculos-y-transporte", "salud", "educacion"][i % 3],
            channels=[
                ChannelData(channel="presencial", offices=[institution.offices.get().code]),
                ChannelData(channel="en_linea", url=f"https://t{i}.example.bo"),
            ],
        )


@pytest.mark.parametrize(
    "params", [{}, {"q": "licencia prueba"}, {"channel": "en_linea", "page_size": "100"}]
)
def test_procedure_list_uses_a_constant_number_of_queries(
    api: Client,
    institution_a: Institution,
    institution_b: Institution,
    django_assert_max_num_queries: Any,
    params: dict[str, str],
) -> None:
    _many(institution_a, institution_b, 3)
    with CaptureQueriesContext(connection) as small:
        status, body = get(api, LIST, **params)
    assert status == 200 and body["count"] == 3
    _many_more = 22
    for i in range(3, 3 + _many_more):
        institution = institution_a if i % 2 else institution_b
        make_procedure(
            institution,
            f"tramite-de-prueba-{i}",
            f"Licencia de prueba número {i}",
            channels=[
                ChannelData(channel="presencial", offices=[institution.offices.get().code]),
                ChannelData(channel="en_linea", url=f"https://t{i}.example.bo"),
            ],
        )
    with CaptureQueriesContext(connection) as large:
        status, body = get(api, LIST, **params)
    assert status == 200 and body["count"] == 25
    assert len(large.captured_queries) == len(small.captured_queries)
    with django_assert_max_num_queries(len(small.captured_queries)):
        get(api, LIST, **params)
    assert len(small.captured_queries) <= 5


# ---------------------------------------------------------------------------------------- procedure detail


@pytest.fixture
def complete(institution_a: Institution, institution_b: Institution) -> None:
    make_procedure(
        institution_a,
        "pasaporte",
        "Pasaporte",
        category="migracion-y-viajes",
        life_events=["viaje"],
        description="Documento de viaje.",
        keywords="pasaporte electrónico",
        requirements=[
            RequirementData(name="Cédula de identidad vigente", issuer="INSTA", held_by_state=True),
            RequirementData(
                name="Certificado de nacimiento", issuer_name="Registro Civil", description="Original."
            ),
        ],
        steps=[StepData(title="Pagar", description="Con QR."), StepData(title="Tomar datos biométricos")],
        channels=[
            ChannelData(channel="presencial", offices=["INSTA-SEDE"], hours="08:00-16:00"),
            ChannelData(channel="telefonico", phone="800-10-1234"),
        ],
        faq=[FaqData(question="¿Cuánto tarda?", answer="Tres días.")],
        payment_instructions="Pago con QR.",
        legal_basis="Ley N° 145",
        external_start_url="https://p.example.bo",
        digitisation_level=3,
    )


def test_procedure_detail_is_the_full_service_charter(api: Client, complete: None) -> None:
    status, body = get(api, f"{LIST}/pasaporte")
    assert status == 200
    assert body["slug"] == "pasaporte"
    assert body["institution"] == "INSTA"
    assert body["office"] == "INSTA-SEDE"
    assert body["category"] == "migracion-y-viajes"
    assert body["life_events"] == ["viaje"]
    assert body["description"] == "Documento de viaje."
    assert body["requirements"] == [
        {
            "name": "Cédula de identidad vigente",
            "description": "",
            "issuer": "INSTA",
            "issuer_name": "",
            "held_by_state": True,
        },
        {
            "name": "Certificado de nacimiento",
            "description": "Original.",
            "issuer": None,
            "issuer_name": "Registro Civil",
            "held_by_state": False,
        },
    ]
    assert body["steps"] == [
        {"title": "Pagar", "description": "Con QR."},
        {"title": "Tomar datos biométricos", "description": ""},
    ]
    assert [c["channel"] for c in body["channels"]] == ["presencial", "telefonico"]
    assert body["channels"][0]["offices"] == ["INSTA-SEDE"]
    assert body["channels"][0]["hours"] == "08:00-16:00"
    assert body["channels"][1]["phone"] == "800-10-1234"
    assert body["faq"] == [{"question": "¿Cuánto tarda?", "answer": "Tres días."}]
    assert Decimal(body["cost"]["amount"]) == Decimal("17.00") and body["cost"]["currency"] == "BOB"
    assert body["legal_basis"] == "Ley N° 145"
    assert body["external_start_url"] == "https://p.example.bo"
    assert body["version"] == 1
    assert body["url"] == "http://testserver/tramites/pasaporte/"
    assert "status" not in body and "pending_data" not in body


@pytest.mark.parametrize("slug", ["licencia-de-conducir-borrador", "licencia-archivada", "no-existe"])
def test_procedure_detail_404_for_unpublished_or_unknown(api: Client, catalogue: None, slug: str) -> None:
    status, body = get(api, f"{LIST}/{slug}")
    assert status == 404
    errors = assert_error_shape(body)
    assert errors[0]["code"] == "not_found"


def test_procedure_detail_query_count_is_constant(
    api: Client, complete: None, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(8):
        status, _ = get(api, f"{LIST}/pasaporte")
    assert status == 200


# -------------------------------------------------------------------------------------------- institutions


def test_institution_list(api: Client, catalogue: None) -> None:
    status, body = get(api, "/api/v1/institutions")
    assert status == 200
    assert body["count"] == 2
    by_code = {i["code"]: i for i in body["items"]}
    assert by_code["INSTA"]["published_procedures"] == 3  # the draft does not count
    assert by_code["INSTB"]["published_procedures"] == 2  # nor the archived one
    assert by_code["INSTA"]["acronym"] == "SIP"
    assert by_code["INSTA"]["level"] == "central"
    assert by_code["INSTA"]["url"] == "http://testserver/instituciones/INSTA/"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"level": "municipal"}, ["INSTB"]),
        ({"level": "central"}, ["INSTA"]),
        ({"level": "departamental"}, []),
        ({"q": "municipal"}, ["INSTB"]),
        ({"q": "sip"}, ["INSTA"]),
        ({"q": "identificación"}, ["INSTA"]),
        ({"q": "insta"}, ["INSTA"]),
    ],
)
def test_institution_list_filters(
    api: Client, catalogue: None, params: dict[str, str], expected: list[str]
) -> None:
    status, body = get(api, "/api/v1/institutions", **params)
    assert status == 200
    assert [i["code"] for i in body["items"]] == expected
    assert body["count"] == len(expected)


def test_institution_list_bad_level_is_400(api: Client, catalogue: None) -> None:
    status, body = get(api, "/api/v1/institutions", level="galactico")
    assert status == 400
    assert [e["field"] for e in assert_error_shape(body)] == ["level"]


def test_institution_list_uses_a_constant_number_of_queries(
    api: Client, catalogue: None, django_assert_max_num_queries: Any
) -> None:
    with CaptureQueriesContext(connection) as small:
        get(api, "/api/v1/institutions")
    for i in range(15):
        institution = Institution.objects.create(
            code=f"INST{i:02d}",
            name=f"Institución {i}",
            level="municipal",
            parent=Institution.objects.get(code="INSTA"),
        )
        Office.objects.create(institution=institution, code=f"INST{i:02d}-SEDE", name="Sede")
        make_procedure(institution, f"tramite-{i}", f"Trámite {i}")
    with CaptureQueriesContext(connection) as large:
        status, body = get(api, "/api/v1/institutions")
    assert status == 200 and body["count"] == 17
    assert len(large.captured_queries) == len(small.captured_queries)
    with django_assert_max_num_queries(len(small.captured_queries)):
        get(api, "/api/v1/institutions")


def test_institution_detail(api: Client, catalogue: None) -> None:
    Office.objects.create(
        institution=Institution.objects.get(code="INSTA"),
        code="INSTA-EA",
        name="El Alto",
        address="Av. Juan Pablo II",
        department="L",
        municipality="El Alto",
    )
    status, body = get(api, "/api/v1/institutions/insta")
    assert status == 200
    assert body["code"] == "INSTA"
    assert body["parent"] is None
    assert body["published_procedures"] == 3
    assert body["procedures"] == [
        "cedula-de-identidad",
        "licencia-de-conducir",
        "renovacion-licencia-de-conducir",
    ]
    offices = {o["code"]: o for o in body["offices"]}
    assert set(offices) == {"INSTA-SEDE", "INSTA-EA"}
    assert offices["INSTA-EA"]["address"] == "Av. Juan Pablo II"
    assert offices["INSTA-SEDE"]["municipality"] == "La Paz"


def test_institution_detail_lists_only_published_procedures(api: Client, catalogue: None) -> None:
    _, body = get(api, "/api/v1/institutions/INSTB")
    assert body["procedures"] == ["certificado-de-nacimiento", "permiso-de-construccion"]


@pytest.mark.parametrize("code", ["NOEXISTE", "inactiva"])
def test_institution_detail_404(api: Client, catalogue: None, code: str) -> None:
    Institution.objects.create(code="INACTIVA", name="Institución cerrada", level="central", is_active=False)
    status, body = get(api, f"/api/v1/institutions/{code}")
    assert status == 404
    assert assert_error_shape(body)[0]["code"] == "not_found"


# ---------------------------------------------------------------------------------------------- statistics


def test_statistics_are_consistent_with_the_catalogue(api: Client, catalogue: None) -> None:
    status, body = get(api, "/api/v1/statistics")
    assert status == 200
    assert body["country"] == "BO"
    assert body["total"] == 5
    assert (body["online"], body["free"], body["paid"]) == (2, 2, 3)
    assert body["online_share"] == 40.0
    assert body["free_share"] == 40.0
    levels = {row["level"]: row["count"] for row in body["by_digitisation_level"]}
    assert levels == {1: 1, 2: 1, 3: 1, 4: 2}
    assert sum(levels.values()) == body["total"]
    per_institution = {
        row["code"]: (row["total"], row["online"], row["partially_online"]) for row in body["by_institution"]
    }
    assert per_institution == {"INSTA": (3, 1, 1), "INSTB": (2, 1, 0)}
    assert body["institutions_total"] == 2 and body["institutions_publishing"] == 2
    assert (body["on_platform"], body["on_platform_share"], body["linked_external"]) == (1, 20.0, 1)
    government = {row["level"]: row for row in body["by_government_level"]}
    assert (government["central"]["procedures"], government["central"]["online"]) == (3, 1)
    assert (government["municipal"]["procedures"], government["municipal"]["online"]) == (2, 1)
    assert government["departamental"]["institutions_total"] == 0


def test_statistics_on_an_empty_catalogue(api: Client, db: Any) -> None:
    status, body = get(api, "/api/v1/statistics")
    assert status == 200
    assert (body["total"], body["online_share"], body["free_share"]) == (0, 0.0, 0.0)


# ------------------------------------------------------------------------------------------ documentation


def test_openapi_document_describes_the_catalogue(api: Client, db: Any) -> None:
    status, schema = get(api, "/api/v1/openapi.json")
    assert status == 200
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Ventanilla API"
    paths = schema["paths"]
    for path in (
        "/api/v1/procedures",
        "/api/v1/procedures/{slug}",
        "/api/v1/institutions",
        "/api/v1/institutions/{code}",
        "/api/v1/statistics",
    ):
        assert "get" in paths[path], path
    list_op = paths["/api/v1/procedures"]["get"]
    assert list_op["operationId"] == "procedure_list"
    parameters = {p["name"] for p in list_op["parameters"]}
    assert {
        "q",
        "institution",
        "category",
        "channel",
        "online",
        "free",
        "level",
        "page",
        "page_size",
    } <= parameters
    assert {"200", "400"} <= set(list_op["responses"])
    assert "404" in paths["/api/v1/procedures/{slug}"]["get"]["responses"]


def test_api_docs_page(api: Client, db: Any) -> None:
    response = api.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content


def test_unknown_api_path_uses_the_error_shape(api: Client, db: Any) -> None:
    response = api.get("/api/v1/no-existe")
    assert response.status_code == 404
    assert assert_error_shape(response.json())[0]["code"] == "not_found"


# Regression: ninja answered a wrong method with text/html 'Method not allowed', outside the error shape.
@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_wrong_method_is_405_in_the_error_shape(api: Client, catalogue: None, method: str) -> None:
    response = getattr(api, method)(LIST)
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response["Content-Type"].startswith("application/json")
    assert assert_error_shape(response.json())[0]["code"] == "method_not_allowed"
