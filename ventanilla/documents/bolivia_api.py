"""Bolivia-compatible «Aprobación de documentos» API (Ciudadanía Digital), at the site root.

POST /aprobacion-documentos/v1/aprobaciones
    Caller: an approved OAuth2 client of the requesting institution, with an access token from the
    client-credentials grant (``Authorization: Bearer …``). Body (JSON)::

        {"tipoDocumento": "PDF" | "JSON", "documento": "<base64>", "hashDocumento": "<sha256 hex>",
         "idTramite": "<uuid>", "descripcion": "…", "token": "<the citizen's access token>",
         "titulo": "…" (optional), "callbackUrl": "https://…" (optional)}

    The citizen's token must be a live access token issued by an approved client of the same institution
    (the person signed in to that institution's system with Ciudadanía Digital). 201 with the request id
    and ``secretoCallback`` (HMAC key of the callbacks). The person decides in Mi cuenta; the result is
    POSTed to ``callbackUrl`` when given, else the institution polls:
GET /aprobacion-documentos/v1/aprobaciones/{id}
    Same caller; only its institution's requests (404 otherwise).

Answers use the Bolivian envelope ``{"finalizado", "mensaje", "datos"}``; errors also carry the platform's
``errors: [{"code", "message", "field"}]`` with a 4xx status.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ventanilla.core.errors import DomainError, ErrorItem
from ventanilla.core.ratelimit import rate_limit

from . import selectors, services
from .tasks import callback_secret


class ApprovalIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    tipoDocumento: Literal["PDF", "JSON"]
    documento: str = Field(min_length=1)
    hashDocumento: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    idTramite: uuid.UUID
    descripcion: str = Field(min_length=1, max_length=2000)
    token: str = Field(min_length=1, max_length=500)
    titulo: str = Field(default="", max_length=255)
    callbackUrl: str = Field(default="", max_length=500)


MESSAGES = {
    "missing": "Campo obligatorio.",
    "literal_error": "Valor no permitido (use PDF o JSON).",
    "string_pattern_mismatch": "Debe ser el SHA-256 en hexadecimal (64 caracteres).",
    "uuid_parsing": "Debe ser un UUID.",
    "string_too_short": "Campo obligatorio.",
    "string_too_long": "Texto demasiado largo.",
    "string_type": "Debe ser texto.",
}


def _error(status: int, items: list[ErrorItem], headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse(
        {
            "finalizado": False,
            "mensaje": items[0].message if items else "Solicitud inválida.",
            "errors": [item.as_dict() for item in items],
        },
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def _client(request: HttpRequest) -> selectors.ClientIdentity | JsonResponse:
    header = request.headers.get("Authorization", "")
    scheme, _sep, raw = header.partition(" ")
    client = selectors.client_from_bearer(raw) if scheme.lower() == "bearer" else None
    if client is None:
        return _error(
            401,
            [ErrorItem("unauthenticated", "Se requiere un token de acceso válido de un sistema aprobado.")],
            {"WWW-Authenticate": 'Bearer realm="aprobacion-documentos"'},
        )
    return client


def _ok(status: int, mensaje: str, datos: dict[str, Any]) -> JsonResponse:
    return JsonResponse(
        {"finalizado": True, "mensaje": mensaje, "datos": datos},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


@csrf_exempt
@never_cache
@require_http_methods(["POST"])
@rate_limit("api", 300, 60)
def approval_create(request: HttpRequest) -> HttpResponse:
    client = _client(request)
    if isinstance(client, JsonResponse):
        return client
    try:
        payload = json.loads(request.body or b"null")
    except RequestDataTooBig:
        return _error(413, [ErrorItem("too_large", "La solicitud es demasiado grande.", "documento")])
    except ValueError:
        return _error(400, [ErrorItem("json_invalid", "JSON mal formado.")])
    if not isinstance(payload, dict):
        return _error(400, [ErrorItem("invalid", "Se esperaba un objeto JSON.")])
    try:
        data = ApprovalIn.model_validate(payload)
    except ValidationError as exc:
        items = [
            ErrorItem(
                str(err.get("type", "invalid")),
                MESSAGES.get(str(err.get("type")), str(err.get("msg", "Valor inválido."))),
                ".".join(str(p) for p in err.get("loc", ())) or None,
            )
            for err in exc.errors()
        ]
        return _error(400, items)
    person_id = selectors.citizen_person_id_from_token(data.token, institution_id=client.institution_id)
    if person_id is None:
        return _error(
            400,
            [
                ErrorItem(
                    "invalid_citizen_token",
                    "El token de la persona no es válido, venció o no fue emitido a un sistema de su "
                    "institución.",
                    "token",
                )
            ],
        )
    try:
        content = services.content_decode(data.documento)
        approval = services.approval_request_create(
            actor=f"cliente:{client.client_id}",
            data=services.ApprovalData(
                institution_id=client.institution_id,
                person_id=person_id,
                title=data.titulo or data.descripcion[:255],
                description=data.descripcion,
                content_type=data.tipoDocumento,
                content=content,
                declared_sha256=data.hashDocumento,
                reference=str(data.idTramite),
                client_id=client.client_id,
                callback_url=data.callbackUrl,
            ),
        )
    except DomainError as exc:
        return _error(exc.status, exc.items())
    datos = selectors.approval_public_dict(approval)
    datos["secretoCallback"] = callback_secret(approval.public_id) if approval.callback_url else None
    return _ok(201, "Solicitud de aprobación registrada. La persona la verá en Mi cuenta.", datos)


@csrf_exempt
@never_cache
@require_http_methods(["GET"])
@rate_limit("api", 300, 60)
def approval_status(request: HttpRequest, public_id: str) -> HttpResponse:
    client = _client(request)
    if isinstance(client, JsonResponse):
        return client
    try:
        approval = selectors.approval_for_institution(
            institution_id=client.institution_id, public_id=public_id
        )
    except DomainError as exc:
        return _error(exc.status, exc.items())
    return _ok(200, "Estado de la solicitud de aprobación.", selectors.approval_public_dict(approval))
