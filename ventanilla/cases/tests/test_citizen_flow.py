"""A citizen applies through the web pages: start, draft with errors refused (nothing half-saved), review,
submit with tracking code and signed receipt, "Mis trámites", correction after an observation, resolution
download; the public status check shows status only."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from conftest import login
from ventanilla.cases.models import Case, CaseEvent, CaseFile

from .conftest import PDF_BYTES, pdf_upload

pytestmark = pytest.mark.django_db


def _post_answers(client: Any, url: str, *, button: str = "continuar", **extra: Any) -> Any:
    data = {
        "f-nombre_local": "Tienda Illimani",
        "f-rubro": "comercio",
        "f-superficie": "40",
        button: "1",
    }
    data.update(extra)
    return client.post(url, data)


def test_procedure_page_offers_to_start_once_a_definition_is_published(
    client: Any, definition_a: Any
) -> None:
    page = client.get(definition_a.procedure.get_absolute_url())
    assert reverse("cases:apply-start", args=[definition_a.procedure.slug]) in page.content.decode()


def test_start_requires_sign_in(client: Any, definition_a: Any) -> None:
    response = client.get(reverse("cases:apply-start", args=[definition_a.procedure.slug]))
    assert response.status_code == 302
    assert reverse("identity:login") in response["Location"]


def test_start_refuses_when_level_too_low(applicant: Any, definition_a: Any, agency: Any) -> None:
    from .conftest import publish, spec

    publish(definition_a.procedure, agency, spec(min_assurance="verificado"))
    response = login(applicant).get(reverse("cases:apply-start", args=[definition_a.procedure.slug]))
    assert response.status_code == 403
    assert "verificado" in response.content.decode()
    assert not Case.objects.exists()


def test_draft_prefills_known_data_and_resumes(applicant: Any, definition_a: Any, agency: Any) -> None:
    from .conftest import publish, spec

    fields = [
        *spec()["fields"],
        {"name": "titular", "label": "Titular", "type": "text", "prefill": "person.full_name"},
    ]
    publish(definition_a.procedure, agency, spec(fields=fields))
    client = login(applicant)
    start = reverse("cases:apply-start", args=[definition_a.procedure.slug])
    first = client.get(start)
    again = client.get(start)
    assert first["Location"] == again["Location"]  # resumes the same draft
    page = client.get(first["Location"])
    assert 'value="Rosa Quispe Mamani"' in page.content.decode()
    assert Case.objects.get().data["titular"] == "Rosa Quispe Mamani"


def test_bad_input_and_bad_upload_are_refused_and_nothing_is_saved(applicant: Any, definition_a: Any) -> None:
    client = login(applicant)
    edit = client.get(reverse("cases:apply-start", args=[definition_a.procedure.slug]))["Location"]
    case = Case.objects.get()
    before = dict(case.data)
    fake_pdf = pdf_upload("croquis.pdf", b"MZ\x90\x00 not a pdf")
    response = client.post(
        edit,
        {
            "f-nombre_local": "A",
            "f-rubro": "inventado",
            "f-superficie": "-3",
            "f-croquis": fake_pdf,
            "continuar": "1",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Escriba al menos 3 caracteres." in html
    assert "Elija una opción de la lista." in html
    assert "El valor mínimo es 1." in html
    assert "Tipo de archivo no admitido" in html
    assert 'href="#id_f-nombre_local"' in html  # the error summary links to the field
    case.refresh_from_db()
    assert case.data == before
    assert not CaseFile.objects.exists()


def test_too_big_upload_is_refused(applicant: Any, definition_a: Any) -> None:
    client = login(applicant)
    edit = client.get(reverse("cases:apply-start", args=[definition_a.procedure.slug]))["Location"]
    big = pdf_upload("croquis.pdf", PDF_BYTES + b"0" * (1024 * 1024 + 1))
    response = _post_answers(client, edit, **{"f-croquis": big})
    assert response.status_code == 400
    assert "supera el tamaño máximo de 1 MB" in response.content.decode()
    assert not CaseFile.objects.exists()


def test_conditional_field_is_required_only_when_shown(applicant: Any, definition_a: Any) -> None:
    client = login(applicant)
    edit = client.get(reverse("cases:apply-start", args=[definition_a.procedure.slug]))["Location"]
    response = _post_answers(client, edit, **{"f-rubro": "otro", "f-croquis": pdf_upload()})
    assert response.status_code == 400
    assert "Este dato es obligatorio." in response.content.decode()
    # The refused post saved nothing (not even the croquis): send it again.
    response = _post_answers(
        client, edit, **{"f-rubro": "comercio", "f-detalle": "ignorado", "f-croquis": pdf_upload()}
    )
    assert response.status_code == 302
    assert "detalle" not in Case.objects.get().data  # hidden answers are dropped


def test_drafts_are_private_and_out_of_queues(applicant: Any, definition_a: Any, clerk_a_client: Any) -> None:
    client = login(applicant)
    edit = client.get(reverse("cases:apply-start", args=[definition_a.procedure.slug]))["Location"]
    other = login(
        __import__("ventanilla.identity.tests.conftest", fromlist=["x"]).make_citizen(
            "CI-1112223", number="1112223"
        )
    )
    assert other.get(edit).status_code == 404
    from ventanilla.cases.selectors import QueueFilters, case_queue
    from ventanilla.core.models import Membership

    clerk = Membership.objects.get(user__username="clerk_a").user
    assert list(case_queue(actor=clerk, filters=QueueFilters())) == []


def test_end_to_end_apply_observe_correct_approve_resolve(
    applicant: Any, definition_a: Any, clerk_a: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = login(applicant)
    edit = client.get(reverse("cases:apply-start", args=[definition_a.procedure.slug]))["Location"]
    # Save a partial draft, then complete it.
    assert client.post(edit, {"f-nombre_local": "Tienda Illimani", "guardar": "1"}).status_code == 302
    review = _post_answers(client, edit, **{"f-croquis": pdf_upload()})
    assert review.status_code == 302 and review["Location"].endswith("/revisar/")
    page = client.get(review["Location"])
    assert "Tienda Illimani" in page.content.decode() and "croquis.pdf" in page.content.decode()
    assert client.post(review["Location"], {}).status_code == 400  # must confirm
    with django_capture_on_commit_callbacks(execute=True):
        submitted = client.post(review["Location"], {"confirmo": "1"})
    case = Case.objects.get()
    assert case.status == Case.Status.IN_PROCESS and case.tracking_code
    assert submitted["Location"] == reverse("cases:my-case", args=[case.tracking_code])
    assert case.current_step == "recepcion" and case.step_due_date and case.due_date >= case.step_due_date
    assert any(case.tracking_code in m.body for m in mail.outbox)
    receipt = client.get(reverse("cases:case-document", args=[case.tracking_code, "constancia"]))
    assert receipt.status_code == 200 and b"".join(receipt.streaming_content).startswith(b"%PDF")

    listing = client.get(reverse("cases:my-cases")).content.decode()
    assert case.tracking_code in listing and "En trámite" in listing

    # The clerk observes in the back office; the citizen sees what to fix and corrects.
    clerk = login(clerk_a)
    act = reverse("cases:staff-transition", args=[case.tracking_code])
    with django_capture_on_commit_callbacks(execute=True):
        observed = clerk.post(
            act,
            {"action": "observe", "version": case.version, "reason": "El croquis no indica la dirección."},
        )
    assert observed.status_code == 302, observed.content.decode()[:500]
    detail = client.get(reverse("cases:my-case", args=[case.tracking_code])).content.decode()
    assert "El croquis no indica la dirección." in detail and "Corregir mi solicitud" in detail
    correct_url = reverse("cases:case-correct", args=[case.tracking_code])
    bad = client.post(correct_url, {"f-nombre_local": "", "f-rubro": "comercio"})
    assert bad.status_code == 400
    fixed = client.post(
        correct_url,
        {
            "f-nombre_local": "Tienda Illimani",
            "f-rubro": "comercio",
            "f-croquis": pdf_upload("croquis-v2.pdf"),
        },
    )
    assert fixed.status_code == 302
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROCESS
    assert (
        CaseFile.objects.filter(case=case, replaced_at__isnull=True).get().original_name == "croquis-v2.pdf"
    )

    # The clerk approves and resolves in the back office; the citizen downloads the signed resolution.
    assert clerk.post(act, {"action": "approve", "version": case.version}).status_code == 302
    case.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert clerk.post(act, {"action": "resolve", "version": case.version}).status_code == 302
    case.refresh_from_db()
    assert case.status == Case.Status.RESOLVED and case.resolution_document_id
    resolution = client.get(reverse("cases:case-document", args=[case.tracking_code, "resolucion"]))
    assert resolution.status_code == 200
    assert b"".join(resolution.streaming_content).startswith(b"%PDF")
    kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds == ["creado", "presentado", "observar", "corregir", "aprobar", "resolver"]


def test_public_status_check_needs_code_and_document(client: Any, file_case: Any) -> None:
    case = file_case()
    url = reverse("cases:status-check")
    wrong = client.post(url, {"code": case.tracking_code, "document_number": "9999999"})
    assert wrong.status_code == 404
    right = client.post(
        url, {"code": case.tracking_code.lower().replace("-", ""), "document_number": "7654321"}
    )
    html = right.content.decode()
    assert right.status_code == 200 and "En trámite" in html
    assert "Rosa" not in html and "Tienda Illimani" not in html  # no personal data, no answers


def test_someone_else_cannot_see_my_case(file_case: Any, alice: Any) -> None:
    case = file_case()
    other = login(alice)
    assert other.get(reverse("cases:my-case", args=[case.tracking_code])).status_code == 404
    assert (
        other.get(reverse("cases:case-document", args=[case.tracking_code, "constancia"])).status_code == 404
    )


def test_my_cases_uses_a_constant_number_of_queries(
    applicant: Any, file_case: Any, django_assert_max_num_queries: Any
) -> None:
    client = login(applicant)
    file_case()
    client.get(reverse("cases:my-cases"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(reverse("cases:my-cases"))
    for _i in range(4):
        file_case()
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(reverse("cases:my-cases")).status_code == 200
