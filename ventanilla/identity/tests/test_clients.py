"""Registered applications (OAuth2/OIDC clients): validation, the institution admin's pages, the agency's
review, secret handling and the demo clients.

Cast: ``ana`` administers institution A, ``carla`` institution B (both created here); ``bob`` edits A's
catalogue, ``alice`` is a citizen and ``agency`` is the platform agency (conftest.py). Every object-level rule
is checked against carla: A's applications are "not found" for her.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import login, member
from ventanilla.core.errors import DomainError, Forbidden, InvalidTransition
from ventanilla.core.models import AuditEntry, Institution, Role
from ventanilla.identity.clients import (
    client_approve,
    client_register,
    client_reject,
    client_secret_rotate,
    client_suspend,
    client_update,
)
from ventanilla.identity.demo_clients import DEFAULT_DEMO_CLIENT_SECRET, load_demo_clients
from ventanilla.identity.models import ClientRegistration

Status = ClientRegistration.Status


pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------------------


@pytest.fixture
def ana(institution_a: Institution) -> Any:
    return member("ana", Role.INSTITUTION_ADMIN, institution_a)


@pytest.fixture
def carla(institution_b: Institution) -> Any:
    return member("carla", Role.INSTITUTION_ADMIN, institution_b)


@pytest.fixture
def clerk(institution_a: Institution) -> Any:
    return member("cecilia", Role.CLERK, institution_a)


def valid(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Sistema de Licencias",
        "client_type": "confidential",
        "grant_type": "authorization-code",
        "redirect_uris": ["https://licencias.example.bo/callback"],
        "post_logout_redirect_uris": ["https://licencias.example.bo/"],
        "allowed_scopes": ["openid", "profile", "email"],
        "claim_shape": "estandar",
        "min_assurance": "basico",
        "logo_url": "https://licencias.example.bo/logo.png",
        "privacy_policy_url": "https://licencias.example.bo/privacidad",
        "description": "Licencias de conducir.",
    }
    values.update(overrides)
    return values


def register(actor: Any, institution: Institution, **overrides: Any) -> tuple[ClientRegistration, str | None]:
    return client_register(actor=actor, institution=institution, **valid(**overrides))


def refusal(actor: Any, institution: Institution, **overrides: Any) -> DomainError:
    with pytest.raises(DomainError) as caught:
        register(actor, institution, **overrides)
    return caught.value


def fields_and_codes(error: DomainError) -> set[tuple[str | None, str]]:
    return {(item.field, item.code) for item in error.items()}


def url(name: str, registration: ClientRegistration | None = None) -> str:
    if registration is None:
        return reverse(f"identity:{name}")
    return reverse(f"identity:{name}", kwargs={"client_id": registration.application.client_id})


def form_post(institution: Institution, **overrides: Any) -> dict[str, Any]:
    """What a browser sends from the 'Registrar una aplicación' page."""
    data: dict[str, Any] = {
        "institution": institution.code,
        "name": "Sistema de Licencias",
        "description": "Licencias de conducir.",
        "client_type": "confidential",
        "grant_type": "authorization-code",
        "redirect_uris": "https://licencias.example.bo/callback\nhttp://localhost:8080/callback",
        "post_logout_redirect_uris": "https://licencias.example.bo/",
        "allowed_scopes": ["openid", "profile", "email"],
        "claim_shape": "estandar",
        "min_assurance": "basico",
        "logo_url": "",
        "privacy_policy_url": "https://licencias.example.bo/privacidad",
    }
    data.update(overrides)
    return data


def edit_post(registration: ClientRegistration, **overrides: Any) -> dict[str, Any]:
    app = registration.application
    data: dict[str, Any] = {
        "name": app.name,
        "description": registration.description,
        "redirect_uris": "\n".join(app.redirect_uris.split()),
        "post_logout_redirect_uris": "\n".join(app.post_logout_redirect_uris.split()),
        "allowed_scopes": registration.allowed_scopes.split(),
        "claim_shape": registration.claim_shape,
        "min_assurance": registration.min_assurance,
        "logo_url": registration.logo_url,
        "privacy_policy_url": registration.privacy_policy_url,
    }
    data.update(overrides)
    return data


SECRET_RE = re.compile(r'id="client-secret"[^>]*value="([^"]+)"')


def shown_secret(html: str) -> str | None:
    match = SECRET_RE.search(html)
    return match.group(1) if match else None


def audit_actions(registration: ClientRegistration) -> list[str]:
    return list(
        AuditEntry.objects.filter(target_type="identity.clientregistration", target_id=str(registration.pk))
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )


# --------------------------------------------------------------------------------------------------------
# Validation: each bad registration refused, on its field, with a clear message
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        ("http://licencias.example.bo/callback", "redirect_uri_insecure"),
        ("http://localhost.example.bo/callback", "redirect_uri_insecure"),
        ("http://127.0.0.1.nip.io/callback", "redirect_uri_insecure"),
        ("https://*.example.bo/callback", "redirect_uri_wildcard"),
        ("https://licencias.example.bo/*", "redirect_uri_wildcard"),
        ("https://licencias.example.bo/callback#fin", "redirect_uri_fragment"),
        ("https://licencias.example.bo/callback#", "redirect_uri_fragment"),
        ("https://usuario:clave@licencias.example.bo/callback", "redirect_uri_userinfo"),
        ("/callback", "redirect_uri_invalid"),
        ("https:///callback", "redirect_uri_invalid"),
        ("ftp://licencias.example.bo/callback", "redirect_uri_invalid"),
        ("bo.example.licencias:/callback", "redirect_uri_invalid"),
        ("https://licencias.example.bo:99999/callback", "redirect_uri_invalid"),
    ],
)
def test_bad_redirect_uri_is_refused(ana: Any, institution_a: Institution, uri: str, code: str) -> None:
    error = refusal(ana, institution_a, redirect_uris=[uri])
    assert ("redirect_uris", code) in fields_and_codes(error)
    assert any(uri in item.message for item in error.items())
    assert not ClientRegistration.objects.exists()


def test_http_message_explains_https_and_localhost(ana: Any, institution_a: Institution) -> None:
    error = refusal(ana, institution_a, redirect_uris=["http://licencias.example.bo/callback"])
    assert error.field == "redirect_uris"
    assert "use https" in error.message
    assert "localhost, 127.0.0.1 o [::1]" in error.message


def test_wildcard_and_fragment_messages(ana: Any, institution_a: Institution) -> None:
    error = refusal(
        ana, institution_a, redirect_uris=["https://*.example.bo/cb", "https://a.example.bo/cb#x"]
    )
    messages = [item.message for item in error.items()]
    assert any("comodín (*)" in m for m in messages)
    assert any("fragmento (#)" in m for m in messages)


@pytest.mark.parametrize(
    "uri",
    [
        "http://localhost/callback",
        "http://localhost:3000/callback",
        "http://127.0.0.1:8080/callback",
        "http://[::1]:5173/callback",
        "https://licencias.example.bo/callback?origen=web",
    ],
)
def test_loopback_http_and_https_are_accepted(ana: Any, institution_a: Institution, uri: str) -> None:
    registration, _ = register(ana, institution_a, redirect_uris=[uri], post_logout_redirect_uris=[uri])
    assert registration.application.redirect_uris == uri


def test_post_logout_uris_follow_the_same_rules(ana: Any, institution_a: Institution) -> None:
    error = refusal(ana, institution_a, post_logout_redirect_uris=["http://licencias.example.bo/"])
    assert fields_and_codes(error) == {("post_logout_redirect_uris", "redirect_uri_insecure")}


def test_unknown_scopes_are_refused_and_listed(ana: Any, institution_a: Institution) -> None:
    error = refusal(ana, institution_a, allowed_scopes=["openid", "superpoderes", "admin"])
    assert (error.field, error.code) == ("allowed_scopes", "scope_unknown")
    assert "Alcances desconocidos: admin, superpoderes." in error.message
    assert "documento_identidad" in error.message  # the available ones are listed too


def test_public_client_cannot_use_client_credentials(ana: Any, institution_a: Institution) -> None:
    error = refusal(
        ana,
        institution_a,
        client_type="public",
        grant_type="client-credentials",
        redirect_uris=[],
        post_logout_redirect_uris=[],
        allowed_scopes=[],
    )
    assert fields_and_codes(error) == {("grant_type", "public_client_grant")}
    assert "PKCE" in error.message


def test_authorization_code_needs_a_redirect_uri(ana: Any, institution_a: Institution) -> None:
    error = refusal(ana, institution_a, redirect_uris=[])
    assert fields_and_codes(error) == {("redirect_uris", "redirect_uri_required")}
    assert "al menos una dirección de retorno" in error.message


def test_client_credentials_takes_no_redirect_uris_and_no_personal_scopes(
    ana: Any, institution_a: Institution
) -> None:
    error = refusal(ana, institution_a, grant_type="client-credentials", allowed_scopes=["openid", "profile"])
    assert fields_and_codes(error) == {
        ("redirect_uris", "redirect_uri_not_allowed"),
        ("post_logout_redirect_uris", "redirect_uri_not_allowed"),
        ("allowed_scopes", "scope_not_allowed"),
    }
    scope_item = next(i for i in error.items() if i.code == "scope_not_allowed")
    assert "openid, profile" in scope_item.message


def test_client_credentials_client_is_registered_without_redirects_or_scopes(
    ana: Any, institution_a: Institution
) -> None:
    registration, secret = register(
        ana,
        institution_a,
        grant_type="client-credentials",
        redirect_uris=[],
        post_logout_redirect_uris=[],
        allowed_scopes=[],
    )
    assert secret
    assert registration.allowed_scopes == ""
    assert registration.application.authorization_grant_type == "client-credentials"


def test_authorization_code_client_needs_openid(ana: Any, institution_a: Institution) -> None:
    error = refusal(ana, institution_a, allowed_scopes=["profile"])
    assert fields_and_codes(error) == {("allowed_scopes", "scope_openid_required")}


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"name": "   "}, "name", "required"),
        ({"name": "x" * 256}, "name", "too_long"),
        ({"logo_url": "http://licencias.example.bo/logo.png"}, "logo_url", "url_invalid"),
        ({"privacy_policy_url": "licencias.example.bo/privacidad"}, "privacy_policy_url", "url_invalid"),
        ({"client_type": "secreto"}, "client_type", "invalid"),
        ({"grant_type": "password"}, "grant_type", "invalid"),
        ({"claim_shape": "otro"}, "claim_shape", "invalid"),
        ({"min_assurance": "maximo"}, "min_assurance", "invalid"),
    ],
)
def test_other_fields_are_checked(
    ana: Any, institution_a: Institution, overrides: dict[str, Any], field: str, code: str
) -> None:
    error = refusal(ana, institution_a, **overrides)
    assert (field, code) in fields_and_codes(error)


def test_every_problem_is_reported_at_once(ana: Any, institution_a: Institution) -> None:
    error = refusal(
        ana,
        institution_a,
        name="",
        redirect_uris=["http://licencias.example.bo/cb", "https://*.example.bo/cb"],
        allowed_scopes=["openid", "todo"],
        logo_url="http://logo.example.bo/x.png",
    )
    assert fields_and_codes(error) == {
        ("name", "required"),
        ("redirect_uris", "redirect_uri_insecure"),
        ("redirect_uris", "redirect_uri_wildcard"),
        ("allowed_scopes", "scope_unknown"),
        ("logo_url", "url_invalid"),
    }
    assert not AuditEntry.objects.filter(action__startswith="client.").exists()


def test_only_admins_of_the_institution_or_the_agency_register(
    ana: Any, carla: Any, bob: Any, alice: Any, agency: Any, institution_a: Institution
) -> None:
    for outsider in (carla, bob, alice):
        with pytest.raises(Forbidden):
            register(outsider, institution_a)
    registration, _ = register(agency, institution_a)
    assert registration.status == Status.PENDING
    with pytest.raises(Forbidden):
        client_approve(actor=ana, registration=registration)


# --------------------------------------------------------------------------------------------------------
# Registration through the back office: pending, secret shown once, stored hashed
# --------------------------------------------------------------------------------------------------------


def test_admin_registers_a_client_and_sees_the_secret_once(ana: Any, institution_a: Institution) -> None:
    client = login(ana)
    assert client.get(url("client-create")).status_code == 200
    response = client.post(url("client-create"), form_post(institution_a))
    registration = ClientRegistration.objects.select_related("application").get()
    assert response.status_code == 302
    assert response["Location"] == url("client-detail", registration)
    assert registration.status == Status.PENDING
    assert registration.institution == institution_a
    assert registration.requested_by == ana
    assert registration.allowed_scopes == "openid profile email"
    app = registration.application
    assert app.client_type == "confidential"
    assert app.authorization_grant_type == "authorization-code"
    assert app.algorithm == "RS256"
    assert not app.skip_authorization
    assert app.redirect_uris == "https://licencias.example.bo/callback http://localhost:8080/callback"

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    html = page.content.decode()
    raw = shown_secret(html)
    assert raw is not None and len(raw) >= 64  # 48 random bytes, URL-safe
    assert app.client_id in html
    assert "Pendiente de aprobación" in html
    assert app.client_secret.startswith("vt_hmac_sha256$")
    assert raw not in app.client_secret
    assert check_password(raw, app.client_secret)

    again = client.get(response["Location"]).content.decode()
    assert shown_secret(again) is None
    assert raw not in again

    assert audit_actions(registration) == ["client.register"]
    entry = AuditEntry.objects.get(action="client.register")
    assert entry.institution_id == institution_a.pk
    assert entry.actor == ana
    assert raw not in json.dumps([entry.before, entry.after, entry.metadata])


def test_public_client_has_no_secret_to_show(ana: Any, institution_a: Institution) -> None:
    client = login(ana)
    response = client.post(
        url("client-create"),
        form_post(institution_a, client_type="public", redirect_uris="http://127.0.0.1:5173/callback"),
    )
    registration = ClientRegistration.objects.get()
    html = client.get(response["Location"]).content.decode()
    assert shown_secret(html) is None
    assert "PKCE" in html
    assert client.get(url("client-secret-rotate", registration)).status_code == 404
    with pytest.raises(DomainError):
        client_secret_rotate(actor=ana, registration=registration)


def test_form_shows_the_services_messages_next_to_the_fields(ana: Any, institution_a: Institution) -> None:
    client = login(ana)
    response = client.post(
        url("client-create"),
        form_post(
            institution_a,
            redirect_uris="http://licencias.example.bo/callback\nhttps://*.example.bo/cb",
            allowed_scopes=["openid", "superpoderes"],
        ),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hay 3 errores que corregir" in html
    assert "usa http: use https" in html
    assert "comodín (*)" in html
    assert "Alcances desconocidos: superpoderes." in html
    assert 'id="id_redirect_uris_error"' in html
    assert not ClientRegistration.objects.exists()


def test_public_client_credentials_refused_through_the_form(ana: Any, institution_a: Institution) -> None:
    response = login(ana).post(
        url("client-create"),
        form_post(
            institution_a,
            client_type="public",
            grant_type="client-credentials",
            redirect_uris="",
            post_logout_redirect_uris="",
            allowed_scopes=[],
        ),
    )
    assert response.status_code == 200
    assert 'id="id_grant_type_error"' in response.content.decode()
    assert not ClientRegistration.objects.exists()


def test_admin_cannot_register_for_another_institution(
    ana: Any, institution_a: Institution, institution_b: Institution
) -> None:
    response = login(ana).post(url("client-create"), form_post(institution_b))
    assert response.status_code == 200  # B is not among her choices
    assert not ClientRegistration.objects.exists()


# --------------------------------------------------------------------------------------------------------
# Who sees what
# --------------------------------------------------------------------------------------------------------


def test_admin_of_b_does_not_see_or_touch_a_clients(
    ana: Any, carla: Any, institution_a: Institution, institution_b: Institution
) -> None:
    a_client, a_secret = register(ana, institution_a, name="Aplicación de A")
    register(carla, institution_b, name="Aplicación de B")
    client = login(carla)

    listing = client.get(url("client-list")).content.decode()
    assert "Aplicación de B" in listing
    assert "Aplicación de A" not in listing
    assert a_client.application.client_id not in listing

    for name in ("client-detail", "client-edit", "client-secret-rotate", "client-review"):
        assert client.get(url(name, a_client)).status_code == 404, name
    assert client.post(url("client-edit", a_client), edit_post(a_client, name="Mía")).status_code == 404
    assert client.post(url("client-secret-rotate", a_client)).status_code == 404
    a_client.application.refresh_from_db()
    assert a_client.application.name == "Aplicación de A"
    assert check_password(a_secret, a_client.application.client_secret)
    with pytest.raises(Forbidden):
        client_secret_rotate(actor=carla, registration=a_client)


@pytest.mark.parametrize("who", ["bob", "alice", "clerk"])
def test_editors_clerks_and_citizens_get_403(
    request: pytest.FixtureRequest, who: str, ana: Any, institution_a: Institution
) -> None:
    registration, _ = register(ana, institution_a)
    client = login(request.getfixturevalue(who))
    assert client.get(url("client-list")).status_code == 403
    assert client.get(url("client-create")).status_code == 403
    assert client.post(url("client-create"), form_post(institution_a)).status_code == 403
    assert client.get(url("client-detail", registration)).status_code == 403
    assert client.post(url("client-secret-rotate", registration)).status_code == 403
    assert ClientRegistration.objects.count() == 1


def test_anonymous_is_sent_to_sign_in(ana: Any, institution_a: Institution) -> None:
    registration, _ = register(ana, institution_a)
    for target in (url("client-list"), url("client-create"), url("client-detail", registration)):
        response = Client().get(target)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("identity:login"))


def test_agency_sees_all_and_filters_by_status(
    ana: Any, carla: Any, agency: Any, institution_a: Institution, institution_b: Institution
) -> None:
    a_client, _ = register(ana, institution_a, name="Aplicación de A")
    register(carla, institution_b, name="Aplicación de B")
    client_approve(actor=agency, registration=a_client)
    client = login(agency)
    html = client.get(url("client-list")).content.decode()
    assert "Aplicación de A" in html and "Aplicación de B" in html
    approved = client.get(url("client-list"), {"estado": "aprobada"}).content.decode()
    assert "Aplicación de A" in approved and "Aplicación de B" not in approved


# --------------------------------------------------------------------------------------------------------
# Review by the agency
# --------------------------------------------------------------------------------------------------------


def test_agency_approves(ana: Any, agency: Any, institution_a: Institution) -> None:
    registration, _ = register(ana, institution_a)
    client = login(agency)
    page = client.get(url("client-review", registration))
    assert page.status_code == 200
    response = client.post(url("client-review", registration), {"accion": "aprobar", "comment": ""})
    assert response.status_code == 302
    registration.refresh_from_db()
    assert registration.status == Status.APPROVED
    assert registration.reviewed_by == agency
    assert registration.reviewed_at is not None
    assert audit_actions(registration) == ["client.register", "client.approve"]
    entry = AuditEntry.objects.get(action="client.approve")
    assert entry.institution_id == institution_a.pk
    assert entry.before["status"] == "pendiente" and entry.after["status"] == "aprobada"


def test_agency_rejects_with_a_comment(ana: Any, agency: Any, institution_a: Institution) -> None:
    registration, _ = register(ana, institution_a)
    client = login(agency)
    refused = client.post(url("client-review", registration), {"accion": "rechazar", "comment": "  "})
    assert refused.status_code == 200
    assert "Indique a la institución qué debe corregir." in refused.content.decode()
    registration.refresh_from_db()
    assert registration.status == Status.PENDING

    client.post(
        url("client-review", registration), {"accion": "rechazar", "comment": "Use el dominio oficial."}
    )
    registration.refresh_from_db()
    assert registration.status == Status.REJECTED
    assert registration.review_comment == "Use el dominio oficial."
    assert audit_actions(registration) == ["client.register", "client.reject"]
    assert "Use el dominio oficial." in login(ana).get(url("client-detail", registration)).content.decode()


def test_agency_suspends_and_reactivates(ana: Any, agency: Any, institution_a: Institution) -> None:
    registration, _ = register(ana, institution_a)
    client_approve(actor=agency, registration=registration)
    with pytest.raises(DomainError):
        client_suspend(actor=agency, registration=registration, comment="")
    client_suspend(actor=agency, registration=registration, comment="Incidente de seguridad.")
    registration.refresh_from_db()
    assert registration.status == Status.SUSPENDED
    with pytest.raises(InvalidTransition):
        client_reject(actor=agency, registration=registration, comment="No.")
    client_approve(actor=agency, registration=registration)
    registration.refresh_from_db()
    assert registration.status == Status.APPROVED
    assert audit_actions(registration) == [
        "client.register",
        "client.approve",
        "client.suspend",
        "client.approve",
    ]


def test_institution_admin_cannot_review(ana: Any, institution_a: Institution) -> None:
    registration, _ = register(ana, institution_a)
    client = login(ana)
    assert client.get(url("client-review", registration)).status_code == 403
    assert client.post(url("client-review", registration), {"accion": "aprobar"}).status_code == 403
    registration.refresh_from_db()
    assert registration.status == Status.PENDING


# --------------------------------------------------------------------------------------------------------
# Editing
# --------------------------------------------------------------------------------------------------------


def test_changing_redirect_uris_of_an_approved_client_sends_it_back_to_review(
    ana: Any, agency: Any, institution_a: Institution
) -> None:
    registration, _ = register(ana, institution_a)
    client_approve(actor=agency, registration=registration)
    registration.refresh_from_db()
    client = login(ana)
    assert client.get(url("client-edit", registration)).status_code == 200
    response = client.post(
        url("client-edit", registration),
        edit_post(registration, redirect_uris="https://licencias.example.bo/nuevo-retorno"),
    )
    assert response.status_code == 302
    registration.refresh_from_db()
    registration.application.refresh_from_db()
    assert registration.status == Status.PENDING
    assert registration.application.redirect_uris == "https://licencias.example.bo/nuevo-retorno"
    assert audit_actions(registration)[-1] == "client.update"
    entry = AuditEntry.objects.filter(action="client.update").get()
    assert entry.before["redirect_uris"] == ["https://licencias.example.bo/callback"]
    assert entry.after["status"] == "pendiente"


def test_changing_scopes_of_an_approved_client_sends_it_back_to_review(
    ana: Any, agency: Any, institution_a: Institution
) -> None:
    registration, _ = register(ana, institution_a)
    client_approve(actor=agency, registration=registration)
    saved = client_update(
        actor=ana,
        registration=registration,
        **{
            k: v
            for k, v in valid(allowed_scopes=["openid", "documento_identidad"]).items()
            if k not in ("client_type", "grant_type")
        },
    )
    assert saved.status == Status.PENDING
    assert saved.allowed_scopes == "openid documento_identidad"


@pytest.mark.parametrize(
    "change",
    [
        {"claim_shape": "bolivia"},
        {"name": "Otro nombre más confiable"},
        {"logo_url": "https://otro.example.bo/logo.png"},
        {"privacy_policy_url": "https://otro.example.bo/privacidad"},
    ],
)
def test_changing_what_the_consent_screen_shows_sends_it_back_to_review(
    ana: Any, agency: Any, institution_a: Institution, change: dict[str, str]
) -> None:
    registration, _ = register(ana, institution_a)
    client_approve(actor=agency, registration=registration)
    values = {k: v for k, v in valid(**change).items() if k not in ("client_type", "grant_type")}
    saved = client_update(actor=ana, registration=registration, **values)
    assert saved.status == Status.PENDING


def test_other_edits_keep_an_approved_client_approved(
    ana: Any, agency: Any, institution_a: Institution
) -> None:
    registration, _ = register(ana, institution_a)
    client_approve(actor=agency, registration=registration)
    registration.refresh_from_db()
    login(ana).post(
        url("client-edit", registration), edit_post(registration, description="Nueva descripción.")
    )
    registration.refresh_from_db()
    assert registration.status == Status.APPROVED
    assert registration.description == "Nueva descripción."
    # The agency's own changes do not need its own approval.
    login(agency).post(
        url("client-edit", registration), edit_post(registration, redirect_uris="https://otra.example.bo/cb")
    )
    registration.refresh_from_db()
    assert registration.status == Status.APPROVED


def test_editing_a_rejected_client_resubmits_it(ana: Any, agency: Any, institution_a: Institution) -> None:
    registration, _ = register(ana, institution_a)
    client_reject(actor=agency, registration=registration, comment="Falta la política de privacidad.")
    registration.refresh_from_db()
    login(ana).post(url("client-edit", registration), edit_post(registration, name="Licencias (corregido)"))
    registration.refresh_from_db()
    assert registration.status == Status.PENDING


def test_edits_are_validated_like_registrations(ana: Any, institution_a: Institution) -> None:
    registration, _ = register(ana, institution_a)
    response = login(ana).post(
        url("client-edit", registration),
        edit_post(registration, redirect_uris="http://licencias.example.bo/cb"),
    )
    assert response.status_code == 200
    assert "usa http: use https" in response.content.decode()
    registration.application.refresh_from_db()
    assert registration.application.redirect_uris == "https://licencias.example.bo/callback"
    assert audit_actions(registration) == ["client.register"]


# --------------------------------------------------------------------------------------------------------
# Secret rotation
# --------------------------------------------------------------------------------------------------------


def test_rotation_invalidates_the_old_secret(ana: Any, institution_a: Institution) -> None:
    registration, old = register(ana, institution_a)
    assert old is not None
    client = login(ana)
    confirm = client.get(url("client-secret-rotate", registration))
    assert confirm.status_code == 200
    registration.application.refresh_from_db()
    assert check_password(old, registration.application.client_secret)  # GET changes nothing

    response = client.post(url("client-secret-rotate", registration))
    assert response.status_code == 302
    new = shown_secret(client.get(response["Location"]).content.decode())
    assert new and new != old
    registration.application.refresh_from_db()
    stored = registration.application.client_secret
    assert stored.startswith("vt_hmac_sha256$")
    assert not check_password(old, stored)
    assert check_password(new, stored)
    assert shown_secret(client.get(response["Location"]).content.decode()) is None
    assert audit_actions(registration) == ["client.register", "client.secret_rotate"]
    entry = AuditEntry.objects.get(action="client.secret_rotate")
    assert new not in json.dumps([entry.before, entry.after, entry.metadata])


def test_people_cannot_choose_ids_or_secrets(ana: Any, institution_a: Institution) -> None:
    with pytest.raises(Forbidden):
        register(ana, institution_a, client_id="mi-id")
    registration, _ = register(ana, institution_a)
    with pytest.raises(Forbidden):
        client_secret_rotate(actor=ana, registration=registration, client_secret="x" * 40)


# --------------------------------------------------------------------------------------------------------
# Query counts
# --------------------------------------------------------------------------------------------------------


def _queries(client: Client, target: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(target)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("who", ["ana", "agency"])
def test_list_queries_do_not_grow_with_rows(
    request: pytest.FixtureRequest, who: str, ana: Any, institution_a: Institution
) -> None:
    user = request.getfixturevalue(who)
    for i in range(3):
        register(ana, institution_a, name=f"Aplicación {i}")
    few = _queries(login(user), url("client-list"))
    for i in range(3, 10):
        register(ana, institution_a, name=f"Aplicación {i}")
    client = login(user)
    with CaptureQueriesContext(connection) as captured:
        html = client.get(url("client-list")).content.decode()
    assert "Aplicación 9" in html and "Aplicación 0" in html
    assert len(captured) == few


# --------------------------------------------------------------------------------------------------------
# Demo clients
# --------------------------------------------------------------------------------------------------------


def test_demo_clients_are_loaded_once(institution_a: Institution, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VENTANILLA_DEMO_CLIENT_SECRET", raising=False)
    segip = Institution.objects.create(code="SEGIP", name="Servicio General de Identificación Personal")
    loaded = load_demo_clients()
    assert [r.application.client_id for r in loaded] == ["demo-licencias", "demo-spa", "demo-interop"]
    by_id = {r.application.client_id: r for r in ClientRegistration.objects.select_related("application")}
    assert set(by_id) == {"demo-licencias", "demo-spa", "demo-interop"}
    assert all(r.status == Status.APPROVED and r.institution == segip for r in by_id.values())

    licencias = by_id["demo-licencias"]
    assert licencias.application.name == "Sistema de Licencias (demo)"
    assert licencias.application.client_type == "confidential"
    assert licencias.claim_shape == "bolivia"
    assert licencias.allowed_scopes == (
        "openid profile email phone documento_identidad fecha_nacimiento celular offline_access"
    )
    assert licencias.application.redirect_uris.split() == [
        "http://127.0.0.1:8080/callback",
        "http://localhost:8080/callback",
    ]
    assert licencias.application.client_secret.startswith("vt_hmac_sha256$")
    assert check_password(DEFAULT_DEMO_CLIENT_SECRET, licencias.application.client_secret)
    spa = by_id["demo-spa"].application
    assert (spa.client_type, spa.redirect_uris) == ("public", "http://127.0.0.1:5173/callback")
    interop = by_id["demo-interop"].application
    assert (interop.client_type, interop.authorization_grant_type) == ("confidential", "client-credentials")

    audit_rows = AuditEntry.objects.count()
    load_demo_clients()
    assert ClientRegistration.objects.count() == 3
    assert AuditEntry.objects.count() == audit_rows

    monkeypatch.setenv("VENTANILLA_DEMO_CLIENT_SECRET", "otro-secreto-de-demostracion-0123456789-abcdef")
    load_demo_clients()
    licencias.application.refresh_from_db()
    assert check_password(
        "otro-secreto-de-demostracion-0123456789-abcdef", licencias.application.client_secret
    )
    assert ClientRegistration.objects.count() == 3


def test_demo_clients_fall_back_to_the_first_institution(institution_a: Institution) -> None:
    registrations = load_demo_clients()
    assert {r.institution for r in registrations} == {institution_a}


def test_demo_clients_need_an_institution(db: Any) -> None:
    assert load_demo_clients() == []
