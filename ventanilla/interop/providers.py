"""The two demo registries as REAL provider services, in their own URL space (/registros-demo/...).

They are what an institution's information system would be: they answer only calls that carry the
provider secret the mediator adds (``Interop-Provider-Secret``), so a consumer that tries to bypass the
mediator gets 401. Demo data only (``demo_registries.py``).
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from . import selectors
from .demo_registries import company_records, person_records
from .services import PROVIDER_SECRET_HEADER, header_decode, provider_secret_matches

CIVIL_REGISTRY_PATH = "/registros-demo/registro-civil/v1"
COMPANY_REGISTRY_PATH = "/registros-demo/registro-comercio/v1"
DEMO_REGISTRY_CIVIL = "civil"
DEMO_REGISTRY_COMPANY = "company"
REGISTRY_PATHS = {DEMO_REGISTRY_CIVIL: CIVIL_REGISTRY_PATH, DEMO_REGISTRY_COMPANY: COMPANY_REGISTRY_PATH}


def _own_base_urls(request: HttpRequest, base_path: str) -> list[str]:
    """This platform's own address + the registry's path: the public URL and the address the request
    arrived at (the mediator calls the base URL it was given)."""
    urls = [settings.VENTANILLA_PUBLIC_URL.rstrip("/") + base_path]
    with contextlib.suppress(DisallowedHost):
        urls.append(request.build_absolute_uri(base_path))
    return urls


def _authorized(request: HttpRequest, registry: str) -> bool:
    base_path = REGISTRY_PATHS[registry]
    given = request.headers.get(PROVIDER_SECRET_HEADER, "")
    return provider_secret_matches(
        given,
        selectors.demo_provider_secrets(registry=registry, base_urls=_own_base_urls(request, base_path)),
    )


def _document_key(document: str) -> str:
    key = document.strip().upper()
    if "-" not in key or key.split("-", 1)[0].isdigit():
        key = f"CI-{key}"
    return key


def _refused() -> JsonResponse:
    return JsonResponse(
        {"error": "no_autorizado", "mensaje": "Este registro solo responde a través del mediador."},
        status=401,
    )


@csrf_exempt
@require_GET
def civil_registry_person(request: HttpRequest, document: str) -> JsonResponse:
    """A person by document (``CI-4567891``, ``CI-5123987-1B`` or just the number for a CI)."""
    if not _authorized(request, DEMO_REGISTRY_CIVIL):
        return _refused()
    key = _document_key(document)
    # A registry answers about the person the consultation is about (Interop-Subject), nobody else.
    subject = header_decode(request.headers.get("Interop-Subject", ""))
    if not subject.strip() or _document_key(subject) != key:
        return JsonResponse(
            {
                "error": "sujeto_distinto",
                "mensaje": "El documento consultado no es el de la persona indicada en Interop-Subject.",
            },
            status=403,
        )
    record: dict[str, Any] | None = person_records().get(key)
    if record is None:
        return JsonResponse(
            {"error": "no_registrado", "mensaje": "No hay una persona con ese documento."}, status=404
        )
    return JsonResponse(record, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
@require_GET
def company_registry_company(request: HttpRequest, tax_id: str) -> JsonResponse:
    """A company by tax id (NIT in Bolivia, RUC in Paraguay)."""
    if not _authorized(request, DEMO_REGISTRY_COMPANY):
        return _refused()
    record = company_records().get(tax_id.strip().upper())
    if record is None:
        return JsonResponse(
            {"error": "no_registrada", "mensaje": "No hay una empresa con ese número."}, status=404
        )
    return JsonResponse(record, json_dumps_params={"ensure_ascii": False})
