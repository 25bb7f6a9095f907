"""The two demo registries as REAL provider services, in their own URL space (/registros-demo/...).

They are what an institution's information system would be: they answer only calls that carry the
provider secret the mediator adds (``Interop-Provider-Secret``), so a consumer that tries to bypass the
mediator gets 401. Demo data only (``demo_registries.py``).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from . import selectors
from .demo_registries import company_records, person_records
from .services import PROVIDER_SECRET_HEADER, provider_secret_matches

CIVIL_REGISTRY_PATH = "/registros-demo/registro-civil/v1"
COMPANY_REGISTRY_PATH = "/registros-demo/registro-comercio/v1"


def _authorized(request: HttpRequest, base_path: str) -> bool:
    given = request.headers.get(PROVIDER_SECRET_HEADER, "")
    return provider_secret_matches(given, selectors.provider_secrets_for(base_path))


def _refused() -> JsonResponse:
    return JsonResponse(
        {"error": "no_autorizado", "mensaje": "Este registro solo responde a través del mediador."},
        status=401,
    )


@csrf_exempt
@require_GET
def civil_registry_person(request: HttpRequest, document: str) -> JsonResponse:
    """A person by document (``CI-4567891``, ``CI-5123987-1B`` or just the number for a CI)."""
    if not _authorized(request, CIVIL_REGISTRY_PATH):
        return _refused()
    key = document.strip().upper()
    if "-" not in key or key.split("-", 1)[0].isdigit():
        key = f"CI-{key}"
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
    if not _authorized(request, COMPANY_REGISTRY_PATH):
        return _refused()
    record = company_records().get(tax_id.strip().upper())
    if record is None:
        return JsonResponse(
            {"error": "no_registrada", "mensaje": "No hay una empresa con ese número."}, status=404
        )
    return JsonResponse(record, json_dumps_params={"ensure_ascii": False})
