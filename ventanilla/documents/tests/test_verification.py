"""Public verification: the page and the API report valid / revoked / altered, accept an uploaded copy, and
never show personal data."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from ventanilla.documents import selectors, services

from .conftest import issue, tamper

pytestmark = pytest.mark.django_db


@pytest.fixture
def personal_receipt(institution_a: Any) -> Any:
    from ventanilla.identity.tests.conftest import make_citizen

    citizen = make_citizen("CI-7654321", number="7654321", first_names="Rosa", first_surname="Condori")
    return issue(
        institution_a,
        person_id=citizen.person.pk,
        context={"amount": "17,00", "person_name": "Rosa Condori"},
    )


def _pdf_upload(content: bytes, name: str = "copia.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_page_shows_valid_document_without_personal_data(personal_receipt: Any, check_page: Any) -> None:
    response = Client().get(f"/verificar/{personal_receipt.code}/")
    check_page(response)
    html = response.content.decode()
    assert "Documento válido" in html
    assert personal_receipt.title in html and "Servicio de Identificación de Prueba" in html
    assert "Recibo" in html and personal_receipt.sha256 in html
    for personal in ("Rosa", "Condori", "7654321", "CI-7654321", "EXP-1"):
        assert personal not in html, personal


def test_code_form_redirects_and_accepts_sloppy_typing(receipt: Any, check_page: Any) -> None:
    client = Client()
    check_page(client.get("/verificar/"))
    sloppy = receipt.code.lower().replace("-", " ")
    response = client.get("/verificar/", {"codigo": sloppy})
    assert response.status_code == 302 and response["Location"] == receipt.verify_path
    unknown = client.get("/verificar/", {"codigo": "ABCD-EFGH-J"})
    assert unknown.status_code == 400
    assert "No existe un documento" in unknown.content.decode()
    assert client.get("/verificar/ABCD-EFGH-J/").status_code == 404


def test_revoked_document_shows_date_and_reason(receipt: Any, bob: Any) -> None:
    services.document_revoke(actor=bob, document_id=receipt.pk, reason="Pago anulado por la entidad bancaria")
    html = Client().get(receipt.verify_path).content.decode()
    assert "Documento revocado" in html and "Pago anulado por la entidad bancaria" in html
    data = Client().get(f"/api/v1/documents/{receipt.code}/verification").json()
    assert data["status"] == "revoked"
    assert data["document"]["revoke_reason"] == "Pago anulado por la entidad bancaria"
    assert data["document"]["revoked_at"]


def test_uploaded_original_copy_is_valid_and_altered_copy_is_altered(receipt: Any) -> None:
    original = selectors.document_content(receipt)
    client = Client()
    same = client.post(receipt.verify_path, {"archivo": _pdf_upload(original)})
    assert same.status_code == 200
    assert "Su copia es idéntica al original" in same.content.decode()
    altered = client.post(receipt.verify_path, {"archivo": _pdf_upload(tamper(original))})
    assert "Su copia NO coincide con el original" in altered.content.decode()
    # On the general page the code is read from the PDF metadata.
    general = client.post("/verificar/", {"archivo": _pdf_upload(tamper(original))})
    assert "Su copia NO coincide" in general.content.decode() and receipt.code in general.content.decode()
    not_pdf = client.post("/verificar/", {"archivo": _pdf_upload(b"hola", "x.pdf")})
    assert not_pdf.status_code == 400 and "no es un PDF" in not_pdf.content.decode()


def test_another_documents_copy_is_reported_altered_on_this_code(receipt: Any, institution_a: Any) -> None:
    other = issue(institution_a, title="Otro recibo")
    response = Client().post(receipt.verify_path, {"archivo": _pdf_upload(selectors.document_content(other))})
    assert "Su copia NO coincide" in response.content.decode()


def test_stored_file_tampered_is_reported_altered(receipt: Any) -> None:
    content = selectors.document_content(receipt)
    receipt.file.storage.delete(receipt.file.name)
    receipt.file.storage.save(receipt.file.name, ContentFile(tamper(content)))
    data = Client().get(f"/api/v1/documents/{receipt.code}/verification").json()
    assert data["status"] == "altered" and data["hash_matches"] is False


def test_api_by_code(personal_receipt: Any) -> None:
    response = Client().get(f"/api/v1/documents/{personal_receipt.code}/verification")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "valid"
    assert data["signature"] == {
        "present": True,
        "intact": True,
        "trusted": True,
        "covers_whole_document": True,
        "signer": "Servicio de Identificación de Prueba",
        "signed_at": data["signature"]["signed_at"],
    }
    assert data["document"]["institution"]["acronym"] == "SIP"
    assert "Rosa" not in response.content.decode() and "7654321" not in response.content.decode()
    missing = Client().get("/api/v1/documents/ABCD-EFGH-J/verification")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "not_found"


def test_api_upload(receipt: Any) -> None:
    original = selectors.document_content(receipt)
    client = Client()
    ok = client.post("/api/v1/documents/verification", {"file": _pdf_upload(original)})
    assert ok.status_code == 200 and ok.json()["status"] == "valid" and ok.json()["checked_copy"] is True
    bad = client.post(
        "/api/v1/documents/verification", {"file": _pdf_upload(tamper(original)), "code": receipt.code}
    )
    assert bad.json()["status"] == "altered" and bad.json()["document"]["code"] == receipt.code
    unknown = client.post("/api/v1/documents/verification", {"file": _pdf_upload(b"%PDF-1.7\n%%EOF\n")})
    assert unknown.status_code == 200 and unknown.json()["status"] == "not_found"
    assert unknown.json()["document"] is None
    not_pdf = client.post("/api/v1/documents/verification", {"file": _pdf_upload(b"GIF89a")})
    assert not_pdf.status_code == 400 and not_pdf.json()["errors"][0]["code"] == "not_pdf"
    missing = client.post("/api/v1/documents/verification", {})
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"].startswith("file")


def test_verification_api_is_rate_limited(receipt: Any, settings: Any) -> None:
    settings.VENTANILLA_RATE_LIMITS = {"api": {"limit": 2, "window": 60}}
    client = Client()
    url = f"/api/v1/documents/{receipt.code}/verification"
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200
    refused = client.get(url)
    assert refused.status_code == 429 and refused.json()["errors"][0]["code"] == "rate_limited"


def test_verification_page_uploads_are_rate_limited(receipt: Any, settings: Any) -> None:
    settings.VENTANILLA_RATE_LIMITS = {"verify": {"limit": 1, "window": 60}}
    client = Client()
    original = selectors.document_content(receipt)
    assert client.post(receipt.verify_path, {"archivo": _pdf_upload(original)}).status_code == 200
    assert client.post(receipt.verify_path, {"archivo": _pdf_upload(original)}).status_code == 429


def test_missing_stored_file_is_reported_not_crashed(receipt: Any) -> None:
    receipt.file.storage.delete(receipt.file.name)
    response = Client().get(receipt.verify_path)
    assert response.status_code == 200 and "alterado" in response.content.decode()


def test_result_pages_pass_the_page_checks(receipt: Any, check_page: Any) -> None:
    original = selectors.document_content(receipt)
    check_page(Client().post(receipt.verify_path, {"archivo": _pdf_upload(tamper(original))}))
    check_page(Client().post("/verificar/", {"archivo": _pdf_upload(original)}))
    lowercase = Client().get(f"/verificar/{receipt.code.lower()}/")
    assert lowercase.status_code == 302 and lowercase["Location"] == receipt.verify_path


def test_openapi_documents_the_verification_api(db: Any) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    assert "/api/v1/documents/{code}/verification" in schema["paths"]
    post = schema["paths"]["/api/v1/documents/verification"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]


def test_code_lookups_are_rate_limited(receipt: Any, settings: Any) -> None:
    settings.VENTANILLA_RATE_LIMITS = {"verify_lookup": {"limit": 2, "window": 60}}
    client = Client()
    assert client.get(receipt.verify_path).status_code == 200
    assert client.get("/verificar/ABCD-EFGH-J/").status_code == 404
    assert client.get(receipt.verify_path).status_code == 429


def test_documents_stay_valid_after_the_signing_certificate_expires(receipt: Any, institution_a: Any) -> None:
    """Regression: validation used «now», so every document turned «altered» once the certificate expired.
    Our own issue time is trusted; signing with an expired key is refused."""
    import datetime as dt

    from freezegun import freeze_time

    from ventanilla.core.errors import DomainError
    from ventanilla.documents.models import SigningKey

    from .conftest import issue

    key = SigningKey.objects.get(institution=institution_a, is_active=True)
    assert key.not_after is not None
    original = selectors.document_content(receipt)
    with freeze_time(key.not_after + dt.timedelta(days=30)):
        stored = selectors.document_verify(code=receipt.code)
        assert stored.outcome == "valid" and stored.signature.trusted, stored.signature
        copy = selectors.copy_verify(content=original)
        assert copy.outcome == "valid" and copy.signature.trusted
        with pytest.raises(DomainError) as refused:
            issue(institution_a)
        assert refused.value.code == "signing_key_expired" and refused.value.status == 409
