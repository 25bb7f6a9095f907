"""The clerk's case view: what it shows, who may see it (404 for another institution), and every action
through HTTP (claim, assign, note, approve, observe, derive, reject, resolve, stale version → 409)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from ventanilla.cases.models import Case, CaseEvent
from ventanilla.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def act(client: Any, case: Any, action: str, **data: Any) -> Any:
    payload = {"action": action, "version": case.version, "reason": "", "office": ""}
    payload.update(data)
    return client.post(reverse("cases:staff-transition", args=[case.tracking_code]), payload)


def test_case_view_shows_answers_files_and_timeline(clerk_a_client: Any, file_case: Any) -> None:
    case = file_case()
    response = clerk_a_client.get(reverse("cases:staff-case", args=[case.tracking_code]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Tienda Illimani" in html and "Comercio" in html  # answers with labels
    assert "Rosa Quispe Mamani" in html and "CI 7654321" in html
    assert "croquis.pdf" in html
    assert reverse("cases:staff-document", args=[case.tracking_code, "constancia"]) in html
    assert "Solicitud presentada" in html
    # the actions of the first step only
    assert 'value="approve"' in html and 'value="derive"' in html and 'value="resolve"' not in html


def test_other_institution_gets_404_on_case_file_and_document(
    clerk_b_client: Any, clerk_a_client: Any, file_case: Any
) -> None:
    case = file_case()
    stored = case.files.get()
    urls = [
        reverse("cases:staff-case", args=[case.tracking_code]),
        reverse("cases:staff-file", args=[case.tracking_code, stored.pk]),
        reverse("cases:staff-document", args=[case.tracking_code, "constancia"]),
    ]
    for url in urls:
        assert clerk_b_client.get(url).status_code == 404, url
    assert act(clerk_b_client, case, "approve").status_code == 404
    assert (
        clerk_b_client.post(reverse("cases:staff-note", args=[case.tracking_code]), {"text": "x"}).status_code
        == 404
    )
    case.refresh_from_db()
    assert case.current_step == "recepcion"
    # the clerk of A downloads the stored file as an attachment
    response = clerk_a_client.get(urls[1])
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    response = clerk_a_client.get(urls[2])
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_editor_and_citizen_cannot_open_the_case(bob_client: Any, applicant: Any, file_case: Any) -> None:
    from conftest import login

    case = file_case()
    url = reverse("cases:staff-case", args=[case.tracking_code])
    assert bob_client.get(url).status_code == 403
    assert login(applicant).get(url).status_code == 403


def test_approve_moves_to_next_step(clerk_a: Any, clerk_a_client: Any, file_case: Any) -> None:
    case = file_case()
    response = act(clerk_a_client, case, "approve")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.current_step == "revision"
    assert case.status == Case.Status.IN_PROCESS
    assert AuditEntry.objects.filter(action="case.approve", target_id=str(case.pk), actor=clerk_a).exists()
    html = clerk_a_client.get(response["Location"]).content.decode()
    assert "Acción registrada" in html
    assert 'value="resolve"' in html


def test_observe_requires_a_reason(clerk_a_client: Any, file_case: Any) -> None:
    case = file_case()
    response = act(clerk_a_client, case, "observe", reason="   ")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Indique el motivo." in html
    assert 'href="#accion-observe-reason"' in html
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROCESS and case.version == 1

    response = act(clerk_a_client, case, "observe", reason="El croquis no tiene escala.")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Case.Status.OBSERVED
    assert case.observation == "El croquis no tiene escala."
    assert case.observation_due_date is not None
    assert AuditEntry.objects.filter(action="case.observe", target_id=str(case.pk)).exists()


def test_derive_to_another_office(clerk_a_client: Any, file_case: Any, second_office_a: Any) -> None:
    case = file_case()
    assert (
        act(clerk_a_client, case, "derive", reason="Corresponde a la zona norte").status_code == 400
    )  # no office
    response = act(clerk_a_client, case, "derive", reason="Corresponde a la zona norte", office="INSTA-NORTE")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.office == second_office_a
    assert case.events.filter(kind=CaseEvent.Kind.DERIVE).exists()


def test_reject_and_closed_case_has_no_actions(clerk_a_client: Any, file_case: Any) -> None:
    case = file_case()
    response = act(clerk_a_client, case, "reject", reason="No corresponde a esta institución.")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Case.Status.REJECTED
    assert case.outcome_reason == "No corresponde a esta institución."
    html = clerk_a_client.get(reverse("cases:staff-case", args=[case.tracking_code])).content.decode()
    assert "Expediente cerrado" in html and 'name="action"' not in html
    # an action not allowed any more is refused with a message, nothing changes
    response = act(clerk_a_client, case, "approve")
    assert response.status_code == 409
    case.refresh_from_db()
    assert case.status == Case.Status.REJECTED


def test_action_not_allowed_at_the_step_is_refused(clerk_a_client: Any, file_case: Any) -> None:
    case = file_case()
    response = act(clerk_a_client, case, "resolve")  # only at "revision"
    assert response.status_code == 409
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROCESS and case.version == 1


def test_stale_version_gets_409_and_nothing_changes(clerk_a_client: Any, file_case: Any) -> None:
    case = file_case()
    stale = case.version
    assert act(clerk_a_client, case, "approve").status_code == 302
    case.refresh_from_db()
    response = clerk_a_client.post(
        reverse("cases:staff-transition", args=[case.tracking_code]),
        {"action": "reject", "version": stale, "reason": "Duplicado"},
    )
    assert response.status_code == 409
    assert "El expediente cambió" in response.content.decode()
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROCESS and case.current_step == "revision"


def test_resolve_issues_the_resolution(clerk_a_client: Any, file_case: Any) -> None:
    case = file_case()
    act(clerk_a_client, case, "approve")
    case.refresh_from_db()
    response = act(clerk_a_client, case, "resolve")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Case.Status.RESOLVED
    assert case.resolution_document_id
    response = clerk_a_client.get(reverse("cases:staff-document", args=[case.tracking_code, "resolucion"]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_assign_and_note_are_audited(
    clerk_a: Any, clerk_a2: Any, clerk_a_client: Any, file_case: Any
) -> None:
    case = file_case()
    response = clerk_a_client.post(
        reverse("cases:staff-assign", args=[case.tracking_code]),
        {"version": case.version, "user": clerk_a2.pk},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.assigned_to == clerk_a2
    entry = AuditEntry.objects.get(action="case.assign", target_id=str(case.pk))
    assert entry.actor == clerk_a and entry.after == {"assigned_to": clerk_a2.pk}
    assert case.events.filter(kind=CaseEvent.Kind.ASSIGN, internal=True).exists()

    response = clerk_a_client.post(
        reverse("cases:staff-note", args=[case.tracking_code]), {"text": "Llamar al solicitante"}
    )
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="case.note", target_id=str(case.pk), actor=clerk_a).exists()
    note = case.events.get(kind=CaseEvent.Kind.NOTE)
    assert note.internal and note.comment == "Llamar al solicitante"
    html = clerk_a_client.get(reverse("cases:staff-case", args=[case.tracking_code])).content.decode()
    assert "Llamar al solicitante" in html and "Interno" in html

    # an empty note is refused next to the field
    response = clerk_a_client.post(reverse("cases:staff-note", args=[case.tracking_code]), {"text": ""})
    assert response.status_code == 400
    assert case.events.filter(kind=CaseEvent.Kind.NOTE).count() == 1


def test_assign_to_someone_of_another_institution_is_refused(
    clerk_a_client: Any, clerk_b: Any, file_case: Any
) -> None:
    case = file_case()
    response = clerk_a_client.post(
        reverse("cases:staff-assign", args=[case.tracking_code]),
        {"version": case.version, "user": clerk_b.pk},
    )
    assert response.status_code == 400
    case.refresh_from_db()
    assert case.assigned_to is None
