"""Bulk import (CSV, JSON, gob.bo layout) and export of the catalogue, through ``catalog_import_file``.

Import is all-or-nothing and idempotent; an export re-imports unchanged."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings

from conftest import make_procedure
from ventanilla.catalog.imports import (
    CSV_COLUMNS,
    ImportFailed,
    ImportReport,
    catalog_import_file,
    export_csv,
    export_records,
)
from ventanilla.catalog.models import Procedure, ProcedureVersion
from ventanilla.catalog.selectors import export_queryset
from ventanilla.catalog.services import ChannelData, FaqData, RequirementData, StepData
from ventanilla.core.errors import DomainError
from ventanilla.core.models import AuditEntry, Institution

ONLINE_URL = "https://licencias.example.bo/iniciar"


def row(**overrides: str) -> dict[str, str]:
    values = {
        "slug": "licencia-de-conducir",
        "nombre": "Licencia de conducir",
        "institucion": "INSTA",
        "oficina": "INSTA-SEDE",
        "resumen": "Obtenga la licencia para conducir vehículos particulares, con costos y plazos.",
        "descripcion": "Para personas mayores de 18 años; vigencia de 5 años.",
        "categoria": "vehiculos-y-transporte",
        "hechos_vitales": "vehiculo",
        "dirigido_a": "persona",
        "palabras_clave": "brevet, licencia de manejo",
        "requisitos": (
            "Cédula de identidad vigente {INSTA} * | Certificado médico | Certificado de antecedentes {instb}"
        ),
        "pasos": "Pagar el arancel — En ventanilla bancaria o con QR | Rendir el examen teórico",
        "canales": f"presencial: INSTA-SEDE | en_linea: {ONLINE_URL} | telefonico: 800-10-1234",
        "gratuito": "no",
        "costo": "17",
        "moneda": "BOB",
        "instrucciones_pago": "Depósito en la cuenta fiscal.",
        "base_legal": "Ley N° 145 de 27 de junio de 2011",
        "plazo_dias": "5",
        "nivel_digitalizacion": "3",
        "en_plataforma": "no",
        "url_inicio": ONLINE_URL,
        "url_seguimiento": "",
        "estado": "publicado",
    }
    values.update(overrides)
    return values


def csv_bytes(rows: list[dict[str, str]], *, delimiter: str = ",", columns: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(
        out,
        fieldnames=columns or CSV_COLUMNS,
        delimiter=delimiter,
        lineterminator="\n",
        extrasaction="ignore",
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def import_csv(actor: Any, content: bytes, filename: str = "catalogo.csv") -> ImportReport:
    return catalog_import_file(actor=actor, filename=filename, content=content)


def import_json(actor: Any, payload: Any, filename: str = "catalogo.json") -> ImportReport:
    return catalog_import_file(actor=actor, filename=filename, content=json.dumps(payload).encode())


def failure(call: Any, *args: Any) -> ImportFailed:
    with pytest.raises(ImportFailed) as excinfo:
        call(*args)
    return excinfo.value


def import_file(actor: Any, filename: str, content: bytes) -> ImportReport:
    return catalog_import_file(actor=actor, filename=filename, content=content)


def errors_by_location(exc: ImportFailed) -> dict[str, set[str | None]]:
    found: dict[str, set[str | None]] = {}
    for error in exc.report.errors:
        found.setdefault(error.location, set()).add(error.field)
    return found


def counts() -> tuple[int, int, int]:
    return Procedure.objects.count(), ProcedureVersion.objects.count(), AuditEntry.objects.count()


@pytest.fixture
def institutions(institution_a: Institution, institution_b: Institution) -> tuple[Institution, Institution]:
    return institution_a, institution_b


# -------------------------------------------------------------------------------------------------- CSV


def test_valid_csv_creates_procedures_with_children(agency: Any, institutions: Any) -> None:
    second = row(
        slug="permiso-de-construccion",
        nombre="Permiso de construcción",
        institucion="INSTB",
        oficina="INSTB-SEDE",
        categoria="vivienda-y-construccion",
        hechos_vitales="vivienda",
        requisitos="Plano aprobado",
        pasos="Presentar planos",
        canales="presencial: INSTB-SEDE",
        gratuito="si",
        costo="",
        moneda="",
        instrucciones_pago="",
        url_inicio="",
        plazo_dias="10",
        nivel_digitalizacion="1",
    )
    report = import_csv(agency, csv_bytes([row(), second]))

    assert (report.total, report.created, report.updated, report.unchanged) == (2, 2, 0, 0)
    assert report.ok
    procedure = Procedure.objects.get(slug="licencia-de-conducir")
    assert procedure.name == "Licencia de conducir"
    assert procedure.institution.code == "INSTA"
    assert procedure.office is not None and procedure.office.code == "INSTA-SEDE"
    assert procedure.category.slug == "vehiculos-y-transporte"
    assert [e.slug for e in procedure.life_events.all()] == ["vehiculo"]
    assert procedure.status == Procedure.Status.DRAFT  # an institution or agency import never self-publishes
    assert (procedure.cost_amount, procedure.currency, procedure.is_free) == (Decimal("17.00"), "BOB", False)
    assert (procedure.max_days, procedure.digitisation_level) == (5, 3)
    assert procedure.external_start_url == ONLINE_URL
    assert procedure.keywords == "brevet, licencia de manejo"

    requirements = list(procedure.requirements.select_related("issuer"))
    assert [(r.name, r.issuer.code if r.issuer else None, r.held_by_state) for r in requirements] == [
        ("Cédula de identidad vigente", "INSTA", True),
        ("Certificado médico", None, False),
        ("Certificado de antecedentes", "INSTB", False),
    ]
    assert [(s.title, s.description) for s in procedure.steps.all()] == [
        ("Pagar el arancel", "En ventanilla bancaria o con QR"),
        ("Rendir el examen teórico", ""),
    ]
    channels = {c.kind: c for c in procedure.channels.prefetch_related("offices")}
    assert set(channels) == {"presencial", "en_linea", "telefonico"}
    assert [o.code for o in channels["presencial"].offices.all()] == ["INSTA-SEDE"]
    assert channels["en_linea"].url == ONLINE_URL
    assert channels["telefonico"].phone == "800-10-1234"

    permit = Procedure.objects.get(slug="permiso-de-construccion")
    assert (permit.is_free, permit.cost_amount, permit.currency) == (True, None, "")
    assert permit.institution.code == "INSTB"
    # One creation version and one audit row per procedure.
    assert ProcedureVersion.objects.filter(procedure=procedure).count() == 1
    assert AuditEntry.objects.filter(action="procedure.create", target_id=str(procedure.pk)).count() == 1


def test_csv_errors_are_reported_per_line_and_nothing_is_written(agency: Any, institutions: Any) -> None:
    rows = [
        row(slug="uno", nombre="Trámite uno"),  # line 2: valid
        row(slug="dos", nombre="Trámite dos", categoria="astronautica"),  # line 3
        row(slug="tres", nombre="Trámite tres"),  # line 4: valid
        row(slug="cuatro", nombre="Trámite cuatro", url_inicio="no-es-una-url"),  # line 5
    ]
    before = counts()
    exc = failure(import_csv, agency, csv_bytes(rows))

    assert errors_by_location(exc) == {"línea 3": {"category"}, "línea 5": {"external_start_url"}}
    assert "astronautica" in exc.report.errors[0].message
    assert counts() == before  # not even the valid lines 2 and 4
    assert not Procedure.objects.filter(slug__in=["uno", "tres"]).exists()
    # The API error shape lists every line.
    body = [item.as_dict() for item in exc.items()]
    assert body[0]["code"] == "import_failed"
    assert any(item["message"].startswith("línea 3:") and item["field"] == "category" for item in body[1:])
    assert any(item["message"].startswith("línea 5:") for item in body[1:])


def test_every_error_of_a_line_is_reported(agency: Any, institutions: Any) -> None:
    bad = row(
        nombre="",
        categoria="nada",
        canales="presencial: INSTB-SEDE | fax: 123",
        costo="-5",
        url_seguimiento="ftp://x.example.bo",
    )
    exc = failure(import_csv, agency, csv_bytes([bad]))
    assert errors_by_location(exc)["línea 2"] >= {
        "name",
        "category",
        "channels[0].offices",
        "channels[1].channel",
        "cost.amount",
        "external_tracking_url",
    }


def test_csv_without_a_required_column_fails_at_line_one(agency: Any, institutions: Any) -> None:
    columns = [c for c in CSV_COLUMNS if c != "categoria"]
    exc = failure(import_csv, agency, csv_bytes([row()], columns=columns))
    assert [e.location for e in exc.report.errors] == ["línea 1"]
    assert "categoria" in exc.report.errors[0].message
    assert Procedure.objects.count() == 0


def test_non_utf8_csv_is_rejected_with_a_clear_message(agency: Any, institutions: Any) -> None:
    # A spreadsheet saved as Windows-1252: "Cédula" with a single 0xE9 byte, "—" as 0x97.
    content = csv_bytes([row()]).decode("utf-8").encode("cp1252")
    exc = failure(import_csv, agency, content)
    assert [e.location for e in exc.report.errors] == ["archivo"]
    assert "UTF-8" in exc.report.errors[0].message
    assert Procedure.objects.count() == 0


def test_utf8_bom_from_spreadsheets_is_accepted(agency: Any, institutions: Any) -> None:
    report = import_csv(agency, b"\xef\xbb\xbf" + csv_bytes([row()]))
    assert report.created == 1


def test_semicolon_delimited_csv_is_accepted(agency: Any, institutions: Any) -> None:
    second = row(slug="renovacion-licencia", nombre="Renovación de licencia, categoría B")
    report = import_csv(agency, csv_bytes([row(), second], delimiter=";"))
    assert report.created == 2
    procedure = Procedure.objects.get(slug="renovacion-licencia")
    assert procedure.name == "Renovación de licencia, categoría B"
    assert procedure.summary == row()["resumen"]
    assert procedure.requirements.count() == 3
    assert procedure.channels.count() == 3


# Regression: csv.Sniffer used to guess doublequote=False here and split the quoted cell.
def test_semicolon_csv_with_quotes_and_commas_in_text_is_accepted(agency: Any, institutions: Any) -> None:
    text = 'Solicite el "Formulario 1", llénelo; luego preséntelo.'
    rows = [row(descripcion=text), row(slug="renovacion-licencia", nombre="Renovación de licencia")]
    report = import_csv(agency, csv_bytes(rows, delimiter=";"))
    assert report.created == 2
    assert Procedure.objects.get(slug="licencia-de-conducir").description == text


def test_tab_delimited_csv_is_accepted(agency: Any, institutions: Any) -> None:
    assert import_csv(agency, csv_bytes([row()], delimiter="\t")).created == 1


def test_duplicate_slug_inside_one_file_is_an_error(agency: Any, institutions: Any) -> None:
    rows = [row(), row(nombre="Licencia de conducir (copia)")]
    exc = failure(import_csv, agency, csv_bytes(rows))
    assert errors_by_location(exc) == {"línea 3": {"slug"}}
    assert "línea 2" in exc.report.errors[0].message
    assert Procedure.objects.count() == 0


def test_row_with_more_cells_than_header_is_an_error(agency: Any, institutions: Any) -> None:
    content = csv_bytes([row()]) + b"extra,a,b," + b",".join([b"x"] * len(CSV_COLUMNS)) + b"\n"
    exc = failure(import_csv, agency, content)
    assert "línea 3" in errors_by_location(exc)
    assert Procedure.objects.count() == 0


def test_empty_file_is_an_error(agency: Any, institutions: Any) -> None:
    exc = failure(import_csv, agency, csv_bytes([]))
    assert [e.location for e in exc.report.errors] == ["archivo"]


def test_editor_cannot_import_another_institutions_procedure(bob: Any, institutions: Any) -> None:
    rows = [
        row(),
        row(
            slug="permiso-b",
            nombre="Permiso B",
            institucion="INSTB",
            oficina="INSTB-SEDE",
            canales="presencial: INSTB-SEDE",
        ),
    ]
    before = counts()
    exc = failure(import_csv, bob, csv_bytes(rows))
    assert errors_by_location(exc) == {"línea 3": {"institution"}}
    assert "INSTB" in exc.report.errors[0].message
    assert counts() == before  # bob's own valid line 2 is not imported either


def test_editor_import_creates_drafts_even_when_the_file_says_published(bob: Any, institutions: Any) -> None:
    report = import_csv(bob, csv_bytes([row(estado="publicado")]))
    assert report.created == 1
    procedure = Procedure.objects.get(slug="licencia-de-conducir")
    assert procedure.status == Procedure.Status.DRAFT
    assert procedure.published_at is None
    entry = AuditEntry.objects.get(action="procedure.create", target_id=str(procedure.pk))
    assert entry.actor_id == bob.pk


@pytest.mark.parametrize("actor_name", ["agency", "bob", None])
def test_reimporting_the_same_file_is_idempotent(
    request: Any, institutions: Any, actor_name: str | None
) -> None:
    actor = request.getfixturevalue(actor_name) if actor_name else None
    content = csv_bytes([row(), row(slug="renovacion-licencia", nombre="Renovación de licencia")])
    first = import_csv(actor, content)
    assert first.created == 2
    before = counts()
    second = import_csv(actor, content)
    assert (second.total, second.created, second.updated, second.unchanged) == (2, 0, 0, 2)
    assert counts() == before  # no procedure, no version, no audit row


def test_reimport_with_a_change_updates_and_records_a_version(agency: Any, institutions: Any) -> None:
    import_csv(agency, csv_bytes([row()]))
    procedure = Procedure.objects.get()
    versions = procedure.versions.count()
    report = import_csv(
        agency, csv_bytes([row(plazo_dias="3", requisitos="Cédula de identidad vigente {INSTA} *")])
    )
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    procedure.refresh_from_db()
    assert procedure.max_days == 3
    assert procedure.requirements.count() == 1
    assert procedure.versions.count() == versions + 1


def test_system_import_keeps_the_status_of_the_file(institutions: Any) -> None:
    import_csv(None, csv_bytes([row(estado="publicado")]))
    procedure = Procedure.objects.get()
    assert procedure.status == Procedure.Status.PUBLISHED
    assert procedure.published_at is not None


def test_editor_reimport_of_a_published_procedure_proposes_changes(bob: Any, institutions: Any) -> None:
    import_csv(None, csv_bytes([row(estado="publicado")]))
    report = import_csv(bob, csv_bytes([row(plazo_dias="2")]))
    assert report.updated == 1
    procedure = Procedure.objects.get()
    assert procedure.max_days == 5  # public content unchanged until the agency approves
    assert procedure.pending_data is not None and procedure.pending_data["max_days"] == 2


def test_editor_reimporting_the_same_proposal_is_idempotent(bob: Any, institutions: Any) -> None:
    import_csv(None, csv_bytes([row(estado="publicado")]))
    proposal = csv_bytes([row(plazo_dias="2")])
    import_csv(bob, proposal)
    before = counts()
    report = import_csv(bob, proposal)
    assert counts() == before
    assert report.unchanged == 1


# ----------------------------------------------------------------------------------------- export round trip


@pytest.fixture
def published_catalogue(institutions: tuple[Institution, Institution]) -> list[Procedure]:
    a, b = institutions
    return [
        make_procedure(
            a,
            "licencia-de-conducir",
            "Licencia de conducir",
            category="vehiculos-y-transporte",
            keywords="brevet",
            life_events=["vehiculo", "empleo"],
            requirements=[
                RequirementData(name="Cédula de identidad vigente", issuer="INSTA", held_by_state=True),
                RequirementData(name="Certificado médico"),
            ],
            steps=[StepData(title="Pagar", description="En el banco"), StepData(title="Rendir examen")],
            channels=[
                ChannelData(channel="presencial", offices=["INSTA-SEDE"]),
                ChannelData(channel="en_linea", url=ONLINE_URL),
                ChannelData(channel="telefonico", phone="800-10-1234"),
            ],
            external_start_url=ONLINE_URL,
            digitisation_level=3,
        ),
        make_procedure(
            b,
            "permiso-de-construccion",
            "Permiso de construcción",
            category="vivienda-y-construccion",
            cost_amount=None,
            currency="",
        ),
        make_procedure(a, "tramite-borrador", "Trámite en borrador", status="borrador"),
    ]


def test_export_contains_only_published_procedures(published_catalogue: list[Procedure]) -> None:
    records = export_records(export_queryset())
    assert [r["slug"] for r in records] == ["licencia-de-conducir", "permiso-de-construccion"]
    rows = list(csv.DictReader(io.StringIO(export_csv(export_queryset()))))
    assert [r["slug"] for r in rows] == ["licencia-de-conducir", "permiso-de-construccion"]
    assert rows[0]["requisitos"] == "Cédula de identidad vigente {INSTA} * | Certificado médico"
    assert rows[0]["pasos"] == "Pagar — En el banco | Rendir examen"
    assert rows[0]["canales"] == f"en_linea: {ONLINE_URL} | presencial: INSTA-SEDE | telefonico: 800-10-1234"
    assert (rows[0]["costo"], rows[0]["moneda"], rows[0]["gratuito"]) == ("17.00", "BOB", "no")
    assert (rows[1]["costo"], rows[1]["gratuito"]) == ("", "si")


def test_csv_export_reimports_unchanged(agency: Any, published_catalogue: list[Procedure]) -> None:
    content = export_csv(export_queryset()).encode("utf-8")
    before = counts()
    report = import_csv(agency, content)
    assert (report.total, report.created, report.updated, report.unchanged) == (2, 0, 0, 2)
    assert counts() == before


def test_json_export_reimports_unchanged(agency: Any, published_catalogue: list[Procedure]) -> None:
    before = counts()
    report = import_json(agency, export_records(export_queryset()))
    assert (report.total, report.unchanged) == (2, 2)
    assert counts() == before


def test_csv_export_of_a_complete_procedure_reimports_unchanged(agency: Any, institutions: Any) -> None:
    a, _ = institutions
    make_procedure(
        a,
        "pasaporte",
        "Pasaporte",
        requirements=[
            RequirementData(
                name="Certificado de nacimiento",
                description="Original y vigente.",
                issuer_name="Registro Civil",
            )
        ],
        channels=[
            ChannelData(
                channel="presencial",
                offices=["INSTA-SEDE"],
                hours="Lunes a viernes 08:00-16:00",
                notes="Con cita previa",
            )
        ],
        faq=[FaqData(question="¿Puedo tramitarlo por otra persona?", answer="No, es personal.")],
    )
    report = import_csv(agency, export_csv(export_queryset()).encode("utf-8"))
    assert report.unchanged == 1
    procedure = Procedure.objects.get(slug="pasaporte")
    assert procedure.faqs.count() == 1
    assert procedure.channels.get().hours == "Lunes a viernes 08:00-16:00"


# ------------------------------------------------------------------------------------------------- JSON


def demo_record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "slug": "certificado-de-antecedentes",
        "name": "Certificado de antecedentes",
        "institution": "INSTA",
        "office": "INSTA-SEDE",
        "summary": "Acredite que no tiene antecedentes penales.",
        "description": "Vigencia de 90 días.",
        "category": "justicia-y-seguridad",
        "life_events": ["empleo"],
        "audience": "persona",
        "keywords": "rejap, antecedentes penales",
        "requirements": [
            {
                "name": "Cédula de identidad vigente",
                "description": "Original.",
                "issuer": "INSTA",
                "held_by_state": True,
            },
            {"name": "Formulario de solicitud", "issuer": None, "issuer_name": "Ventanilla única"},
        ],
        "steps": [
            {"title": "Pagar el arancel", "description": "Con QR."},
            {"title": "Recoger el certificado"},
        ],
        "cost": {"amount": "50.00", "currency": "BOB"},
        "payment_instructions": "Pago con QR.",
        "legal_basis": "Ley N° 2298",
        "max_days": 2,
        "channels": [
            {"channel": "presencial", "offices": ["insta-sede"], "hours": "Lunes a viernes", "notes": ""},
            {"channel": "en_linea", "url": "https://antecedentes.example.bo", "hours": "Las 24 horas"},
        ],
        "digitisation_level": 3,
        "runs_on_platform": False,
        "external_start_url": "https://antecedentes.example.bo",
        "external_tracking_url": "",
        "faq": [{"question": "¿Cuánto dura?", "answer": "90 días."}],
        "status": "publicado",
    }
    record.update(overrides)
    return record


@pytest.mark.parametrize("wrap", [lambda r: [r], lambda r: {"procedures": [r]}, lambda r: r])
def test_json_import_of_the_demo_layout(agency: Any, institutions: Any, wrap: Any) -> None:
    report = import_json(agency, wrap(demo_record()))
    assert (report.total, report.created) == (1, 1)
    procedure = Procedure.objects.get(slug="certificado-de-antecedentes")
    assert procedure.status == Procedure.Status.DRAFT
    assert (procedure.cost_amount, procedure.currency) == (Decimal("50.00"), "BOB")
    requirements = list(procedure.requirements.select_related("issuer"))
    assert [
        (r.name, r.description, r.issuer_id is not None, r.issuer_name, r.held_by_state) for r in requirements
    ] == [
        ("Cédula de identidad vigente", "Original.", True, "", True),
        ("Formulario de solicitud", "", False, "Ventanilla única", False),
    ]
    assert [f.question for f in procedure.faqs.all()] == ["¿Cuánto dura?"]
    presencial = procedure.channels.get(kind="presencial")
    assert [o.code for o in presencial.offices.all()] == ["INSTA-SEDE"]
    assert presencial.hours == "Lunes a viernes"
    assert sorted(e.slug for e in procedure.life_events.all()) == ["empleo"]


def test_json_import_reports_record_numbers(agency: Any, institutions: Any) -> None:
    records = [
        demo_record(),
        demo_record(slug="otro", cost={"amount": "diez", "currency": "BOB"}),
        "no soy un objeto",
    ]
    exc = failure(import_json, agency, records)
    assert errors_by_location(exc) == {"registro 2": {"cost.amount"}, "registro 3": {None}}
    assert Procedure.objects.count() == 0


def gob_bo_record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "titulo": "Cédula de identidad para mayores de edad",
        "institucion": "INSTA",
        "descripcion": "Documento de identificación personal. Tiene una vigencia de 6 años.",
        "requisitos": [
            "Certificado de nacimiento original",
            {"nombre": "Factura de luz o agua", "detalle": "Para acreditar el domicilio"},
        ],
        "procedimiento": ["Pagar el arancel", {"titulo": "Tomar la fotografía", "detalle": "En la oficina"}],
        "ubicaciones": [{"codigo": "INSTA-SEDE", "direccion": "Av. 6 de Agosto N° 2170"}],
        "costo": {
            "montos": [{"monto": "17"}],
            "formas": ["Depósito bancario", "Pago con QR"],
            "cuentas": ["Banco Unión, cuenta fiscal 1-4678123"],
        },
        "duracion": "5 días hábiles",
        "marco_legal": "Ley N° 145 de 27 de junio de 2011",
        "horarios_atencion": "Lunes a viernes de 08:00 a 16:00",
        "es_presencial": True,
        "es_en_linea": False,
        "categoria": "Identidad",
    }
    record.update(overrides)
    return record


def test_json_import_of_the_gob_bo_layout(agency: Any, institutions: Any) -> None:
    report = import_json(agency, [gob_bo_record()])
    assert report.created == 1
    procedure = Procedure.objects.get()
    assert procedure.slug == "cedula-de-identidad-para-mayores-de-edad"
    assert procedure.name == "Cédula de identidad para mayores de edad"
    assert procedure.institution.code == "INSTA"
    assert procedure.category.slug == "identidad-y-documentos"
    assert procedure.summary == "Documento de identificación personal"
    assert procedure.description.startswith("Documento de identificación personal. Tiene")
    assert [(r.name, r.description) for r in procedure.requirements.all()] == [
        ("Certificado de nacimiento original", ""),
        ("Factura de luz o agua", "Para acreditar el domicilio"),
    ]
    assert [(s.title, s.description) for s in procedure.steps.all()] == [
        ("Pagar el arancel", ""),
        ("Tomar la fotografía", "En la oficina"),
    ]
    channel = procedure.channels.get()
    assert channel.kind == "presencial"
    assert [o.code for o in channel.offices.all()] == ["INSTA-SEDE"]
    assert channel.hours == "Lunes a viernes de 08:00 a 16:00"
    assert "Av. 6 de Agosto" in channel.notes
    assert (procedure.cost_amount, procedure.currency, procedure.is_free) == (Decimal("17.00"), "BOB", False)
    assert "Depósito bancario" in procedure.payment_instructions
    assert "Pago con QR" in procedure.payment_instructions
    assert "1-4678123" in procedure.payment_instructions
    assert procedure.max_days == 5
    assert procedure.legal_basis == "Ley N° 145 de 27 de junio de 2011"
    assert procedure.digitisation_level == 1


@pytest.mark.parametrize(
    "institution",
    [
        {"sigla": "GMP", "nombre": "Gobierno Municipal de Prueba"},
        {"nombre": "Gobierno Municipal de Prueba"},
        "GMP",
        "INSTB",
        "gobierno municipal de prueba",
    ],
)
def test_gob_bo_institution_as_acronym_code_name_or_object(
    agency: Any, institutions: Any, institution: Any
) -> None:
    record = gob_bo_record(
        institucion=institution,
        ubicaciones=[{"codigo": "INSTB-SEDE"}],
        es_en_linea=True,
        url="https://tramites.example.bo/cedula",
    )
    import_json(agency, [record])
    procedure = Procedure.objects.get()
    assert procedure.institution.code == "INSTB"
    assert {c.kind for c in procedure.channels.all()} == {"presencial", "en_linea"}
    assert procedure.digitisation_level == 3
    assert procedure.external_start_url == "https://tramites.example.bo/cedula"


def test_gob_bo_online_only_record_is_level_four_and_free(agency: Any, institutions: Any) -> None:
    record = gob_bo_record(
        es_presencial=False,
        es_en_linea=True,
        url="https://tramites.example.bo/x",
        costo={"montos": []},
        duracion="En el día",
    )
    import_json(agency, [record])
    procedure = Procedure.objects.get()
    assert procedure.digitisation_level == 4
    assert procedure.is_free and procedure.cost_amount is None
    assert procedure.max_days == 0
    assert [c.kind for c in procedure.channels.all()] == ["en_linea"]


def test_gob_bo_unknown_institution_is_reported(agency: Any, institutions: Any) -> None:
    exc = failure(import_json, agency, [gob_bo_record(institucion={"sigla": "NADA", "nombre": "Nadie"})])
    assert errors_by_location(exc) == {"registro 1": {"institution"}}


@pytest.mark.parametrize("content", [b"{no es json", b"[1, 2", b"\xff\xfe\x00"])
def test_invalid_json_is_rejected(agency: Any, institutions: Any, content: bytes) -> None:
    exc = failure(import_file, agency, "catalogo.json", content)
    assert [e.location for e in exc.report.errors] == ["archivo"]
    assert "JSON inválido" in exc.report.errors[0].message
    assert Procedure.objects.count() == 0


def test_json_that_is_not_a_list_of_procedures_is_rejected(agency: Any, institutions: Any) -> None:
    exc = failure(import_file, agency, "catalogo.json", b'"hola"')
    assert [e.location for e in exc.report.errors] == ["archivo"]
    exc = failure(import_file, agency, "catalogo.json", b"[]")
    assert [e.location for e in exc.report.errors] == ["archivo"]


# ---------------------------------------------------------------------------------------------- the file


@override_settings(VENTANILLA_IMPORT_MAX_BYTES=10)
def test_too_large_file_is_rejected_before_parsing(agency: Any, institutions: Any) -> None:
    with pytest.raises(DomainError) as excinfo:
        catalog_import_file(actor=agency, filename="catalogo.csv", content=csv_bytes([row()]))
    assert (excinfo.value.code, excinfo.value.field) == ("too_large", "file")
    assert not isinstance(excinfo.value, ImportFailed)
    assert Procedure.objects.count() == 0


@override_settings(VENTANILLA_IMPORT_MAX_BYTES=10)
def test_file_at_the_size_limit_is_parsed(agency: Any, institutions: Any) -> None:
    exc = failure(import_file, agency, "catalogo.json", b"[]" + b" " * 8)  # exactly 10 bytes
    assert exc.code == "import_failed"


@pytest.mark.parametrize("filename", ["catalogo.xlsx", "catalogo.txt", "catalogo", "csv", "catalogo.csv.exe"])
def test_unsupported_extension_is_rejected(agency: Any, institutions: Any, filename: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        catalog_import_file(actor=agency, filename=filename, content=csv_bytes([row()]))
    assert (excinfo.value.code, excinfo.value.field) == ("unsupported_format", "file")
    assert Procedure.objects.count() == 0


def test_extension_is_case_insensitive(agency: Any, institutions: Any) -> None:
    assert catalog_import_file(actor=agency, filename="CATALOGO.CSV", content=csv_bytes([row()])).created == 1
