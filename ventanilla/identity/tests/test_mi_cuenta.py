"""Mi cuenta: profile and level, connected applications with consent withdrawal, «¿Quién usó mis datos?»."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_refresh_token_model,
    set_token_value,
)

from ventanilla.core.errors import NotFound
from ventanilla.core.models import AuditEntry
from ventanilla.identity import accounts
from ventanilla.identity.models import ClientRegistration, Consent, DataUse, Person

pytestmark = pytest.mark.django_db

Application = get_application_model()
AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()


def _client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def app_a(institution_a: Any, bob: Any) -> Any:
    application = Application.objects.create(
        name="Licencias en línea",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://licencias.example/callback",
        algorithm=Application.RS256_ALGORITHM,
    )
    ClientRegistration.objects.create(
        application=application,
        institution=institution_a,
        status=ClientRegistration.Status.APPROVED,
        allowed_scopes="openid profile email documento_identidad",
        requested_by=bob,
    )
    return application


def _tokens(user: Any, application: Any, label: str) -> tuple[Any, Any]:
    access = AccessToken(
        user=user,
        application=application,
        expires=timezone.now() + dt.timedelta(minutes=10),
        scope="openid profile",
    )
    set_token_value(access, f"acceso-{label}")
    access.save()
    refresh = RefreshToken(user=user, application=application, access_token=access)
    set_token_value(refresh, f"refresco-{label}")
    refresh.save()
    return access, refresh


@pytest.fixture
def alice_consents(alice_person: Any, app_a: Any) -> list[Any]:
    return [
        Consent.objects.create(user=alice_person.user, application=app_a, scopes="openid profile"),
        Consent.objects.create(user=alice_person.user, application=app_a, scopes="openid email"),
    ]


def test_connected_applications_grouped_with_institution_and_scopes(
    alice_consents: Any, app_a: Any, check_page: Any, django_assert_max_num_queries: Any
) -> None:
    client = _client_for(alice_consents[0].user)
    with django_assert_max_num_queries(12):
        response = client.get("/cuenta/aplicaciones/")
    check_page(response)
    html = response.content.decode()
    assert html.count('<h2 class="usa-card__heading">Licencias en línea</h2>') == 1
    assert "Servicio de Identificación de Prueba" in html
    for label in (
        "Nombres, apellidos y fecha de nacimiento",
        "Correo electrónico",
        "Identificador de su cuenta",
    ):
        assert label in html
    assert "Revocar acceso de Licencias en línea" in html


def test_withdrawing_consent_deletes_the_tokens(
    alice_consents: Any, app_a: Any, charlie: Any, alice: Any
) -> None:
    access, refresh = _tokens(alice, app_a, "alice")
    charlie_access, _charlie_refresh = _tokens(charlie, app_a, "charlie")
    Consent.objects.create(user=charlie, application=app_a, scopes="openid")

    response = _client_for(alice).post("/cuenta/aplicaciones/revocar/", {"aplicacion": app_a.pk})
    assert response.status_code == 302

    assert not Consent.objects.filter(user=alice, withdrawn_at__isnull=True).exists()
    assert not AccessToken.objects.filter(pk=access.pk).exists()
    refresh.refresh_from_db()
    assert refresh.revoked is not None
    # Nobody else's access is touched.
    assert AccessToken.objects.filter(pk=charlie_access.pk).exists()
    assert Consent.objects.filter(user=charlie, withdrawn_at__isnull=True).exists()
    entry = AuditEntry.objects.get(action="consent.withdraw")
    assert entry.actor_id == alice.pk
    assert entry.metadata["refresh_tokens_revoked"] == 1
    # The page no longer lists it.
    assert "Licencias en línea" not in _client_for(alice).get("/cuenta/aplicaciones/").content.decode()


def test_charlie_cannot_revoke_alices_consent(
    alice_consents: Any, app_a: Any, charlie: Any, alice: Any
) -> None:
    access, _refresh = _tokens(alice, app_a, "alice")
    response = _client_for(charlie).post("/cuenta/aplicaciones/revocar/", {"aplicacion": app_a.pk})
    assert response.status_code == 404
    assert Consent.objects.filter(user=alice, withdrawn_at__isnull=True).count() == 2
    assert AccessToken.objects.filter(pk=access.pk).exists()
    with pytest.raises(NotFound):
        accounts.consent_withdraw(actor=charlie, application_id=app_a.pk)


def test_revoke_needs_post(alice_consents: Any, app_a: Any, alice: Any) -> None:
    assert _client_for(alice).get("/cuenta/aplicaciones/revocar/").status_code == 405


# -- «¿Quién usó mis datos?» ------------------------------------------------------------------------------


def test_data_use_page_shows_only_my_rows_newest_first_in_local_time(
    alice_person: Any, charlie_person: Any, institution_a: Any, institution_b: Any, check_page: Any
) -> None:
    DataUse.objects.create(
        person=alice_person,
        kind=DataUse.Kind.SIGN_IN,
        institution=institution_a,
        application_name="Licencias en línea",
        purpose="Ingreso al sistema",
        data="nombres, correo",
        created_at=dt.datetime(2024, 5, 1, 16, 30, tzinfo=dt.UTC),
    )
    DataUse.objects.create(
        person=alice_person,
        kind=DataUse.Kind.CONSULTATION,
        institution=institution_b,
        application_name="Catastro",
        purpose="Verificar domicilio",
        created_at=dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC),
    )
    DataUse.objects.create(
        person=charlie_person,
        kind=DataUse.Kind.SIGN_IN,
        institution=institution_b,
        application_name="Sistema secreto de Carlos",
    )
    response = _client_for(alice_person.user).get("/cuenta/uso-de-mis-datos/")
    check_page(response)
    html = response.content.decode()
    assert "Sistema secreto de Carlos" not in html
    assert html.index("Catastro") < html.index("Licencias en línea")
    assert "01/05/2024 12:30" in html  # 16:30 UTC shown in America/La_Paz
    assert "Verificar domicilio" in html and "Servicio de Identificación de Prueba" in html


def test_data_use_page_is_paginated_without_n_plus_one(
    alice_person: Any, institution_a: Any, settings: Any, django_assert_max_num_queries: Any
) -> None:
    settings.VENTANILLA_PAGE_SIZE = 5
    start = timezone.now()
    DataUse.objects.bulk_create(
        [
            DataUse(
                person=alice_person,
                kind=DataUse.Kind.SIGN_IN,
                institution=institution_a,
                application_name=f"Sistema {n:02d}",
                created_at=start - dt.timedelta(minutes=n),
            )
            for n in range(12)
        ]
    )
    client = _client_for(alice_person.user)
    with django_assert_max_num_queries(10):
        first = client.get("/cuenta/uso-de-mis-datos/").content.decode()
    assert "Sistema 00" in first and "Sistema 05" not in first
    assert "Página 1 de 3" in first
    third = client.get("/cuenta/uso-de-mis-datos/?pagina=3").content.decode()
    assert "Sistema 11" in third and "Sistema 00" not in third


# -- profile and level ------------------------------------------------------------------------------------


def test_profile_explains_how_to_become_verified(citizen: Any) -> None:
    html = _client_for(citizen).get("/cuenta/").content.decode()
    assert "Juana Quispe Mamani" in html and "CI 4567891" in html
    assert "nivel básico" in html
    assert "oficina de registro" in html and "Verificar con el registro civil" in html


def test_profile_of_a_verified_person(citizen: Any, registrar_a: Any, institution_a: Any) -> None:
    Person.objects.filter(user=citizen).update(
        assurance_level="verificado",
        verified_at=timezone.now(),
        verification_method="registrador",
        verification_office=institution_a.offices.get(),
        verified_by=registrar_a,
    )
    html = _client_for(citizen).get("/cuenta/").content.decode()
    assert "Verificado" in html and "Oficina central A" in html
    assert "Verificar con el registro civil" not in html


def test_pending_contact_verification_is_pointed_out(citizen: Any) -> None:
    Person.objects.filter(user=citizen).update(mobile_verified=False)
    html = _client_for(citizen).get("/cuenta/").content.decode()
    assert "Falta confirmar su correo o su celular" in html
    assert "/cuenta/verificar-contacto/" in html
