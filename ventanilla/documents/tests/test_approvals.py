"""Citizen approval of documents through HTTP: staff of institution A ask, the person reviews in Mi cuenta and
approves after authenticating again (password, plus TOTP when enrolled); the approval is recorded with time,
method and hash, and a signed evidence PDF is issued. Institution B's staff and other people see nothing."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pyotp
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from ventanilla.core.models import AuditEntry
from ventanilla.documents import pki, selectors
from ventanilla.documents.models import ApprovalRequest, Document
from ventanilla.identity.tests.conftest import PASSWORD, make_citizen

from .conftest import SAMPLE_TEMPLATE, issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def citizen(db: Any) -> Any:
    return make_citizen("CI-4567891", number="4567891", first_names="Juana", first_surname="Quispe")


@pytest.fixture
def contract_pdf(institution_a: Any) -> bytes:
    """Any PDF will do as the document to approve: one of ours, unsigned."""
    document = issue(institution_a, title="Contrato de servicios", sign=False, template_name=SAMPLE_TEMPLATE)
    return selectors.document_content(document)


def _request(client: Client, institution: Any, pdf: bytes, **extra: Any) -> Any:
    data = {
        "institution": institution.pk,
        "document_type": "CI",
        "document_number": "4567891",
        "title": "Contrato de servicios 2026",
        "description": "Contrato de provisión de agua potable.",
        "reference": "EXP-77",
        "file": SimpleUploadedFile("contrato.pdf", pdf, content_type="application/pdf"),
    }
    data.update(extra)
    return client.post("/gestion/documentos/aprobaciones/nueva/", data)


@pytest.fixture
def pending(bob_client: Client, institution_a: Any, citizen: Any, contract_pdf: bytes) -> ApprovalRequest:
    response = _request(bob_client, institution_a, contract_pdf)
    assert response.status_code == 302, response.content.decode()[:3000]
    return ApprovalRequest.objects.get()


def test_staff_create_form_is_accessible_and_validates(
    bob_client: Client, institution_a: Any, citizen: Any, check_page: Any
) -> None:
    check_page(bob_client.get("/gestion/documentos/aprobaciones/nueva/"))
    check_page(bob_client.get("/gestion/documentos/aprobaciones/"))
    not_pdf = _request(bob_client, institution_a, b"hola")
    assert not_pdf.status_code == 400 and "no es un PDF" in not_pdf.content.decode()
    unknown = _request(bob_client, institution_a, b"%PDF-1.4\n", document_number="9999999")
    assert unknown.status_code == 400 and "No hay una cuenta" in unknown.content.decode()
    assert not ApprovalRequest.objects.exists()


def test_citizen_approves_with_fresh_password(
    pending: ApprovalRequest, citizen: Any, sign_in: Any, contract_pdf: bytes, check_page: Any
) -> None:
    assert pending.sha256 == pki.sha256_hex(contract_pdf) and pending.status == "pendiente"
    client = sign_in("4567891")
    listing = client.get("/cuenta/aprobaciones/")
    check_page(listing)
    assert "Contrato de servicios 2026" in listing.content.decode()
    url = f"/cuenta/aprobaciones/{pending.public_id}/"
    page = client.get(url)
    check_page(page)
    assert 'name="code"' not in page.content.decode()  # no MFA enrolled: password only
    download = client.get(url + "documento")
    assert download.status_code == 200 and download.content == contract_pdf

    wrong = client.post(url, {"decision": "aprobar", "password": "otra-clave-123"})
    assert wrong.status_code == 400 and "La contraseña no es correcta" in wrong.content.decode()
    pending.refresh_from_db()
    assert pending.status == "pendiente"

    response = client.post(url, {"decision": "aprobar", "password": PASSWORD, "comment": "De acuerdo"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "aprobado" and pending.decision_amr == ["pwd"]
    assert pending.decision_sha256 == pending.sha256
    assert pending.decided_at is not None
    assert timezone.now() - pending.decided_at < dt.timedelta(minutes=1)
    evidence = pending.evidence
    assert evidence is not None and evidence.kind == "aprobacion" and evidence.person_id == citizen.person.pk
    assert selectors.document_verify(code=evidence.code).outcome == "valid"
    evidence_pdf = selectors.document_content(evidence)
    assert b"/EmbeddedFiles" in evidence_pdf  # the original travels inside the evidence
    entry = AuditEntry.objects.get(action="document_approval.approve")
    assert entry.after is not None
    assert entry.after["sha256"] == pending.sha256 and entry.after["amr"] == ["pwd"]
    # The constancia can be downloaded by the person, and the page offers no second answer.
    after = client.get(url)
    assert evidence.code in after.content.decode() and 'name="password"' not in after.content.decode()
    assert client.get(url + "constancia.pdf").content == evidence_pdf
    again = client.post(url, {"decision": "rechazar", "password": PASSWORD})
    assert again.status_code == 200
    pending.refresh_from_db()
    assert pending.status == "aprobado"


def test_citizen_with_totp_must_give_a_code(pending: ApprovalRequest, citizen: Any) -> None:
    from ventanilla.identity import accounts

    # Enrol through the identity services, as Mi cuenta does; the confirming code uses the current step.
    accounts.totp_enrol_start(actor=citizen)
    enrolment = accounts.totp_enrolment_get(actor=citizen)
    assert enrolment is not None
    totp = pyotp.TOTP(enrolment.secret)
    accounts.totp_confirm(actor=citizen, code=totp.now())
    client = Client()
    client.force_login(citizen)
    url = f"/cuenta/aprobaciones/{pending.public_id}/"
    assert 'name="code"' in client.get(url).content.decode()
    missing = client.post(url, {"decision": "aprobar", "password": PASSWORD})
    assert missing.status_code == 400
    wrong = client.post(
        url,
        {
            "decision": "aprobar",
            "password": PASSWORD,
            "code": "000000" if totp.now() != "000000" else "111111",
        },
    )
    assert wrong.status_code == 400 and "código no es correcto" in wrong.content.decode()
    pending.refresh_from_db()
    assert pending.status == "pendiente"
    ok = client.post(url, {"decision": "aprobar", "password": PASSWORD, "code": totp.at(time.time() + 30)})
    assert ok.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "aprobado" and pending.decision_amr == ["pwd", "otp"]


def test_citizen_rejects(pending: ApprovalRequest, citizen: Any) -> None:
    client = Client()
    client.force_login(citizen)
    response = client.post(
        f"/cuenta/aprobaciones/{pending.public_id}/", {"decision": "rechazar", "password": PASSWORD}
    )
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "rechazado" and pending.evidence is None and pending.decision_amr == ["pwd"]
    assert not Document.objects.filter(kind="aprobacion").exists()


def test_other_institution_and_other_people_see_nothing(
    pending: ApprovalRequest, charlie_client: Client, bob_client: Client, alice: Any
) -> None:
    base = f"/gestion/documentos/aprobaciones/{pending.public_id}/"
    assert bob_client.get(base).status_code == 200
    assert pending.title not in charlie_client.get("/gestion/documentos/aprobaciones/").content.decode()
    assert charlie_client.get(base).status_code == 404
    assert charlie_client.get(base + "documento").status_code == 404
    assert charlie_client.post(base, {"accion": "cancelar"}).status_code == 404
    other = make_citizen("CI-1112223", number="1112223")
    stranger = Client()
    stranger.force_login(other)
    mine = f"/cuenta/aprobaciones/{pending.public_id}/"
    assert stranger.get(mine).status_code == 404
    assert stranger.get(mine + "documento").status_code == 404
    assert stranger.post(mine, {"decision": "aprobar", "password": PASSWORD}).status_code == 404
    citizen_without_role = Client()
    citizen_without_role.force_login(alice)
    assert citizen_without_role.get("/gestion/documentos/aprobaciones/").status_code == 404
    pending.refresh_from_db()
    assert pending.status == "pendiente"


def test_staff_cancel_pending_request(pending: ApprovalRequest, bob_client: Client, citizen: Any) -> None:
    base = f"/gestion/documentos/aprobaciones/{pending.public_id}/"
    assert bob_client.post(base, {"accion": "cancelar"}).status_code == 302
    pending.refresh_from_db()
    assert pending.status == "cancelado"
    client = Client()
    client.force_login(citizen)
    assert pending.title not in client.get("/cuenta/aprobaciones/").content.decode()


def test_lists_use_a_constant_number_of_queries(
    bob_client: Client,
    institution_a: Any,
    citizen: Any,
    contract_pdf: bytes,
    django_assert_max_num_queries: Any,
) -> None:
    for index in range(3):
        assert _request(bob_client, institution_a, contract_pdf, title=f"Contrato {index}").status_code == 302
    citizen_client = Client()
    citizen_client.force_login(citizen)

    def count(client: Client, url: str) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    staff_3, mine_3 = (
        count(bob_client, "/gestion/documentos/aprobaciones/"),
        count(citizen_client, "/cuenta/aprobaciones/"),
    )
    docs_3 = count(bob_client, "/gestion/documentos/")
    for index in range(3, 6):
        _request(bob_client, institution_a, contract_pdf, title=f"Contrato {index}")
        issue(institution_a, sign=False)
    assert count(bob_client, "/gestion/documentos/aprobaciones/") == staff_3
    assert count(citizen_client, "/cuenta/aprobaciones/") == mine_3
    assert count(bob_client, "/gestion/documentos/") == docs_3


def test_staff_revoke_page(
    bob_client: Client, charlie_client: Client, institution_a: Any, check_page: Any
) -> None:
    document = issue(institution_a)
    url = f"/gestion/documentos/{document.code}/revocar/"
    check_page(bob_client.get("/gestion/documentos/"))
    assert charlie_client.get(url).status_code == 404
    assert document.code not in charlie_client.get("/gestion/documentos/").content.decode()
    check_page(bob_client.get(url))
    assert bob_client.post(url, {"reason": ""}).status_code == 400
    assert bob_client.post(url, {"reason": "Datos erróneos"}).status_code == 302
    document.refresh_from_db()
    assert document.status == "revoked" and document.revoke_reason == "Datos erróneos"
    assert re.search("Documento revocado", Client().get(document.verify_path).content.decode())


def test_decision_attempts_are_throttled_per_account(
    pending: ApprovalRequest, citizen: Any, settings: Any
) -> None:
    settings.VENTANILLA_RATE_LIMITS = {"approval_password": {"limit": 2, "window": 900}}
    client = Client()
    client.force_login(citizen)
    url = f"/cuenta/aprobaciones/{pending.public_id}/"
    for _attempt in range(2):
        assert client.post(url, {"decision": "aprobar", "password": "mala-clave-000"}).status_code == 400
    locked = client.post(url, {"decision": "aprobar", "password": PASSWORD})
    assert locked.status_code == 429
    pending.refresh_from_db()
    assert pending.status == "pendiente"


def test_account_navigation_links_to_approvals(citizen: Any) -> None:
    client = Client()
    client.force_login(citizen)
    html = client.get("/cuenta/aprobaciones/").content.decode()
    assert 'href="/cuenta/aprobaciones/" class="usa-current" aria-current="page"' in html


def test_json_request_page_passes_checks(citizen: Any, institution_a: Any, bob: Any, check_page: Any) -> None:
    from ventanilla.documents import services

    approval = services.approval_request_create(
        actor=bob,
        data=services.ApprovalData(
            institution_id=institution_a.pk,
            person_id=citizen.person.pk,
            title="Declaración jurada",
            content_type="JSON",
            content=b'{"ingresos": 1000}',
        ),
    )
    client = Client()
    client.force_login(citizen)
    page = client.get(f"/cuenta/aprobaciones/{approval.public_id}/")
    check_page(page)
    assert "ingresos" in page.content.decode()


def test_unverified_account_cannot_see_or_decide(
    pending: ApprovalRequest, citizen: Any, check_page: Any
) -> None:
    """Regression: an account that claimed, at «básico» and without confirmed contacts, a Person an
    institution created could read and approve the documents addressed to that Person."""
    from ventanilla.core.errors import DomainError
    from ventanilla.documents import services

    citizen.person.__class__.objects.filter(pk=citizen.person.pk).update(
        assurance_level="basico", email_verified=False, mobile_verified=True
    )
    client = Client()
    client.force_login(citizen)
    listing = client.get("/cuenta/aprobaciones/").content.decode()
    assert "Contrato de servicios 2026" not in listing and "Verifique su identidad" in listing
    page = client.get(f"/cuenta/aprobaciones/{pending.public_id}/")
    assert page.status_code == 403 and "Contrato de servicios 2026" not in page.content.decode()
    assert 'href="/cuenta/"' in page.content.decode()
    page.status_code = 200  # the page checks (one h1, labels, CSP) on the explanation page
    check_page(page)
    check_page(client.get("/cuenta/aprobaciones/"))
    assert client.get(f"/cuenta/aprobaciones/{pending.public_id}/documento").status_code == 403
    posted = client.post(
        f"/cuenta/aprobaciones/{pending.public_id}/", {"decision": "aprobar", "password": PASSWORD}
    )
    assert posted.status_code == 403
    with pytest.raises(DomainError) as refused:
        services.approval_decide(
            actor=type(citizen).objects.get(pk=citizen.pk),
            public_id=pending.public_id,
            approve=True,
            password=PASSWORD,
        )
    assert refused.value.code == "identity_not_verified"
    pending.refresh_from_db()
    assert pending.status == "pendiente" and pending.evidence is None
    # Verified identity: allowed again.
    citizen.person.__class__.objects.filter(pk=citizen.person.pk).update(assurance_level="verificado")
    assert client.get(f"/cuenta/aprobaciones/{pending.public_id}/").status_code == 200


def test_evidence_is_rendered_outside_the_lock_and_dropped_if_decided_meanwhile(
    pending: ApprovalRequest, citizen: Any, monkeypatch: Any
) -> None:
    """Rendering and signing happen before the row lock; if another decision lands meanwhile, nothing is
    stored (no evidence document for a decision that did not happen)."""
    from ventanilla.core.errors import DomainError
    from ventanilla.documents import services

    real_prepare = services.document_prepare
    locked_while_rendering: list[bool] = []

    def prepare_during_a_concurrent_rejection(**kwargs: Any) -> Any:
        prepared = real_prepare(**kwargs)
        locked_while_rendering.append(True)
        ApprovalRequest.objects.filter(pk=pending.pk).update(status="rechazado", decided_at=timezone.now())
        return prepared

    monkeypatch.setattr(services, "document_prepare", prepare_during_a_concurrent_rejection)
    with pytest.raises(DomainError) as refused:
        services.approval_decide(
            actor=type(citizen).objects.get(pk=citizen.pk),
            public_id=pending.public_id,
            approve=True,
            password=PASSWORD,
        )
    assert refused.value.code == "already_decided" and locked_while_rendering == [True]
    assert not Document.objects.filter(kind="aprobacion").exists()
    pending.refresh_from_db()
    assert pending.status == "rechazado" and pending.evidence is None
