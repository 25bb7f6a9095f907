"""Demo loader (idempotent) and the management commands."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from ventanilla.core.models import Institution
from ventanilla.documents import selectors
from ventanilla.documents.demo import load_demo_documents
from ventanilla.documents.models import ApprovalRequest, CertificateAuthority, Document, SigningKey
from ventanilla.identity.tests.conftest import make_citizen

from .conftest import issue

pytestmark = pytest.mark.django_db


def test_demo_loader_is_idempotent() -> None:
    sin = Institution.objects.create(
        code="SIN", name="Servicio de Impuestos Nacionales", acronym="SIN", level="central"
    )
    maria = make_citizen("CI-5123987-1B", number="5123987", complement="1B", first_names="María Fernanda")
    first = load_demo_documents()
    second = load_demo_documents()
    assert first == second
    certificate = Document.objects.get(reference="DEMO-CERTIFICADO-1")
    assert selectors.document_verify(code=certificate.code).outcome == "valid"
    approval = ApprovalRequest.objects.get()
    assert (
        approval.institution == sin
        and approval.person_id == maria.person.pk
        and approval.status == "pendiente"
    )
    assert selectors.approval_content(approval).startswith(b"%PDF-")
    assert SigningKey.objects.filter(institution=sin).count() == 1


def test_dev_ca_command(institution_a: Any, institution_b: Any, settings: Any) -> None:
    out = StringIO()
    call_command("documents_dev_ca", stdout=out)
    assert "2 instituciones" in out.getvalue()
    assert CertificateAuthority.objects.filter(is_development=True).count() == 1
    assert SigningKey.objects.count() == 2
    settings.DOCUMENTS_DEV_CA = False
    with pytest.raises(CommandError):
        call_command("documents_dev_ca", stdout=StringIO())


def test_orphans_command_lists_and_deletes_unreferenced_files(institution_a: Any) -> None:
    kept = issue(institution_a)
    orphan = default_storage.save("documents/2026/01/ZZZZ-ZZZZ-Z.pdf", ContentFile(b"%PDF-1.4"))
    out = StringIO()
    call_command("documents_orphans", stdout=out)
    assert orphan in out.getvalue() and kept.file.name not in out.getvalue()
    call_command("documents_orphans", "--delete", stdout=StringIO())
    assert not default_storage.exists(orphan) and default_storage.exists(kept.file.name)
