"""Demo data of the documents app (never load it in a real installation). Idempotent:

- the development CA and signing keys for the demo institutions (others get theirs on first issue);
- one signed demo certificate per country, to try /verificar/;
- one pending approval request for the verified demo citizen (Bolivia: CI 5123987-1B; Paraguay: CI 4987654).
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string

from ventanilla.core.models import Institution
from ventanilla.identity import account_selectors

from . import pki, services
from .models import ApprovalRequest, Document

DEMO = {
    "BO": {"institution": "SIN", "citizen": ("CI", "5123987", "1B")},
    "PY": {"institution": "DNIT", "citizen": ("CI", "4987654", "")},
}
CERTIFICATE_REFERENCE = "DEMO-CERTIFICADO-1"
APPROVAL_REFERENCE = "DEMO-APROBACION-1"


def load_demo_documents() -> list[str]:
    demo = DEMO.get(settings.COUNTRY_PACK.code)
    if demo is None or not settings.DOCUMENTS_DEV_CA:
        return ["Documentos: sin datos de demostración (DOCUMENTS_DEV_CA desactivado o país sin demo)."]
    institution = Institution.objects.filter(code=demo["institution"]).first()
    if institution is None:
        return ["Documentos: falta la institución de demostración."]
    services.dev_keys_ensure(actor=None, institution_ids=[institution.pk])
    lines = []
    certificate = Document.objects.filter(reference=CERTIFICATE_REFERENCE, institution=institution).first()
    if certificate is None:
        certificate = services.document_issue(
            actor=None,
            institution_id=institution.pk,
            kind=Document.Kind.CERTIFICADO,
            title="Certificado de demostración",
            template_name="documents/pdf/demo_certificate.html",
            context={},
            reference=CERTIFICATE_REFERENCE,
        )
    lines.append(f"Documentos: certificado de demostración verificable en {certificate.verify_path}")
    doc_type, number, complement = demo["citizen"]
    parsed, _errors = account_selectors.document_parse(doc_type, number, complement)
    person = account_selectors.person_find_by_document(document=parsed) if parsed else None
    if person is not None:
        exists = ApprovalRequest.objects.filter(
            reference=APPROVAL_REFERENCE, institution=institution, person_id=person.pk
        ).exists()
        if not exists:
            html = render_to_string(
                "documents/pdf/demo_contract.html",
                {"institution": institution, "person_name": person.full_name},
            )
            services.approval_request_create(
                actor=None,
                data=services.ApprovalData(
                    institution_id=institution.pk,
                    person_id=person.pk,
                    title="Contrato de prestación de servicios (demostración)",
                    description="Revise el contrato de demostración y apruébelo con su contraseña.",
                    content_type="PDF",
                    content=pki.render_pdf(html),
                    reference=APPROVAL_REFERENCE,
                ),
            )
        who = f"{doc_type}-{number}" + (f"-{complement}" if complement else "")
        lines.append(f"Documentos: solicitud de aprobación para {who} en /cuenta/aprobaciones/")
    return lines
