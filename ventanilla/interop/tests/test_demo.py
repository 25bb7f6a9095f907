"""The demo: real registries behind the mediator, consumers with client credentials, idempotent loader."""

from __future__ import annotations

from typing import Any

import httpx

from ventanilla.core.models import Institution
from ventanilla.interop.demo import demo_secret, load_demo_interop
from ventanilla.interop.models import AccessRight, Service, Subsystem
from ventanilla.interop.providers import CIVIL_REGISTRY_PATH
from ventanilla.interop.services import ServiceData, registry_query, service_save, subsystem_save

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
        "Interop-Purpose": "Tr%C3%A1mite: Licencia de funcionamiento",
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
        purpose="Trámite: Licencia de funcionamiento",
    )
    assert answer.data["razon_social"] == "Agroexportadora Chiquitana S.A."
    # The demo registries answer only to the demo services themselves: another institution's service
    # whose base URL merely ends with the registry's path gets 401 with its own secret.
    impostor_subsystem = subsystem_save(
        actor=None,
        institution=Institution.objects.get(code="GAMLP"),
        code="FALSO",
        name="Falso",
        kind=Subsystem.Kind.PROVIDER,
    )
    impostor = service_save(
        actor=None,
        subsystem=impostor_subsystem,
        data=ServiceData(
            code="personas", name="Falso", base_url="https://otro.example" + CIVIL_REGISTRY_PATH
        ),
    )
    same_url = service_save(
        actor=None,
        subsystem=impostor_subsystem,
        data=ServiceData(code="copia", name="Copia", base_url=live_server.url + CIVIL_REGISTRY_PATH),
    )
    for service in (impostor, same_url):
        direct = httpx.get(
            f"{live_server.url}{CIVIL_REGISTRY_PATH}/personas/CI-4567891",
            headers={"Interop-Provider-Secret": service.provider_secret, "Interop-Subject": "CI-4567891"},
        )
        assert direct.status_code == 401, direct.text
    genuine = Service.objects.get(code="personas", subsystem__code="REGISTRO-CIVIL")
    ok = httpx.get(
        f"{live_server.url}{CIVIL_REGISTRY_PATH}/personas/CI-4567891",
        headers={"Interop-Provider-Secret": genuine.provider_secret, "Interop-Subject": "CI-4567891"},
    )
    assert ok.status_code == 200
    # ...and only about the person the consultation is about (Interop-Subject).
    other = httpx.get(
        f"{live_server.url}{CIVIL_REGISTRY_PATH}/personas/CI-4567891",
        headers={"Interop-Provider-Secret": genuine.provider_secret, "Interop-Subject": "CI-5123987-1B"},
    )
    assert other.status_code == 403 and other.json()["error"] == "sujeto_distinto"
    # A non-ASCII secret is just a wrong secret (401), never a server error.
    assert (
        httpx.get(
            f"{live_server.url}{CIVIL_REGISTRY_PATH}/personas/CI-4567891",
            headers={"Interop-Provider-Secret": "ñ".encode(), "Interop-Subject": "CI-4567891"},
        ).status_code
        == 401
    )


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
        HTTP_INTEROP_SUBJECT="CI-3456789",
    )
    assert person.json()["primer_apellido"] == "Benítez"


def test_non_ascii_provider_secret_is_refused_not_an_error(db: Any) -> None:
    from django.test import Client

    _institutions()
    load_demo_interop(base_url="http://127.0.0.1:8000", consumers=[])
    response = Client().get(
        CIVIL_REGISTRY_PATH + "/personas/CI-4567891",
        headers={"Interop-Provider-Secret": "contraseña-ñ", "Interop-Subject": "CI-4567891"},
    )
    assert response.status_code == 401
