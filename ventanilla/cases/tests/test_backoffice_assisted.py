"""Assisted channels: a clerk files an application at the counter or by phone for a person identified by
document; bad input is refused field by field and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ventanilla.cases.models import Case, CaseFile
from ventanilla.cases.tests.conftest import PDF_BYTES, pdf_upload
from ventanilla.identity.account_selectors import document_parse, person_find_by_document

pytestmark = pytest.mark.django_db


def form_data(**changes: Any) -> dict[str, Any]:
    data = {
        "canal": "ventanilla",
        "p-document_type": "CI",
        "p-document_number": "3334445",
        "p-first_names": "Marcelo",
        "p-first_surname": "Huanca",
        "p-second_surname": "",
        "p-email": "marcelo@example.org",
        "p-mobile": "",
        "f-nombre_local": "Ferretería Sajama",
        "f-rubro": "comercio",
        "f-superficie": "25",
        "f-croquis": pdf_upload(),
    }
    data.update(changes)
    return data


def person(number: str) -> Any:
    document, _errors = document_parse("CI", number)
    return person_find_by_document(document=document)


def test_start_page_lists_my_published_procedures(
    clerk_a_client: Any, clerk_b_client: Any, definition_a: Any
) -> None:
    response = clerk_a_client.get(reverse("cases:assisted-new"))
    assert response.status_code == 200
    assert definition_a.procedure.name in response.content.decode()
    response = clerk_b_client.get(reverse("cases:assisted-new"))
    assert definition_a.procedure.name not in response.content.decode()
    # choosing it shows the person block and the dynamic form
    response = clerk_a_client.get(
        reverse("cases:assisted-new"), {"tramite": definition_a.procedure_id, "canal": "telefono"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        'name="p-document_number"' in html and 'name="f-nombre_local"' in html and 'name="f-croquis"' in html
    )
    # another institution's procedure is not a choice
    response = clerk_b_client.get(
        reverse("cases:assisted-new"), {"tramite": definition_a.procedure_id, "canal": "telefono"}
    )
    assert response.status_code == 400
    assert 'name="f-nombre_local"' not in response.content.decode()


def test_counter_filing_creates_unknown_person_and_records_channel(
    clerk_a: Any, clerk_a_client: Any, definition_a: Any
) -> None:
    assert person("3334445") is None
    response = clerk_a_client.post(
        reverse("cases:assisted-new"), form_data(tramite=definition_a.procedure_id)
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    case = Case.objects.get()
    assert response["Location"] == reverse("cases:assisted-done", args=[case.tracking_code])
    assert case.channel == Case.Channel.COUNTER
    assert case.filed_by == clerk_a
    assert case.status == Case.Status.IN_PROCESS
    assert case.data["nombre_local"] == "Ferretería Sajama"
    created = person("3334445")
    assert created is not None and case.applicant == created
    assert created.first_names == "Marcelo" and created.user_id is None
    assert case.files.get().name == "croquis"
    html = clerk_a_client.get(response["Location"]).content.decode()
    assert case.tracking_code in html


def test_phone_filing_for_a_known_person(clerk_a_client: Any, definition_a: Any, applicant: Any) -> None:
    data = form_data(tramite=definition_a.procedure_id, canal="telefono")
    data.update({"p-document_number": "7654321", "p-first_names": "", "p-first_surname": ""})
    response = clerk_a_client.post(reverse("cases:assisted-new"), data)
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.channel == Case.Channel.PHONE
    assert case.applicant.user == applicant


def test_unknown_person_without_names_is_refused(clerk_a_client: Any, definition_a: Any) -> None:
    data = form_data(tramite=definition_a.procedure_id)
    data["p-first_names"] = ""
    response = clerk_a_client.post(reverse("cases:assisted-new"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "indique sus nombres" in html
    assert 'href="#id_p-first_names"' in html
    assert Case.objects.count() == 0 and person("3334445") is None


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("croquis.pdf", b"GIF89a not a pdf", content_type="application/pdf"),
            "Tipo de archivo no admitido",
        ),
        (
            SimpleUploadedFile(
                "croquis.pdf", PDF_BYTES + b"0" * (1024 * 1024 + 1), content_type="application/pdf"
            ),
            "supera el tamaño máximo",
        ),
    ],
)
def test_bad_upload_refused_with_field_message_and_nothing_written(
    clerk_a_client: Any, definition_a: Any, upload: Any, message: str
) -> None:
    response = clerk_a_client.post(
        reverse("cases:assisted-new"), form_data(tramite=definition_a.procedure_id, **{"f-croquis": upload})
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'id="id_f-croquis-error"' in html and 'href="#id_f-croquis"' in html
    # what the clerk typed stays on the page
    assert "Ferretería Sajama" in html
    assert Case.objects.count() == 0
    assert CaseFile.objects.count() == 0
    assert person("3334445") is None


def test_missing_choice_links_to_its_first_radio(clerk_a_client: Any, definition_a: Any) -> None:
    data = form_data(tramite=definition_a.procedure_id)
    del data["f-rubro"]
    response = clerk_a_client.post(reverse("cases:assisted-new"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#id_f-rubro-1"' in html and 'id="id_f-rubro-1"' in html
    assert Case.objects.count() == 0


def test_bad_answers_refused_next_to_each_field(clerk_a_client: Any, definition_a: Any) -> None:
    data = form_data(tramite=definition_a.procedure_id, **{"f-nombre_local": "", "f-superficie": "mucho"})
    response = clerk_a_client.post(reverse("cases:assisted-new"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_f-nombre_local-error"' in html and "Este dato es obligatorio." in html
    assert 'id="id_f-superficie-error"' in html and "Escriba un número." in html
    assert 'href="#id_f-nombre_local"' in html
    assert Case.objects.count() == 0 and CaseFile.objects.count() == 0


def test_editor_cannot_file_for_others(bob_client: Any, definition_a: Any) -> None:
    response = bob_client.post(reverse("cases:assisted-new"), form_data(tramite=definition_a.procedure_id))
    assert response.status_code == 403
    assert Case.objects.count() == 0
