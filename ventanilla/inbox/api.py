"""Notificaciones electrónicas: /api/v1/ routes (django-ninja).

Who may call: an institution's system with an OAuth2 access token obtained with the client-credentials grant
by a client of that institution that the agency approved (``Authorization: Bearer <token>``). It sends
notifications on behalf of its institution and reads the evidence of the notifications its institution
sent — another institution's notification is 404.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.security import HttpBearer

from ventanilla.core.api import ErrorsOut

from . import selectors, services
from .selectors import ApiCaller


class InstitutionBearer(HttpBearer):
    openapi_description = (
        "Token de acceso OAuth2 (grant client_credentials) de una aplicación aprobada de la institución."
    )

    def authenticate(self, request: HttpRequest, token: str) -> ApiCaller | None:
        return selectors.api_caller_for_token(token)


router = Router(tags=["Notificaciones electrónicas"], auth=InstitutionBearer())


class NotificationIn(Schema):
    document_type: str = Field("CI", max_length=10, description="Tipo de documento de la persona.")
    document_number: str = Field(..., min_length=1, max_length=20)
    document_complement: str = Field("", max_length=4)
    first_names: str = Field("", max_length=120, description="Solo si la persona no está registrada.")
    first_surname: str = Field("", max_length=80)
    second_surname: str = Field("", max_length=80)
    email: str = Field("", max_length=254, description="Contacto, si la persona es nueva.")
    mobile: str = Field("", max_length=20)
    subject: str = Field(..., min_length=1, max_length=200)
    body: str = Field(..., min_length=1, max_length=20000)
    legal: bool = False
    case_reference: str = Field("", max_length=100, description="Expediente o código de seguimiento.")
    document_codes: list[str] = Field(
        default_factory=list, max_length=20, description="Códigos de verificación de documentos adjuntos."
    )
    link_path: str = Field("", max_length=300)


class ConstanciaOut(Schema):
    code: str
    sha256: str
    signed: bool
    verify_url: str


class EvidenceOut(Schema):
    content_hash: str
    hash_algorithm: str
    hash_version: int = Field(
        ...,
        description="1: asunto, contenido y adjuntos; 2: además institución, "
        "destinatario, referencia, efecto legal, uuid y puesta a disposición.",
    )
    hash_verified: bool = Field(..., description="La huella coincide con la notificación almacenada.")
    available_at: dt.datetime
    first_opened_at: dt.datetime | None
    effective_at: dt.datetime | None
    effect_reason: str | None = Field(None, description="delivery | opened | deemed")
    effect_rule: str | None
    deemed_on: dt.date | None
    constancia: ConstanciaOut | None


class AttachmentOut(Schema):
    code: str
    title: str
    sha256: str


class NotificationOut(Schema):
    id: uuid.UUID
    institution: str
    recipient_document: str
    subject: str
    legal: bool
    case_reference: str
    attachments: list[AttachmentOut]
    evidence: EvidenceOut


def _out(notification: Any) -> dict[str, Any]:
    return {
        "id": notification.uuid,
        "institution": notification.institution.code,
        "recipient_document": notification.person.document_display,
        "subject": notification.subject,
        "legal": notification.legal,
        "case_reference": notification.case_reference,
        "attachments": [
            {"code": d.code, "title": d.title, "sha256": d.sha256} for d in notification.documents.all()
        ],
        "evidence": selectors.notification_evidence(notification),
    }


@router.post(
    "/notifications",
    response={201: NotificationOut, 400: ErrorsOut, 401: ErrorsOut, 404: ErrorsOut},
    summary="Enviar una notificación al buzón de una persona",
)
def notification_create(request: HttpRequest, payload: NotificationIn) -> Status:
    caller: ApiCaller = request.auth  # type: ignore[attr-defined]
    person_id = services.recipient_resolve(
        actor=caller.label,
        document_type=payload.document_type,
        document_number=payload.document_number,
        document_complement=payload.document_complement,
        first_names=payload.first_names,
        first_surname=payload.first_surname,
        second_surname=payload.second_surname,
        email=payload.email,
        mobile=payload.mobile,
    )
    notification = services.notification_send(
        actor=caller.label,
        institution_id=caller.institution_id,
        person_id=person_id,
        subject=payload.subject,
        body=payload.body,
        legal=payload.legal,
        case_reference=payload.case_reference,
        document_ids=services.document_ids_for_codes(payload.document_codes),
        link_path=payload.link_path,
    )
    found = selectors.notification_get_for_institution(
        institution_ids={caller.institution_id}, notification_uuid=notification.uuid
    )
    return Status(201, _out(found))


@router.get(
    "/notifications/{notification_id}",
    response={200: NotificationOut, 401: ErrorsOut, 404: ErrorsOut},
    summary="Evidencia de una notificación enviada por su institución",
)
def notification_detail(request: HttpRequest, notification_id: str) -> dict[str, Any]:
    caller: ApiCaller = request.auth  # type: ignore[attr-defined]
    found = selectors.notification_get_for_institution(
        institution_ids={caller.institution_id}, notification_uuid=notification_id
    )
    return _out(found)
