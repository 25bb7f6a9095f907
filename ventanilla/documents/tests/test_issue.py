"""document_issue / document_revoke end to end: a real PDF rendered by WeasyPrint from a caller's template,
signed PAdES with the institution's key under the development CA, validated with pyHanko and Poppler."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from typing import Any

import pytest
from django.db import transaction

from ventanilla.core.errors import DomainError, NotFound
from ventanilla.core.models import AuditEntry
from ventanilla.documents import pki, selectors, services
from ventanilla.documents.models import CertificateAuthority, Document, SigningKey

from .conftest import issue, tamper

pytestmark = pytest.mark.django_db


def test_issue_renders_signs_and_stores_a_verifiable_pdf(institution_a: Any, bob: Any) -> None:
    document = issue(institution_a, actor=bob)
    content = selectors.document_content(document)
    assert content.startswith(b"%PDF-")
    assert pki.sha256_hex(content) == document.sha256
    assert document.file.name.startswith("documents/") and document.file.name.endswith(f"{document.code}.pdf")
    assert document.status == "valid" and document.signed and document.issued_by == bob
    assert document.verify_path == f"/verificar/{document.code}/"
    # The code travels in the PDF metadata; the verification URL and QR are on the page.
    assert pki.embedded_code(content) == document.code
    assert selectors.document_get(code=document.code.lower().replace("-", "")) == document
    audit = AuditEntry.objects.get(action="document.issue")
    assert audit.after is not None
    assert audit.institution_id == institution_a.pk and audit.after["sha256"] == document.sha256

    # pyHanko against the development root
    from pyhanko.keys import load_certs_from_pemder_data
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    root = CertificateAuthority.objects.get(is_development=True)
    assert root.name == "Ventanilla CA de desarrollo"
    reader = PdfFileReader(io.BytesIO(content))
    (signature,) = reader.embedded_signatures
    status = validate_pdf_signature(
        signature,
        ValidationContext(trust_roots=list(load_certs_from_pemder_data(root.certificate_pem.encode()))),
    )
    assert status.intact and status.valid and status.trusted
    assert status.signing_cert.subject.native["common_name"] == institution_a.name
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES


def test_text_of_the_pdf_has_code_and_verification_url(institution_a: Any) -> None:
    pdftotext = shutil.which("pdftotext")
    if not pdftotext:
        pytest.skip("pdftotext (poppler-utils) not installed")
    document = issue(institution_a)
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(selectors.document_content(document))
        handle.flush()
        text = subprocess.run(  # noqa: S603 - fixed tool and a file we wrote
            [pdftotext, handle.name, "-"], capture_output=True, text=True, check=True
        ).stdout
    assert document.code in text
    assert f"http://127.0.0.1:8000/verificar/{document.code}/" in text
    assert "Recibo de pago de la tasa" in text and "17,00" in text
    assert institution_a.name in text


def test_poppler_pdfsig_accepts_the_signature(institution_a: Any) -> None:
    pdfsig = shutil.which("pdfsig")
    if not pdfsig:
        pytest.skip("pdfsig (poppler-utils) not installed")
    content = selectors.document_content(issue(institution_a))
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(content)
        handle.flush()
        out = subprocess.run([pdfsig, handle.name], capture_output=True, text=True).stdout  # noqa: S603
        assert "Signature is Valid." in out, out
        assert "Total document signed" in out, out
        handle.seek(0)
        handle.write(tamper(content))
        handle.flush()
        altered = subprocess.run([pdfsig, handle.name], capture_output=True, text=True).stdout  # noqa: S603
    assert "Signature is Valid." not in altered


def test_one_key_per_institution_reused_and_encrypted_at_rest(institution_a: Any, institution_b: Any) -> None:
    issue(institution_a)
    issue(institution_a)
    issue(institution_b)
    assert SigningKey.objects.filter(institution=institution_a, is_active=True).count() == 1
    assert SigningKey.objects.filter(institution=institution_b, is_active=True).count() == 1
    assert CertificateAuthority.objects.count() == 1
    for key in SigningKey.objects.all():
        assert "PRIVATE KEY" not in key.private_key_encrypted
        assert b"PRIVATE KEY" in pki.decrypt_key(key.private_key_encrypted)
    ca = CertificateAuthority.objects.get()
    assert "PRIVATE KEY" not in ca.private_key_encrypted


def test_without_dev_ca_an_institution_needs_an_imported_key(institution_a: Any, settings: Any) -> None:
    settings.DOCUMENTS_DEV_CA = False
    with pytest.raises(DomainError) as error:
        issue(institution_a)
    assert error.value.code == "no_signing_key"
    assert not Document.objects.exists()


def test_dev_signed_documents_are_not_trusted_in_production_mode(institution_a: Any, settings: Any) -> None:
    document = issue(institution_a)
    settings.DOCUMENTS_DEV_CA = False
    result = selectors.document_verify(code=document.code)
    assert result.outcome == "altered" and not result.signature.trusted


def test_pkcs12_import_replaces_the_key_and_signs_with_it(
    institution_a: Any, agency: Any, settings: Any
) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    old = pki.dev_key_create(institution_a)
    cert = x509.load_pem_x509_certificate(old.certificate_pem.encode())
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(pki.decrypt_key(old.private_key_encrypted), None)
    chain = [x509.load_pem_x509_certificate(old.chain_pem.encode())]
    blob = pkcs12.serialize_key_and_certificates(b"inst", key, cert, chain, BestAvailableEncryption(b"clave"))  # type: ignore[arg-type]
    imported = services.signing_key_import(
        actor=agency, institution_id=institution_a.pk, pkcs12=blob, password=b"clave"
    )
    old.refresh_from_db()
    assert not old.is_active and imported.is_active and not imported.is_development
    # Production: the development root is not trusted, the configured root is.
    settings.DOCUMENTS_DEV_CA = False
    services.trust_root_add(actor=agency, name="Raíz de producción", certificate_pem=old.chain_pem)
    document = issue(institution_a)
    assert selectors.document_verify(code=document.code).outcome == "valid"
    assert AuditEntry.objects.filter(action="document.signing_key_import").exists()


def test_unsigned_issue_and_bad_input(institution_a: Any) -> None:
    document = issue(institution_a, sign=False)
    assert not document.signed
    assert selectors.document_verify(code=document.code).outcome == "valid"
    with pytest.raises(DomainError):
        issue(institution_a, kind="desconocido")
    with pytest.raises(DomainError):
        issue(institution_a, title="  ")
    with pytest.raises(NotFound):
        selectors.document_get(code="XXXX")


def test_issue_inside_a_rolled_back_transaction_leaves_no_row(institution_a: Any) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        issue(institution_a)
        raise RuntimeError
    assert not Document.objects.exists()


def test_revoke_by_staff_of_the_institution_only(
    institution_a: Any, bob: Any, charlie: Any, agency: Any
) -> None:
    document = issue(institution_a)
    with pytest.raises(NotFound):
        services.document_revoke(actor=charlie, document_id=document.pk, reason="Error")
    with pytest.raises(DomainError):
        services.document_revoke(actor=bob, document_id=document.pk, reason=" ")
    revoked = services.document_revoke(actor=bob, document_id=document.pk, reason="Emitido por error")
    assert revoked.status == "revoked" and revoked.revoked_at is not None
    assert AuditEntry.objects.filter(action="document.revoke", target_id=str(document.pk)).count() == 1
    with pytest.raises(DomainError) as again:
        services.document_revoke(actor=agency, document_id=document.pk, reason="Otra vez")
    assert again.value.status == 409
    result = selectors.document_verify(code=document.code)
    assert result.outcome == "revoked"


def test_unknown_person_is_refused(institution_a: Any) -> None:
    with pytest.raises(NotFound):
        issue(institution_a, person_id=987654)
