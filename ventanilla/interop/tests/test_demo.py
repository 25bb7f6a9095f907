"""The demo: real registries behind the mediator, consumers with client credentials, idempotent loader."""

from __future__ import annotations

from typing import Any

import httpx

from ventanilla.core.models import Institution
from ventanilla.interop.demo import demo_secret, load_demo_interop
from ventanilla.interop.models import AccessRight, Service, Subsystem
from ventanilla.interop.services import registry_query

from .conftest import token_for


def _institutions() -> None:
    for code, name in [
        ("SEGIP", "Servicio General de Identificación Personal"),
        ("SEPREC", "Servicio Plurinacional de Registro de Comercio"),
        ("GAMLP", "Gobierno Autónomo Municipal de La Paz"),
    ]:
        Institution.objects.create(code=code, name=name, acronym=code, level="central")


def test_demo_loader_is_idempotent(db: Any) -> None:
    _institutions()
    first = load_demo_interop(base_url="http://127.0.0.1:8000", consumers=["GAMLP"])
    second = load_demo_interop(base_url="http://127.0.0.1:8000", consumers=["GAMLP"])
    assert first == second
    assert "SEGIP/REGISTRO-CIVIL/personas" in first[0] and "SEPREC/REGISTRO-COMERCIO/empresas" in first[0]
    assert "client_id=interop-gamlp-expedientes" in first[1] and demo_secret("GAMLP") in first[1]
    assert Service.objects.count() == 2
    assert AccessRight.objects.filter(status="aprobado", consumer__code="EXPEDIENTES").count() == 2
    assert Subsystem.objects.get(member__institution__code="GAMLP").oauth_application.client_id == (
        "interop-gamlp-expedientes"
    )


def test_demo_registries_answer_through_the_mediator(live_server: Any, interop_log_flushable: Any) -> None:
    _institutions()
    load_demo_interop(base_url=live_server.url, consumers=["GAMLP"])
    token = token_for(live_server.url, "interop-gamlp-expedientes", demo_secret("GAMLP"))
    headers = {
        "Authorization": f"Bearer {token}",
        "Interop-Client": "GAMLP/EXPEDIENTES",
        "Interop-Purpose": "Licencia de funcionamiento",
    }
    company = httpx.get(
        f"{live_server.url}/interop/r1/SEPREC/REGISTRO-COMERCIO/empresas/empresas/1020304050", headers=headers
    )
    assert company.status_code == 200, company.text
    assert company.json()["razon_social"] == "Textiles Illimani S.R.L."
    person = httpx.get(
        f"{live_server.url}/interop/r1/SEGIP/REGISTRO-CIVIL/personas/personas/CI-5123987-1B",
        headers={**headers, "Interop-Subject": "CI-5123987-1B", "Interop-User": "funcionario"},
    )
    assert person.status_code == 200, person.text
    assert person.json()["nombres"] == "María Fernanda"
    # In-process, as the Expedientes app prefills a form.
    answer = registry_query(
        actor=None,
        client="GAMLP/EXPEDIENTES",
        service="SEPREC/REGISTRO-COMERCIO/empresas",
        path="empresas/2030405060",
        purpose="Licencia de funcionamiento",
    )
    assert answer.data["razon_social"] == "Agroexportadora Chiquitana S.A."


def test_paraguay_demo_uses_its_own_registries(db: Any, settings: Any) -> None:
    from django.test import Client

    from ventanilla.core.countries import get_pack

    settings.COUNTRY_PACK = get_pack("PY")
    for code in ("IDENTIFICACIONES", "REGPUB", "MCA"):
        Institution.objects.create(code=code, name=code, acronym=code, level="central")
    lines = load_demo_interop(base_url="http://127.0.0.1:8000")
    assert "IDENTIFICACIONES/REGISTRO-CIVIL/personas" in lines[0]
    assert "REGPUB/REGISTRO-COMERCIO/empresas" in lines[0]
    assert any("MCA/EXPEDIENTES" in line for line in lines)
    secret = Service.objects.get(code="empresas").provider_secret
    client = Client()
    with_dv = client.get(
        "/registros-demo/registro-comercio/v1/empresas/80012345-6", HTTP_INTEROP_PROVIDER_SECRET=secret
    )
    without_dv = client.get(
        "/registros-demo/registro-comercio/v1/empresas/80012345", HTTP_INTEROP_PROVIDER_SECRET=secret
    )
    assert with_dv.json() == without_dv.json()
    assert with_dv.json()["razon_social"] == "Yerbatera del Guairá S.A."
    person = client.get(
        "/registros-demo/registro-civil/v1/personas/3456789",
        HTTP_INTEROP_PROVIDER_SECRET=Service.objects.get(code="personas").provider_secret,
    )
    assert person.json()["primer_apellido"] == "Benítez"
