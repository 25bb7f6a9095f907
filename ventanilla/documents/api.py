"""Documentos verificables: /api/v1/ routes (django-ninja).

Verification is public (auth=None) and counted by the API-wide rate limit (core.ratelimit, scope ``api``).
The answer never carries personal data: only what the document states about itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile

from ventanilla.core.api import ErrorsOut
from ventanilla.core.errors import DomainError

from . import selectors

router = Router(tags=["Documentos verificables"])


class InstitutionRef(Schema):
    code: str
    name: str
    acronym: str


class DocumentFacts(Schema):
    code: str
    kind: str
    kind_label: str
    title: str
    institution: InstitutionRef
    issued_at: datetime
    sha256: str
    revoked_at: datetime | None
    revoke_reason: str | None
    verify_url: str


class SignatureFacts(Schema):
    present: bool
    intact: bool
    trusted: bool
    covers_whole_document: bool
    signer: str | None
    signed_at: datetime | None


class VerificationOut(Schema):
    status: Literal["valid", "revoked", "altered", "not_found"]
    status_label: str
    checked_copy: bool
    hash_matches: bool
    document: DocumentFacts | None
    signature: SignatureFacts


@router.get(
    "/documents/{code}/verification",
    response={200: VerificationOut, 404: ErrorsOut},
    auth=None,
    operation_id="document_verification_get",
    summary="Verificar un documento por su código",
    description=(
        "Público. Comprueba el PDF original almacenado: su huella SHA-256 y su firma PAdES contra las raíces "
        "de confianza. `status`: `valid`, `revoked` (con fecha y motivo) o `altered`."
    ),
)
def verification_by_code(request: HttpRequest, code: str) -> Any:
    return selectors.document_verify(code=code).as_dict()


@router.post(
    "/documents/verification",
    response={200: VerificationOut, 400: ErrorsOut},
    auth=None,
    operation_id="document_verification_copy",
    summary="Verificar una copia en PDF",
    description=(
        "Público. Envíe el PDF (multipart, campo `file`) y, opcionalmente, el código (`code`). "
        "Si la copia es "
        "idéntica al original, `status` es `valid` o `revoked`; si difiere del documento de ese código (o su "
        "firma no es válida), `altered`; si no corresponde a ningún documento, `not_found`."
    ),
)
def verification_of_copy(request: HttpRequest, file: File[UploadedFile], code: Form[str] = "") -> Any:
    if file.size is not None and file.size > settings.DOCUMENTS_UPLOAD_MAX_BYTES:
        raise DomainError(message="El archivo es demasiado grande.", code="too_large", field="file")
    content = file.read()
    if not content.startswith(b"%PDF-"):
        raise DomainError(message="El archivo no es un PDF.", code="not_pdf", field="file")
    return selectors.copy_verify(content=content, code=code).as_dict()
