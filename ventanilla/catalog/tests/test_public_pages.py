"""Public pages of the Portal de Trámites, exercised over HTTP: home, search (full page and htmx partial),
procedure page, institutions, statistics, simplification report, open-data export and ratings."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conftest import make_procedure
from ventanilla.catalog.models import Procedure, Rating
from ventanilla.catalog.services import (
    ChannelData,
    FaqData,
    RequirementData,
    SimplificationData,
    StepData,
    simplification_record,
)
from ventanilla.core.models import Institution, Office


class _Headings(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def tags(html: str) -> list[str]:
    parser = _Headings()
    parser.feed(html)
    return parser.tags


def text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return " ".join(response.content.decode().split())


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture
def catalogue(institution_a: Institution, institution_b: Institution) -> dict[str, Procedure]:
    Office.objects.filter(code="INSTA-SEDE").update(
        address="Av. 6 de Agosto N° 2170", opening_hours="08:00-16:00"
    )
    made = [
        make_procedure(
            institution_a,
            "licencia-de-conducir",
            "Licencia de conducir",
            category="vehiculos-y-transporte",
            keywords="brevet",
            life_events=["vehiculo"],
            description="Para mayores de 18 años.",
            requirements=[
                RequirementData(name="Cédula de identidad vigente", issuer="INSTA", held_by_state=True),
                RequirementData(
                    name="Certificado médico",
                    issuer_name="Centro médico autorizado",
                    description="Con fotografía.",
                ),
            ],
            steps=[
                StepData(title="Pagar el arancel", description="En ventanilla bancaria."),
                StepData(title="Rendir el examen teórico"),
            ],
            channels=[
                ChannelData(channel="presencial", offices=["INSTA-SEDE"], hours="Lunes a viernes"),
                ChannelData(channel="en_linea", url="https://licencias.example.bo/iniciar"),
                ChannelData(channel="telefonico", phone="800-10-1234"),
            ],
            faq=[FaqData(question="¿Puedo conducir con la licencia vencida?", answer="No, debe renovarla.")],
            legal_basis="Ley N° 3988 de Tránsito",
            payment_instructions="Pago con QR.",
            external_start_url="https://licencias.example.bo/iniciar",
            digitisation_level=4,
        ),
        make_procedure(
            institution_a,
            "renovacion-licencia-de-conducir",
            "Renovación de licencia de conducir",
            category="vehiculos-y-transporte",
            digitisation_level=3,
        ),
        make_procedure(
            institution_b,
            "certificado-de-nacimiento",
            "Certificado de nacimiento",
            category="familia-y-registro-civil",
            cost_amount=None,
            currency="",
            digitisation_level=1,
        ),
        make_procedure(institution_a, "licencia-secreta", "Licencia de conducir secreta", status="borrador"),
        make_procedure(institution_b, "licencia-vieja", "Licencia de conducir vieja", status="archivado"),
    ]
    return {p.slug: p for p in made}


# --------------------------------------------------------------------------------------------------- home


def test_home_page(client: Client, catalogue: dict[str, Procedure]) -> None:
    response = client.get("/")
    html = text(response)
    assert tags(response.content.decode()).count("h1") == 1
    assert "3 trámites publicados" in html
    assert "Licencia de conducir" in html  # the fully-online example
    assert "Renovación de licencia de conducir" not in html  # level 3 is not an online example
    assert 'href="/tramites/?categoria=vehiculos-y-transporte"' in html
    assert 'href="/tramites/?hecho=vehiculo"' in html
    assert "secreta" not in html


# ------------------------------------------------------------------------------------------------- search


def test_search_page_lists_results_and_facet_links(client: Client, catalogue: dict[str, Procedure]) -> None:
    response = client.get("/tramites/", {"q": "licencia de conducir"})
    html = text(response)
    assert tags(response.content.decode()).count("h1") == 1
    assert "Resultados para «licencia de conducir»" in html
    assert "2 trámites encontrados" in html
    assert html.index("/tramites/licencia-de-conducir/") < html.index(
        "/tramites/renovacion-licencia-de-conducir/"
    )
    assert "secreta" not in html and "vieja" not in html
    assert "Bs 17,00" in html
    # Facet links keep the query and add the filter.
    assert 'href="?q=licencia+de+conducir&amp;categoria=vehiculos-y-transporte"' in html
    assert 'href="?q=licencia+de+conducir&amp;institucion=INSTA"' in html
    assert 'href="?q=licencia+de+conducir&amp;en_linea=1"' in html
    assert re.search(r"SIP</a> <span class=\"vt-facet-count\">2</span>", html)


def test_search_page_with_filters_from_the_url(client: Client, catalogue: dict[str, Procedure]) -> None:
    html = text(client.get("/tramites/", {"institucion": "INSTB"}))
    assert "Certificado de nacimiento" in html
    assert "Licencia de conducir" not in html
    html = text(client.get("/tramites/", {"en_linea": "1"}))
    assert "1 trámite encontrado" in html
    html = text(client.get("/tramites/", {"gratuito": "1"}))
    assert "Certificado de nacimiento" in html and "Renovación" not in html
    html = text(client.get("/tramites/", {"canal": "telefonico"}))
    assert "1 trámite encontrado" in html and "/tramites/licencia-de-conducir/" in html
    html = text(client.get("/tramites/", {"hecho": "vehiculo"}))
    assert "Compro o conduzco un vehículo" in html  # the life event names the page
    assert "1 trámite encontrado" in html


@pytest.mark.parametrize(
    "params",
    [
        {"nivel": "9"},
        {"canal": "fax"},
        {"pagina": "abc"},
        {"pagina": "-3"},
        {"q": "x" * 5000},
        {"q": "!!!"},
        {"dirigido_a": "marcianos"},
        {"pagina": "99999999"},
    ],
)
def test_search_page_tolerates_bad_parameters(
    client: Client, catalogue: dict[str, Procedure], params: dict[str, str]
) -> None:
    response = client.get("/tramites/", params)
    assert response.status_code == 200


def test_search_page_typo_shows_approximate_results(client: Client, catalogue: dict[str, Procedure]) -> None:
    html = text(client.get("/tramites/", {"q": "licensia de condusir"}))
    assert "resultados aproximados" in html
    assert "/tramites/licencia-de-conducir/" in html


def test_htmx_request_returns_only_the_results_partial(
    client: Client, catalogue: dict[str, Procedure]
) -> None:
    response = client.get("/tramites/", {"q": "licencia"}, headers={"HX-Request": "true"})
    html = text(response)
    assert "<html" not in html and "<h1" not in html and "<body" not in html
    assert "Licencia de conducir" in html
    assert 'role="status"' in html
    full = text(client.get("/tramites/", {"q": "licencia"}))
    assert "<html" in full


SEARCHES = [{"q": "licencia"}, {}, {"hecho": "vehiculo", "canal": "en_linea"}, {"q": "licensia"}]


def _measure(client: Client, expected_count: int) -> list[int]:
    counts = []
    for params in SEARCHES:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/tramites/", params)
        assert f"{expected_count} trámites encontrados" in text(response), params
        counts.append(len(ctx.captured_queries))
    return counts


def test_search_page_query_count_is_constant(
    client: Client, institution_a: Institution, institution_b: Institution
) -> None:
    def add(first: int, last: int) -> None:
        for i in range(first, last):
            institution = institution_a if i % 2 else institution_b
            make_procedure(
                institution,
                f"licencia-tipo-{i}",
                f"Licencia tipo {i}",
                category=["vehiculos-y-transporte", "salud"][i % 2],
                life_events=["vehiculo"],
                channels=[
                    ChannelData(channel="presencial", offices=[institution.offices.get().code]),
                    ChannelData(channel="en_linea", url=f"https://l{i}.example.bo"),
                ],
            )

    add(0, 3)
    small = _measure(client, 3)
    add(3, 20)
    large = _measure(client, 20)  # one full page of 20 results
    assert large == small
    assert max(large) <= 12


# ------------------------------------------------------------------------------------------ procedure page


def test_procedure_page_is_a_complete_service_charter(
    client: Client, catalogue: dict[str, Procedure]
) -> None:
    response = client.get("/tramites/licencia-de-conducir/")
    html = text(response)
    assert tags(response.content.decode()).count("h1") == 1
    assert "<h1>Licencia de conducir</h1>" in html
    assert "Servicio de Identificación de Prueba" in html
    # Requirements, with issuer and the "already held by the State" tag.
    assert "<strong>Cédula de identidad vigente</strong>" in html
    assert "Lo emite: Servicio de Identificación de Prueba" in html
    assert "Lo emite: Centro médico autorizado" in html
    assert html.count("El Estado ya tiene este dato") == 1
    assert "Con fotografía." in html
    # Steps, cost, channels with offices, legal basis, FAQ.
    assert "Pagar el arancel" in html and "Rendir el examen teórico" in html
    assert "Bs 17,00" in html
    assert "Pago con QR." in html
    assert "Oficina central A</strong>, Av. 6 de Agosto N° 2170 (La Paz). 08:00-16:00" in html
    assert "Horario: Lunes a viernes" in html
    assert 'href="https://licencias.example.bo/iniciar"' in html
    assert 'href="tel:800-10-1234"' in html
    assert "Ley N° 3988 de Tránsito" in html
    assert "¿Puedo conducir con la licencia vencida?" in html and "No, debe renovarla." in html
    assert "4 · Completamente en línea" in html
    # Related procedures of the same category, never unpublished ones.
    assert "/tramites/renovacion-licencia-de-conducir/" in html
    assert "licencia-secreta" not in html
    # Every input of the rating form has a label.
    assert 'for="util-si"' in html and 'for="comentario"' in html


def test_free_procedure_page_says_free(client: Client, catalogue: dict[str, Procedure]) -> None:
    html = text(client.get("/tramites/certificado-de-nacimiento/"))
    assert "Gratuito" in html
    assert "Costo y forma de pago" not in html


@pytest.mark.parametrize("slug", ["licencia-secreta", "licencia-vieja", "no-existe"])
def test_unpublished_or_unknown_procedure_is_404(
    client: Client, catalogue: dict[str, Procedure], slug: str
) -> None:
    assert client.get(f"/tramites/{slug}/").status_code == 404


def test_procedure_in_review_is_404(client: Client, catalogue: dict[str, Procedure]) -> None:
    Procedure.objects.filter(slug="renovacion-licencia-de-conducir").update(status="en_revision")
    assert client.get("/tramites/renovacion-licencia-de-conducir/").status_code == 404


def test_procedure_page_query_count_is_bounded(
    client: Client, catalogue: dict[str, Procedure], django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(14):
        assert client.get("/tramites/licencia-de-conducir/").status_code == 200


# ------------------------------------------------------------------------------------------------ ratings


def rate(client: Client, slug: str, **data: str) -> Any:
    return client.post(f"/tramites/{slug}/calificar/", data, follow=True)


def test_rating_counts_once_per_session(client: Client, catalogue: dict[str, Procedure]) -> None:
    response = rate(client, "licencia-de-conducir", util="si", comentario="  Muy clara.  ")
    assert response.redirect_chain == [("/tramites/licencia-de-conducir/#calificar", 302)]
    html = text(response)
    assert "¡Gracias!" in html
    assert "Gracias por su opinión." in html  # the form is replaced
    procedure = Procedure.objects.get(slug="licencia-de-conducir")
    assert (procedure.helpful_yes, procedure.helpful_no) == (1, 0)
    rating = Rating.objects.get()
    assert (rating.useful, rating.comment) == (True, "Muy clara.")
    assert client.session.session_key not in rating.session_hash  # only a hash is stored

    rate(client, "licencia-de-conducir", util="no")
    procedure.refresh_from_db()
    assert (procedure.helpful_yes, procedure.helpful_no) == (1, 0)
    assert Rating.objects.count() == 1
    assert "Al 100 % de las personas le fue útil." in text(client.get("/tramites/licencia-de-conducir/"))


def test_ratings_from_different_sessions_add_up(catalogue: dict[str, Procedure]) -> None:
    rate(Client(), "licencia-de-conducir", util="si")
    rate(Client(), "licencia-de-conducir", util="no")
    rate(Client(), "licencia-de-conducir", util="si")
    procedure = Procedure.objects.get(slug="licencia-de-conducir")
    assert (procedure.helpful_yes, procedure.helpful_no) == (2, 1)
    assert procedure.helpful_percent == 67


@pytest.mark.parametrize("data", [{}, {"util": "quizas"}, {"util": ""}])
def test_invalid_rating_answer_shows_a_message(
    client: Client, catalogue: dict[str, Procedure], data: dict[str, str]
) -> None:
    response = rate(client, "licencia-de-conducir", **data)
    assert "Elija «Sí» o «No» para calificar la página." in text(response)
    assert Rating.objects.count() == 0
    procedure = Procedure.objects.get(slug="licencia-de-conducir")
    assert (procedure.helpful_yes, procedure.helpful_no) == (0, 0)


@pytest.mark.parametrize("slug", ["licencia-secreta", "licencia-vieja", "no-existe"])
def test_rating_an_unpublished_procedure_is_404(
    client: Client, catalogue: dict[str, Procedure], slug: str
) -> None:
    response = client.post(f"/tramites/{slug}/calificar/", {"util": "si"})
    assert response.status_code == 404
    assert Rating.objects.count() == 0


def test_rating_requires_post(client: Client, catalogue: dict[str, Procedure]) -> None:
    assert client.get("/tramites/licencia-de-conducir/calificar/").status_code == 405


# ------------------------------------------------------------------------------------------- institutions


def test_institution_list_with_level_filter(client: Client, catalogue: dict[str, Procedure]) -> None:
    response = client.get("/instituciones/")
    html = text(response)
    assert tags(response.content.decode()).count("h1") == 1
    assert "2 instituciones" in html
    assert "Servicio de Identificación de Prueba" in html and "Gobierno Municipal de Prueba" in html

    html = text(client.get("/instituciones/", {"nivel": "municipal"}))
    assert "1 institución" in html
    assert "Gobierno Municipal de Prueba" in html
    assert "Servicio de Identificación de Prueba" not in html
    assert 'value="municipal" selected' in html

    html = text(client.get("/instituciones/", {"nivel": "inventado"}))
    assert "2 instituciones" in html  # an unknown level is ignored, not an error
    html = text(client.get("/instituciones/", {"q": "SIP"}))
    assert "1 institución" in html


def test_institution_detail_page(client: Client, catalogue: dict[str, Procedure]) -> None:
    response = client.get("/instituciones/INSTA/")
    html = text(response)
    assert tags(response.content.decode()).count("h1") == 1
    assert "2 trámites publicados" in html
    assert "/tramites/licencia-de-conducir/" in html
    assert "licencia-secreta" not in html
    assert "Oficina central A" in html and "Av. 6 de Agosto N° 2170" in html
    assert client.get("/instituciones/NOEXISTE/").status_code == 404
    assert client.get("/instituciones/insta/").status_code == 200


# -------------------------------------------------------------------------------------------- statistics


def test_statistics_page(client: Client, catalogue: dict[str, Procedure]) -> None:
    response = client.get("/estadisticas/")
    html = text(response)
    assert tags(response.content.decode()).count("h1") == 1
    assert html.count("<table") == 3
    assert html.count("<caption") == 3
    assert "1 gratuitos y 2 con costo." in html
    assert '<p class="font-heading-2xl margin-0">3</p>' in html
    assert '<p class="font-heading-2xl margin-0">33,3 %</p>' in html  # online share, Spanish decimal comma
    assert "/api/v1/statistics" in html
    assert (
        '<a class="usa-link" href="/instituciones/INSTA/">Servicio de Identificación de Prueba</a></th>'
        "<td>2</td><td>1</td><td>1</td>" in html
    )


# ------------------------------------------------------------------------------------ simplification report


@pytest.fixture
def simplifications(catalogue: dict[str, Procedure]) -> None:
    def record(
        procedure: str, when: date, act: str, days: tuple[int, int], cost: tuple[str, str], volume: int
    ) -> None:
        simplification_record(
            actor=None,
            data=SimplificationData(
                procedure=procedure,
                date=when,
                legal_act=act,
                description="Se eliminó un requisito.",
                requirements_before=5,
                requirements_after=3,
                steps_before=4,
                steps_after=3,
                days_before=days[0],
                days_after=days[1],
                cost_before=Decimal(cost[0]),
                cost_after=Decimal(cost[1]),
                channels_before=["presencial"],
                channels_after=["presencial", "en_linea"],
                annual_volume=volume,
            ),
        )

    record("licencia-de-conducir", date(2024, 3, 15), "RA 045/2024", (10, 3), ("150.00", "100.00"), 120_000)
    record("certificado-de-nacimiento", date(2024, 8, 1), "RA 100/2024", (5, 1), ("20.00", "0.00"), 1_000)
    record(
        "renovacion-licencia-de-conducir", date(2025, 2, 1), "RA 007/2025", (8, 2), ("50.00", "50.00"), 500
    )


def report_rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_simplification_report_csv_numbers(client: Client, simplifications: None) -> None:
    response = client.get("/simplificacion/reporte.csv")
    assert 'filename="simplificacion-todos.csv"' in response["Content-Disposition"]
    rows = {r["tramite"]: r for r in report_rows(response)}
    assert len(rows) == 3
    licence = rows["Licencia de conducir"]
    assert licence["dias_ciudadano_ahorrados"] == str((10 - 3) * 120_000)
    assert Decimal(licence["dinero_ahorrado"]) == Decimal(50) * 120_000
    assert (licence["institucion"], licence["moneda"], licence["canales_despues"]) == (
        "INSTA",
        "BOB",
        "presencial|en_linea",
    )
    assert rows["Certificado de nacimiento"]["dias_ciudadano_ahorrados"] == str((5 - 1) * 1_000)
    assert Decimal(rows["Renovación de licencia de conducir"]["dinero_ahorrado"]) == 0


def test_simplification_report_csv_year_filter(client: Client, simplifications: None) -> None:
    response = client.get("/simplificacion/reporte.csv", {"anio": "2024"})
    assert 'filename="simplificacion-2024.csv"' in response["Content-Disposition"]
    assert sorted(r["tramite"] for r in report_rows(response)) == [
        "Certificado de nacimiento",
        "Licencia de conducir",
    ]
    rows = report_rows(client.get("/simplificacion/reporte.csv", {"anio": "2025"}))
    assert [r["tramite"] for r in rows] == ["Renovación de licencia de conducir"]
    assert report_rows(client.get("/simplificacion/reporte.csv", {"anio": "2019"})) == []
    rows = report_rows(client.get("/simplificacion/reporte.csv", {"institucion": "instb"}))
    assert [r["tramite"] for r in rows] == ["Certificado de nacimiento"]


def test_simplification_report_page(client: Client, simplifications: None) -> None:
    response = client.get("/simplificacion/", {"anio": "2024"})
    html = text(response)
    assert tags(response.content.decode()).count("h1") == 1
    assert "Informe de simplificación de trámites 2024" in html
    assert "2 simplificaciones en 2 trámites" in html
    assert "4 requisitos y 2 pasos eliminados" in html
    citizen_days = (10 - 3) * 120_000 + (5 - 1) * 1_000
    shown = re.search(r"<li>([\d.,\s\xa0]+) días de la ciudadanía ahorrados", response.content.decode())
    assert shown is not None
    assert int(re.sub(r"\D", "", shown.group(1))) == citizen_days == 844_000
    assert "Bs 6.020.000,00 ahorrados por año" in html  # 50 × 120 000 + 20 × 1 000
    assert '<option value="2024" selected>' in html
    assert "RA 007/2025" not in html
    assert "/simplificacion/reporte.csv?anio=2024" in html

    html = text(client.get("/simplificacion/"))
    assert "3 simplificaciones en 3 trámites" in html
    assert "RA 007/2025" in html


def test_simplification_report_without_data(client: Client, catalogue: dict[str, Procedure]) -> None:
    html = text(client.get("/simplificacion/"))
    assert "No hay simplificaciones registradas para este filtro." in html


# --------------------------------------------------------------------------------------- open-data export


def test_catalogue_export_csv_has_only_published(client: Client, catalogue: dict[str, Procedure]) -> None:
    response = client.get("/datos/catalogo.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="catalogo-tramites.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert sorted(r["slug"] for r in rows) == [
        "certificado-de-nacimiento",
        "licencia-de-conducir",
        "renovacion-licencia-de-conducir",
    ]
    assert {r["estado"] for r in rows} == {"publicado"}


def test_catalogue_export_json_has_only_published(client: Client, catalogue: dict[str, Procedure]) -> None:
    response = client.get("/datos/catalogo.json")
    assert response.status_code == 200
    records = json.loads(response.content)
    assert [r["slug"] for r in records] == [
        "licencia-de-conducir",
        "renovacion-licencia-de-conducir",
        "certificado-de-nacimiento",
    ]
    licence = records[0]
    assert licence["cost"] == {"amount": "17.00", "currency": "BOB"}
    assert licence["faq"] == [
        {"question": "¿Puedo conducir con la licencia vencida?", "answer": "No, debe renovarla."}
    ]
    assert "Cédula" in response.content.decode()  # not \u00e9 escapes
    records = client.get("/datos/catalogo.json", {"institucion": "INSTB"}).json()
    assert [r["slug"] for r in records] == ["certificado-de-nacimiento"]


def test_catalogue_export_unknown_format_is_404(client: Client, catalogue: dict[str, Procedure]) -> None:
    assert client.get("/datos/catalogo.xml").status_code == 404


def test_search_text_is_escaped(client: Client, catalogue: dict[str, Procedure]) -> None:
    payload = '<script>alert("x")</script>'
    raw = client.get("/tramites/", {"q": payload}).content.decode()
    assert payload not in raw
    assert "&lt;script&gt;" in raw
