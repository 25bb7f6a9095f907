"""Back office: institutions manage their own subsystems and services, request/approve/revoke access, and
read monitoring. charlie (institution B) gets 404 on everything of institution A."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from conftest import login, member
from ventanilla.core.models import AuditEntry, Role
from ventanilla.interop.models import AccessRight, Service, Subsystem
from ventanilla.interop.services import (
    LogRecord,
    ServiceData,
    access_right_request,
    log_append,
    service_save,
    subsystem_save,
)


@pytest.fixture
def provider(institution_a: Any) -> Subsystem:
    return subsystem_save(
        actor=None, institution=institution_a, code="REGISTRO", name="Registro A", kind="ambos"
    )


@pytest.fixture
def service(provider: Subsystem) -> Service:
    return service_save(
        actor=None,
        subsystem=provider,
        data=ServiceData(code="personas", name="Personas", base_url="https://interno.insta.example/v1"),
    )


@pytest.fixture
def consumer_b(institution_b: Any) -> Subsystem:
    return subsystem_save(
        actor=None, institution=institution_b, code="EXPEDIENTES", name="Exp B", kind="consumidor"
    )


@pytest.fixture
def requested(service: Service, consumer_b: Subsystem) -> AccessRight:
    return access_right_request(
        actor=None, consumer=consumer_b, service=service, purpose="Trámites", legal_basis="Ley 2"
    )


def test_bob_creates_a_subsystem_and_publishes_a_service(bob_client: Client, institution_a: Any) -> None:
    created = bob_client.post(
        "/gestion/interoperabilidad/subsistemas/nuevo/",
        {"institution": institution_a.pk, "code": "RUNPI", "name": "Registro único", "kind": "proveedor"},
    )
    assert created.status_code == 302, created.content.decode()
    subsystem = Subsystem.objects.get(code="RUNPI")
    assert AuditEntry.objects.filter(action="interop.subsystem.create", target_id=str(subsystem.pk)).exists()
    published = bob_client.post(
        f"/gestion/interoperabilidad/subsistemas/{subsystem.pk}/servicios/nuevo/",
        {
            "code": "personas",
            "version": "v1",
            "name": "Personas",
            "base_url": "https://runpi.insta.example/v1",
            "classification": "personal",
            "status": "activo",
            "openapi": '{"openapi": "3.0.3"}',
        },
    )
    assert published.status_code == 302, published.content.decode()
    service = Service.objects.get(code="personas")
    assert service.openapi == {"openapi": "3.0.3"}
    detail = bob_client.get(f"/gestion/interoperabilidad/servicios/{service.pk}/")
    assert service.provider_secret in detail.content.decode()  # the owner sees it to configure its system


def test_bad_input_gets_spanish_errors_linked_to_fields(bob_client: Client, provider: Subsystem) -> None:
    response = bob_client.post(
        f"/gestion/interoperabilidad/subsistemas/{provider.pk}/servicios/nuevo/",
        {
            "code": "con espacios",
            "version": "v1",
            "name": "",
            "base_url": "no-es-url",
            "classification": "personal",
            "status": "activo",
            "openapi": "{no json",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#id_openapi"' in html and "JSON" in html
    assert 'href="#id_name"' in html


def test_charlie_cannot_see_or_manage_a_services(
    charlie_client: Client, provider: Subsystem, service: Service, requested: AccessRight
) -> None:
    for url in [
        f"/gestion/interoperabilidad/subsistemas/{provider.pk}/",
        f"/gestion/interoperabilidad/subsistemas/{provider.pk}/editar/",
        f"/gestion/interoperabilidad/subsistemas/{provider.pk}/servicios/nuevo/",
        f"/gestion/interoperabilidad/servicios/{service.pk}/",
        f"/gestion/interoperabilidad/servicios/{service.pk}/editar/",
    ]:
        assert charlie_client.get(url).status_code == 404, url
    assert (
        charlie_client.post(f"/gestion/interoperabilidad/servicios/{service.pk}/secreto/").status_code == 404
    )
    # charlie's institution is the consumer of the request, but only the provider decides.
    assert (
        charlie_client.post(f"/gestion/interoperabilidad/accesos/{requested.pk}/aprobar/").status_code == 404
    )
    requested.refresh_from_db()
    assert requested.status == AccessRight.Status.REQUESTED
    index = charlie_client.get("/gestion/interoperabilidad/").content.decode()
    assert service.provider_secret not in index and "interno.insta.example" not in index


def test_request_approve_revoke_is_audited(
    charlie_client: Client, bob_client: Client, service: Service, consumer_b: Subsystem
) -> None:
    response = charlie_client.post(
        "/gestion/interoperabilidad/accesos/solicitar/",
        {
            "consumer": consumer_b.pk,
            "service": service.pk,
            "purpose": "Trámites municipales",
            "legal_basis": "Ordenanza 5",
            "operations": "GET /personas/*",
        },
    )
    assert response.status_code == 302, response.content.decode()
    right = AccessRight.objects.get()
    assert right.status == "solicitado" and right.operation_list() == [("GET", "/personas/*")]
    assert bob_client.post(f"/gestion/interoperabilidad/accesos/{right.pk}/aprobar/").status_code == 302
    right.refresh_from_db()
    assert right.status == "aprobado"
    assert (
        bob_client.post(
            f"/gestion/interoperabilidad/accesos/{right.pk}/revocar/", {"comment": "Fin"}
        ).status_code
        == 302
    )
    right.refresh_from_db()
    assert right.status == "revocado" and right.comment == "Fin"
    actions = set(
        AuditEntry.objects.filter(target_id=str(right.pk), action__startswith="interop.right").values_list(
            "action", flat=True
        )
    )
    assert actions == {"interop.right.request", "interop.right.approve", "interop.right.revoke"}


def test_charlie_cannot_request_with_a_subsystem_of_a(
    charlie_client: Client, service: Service, provider: Subsystem
) -> None:
    response = charlie_client.post(
        "/gestion/interoperabilidad/accesos/solicitar/",
        {"consumer": provider.pk, "service": service.pk, "purpose": "x", "legal_basis": "y"},
    )
    assert response.status_code == 400
    assert not AccessRight.objects.exists()


def test_monitoring_shows_calls_errors_and_percentiles(bob_client: Client, service: Service) -> None:
    for latency, status, outcome in [
        (10, 200, "ok"),
        (20, 200, "ok"),
        (30, 200, "ok"),
        (400, 504, "provider_timeout"),
    ]:
        log_append(
            LogRecord(
                request_id="r",
                client="INSTB/EXPEDIENTES",
                service_id_text=service.identifier,
                method="GET",
                path="/x",
                status=status,
                outcome=outcome,
                latency_ms=latency,
                service=service,
            )
        )
    from ventanilla.interop.selectors import service_stats

    stats = service_stats(service=service)
    assert (stats.total_calls, stats.total_errors, stats.p50, stats.p95) == (4, 1, 20, 400)
    assert stats.outcomes == {"ok": 3, "provider_timeout": 1}
    html = bob_client.get(f"/gestion/interoperabilidad/servicios/{service.pk}/?por=hora").content.decode()
    assert "p95 400 ms" in html and "provider_timeout" in html


def test_index_has_a_constant_number_of_queries(
    bob: Any, provider: Subsystem, consumer_b: Subsystem, django_assert_max_num_queries: Any
) -> None:
    for i in range(5):
        service = service_save(
            actor=None,
            subsystem=provider,
            data=ServiceData(code=f"s{i}", name=f"S{i}", base_url="https://x.example"),
        )
        access_right_request(actor=None, consumer=consumer_b, service=service, purpose="p", legal_basis="l")
    client = login(bob)
    with django_assert_max_num_queries(14):
        response = client.get("/gestion/interoperabilidad/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("Aprobar") == 5
    assert 'href="/gestion/interoperabilidad/"' in html  # the back-office navigation links here


def test_back_office_needs_a_role(alice: Any) -> None:
    assert login(alice).get("/gestion/interoperabilidad/").status_code == 403
    assert Client().get("/gestion/interoperabilidad/").status_code == 302


def test_clerk_without_editor_role_cannot_create(institution_a: Any) -> None:
    clerk = member("clerk", Role.CLERK, institution_a)
    response = login(clerk).post(
        "/gestion/interoperabilidad/subsistemas/nuevo/",
        {"institution": institution_a.pk, "code": "X1", "name": "X", "kind": "ambos"},
    )
    assert response.status_code == 400
    assert not Subsystem.objects.filter(code="X1").exists()


def test_subsystem_client_credentials_are_shown_once(
    bob_client: Client, provider: Subsystem, institution_a: Any
) -> None:
    # Issuing credentials follows Ciudadanía Digital's rule: institution admins (or the agency), not editors.
    refused = bob_client.post(
        f"/gestion/interoperabilidad/subsistemas/{provider.pk}/credenciales/", follow=True
    )
    assert "administradores" in refused.content.decode()
    provider.refresh_from_db()
    assert provider.oauth_application is None
    admin = login(member("ana", Role.INSTITUTION_ADMIN, institution_a))
    response = admin.post(f"/gestion/interoperabilidad/subsistemas/{provider.pk}/credenciales/")
    assert response.status_code == 302
    page = admin.get(f"/gestion/interoperabilidad/subsistemas/{provider.pk}/").content.decode()
    assert "client_secret:" in page
    again = admin.get(f"/gestion/interoperabilidad/subsistemas/{provider.pk}/").content.decode()
    assert "client_secret:" not in again
    provider.refresh_from_db()
    assert provider.oauth_application is not None
    assert provider.oauth_application.authorization_grant_type == "client-credentials"


def test_owner_suspends_a_subsystem(bob_client: Client, provider: Subsystem, institution_a: Any) -> None:
    response = bob_client.post(
        f"/gestion/interoperabilidad/subsistemas/{provider.pk}/editar/",
        {
            "name": "Registro A",
            "kind": "ambos",
            "status": "suspendido",
            "description": "",
            "rate_limit": "30",
        },
    )
    assert response.status_code == 302, response.content.decode()
    provider.refresh_from_db()
    assert (provider.status, provider.rate_limit, provider.code) == ("suspendido", 30, "REGISTRO")
    entry = AuditEntry.objects.filter(action="interop.subsystem.update", target_id=str(provider.pk)).get()
    assert entry.before["status"] == "activo" and entry.after["status"] == "suspendido"
