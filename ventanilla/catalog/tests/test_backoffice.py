"""Back office (gestion/): access rules, the create/edit/review workflow, import/export and simplifications.

Cast (conftest.py): alice is a citizen, bob edits institution A, charlie edits institution B, agency is the
platform agency. Every object-level rule is checked both ways: bob gets 404 on B's data, charlie on A's.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.forms import CheckboxInput
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import login, make_procedure
from ventanilla.catalog.models import Procedure, Simplification
from ventanilla.core.models import AuditEntry

pytestmark = pytest.mark.django_db

LIST = reverse("catalog:manage-procedure-list")
CREATE = reverse("catalog:manage-procedure-create")
IMPORT = reverse("catalog:manage-import")
QUEUE = reverse("catalog:manage-review-queue")
SIMPLIFY = reverse("catalog:manage-simplification-create")


def detail_url(slug: str) -> str:
    return reverse("catalog:manage-procedure-detail", kwargs={"slug": slug})


def edit_url(slug: str) -> str:
    return reverse("catalog:manage-procedure-edit", kwargs={"slug": slug})


def transition_url(slug: str, action: str) -> str:
    return reverse("catalog:manage-procedure-transition", kwargs={"slug": slug, "action": action})


def export_url(fmt: str) -> str:
    return reverse("catalog:manage-export", kwargs={"fmt": fmt})


def management(prefix: str, total: int, initial: int = 0) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "100",
    }


def new_procedure_post(**overrides: Any) -> dict[str, Any]:
    """What a browser sends when bob fills the 'Nuevo trámite' page."""
    data: dict[str, Any] = {
        "name": "Certificado de domicilio",
        "slug": "",
        "summary": "Acredita dónde vive una persona.",
        "description": "",
        "institution": "INSTA",
        "office": "INSTA-SEDE",
        "category": "identidad-y-documentos",
        "life_events": ["vivienda"],
        "audience": "persona",
        "keywords": "domicilio, residencia",
        "cost_amount": "25.50",
        "payment_instructions": "",
        "legal_basis": "",
        "max_days": "3",
        "digitisation_level": "1",
        "external_start_url": "",
        "external_tracking_url": "",
        "presencial_enabled": "on",
        "presencial_offices": ["INSTA-SEDE"],
        "presencial_hours": "8:00 a 16:00",
        "presencial_notes": "",
        "en_linea_url": "",
        "en_linea_hours": "",
        "en_linea_notes": "",
        "telefonico_enabled": "on",
        "telefonico_phone": "800-10-1234",
        "telefonico_hours": "",
        "telefonico_notes": "",
        **management("requirements", 2),
        "requirements-0-name": "Cédula de identidad",
        "requirements-0-held_by_state": "on",
        "requirements-1-name": "",
        **management("steps", 2),
        "steps-0-title": "Presentarse en ventanilla",
        "steps-1-title": "Recoger",
        **management("faq", 1),
        "faq-0-question": "",
        "faq-0-answer": "",
    }
    data.update(overrides)
    return data


def post_data_from_page(response: Any) -> dict[str, Any]:
    """The POST a browser would send back unchanged from an edit page (its initial values)."""
    editor = response.context["editor"]
    data: dict[str, Any] = {}
    forms = [editor.form, *(f for fs in editor.formsets.values() for f in [fs.management_form, *fs.forms])]
    for form in forms:
        for bound in form:
            value = bound.value()
            if isinstance(bound.field.widget, CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif isinstance(value, list | tuple):
                data[bound.html_name] = list(value)
            else:
                data[bound.html_name] = "" if value is None else str(value)
    return data


@pytest.fixture
def draft_a(institution_a: Any) -> Procedure:
    return make_procedure(institution_a, "registro-de-marca", "Registro de marca", status="borrador")


@pytest.fixture
def in_review_a(institution_a: Any) -> Procedure:
    return make_procedure(
        institution_a, "certificado-de-antecedentes", "Certificado de antecedentes", status="en_revision"
    )


# ------------------------------------------------------------------------------------------------- access


@pytest.mark.parametrize("url", [LIST, CREATE, IMPORT, QUEUE, SIMPLIFY, export_url("csv")])
def test_anonymous_is_sent_to_login(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:login"))


def test_anonymous_detail_and_transition_go_to_login(client: Client, procedure_a: Procedure) -> None:
    assert client.get(detail_url(procedure_a.slug)).status_code == 302
    response = client.post(transition_url(procedure_a.slug, "archivar"))
    assert response.status_code == 302
    assert Procedure.objects.get(pk=procedure_a.pk).status == "publicado"


@pytest.mark.parametrize("url", [LIST, CREATE, IMPORT, QUEUE, SIMPLIFY, export_url("csv")])
def test_citizen_gets_403(alice: Any, url: str) -> None:
    assert login(alice).get(url).status_code == 403


def test_citizen_cannot_touch_a_procedure(alice: Any, procedure_a: Procedure) -> None:
    client = login(alice)
    assert client.get(detail_url(procedure_a.slug)).status_code == 403
    assert client.post(transition_url(procedure_a.slug, "archivar")).status_code == 403


def test_review_queue_is_for_the_agency_only(
    bob_client: Client, agency_client: Client, in_review_a: Procedure
) -> None:
    assert bob_client.get(QUEUE).status_code == 403
    response = agency_client.get(QUEUE)
    assert response.status_code == 200
    assert "Certificado de antecedentes" in response.content.decode()


# ------------------------------------------------------------------------------------------------- create


def test_bob_creates_a_draft(bob_client: Client, institution_a: Any) -> None:
    response = bob_client.post(CREATE, new_procedure_post())
    assert response.status_code == 302
    procedure = Procedure.objects.get(slug="certificado-de-domicilio")
    assert response["Location"] == detail_url(procedure.slug)
    assert procedure.status == "borrador"
    assert procedure.institution == institution_a
    assert procedure.cost_amount == Decimal("25.50")
    assert procedure.currency == "BOB"
    assert [r.name for r in procedure.requirements.all()] == ["Cédula de identidad"]
    assert procedure.requirements.get().held_by_state
    assert [s.title for s in procedure.steps.all()] == ["Presentarse en ventanilla", "Recoger"]
    assert sorted(procedure.channels.values_list("kind", flat=True)) == ["presencial", "telefonico"]
    assert list(procedure.channels.get(kind="presencial").offices.values_list("code", flat=True)) == [
        "INSTA-SEDE"
    ]
    assert list(procedure.life_events.values_list("slug", flat=True)) == ["vivienda"]
    assert procedure.faqs.count() == 0
    assert AuditEntry.objects.filter(action="procedure.create", target_id=str(procedure.pk)).exists()
    page = bob_client.get(response["Location"])
    assert "Se creó el trámite" in page.content.decode()


def test_create_page_renders_with_labels(bob_client: Client, institution_a: Any, institution_b: Any) -> None:
    response = bob_client.get(CREATE)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert 'for="id_name"' in html
    assert 'name="requirements-TOTAL_FORMS"' in html
    # Only bob's institution and its offices are offered (any institution may issue a requirement).
    form = response.context["form"]
    assert [code for code, _ in form.fields["institution"].choices if code] == ["INSTA"]
    assert "INSTB-SEDE" not in html
    assert 'value="INSTB"' in html  # requirement issuer
    assert "style=" not in html


def test_missing_name_re_renders_with_spanish_error(bob_client: Client, institution_a: Any) -> None:
    response = bob_client.post(CREATE, new_procedure_post(name="", slug="sin-nombre"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "usa-alert--error" in html
    assert 'href="#id_name"' in html
    assert "obligatorio" in html
    assert not Procedure.objects.filter(slug="sin-nombre").exists()


def test_negative_cost_is_reported_next_to_the_cost(bob_client: Client, institution_a: Any) -> None:
    response = bob_client.post(CREATE, new_procedure_post(cost_amount="-5"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "El costo no puede ser negativo." in html
    assert 'href="#id_cost_amount"' in html
    assert not Procedure.objects.exists()


def test_cost_or_free_is_required(bob_client: Client, institution_a: Any) -> None:
    response = bob_client.post(CREATE, new_procedure_post(cost_amount=""))
    assert response.status_code == 200
    assert "Indique el costo o marque «Gratuito»." in response.content.decode()
    response = bob_client.post(CREATE, new_procedure_post(cost_amount="", is_free="on"))
    assert response.status_code == 302
    assert Procedure.objects.get().is_free


def test_service_errors_land_on_the_formset_row(bob_client: Client, institution_a: Any) -> None:
    post = new_procedure_post(**{"requirements-1-name": "", "requirements-1-description": "Original y copia"})
    response = bob_client.post(CREATE, post)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Falta el nombre del requisito." in html
    assert 'href="#id_requirements-1-name"' in html
    assert 'id="id_requirements-1-name_error"' in html


def test_channel_errors_land_on_the_channel_field(bob_client: Client, institution_a: Any) -> None:
    post = new_procedure_post(en_linea_enabled="on", en_linea_url="no es una url")
    response = bob_client.post(CREATE, post)
    assert response.status_code == 200
    assert 'href="#id_en_linea_url"' in response.content.decode()


def test_duplicate_slug_is_refused_not_overwritten(bob_client: Client, procedure_a: Procedure) -> None:
    response = bob_client.post(CREATE, new_procedure_post(slug=procedure_a.slug))
    assert response.status_code == 200
    assert 'href="#id_slug"' in response.content.decode()
    assert Procedure.objects.get(pk=procedure_a.pk).name == "Licencia de conducir"


def test_bob_cannot_create_for_another_institution(
    bob_client: Client, institution_a: Any, institution_b: Any
) -> None:
    response = bob_client.post(CREATE, new_procedure_post(institution="INSTB", office=""))
    assert response.status_code == 200
    assert not Procedure.objects.exists()


# ---------------------------------------------------------------------------------------- object access


def test_bob_cannot_see_or_touch_charlies_procedure(
    bob_client: Client, procedure_a: Procedure, procedure_b: Procedure
) -> None:
    slug = procedure_b.slug
    assert bob_client.get(detail_url(slug)).status_code == 404
    assert bob_client.get(edit_url(slug)).status_code == 404
    assert bob_client.post(edit_url(slug), new_procedure_post(institution="INSTB")).status_code == 404
    assert bob_client.post(transition_url(slug, "archivar")).status_code == 404
    assert Procedure.objects.get(pk=procedure_b.pk).status == "publicado"
    listing = bob_client.get(LIST).content.decode()
    assert procedure_a.name in listing
    assert procedure_b.name not in listing


def test_charlie_cannot_see_or_touch_bobs_procedure(
    charlie_client: Client, procedure_a: Procedure, procedure_b: Procedure
) -> None:
    slug = procedure_a.slug
    assert charlie_client.get(detail_url(slug)).status_code == 404
    assert charlie_client.get(edit_url(slug)).status_code == 404
    assert charlie_client.post(edit_url(slug), new_procedure_post()).status_code == 404
    assert charlie_client.post(transition_url(slug, "enviar")).status_code == 404
    listing = charlie_client.get(LIST).content.decode()
    assert procedure_b.name in listing
    assert procedure_a.name not in listing


def test_agency_sees_every_institution(
    agency_client: Client, procedure_a: Procedure, procedure_b: Procedure
) -> None:
    html = agency_client.get(LIST).content.decode()
    assert procedure_a.name in html and procedure_b.name in html
    filtered = agency_client.get(LIST, {"institucion": "INSTB"}).content.decode()
    assert procedure_b.name in filtered and procedure_a.name not in filtered


def test_list_filters_by_status_and_text(
    bob_client: Client, procedure_a: Procedure, draft_a: Procedure
) -> None:
    html = bob_client.get(LIST, {"estado": "borrador"}).content.decode()
    assert draft_a.name in html and procedure_a.name not in html
    html = bob_client.get(LIST, {"q": "licencia"}).content.decode()
    assert procedure_a.name in html and draft_a.name not in html


def test_unknown_action_is_404_and_get_is_not_allowed(bob_client: Client, draft_a: Procedure) -> None:
    assert bob_client.post(transition_url(draft_a.slug, "borrar")).status_code == 404
    assert bob_client.get(transition_url(draft_a.slug, "enviar")).status_code == 405


# -------------------------------------------------------------------------------------------- workflow


def test_submit_review_and_publish(bob_client: Client, agency_client: Client, draft_a: Procedure) -> None:
    public = reverse("catalog:procedure-detail", kwargs={"slug": draft_a.slug})
    assert Client().get(public).status_code == 404

    response = bob_client.post(transition_url(draft_a.slug, "enviar"))
    assert response.status_code == 302
    draft_a.refresh_from_db()
    assert draft_a.status == "en_revision"

    assert bob_client.post(transition_url(draft_a.slug, "publicar")).status_code == 403
    draft_a.refresh_from_db()
    assert draft_a.status == "en_revision"

    detail = agency_client.get(detail_url(draft_a.slug)).content.decode()
    assert transition_url(draft_a.slug, "publicar") in detail
    response = agency_client.post(transition_url(draft_a.slug, "publicar"))
    assert response.status_code == 302
    draft_a.refresh_from_db()
    assert draft_a.status == "publicado"
    assert Client().get(public).status_code == 200


def test_invalid_transition_shows_a_message(bob_client: Client, procedure_a: Procedure) -> None:
    response = bob_client.post(transition_url(procedure_a.slug, "enviar"), follow=True)
    assert response.status_code == 200
    assert "No se puede «enviar a revisión»" in response.content.decode()
    assert Procedure.objects.get(pk=procedure_a.pk).status == "publicado"


def test_return_needs_a_comment(agency_client: Client, in_review_a: Procedure) -> None:
    response = agency_client.post(
        transition_url(in_review_a.slug, "devolver"), {"comentario": "  "}, follow=True
    )
    assert response.status_code == 200
    assert "Indique qué debe corregirse." in response.content.decode()
    assert Procedure.objects.get(pk=in_review_a.pk).status == "en_revision"

    response = agency_client.post(
        transition_url(in_review_a.slug, "devolver"), {"comentario": "Falta la base legal."}, follow=True
    )
    in_review_a.refresh_from_db()
    assert in_review_a.status == "borrador"
    assert in_review_a.review_comment == "Falta la base legal."
    assert "Falta la base legal." in response.content.decode()


def test_editing_a_published_procedure_waits_for_the_agency(
    bob_client: Client, agency_client: Client, procedure_a: Procedure
) -> None:
    public = reverse("catalog:procedure-detail", kwargs={"slug": procedure_a.slug})
    page = bob_client.get(edit_url(procedure_a.slug))
    assert page.status_code == 200
    assert "quedan como cambios pendientes" in page.content.decode()
    post = post_data_from_page(page)
    assert post["name"] == "Licencia de conducir"
    post["name"] = "Licencia de conducir (brevet)"

    response = bob_client.post(edit_url(procedure_a.slug), post)
    assert response.status_code == 302
    procedure_a.refresh_from_db()
    assert procedure_a.name == "Licencia de conducir"
    assert procedure_a.pending_data["name"] == "Licencia de conducir (brevet)"
    assert "Licencia de conducir (brevet)" not in Client().get(public).content.decode()

    detail = bob_client.get(detail_url(procedure_a.slug)).content.decode()
    assert "Cambios pendientes de aprobación" in detail
    assert "Licencia de conducir (brevet)" in detail  # the readable diff

    assert procedure_a.slug in agency_client.get(QUEUE).content.decode()
    response = agency_client.post(transition_url(procedure_a.slug, "publicar"))
    assert response.status_code == 302
    procedure_a.refresh_from_db()
    assert procedure_a.name == "Licencia de conducir (brevet)"
    assert procedure_a.pending_data is None
    assert "Licencia de conducir (brevet)" in Client().get(public).content.decode()


def test_saving_an_unchanged_edit_page_changes_nothing(bob_client: Client, draft_a: Procedure) -> None:
    version = draft_a.version
    page = bob_client.get(edit_url(draft_a.slug))
    response = bob_client.post(edit_url(draft_a.slug), post_data_from_page(page))
    assert response.status_code == 302
    draft_a.refresh_from_db()
    assert draft_a.version == version
    assert draft_a.requirements.count() == 1
    assert draft_a.channels.get().offices.count() == 1


def test_editing_a_draft_applies_at_once_and_can_delete_rows(bob_client: Client, draft_a: Procedure) -> None:
    page = bob_client.get(edit_url(draft_a.slug))
    post = post_data_from_page(page)
    post["requirements-0-DELETE"] = "on"
    post["steps-1-title"] = "Recoger el certificado"
    response = bob_client.post(edit_url(draft_a.slug), post)
    assert response.status_code == 302
    draft_a.refresh_from_db()
    assert draft_a.requirements.count() == 0
    assert [s.title for s in draft_a.steps.all()] == ["Presentarse en ventanilla", "Recoger el certificado"]
    assert draft_a.pending_data is None
    assert draft_a.versions.count() == 2


def test_detail_shows_history_and_the_actions_allowed(bob_client: Client, draft_a: Procedure) -> None:
    html = bob_client.get(detail_url(draft_a.slug)).content.decode()
    assert "Historial de versiones" in html
    assert transition_url(draft_a.slug, "enviar") in html
    assert transition_url(draft_a.slug, "publicar") not in html


# --------------------------------------------------------------------------------------------- import


CSV_HEADER = "slug,nombre,institucion,oficina,resumen,categoria,requisitos,canales,gratuito,costo,moneda\n"


def csv_file(body: str, name: str = "tramites.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (CSV_HEADER + body).encode(), content_type="text/csv")


GOOD_ROW = (
    "certificado-de-residencia,Certificado de residencia,INSTA,INSTA-SEDE,Acredita la residencia.,"
    "identidad-y-documentos,Cédula de identidad *|Factura de luz,presencial: INSTA-SEDE,no,15.00,BOB\n"
)


def test_import_with_a_bad_row_imports_nothing(bob_client: Client, procedure_a: Procedure) -> None:
    before = Procedure.objects.count()
    bad = "otro-tramite,Otro trámite,INSTA,,Resumen.,no-existe,,,si,,\n"
    response = bob_client.post(IMPORT, {"file": csv_file(GOOD_ROW + bad)})
    assert response.status_code == 200
    html = response.content.decode()
    assert "línea 3" in html
    assert "Categoría desconocida" in html
    assert "No se importó ningún trámite" in html
    assert Procedure.objects.count() == before


def test_import_a_valid_csv(bob_client: Client, institution_a: Any) -> None:
    response = bob_client.post(IMPORT, {"file": csv_file(GOOD_ROW)}, follow=True)
    assert response.status_code == 200
    assert "1 creado(s)" in response.content.decode()
    procedure = Procedure.objects.get(slug="certificado-de-residencia")
    assert procedure.status == "borrador"
    assert procedure.requirements.count() == 2


def test_bob_cannot_import_for_institution_b(
    bob_client: Client, institution_a: Any, institution_b: Any
) -> None:
    row = "permiso-municipal,Permiso municipal,INSTB,,Resumen.,vivienda-y-construccion,,,si,,\n"
    response = bob_client.post(IMPORT, {"file": csv_file(GOOD_ROW + row)})
    assert response.status_code == 200
    assert "No puede importar trámites de INSTB." in response.content.decode()
    assert not Procedure.objects.exists()


def test_import_refuses_other_formats(bob_client: Client, institution_a: Any) -> None:
    upload = SimpleUploadedFile("tramites.xlsx", b"PK\x03\x04", content_type="application/octet-stream")
    response = bob_client.post(IMPORT, {"file": upload})
    assert response.status_code == 200
    assert "Formato no admitido" in response.content.decode()


def test_import_page_explains_the_columns(bob_client: Client, institution_a: Any) -> None:
    html = bob_client.get(IMPORT).content.decode()
    assert "<code>requisitos</code>" in html
    assert export_url("csv") in html


# --------------------------------------------------------------------------------------------- export


def test_export_contains_only_own_procedures_in_any_status(
    bob_client: Client, procedure_a: Procedure, draft_a: Procedure, procedure_b: Procedure
) -> None:
    response = bob_client.get(export_url("csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode()
    assert procedure_a.slug in body and draft_a.slug in body
    assert procedure_b.slug not in body

    records = json.loads(bob_client.get(export_url("json")).content)
    assert {r["slug"] for r in records} == {procedure_a.slug, draft_a.slug}

    assert bob_client.get(export_url("xml")).status_code == 404


def test_export_reimports_unchanged(bob_client: Client, procedure_a: Procedure) -> None:
    exported = bob_client.get(export_url("csv")).content
    upload = SimpleUploadedFile("tramites.csv", exported, content_type="text/csv")
    response = bob_client.post(IMPORT, {"file": upload}, follow=True)
    assert "1 sin cambios" in response.content.decode()


# ------------------------------------------------------------------------------------------- simplification


def simplification_post(slug: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "procedure": slug,
        "date": "2025-03-01",
        "legal_act": "Resolución Administrativa 12/2025",
        "description": "Se eliminó la fotocopia de la cédula.",
        "requirements_before": "4",
        "requirements_after": "2",
        "steps_before": "3",
        "steps_after": "2",
        "days_before": "10",
        "days_after": "3",
        "cost_before": "50",
        "cost_after": "17",
        "channels_before": ["presencial"],
        "channels_after": ["presencial", "en_linea"],
        "annual_volume": "1000",
    }
    data.update(overrides)
    return data


def test_bob_records_a_simplification(bob_client: Client, procedure_a: Procedure) -> None:
    response = bob_client.post(SIMPLIFY, simplification_post(procedure_a.slug))
    assert response.status_code == 302
    assert response["Location"] == detail_url(procedure_a.slug)
    item = Simplification.objects.get()
    assert item.procedure == procedure_a
    assert item.requirements_after == 2
    assert item.channels_after == ["presencial", "en_linea"]
    assert item.citizen_days_saved == 7000
    assert AuditEntry.objects.filter(action="simplification.record").exists()


def test_charlie_cannot_record_a_simplification_for_a(
    charlie_client: Client, procedure_a: Procedure, procedure_b: Procedure
) -> None:
    page = charlie_client.get(SIMPLIFY).content.decode()
    assert procedure_b.slug in page and procedure_a.slug not in page
    response = charlie_client.post(SIMPLIFY, simplification_post(procedure_a.slug))
    assert response.status_code == 200
    assert 'href="#id_procedure"' in response.content.decode()
    assert not Simplification.objects.exists()


def test_simplification_validation_errors(bob_client: Client, procedure_a: Procedure) -> None:
    response = bob_client.post(
        SIMPLIFY, simplification_post(procedure_a.slug, legal_act="", steps_after="-1")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="#id_legal_act"' in html and 'href="#id_steps_after"' in html
    assert not Simplification.objects.exists()


# ----------------------------------------------------------------------------------------- query counts


def _list_queries(client: Client, url: str = LIST) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_queries_do_not_grow_with_rows(
    bob: Any, institution_a: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(3):
        make_procedure(institution_a, f"tramite-{i}", f"Trámite {i}")
    few = _list_queries(login(bob))
    for i in range(3, 15):
        make_procedure(institution_a, f"tramite-{i}", f"Trámite {i}", status="borrador")
    Procedure.objects.filter(slug="tramite-3").update(pending_data={"name": "Otro"})
    client = login(bob)
    with django_assert_max_num_queries(few):
        response = client.get(LIST)
    assert "Cambios pendientes" in response.content.decode()
    assert _list_queries(login(bob)) == few


def test_export_queries_do_not_grow_with_rows(bob: Any, institution_a: Any) -> None:
    for i in range(3):
        make_procedure(institution_a, f"tramite-{i}", f"Trámite {i}")
    few = _list_queries(login(bob), export_url("json"))
    for i in range(3, 15):
        make_procedure(institution_a, f"tramite-{i}", f"Trámite {i}", status="borrador")
    assert _list_queries(login(bob), export_url("json")) == few
