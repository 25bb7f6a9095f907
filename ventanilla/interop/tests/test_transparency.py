"""«¿Quién usó mis datos?» and consent in Mi cuenta, end to end through the mediator (live server)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from conftest import login
from ventanilla.identity.tests.conftest import make_citizen
from ventanilla.interop.demo import demo_registry_mark
from ventanilla.interop.models import InteropConsent, Service

from .conftest import World, grant, make_service

pytestmark = pytest.mark.urls("ventanilla.interop.tests.urls")


@pytest.fixture
def citizen(transactional_db: Any) -> Any:
    return make_citizen("CI-4567891", number="4567891", level="verificado")


def test_consultation_appears_in_who_used_my_data(world: World, citizen: Any) -> None:
    response = world.call(
        headers=world.headers(**{"Interop-Purpose": "trámite:  Licencia de funcionamiento N.º 12"})
    )
    assert response.status_code == 200
    page = login(citizen).get("/cuenta/uso-de-mis-datos/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Expedientes B" in html
    assert "Gobierno Municipal de Prueba" in html  # the consumer's institution
    # The right's purpose (as the provider approved it) with the call's detail.
    assert "Trámite: Licencia de funcionamiento N.º 12" in html
    assert "Nombres y apellidos, fecha de nacimiento" in html


def test_refused_calls_leave_no_data_use_row(world: World, citizen: Any) -> None:
    world.right.__class__.objects.filter(pk=world.right.pk).update(status="revocado")
    assert world.call().status_code == 403
    html = login(citizen).get("/cuenta/uso-de-mis-datos/").content.decode()
    assert "Expedientes B" not in html


def test_confidential_by_law_service_is_not_shown(world: World, citizen: Any) -> None:
    Service.objects.filter(pk=world.service.pk).update(confidential_by_law=True)
    assert world.call().status_code == 200
    html = login(citizen).get("/cuenta/uso-de-mis-datos/").content.decode()
    assert "Expedientes B" not in html


def test_consent_required_then_granted_then_withdrawn(world: World, citizen: Any) -> None:
    Service.objects.filter(pk=world.service.pk).update(needs_consent=True)
    refused = world.call()
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "consent_required"
    assert refused.headers["Interop-Error"] == "consent_required"

    browser = login(citizen)
    page = browser.get("/cuenta/consentimientos/")
    assert page.status_code == 200
    assert "Expedientes B" in page.content.decode()
    assert 'href="/cuenta/consentimientos/"' in page.content.decode()  # in the Mi cuenta navigation
    granted = browser.post(
        "/cuenta/consentimientos/",
        {"right": world.right.pk, "expires_on": (timezone.localdate() + dt.timedelta(days=30)).isoformat()},
    )
    assert granted.status_code == 302
    consent = InteropConsent.objects.get()
    assert consent.purpose == world.right.purpose and consent.expires_at is not None

    assert world.call().status_code == 200
    # Another purpose is not covered by the right (nor by the consent).
    other = world.call(headers=world.headers(**{"Interop-Purpose": "Otra finalidad"}))
    assert other.json()["errors"][0]["code"] == "access_denied"

    assert browser.post(f"/cuenta/consentimientos/{consent.pk}/retirar/").status_code == 302
    assert world.call().json()["errors"][0]["code"] == "consent_required"


def test_expired_consent_does_not_count(world: World, citizen: Any) -> None:
    Service.objects.filter(pk=world.service.pk).update(needs_consent=True)
    InteropConsent.objects.create(
        person=citizen.person,
        consumer=world.consumer,
        service=world.service,
        purpose=world.right.purpose,
        expires_at=timezone.now() - dt.timedelta(days=1),
    )
    assert world.call().json()["errors"][0]["code"] == "consent_required"


def test_subject_unknown_to_the_platform_cannot_consent(world: World) -> None:
    Service.objects.filter(pk=world.service.pk).update(needs_consent=True)
    response = world.call("personas/CI-7788990", headers=world.headers(**{"Interop-Subject": "CI-7788990"}))
    assert response.json()["errors"][0]["code"] == "consent_required"


def test_consent_page_refuses_past_dates_and_other_peoples_consents(world: World, citizen: Any) -> None:
    Service.objects.filter(pk=world.service.pk).update(needs_consent=True)
    browser = login(citizen)
    past = browser.post("/cuenta/consentimientos/", {"right": world.right.pk, "expires_on": "2000-01-01"})
    assert past.status_code == 400
    assert "futura" in past.content.decode()
    other = make_citizen("CI-7654321", number="7654321")
    consent = InteropConsent.objects.create(
        person=other.person, consumer=world.consumer, service=world.service, purpose="x"
    )
    assert browser.post(f"/cuenta/consentimientos/{consent.pk}/retirar/").status_code == 404
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_consent_page_needs_sign_in(world: World) -> None:
    from django.test import Client

    assert Client().get("/cuenta/consentimientos/").status_code == 302


def test_service_without_consent_needs_nothing(world: World, citizen: Any) -> None:
    other = make_service(world.provider, "abierto", world.service.base_url, personal_data="Nombre")
    demo_registry_mark(other, "civil")
    grant(world.consumer, other)
    assert world.call(service=other).status_code == 200
