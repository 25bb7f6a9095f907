"""Demo data of the interoperability mediator (demo data only — never load it in a real installation).

``load_demo_interop()`` is idempotent. It registers, through the same services as the back office:

- two providers with a demo registry each (real HTTP services in this app, ``providers.py``):
  Bolivia: SEGIP/REGISTRO-CIVIL/personas and SEPREC/REGISTRO-COMERCIO/empresas;
  Paraguay: IDENTIFICACIONES/REGISTRO-CIVIL/personas and REGPUB/REGISTRO-COMERCIO/empresas;
  their base URL is ``settings.VENTANILLA_PUBLIC_URL`` + /registros-demo/...;
- for each institution in ``DEMO_CONSUMERS`` (and any the caller names), a consumer subsystem
  ``EXPEDIENTES`` with an approved right to both registries and an OAuth2 client-credentials client
  ``interop-<code>-expedientes`` whose secret is ``demo-interop-<code>-secreto-solo-para-pruebas``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from ventanilla.core.models import Institution

from .models import AccessRight, Service, Subsystem
from .providers import (
    CIVIL_REGISTRY_PATH,
    COMPANY_REGISTRY_PATH,
    DEMO_REGISTRY_CIVIL,
    DEMO_REGISTRY_COMPANY,
)
from .services import (
    ServiceData,
    access_right_grant,
    service_save,
    subsystem_client_create,
    subsystem_save,
)

CIVIL_SUBSYSTEM = "REGISTRO-CIVIL"
COMPANY_SUBSYSTEM = "REGISTRO-COMERCIO"
CONSUMER_SUBSYSTEM = "EXPEDIENTES"
PROVIDERS = {
    "BO": {"civil": "SEGIP", "company": "SEPREC"},
    "PY": {"civil": "IDENTIFICACIONES", "company": "REGPUB"},
}
DEMO_CONSUMERS = {
    "BO": ["GAMLP", "REJAP", "SEPREC", "SEGIP", "SERECI", "SIN", "TRANSITO"],
    "PY": ["ANTECEDENTES", "MCA", "SUACE", "DNIT", "IDENTIFICACIONES", "REGPUB"],
}
# The purposes of the demo rights: what the cases app sends ("Trámite: <procedure>") and the prefill one.
PURPOSE = "Prellenado de formularios de trámites; Trámite"
LEGAL_BASIS = (
    "Demostración: norma de interoperabilidad y simplificación de trámites "
    "(el Estado no pide lo que ya tiene)"
)

PERSON_OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Registro civil (demostración)", "version": "1.0.0"},
    "paths": {
        "/personas/{documento}": {
            "get": {
                "summary": "Datos de una persona por documento de identidad (CI-1234567 o CI-1234567-1A)",
                "parameters": [
                    {"name": "documento", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {
                        "description": "La persona",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "documento": {"type": "object"},
                                        "nombres": {"type": "string"},
                                        "primer_apellido": {"type": "string"},
                                        "segundo_apellido": {"type": "string"},
                                        "fecha_nacimiento": {"type": "string", "format": "date"},
                                        "estado": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "404": {"description": "No registrada"},
                },
            }
        }
    },
}
COMPANY_OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Registro de comercio (demostración)", "version": "1.0.0"},
    "paths": {
        "/empresas/{nit}": {
            "get": {
                "summary": "Datos de una empresa por número de identificación tributaria",
                "parameters": [{"name": "nit", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {
                        "description": "La empresa",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "nit": {"type": "string"},
                                        "razon_social": {"type": "string"},
                                        "tipo_societario": {"type": "string"},
                                        "matricula": {"type": "string"},
                                        "estado": {"type": "string"},
                                        "domicilio": {"type": "string"},
                                        "actividad": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "404": {"description": "No registrada"},
                },
            }
        }
    },
}


def demo_secret(code: str) -> str:
    return f"demo-interop-{code.lower()}-secreto-solo-para-pruebas"


def _subsystem(institution: Institution, code: str, name: str, kind: str) -> Subsystem:
    existing = Subsystem.objects.filter(member__institution=institution, code=code).first()
    if existing is not None:
        return existing
    return subsystem_save(actor=None, institution=institution, code=code, name=name, kind=kind)


def demo_registry_mark(service: Service, registry: str) -> Service:
    """Mark ``service`` as this platform's demo registry ``registry`` ("civil" or "company"): the demo
    provider then accepts its secret (and only the secrets of services marked so). Demo and tests only."""
    if service.demo_registry != registry:
        Service.objects.filter(pk=service.pk).update(demo_registry=registry)
        service.demo_registry = registry
    return service


def _service(subsystem: Subsystem, data: ServiceData, registry: str) -> Service:
    existing = Service.objects.filter(subsystem=subsystem, code=data.code).first()
    if existing is not None:
        if existing.base_url != data.base_url.rstrip("/"):
            existing = service_save(actor=None, subsystem=subsystem, data=data, service=existing)
        return demo_registry_mark(existing, registry)
    return demo_registry_mark(service_save(actor=None, subsystem=subsystem, data=data), registry)


def demo_registries(base_url: str | None = None) -> list[Service]:
    """The country's two demo registry services (created when missing); ``base_url`` defaults to the
    platform's public address (tests pass the live server's)."""
    base = (base_url or settings.VENTANILLA_PUBLIC_URL).rstrip("/")
    codes = PROVIDERS.get(settings.COUNTRY_PACK.code, PROVIDERS["BO"])
    found = []
    civil = Institution.objects.filter(code=codes["civil"]).first()
    if civil is not None:
        subsystem = _subsystem(
            civil, CIVIL_SUBSYSTEM, "Registro civil e identificación", Subsystem.Kind.PROVIDER
        )
        found.append(
            _service(
                subsystem,
                ServiceData(
                    code="personas",
                    name="Consulta de personas por documento de identidad",
                    description=(
                        "Nombres, apellidos, fecha de nacimiento y estado del documento de una persona."
                    ),
                    base_url=base + CIVIL_REGISTRY_PATH,
                    openapi=PERSON_OPENAPI,
                    classification=Service.Classification.PERSONAL,
                    personal_data=(
                        "Nombres y apellidos, fecha de nacimiento y estado de su documento de identidad"
                    ),
                    legal_basis=LEGAL_BASIS,
                ),
                DEMO_REGISTRY_CIVIL,
            )
        )
    company = Institution.objects.filter(code=codes["company"]).first()
    if company is not None:
        subsystem = _subsystem(company, COMPANY_SUBSYSTEM, "Registro de comercio", Subsystem.Kind.PROVIDER)
        found.append(
            _service(
                subsystem,
                ServiceData(
                    code="empresas",
                    name="Consulta de empresas por número de identificación tributaria",
                    description="Razón social, tipo societario, matrícula, estado, domicilio y actividad.",
                    base_url=base + COMPANY_REGISTRY_PATH,
                    openapi=COMPANY_OPENAPI,
                    classification=Service.Classification.PUBLIC,
                    legal_basis=LEGAL_BASIS,
                ),
                DEMO_REGISTRY_COMPANY,
            )
        )
    return found


def demo_consumer_ensure(
    *, institution: Institution, registries: list[Service] | None = None
) -> tuple[Subsystem, str | None]:
    """The institution's EXPEDIENTES consumer subsystem with rights to the demo registries and its
    client-credentials client; returns the subsystem and the secret when the client was just created."""
    registries = registries if registries is not None else demo_registries()
    subsystem = _subsystem(
        institution, CONSUMER_SUBSYSTEM, "Expedientes (trámites en línea)", Subsystem.Kind.CONSUMER
    )
    secret = None
    if subsystem.oauth_application_id is None:
        _client_id, secret = subsystem_client_create(
            actor=None,
            subsystem=subsystem,
            client_id=f"interop-{institution.code.lower()}-expedientes",
            client_secret=demo_secret(institution.code),
        )
    for service in registries:
        # (a right granted by an older demo, with other purposes, gets a companion with today's purposes)
        if not AccessRight.objects.filter(
            consumer=subsystem, service=service, status=AccessRight.Status.APPROVED, purpose=PURPOSE
        ).exists():
            access_right_grant(
                actor=None, consumer=subsystem, service=service, purpose=PURPOSE, legal_basis=LEGAL_BASIS
            )
    return subsystem, secret


def load_demo_interop(*, base_url: str | None = None, consumers: list[str] | None = None) -> list[str]:
    """Load the demo registries and consumers; return report lines (client ids and secrets)."""
    registries = demo_registries(base_url)
    codes = consumers if consumers is not None else DEMO_CONSUMERS.get(settings.COUNTRY_PACK.code, [])
    lines = [
        "Interoperabilidad: registros de demostración "
        + ", ".join(service.identifier for service in registries)
        + " (mediador en /interop/r1/, catálogo en /interoperabilidad/)."
    ]
    for institution in Institution.objects.filter(code__in=codes).order_by("code"):
        subsystem, _secret = demo_consumer_ensure(institution=institution, registries=registries)
        application = subsystem.oauth_application
        lines.append(
            f"  {subsystem.identifier}: client_id={application.client_id if application else '-'}, "
            f"client_secret={demo_secret(institution.code)}"
        )
    return lines
