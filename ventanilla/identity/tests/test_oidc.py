"""The OpenID Connect provider, end to end.

The main flow is driven by an independent client library (Authlib) over real HTTP against a live server:
authorization code + PKCE (S256), ID token validated against the JWKS, userinfo, refresh with rotation.
Error cases and claim shapes use the Django test client."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from django.test import Client
from oauth2_provider.models import AccessToken, Application, RefreshToken

from ventanilla.core.models import AuditEntry
from ventanilla.identity.models import (
    AccountSession,
    AssuranceLevel,
    AuthorizationContext,
    ClientRegistration,
    Consent,
    DataUse,
    Person,
)

REDIRECT = "http://127.0.0.1:8080/callback"
SECRET = "s3cr3t-" + "x" * 50
ALL_SCOPES = "openid profile email phone documento_identidad fecha_nacimiento celular offline_access"


def make_client(
    institution: Any,
    *,
    client_id: str = "licencias",
    shape: str = "estandar",
    status: str = ClientRegistration.Status.APPROVED,
    client_type: str = Application.CLIENT_CONFIDENTIAL,
    grant: str = Application.GRANT_AUTHORIZATION_CODE,
    scopes: str = ALL_SCOPES,
    min_assurance: str = AssuranceLevel.BASICO,
) -> Application:
    app = Application.objects.create(
        name=f"Sistema {client_id}",
        client_id=client_id,
        client_secret=SECRET,
        client_type=client_type,
        authorization_grant_type=grant,
        redirect_uris=REDIRECT if grant == Application.GRANT_AUTHORIZATION_CODE else "",
        post_logout_redirect_uris="http://127.0.0.1:8080/bye",
        algorithm=Application.RS256_ALGORITHM,
    )
    ClientRegistration.objects.create(
        application=app,
        institution=institution,
        status=status,
        allowed_scopes=scopes,
        claim_shape=shape,
        min_assurance=min_assurance,
    )
    return app


@pytest.fixture
def citizen(alice: Any) -> Person:
    person = Person.objects.create(
        user=alice,
        document_type="CI",
        document_number="4567891",
        document_complement="1A",
        first_names="Alicia",
        first_surname="Mamani",
        second_surname="Quispe",
        birth_date=date(1990, 5, 17),
        email="alicia@example.bo",
        email_verified=True,
        mobile="+59171234567",
        mobile_verified=True,
    )
    AccountSession.objects.create(user=alice, session_key="s" * 32, amr=["pwd", "otp"])
    return person


@pytest.fixture
def app_a(institution_a: Any) -> Application:
    return make_client(institution_a)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(client_id: str = "licencias", **extra: str) -> dict[str, str]:
    _, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid profile email",
        "state": "st4te",
        "nonce": "n0nce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return params


def consent_and_get_code(client: Client, params: dict[str, str]) -> str:
    page = client.get("/authorize/", params)
    assert page.status_code == 200, (page.status_code, page.get("Location"), page.content[:500])
    form = {
        m.group(1): m.group(2) for m in re.finditer(r'name="(\w+)" value="([^"]*)"', page.content.decode())
    }
    form["allow"] = "Authorize"
    answer = client.post("/authorize/", form)
    assert answer.status_code == 302
    query = parse_qs(urlparse(answer["Location"]).query)
    return query["code"][0]


# ------------------------------------------------------------------------------------------ live, Authlib


@pytest.mark.django_db(transaction=True)
def test_independent_client_completes_code_flow_with_pkce(
    live_server: Any, audit_log_flushable: None, citizen: Person, app_a: Application, alice: Any
) -> None:
    base = live_server.url
    discovery = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == base
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert "basico" in discovery["acr_values_supported"]

    # The person's browser: already signed in to the platform.
    browser = Client()
    browser.force_login(alice)
    AccountSession.objects.create(user=alice, session_key=browser.session.session_key, amr=["pwd", "otp"])
    cookies = {"sessionid": browser.cookies["sessionid"].value}
    human = requests.Session()
    human.cookies.update(cookies)

    rp = OAuth2Session(
        client_id="licencias",
        client_secret=SECRET,
        scope="openid profile email documento_identidad offline_access",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    url, _state = rp.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=verifier, nonce="abc123"
    )
    consent_page = human.get(url, allow_redirects=False, timeout=10)
    assert consent_page.status_code == 200
    assert "Servicio de Identificación de Prueba" in consent_page.text  # which institution asks
    assert "correo electrónico" in consent_page.text.lower() or "Correo electrónico" in consent_page.text
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', consent_page.text))
    fields["allow"] = "Authorize"
    answer = human.post(
        url.split("?")[0], data=fields, allow_redirects=False, timeout=10, headers={"Referer": url}
    )
    assert answer.status_code == 302, answer.text[:500]
    callback = answer.headers["Location"]
    assert callback.startswith(REDIRECT)

    token = rp.fetch_token(
        discovery["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    assert {"access_token", "refresh_token", "id_token"} <= set(token)

    jwks = JsonWebKey.import_key_set(requests.get(discovery["jwks_uri"], timeout=10).json())
    claims = jwt.decode(
        token["id_token"],
        jwks,
        claims_options={
            "iss": {"essential": True, "value": base},
            "aud": {"essential": True, "value": "licencias"},
        },
    )
    claims.validate()
    assert claims["sub"] == str(citizen.uuid)
    assert claims["nonce"] == "abc123"
    assert claims["acr"] == "basico"
    assert claims["amr"] == ["pwd", "otp"]
    assert claims["given_name"] == "Alicia"

    userinfo = rp.get(discovery["userinfo_endpoint"]).json()
    assert userinfo["sub"] == str(citizen.uuid)
    assert userinfo["family_name"] == "Mamani Quispe"
    assert userinfo["documento_identidad"] == {
        "tipo_documento": "CI",
        "numero_documento": "4567891",
        "complemento": "1A",
    }
    assert "phone_number" not in userinfo  # scope not requested

    old_refresh = token["refresh_token"]
    refreshed = rp.refresh_token(discovery["token_endpoint"])
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != old_refresh
    # Reusing a rotated refresh token is refused.
    reuse = requests.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": old_refresh,
        },
        auth=("licencias", SECRET),
        timeout=10,
    )
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"

    assert DataUse.objects.filter(person=citizen, kind=DataUse.Kind.SIGN_IN).count() == 1
    assert Consent.objects.filter(user=alice, withdrawn_at__isnull=True).count() == 1


# ------------------------------------------------------------------------------------------- error cases


def test_unknown_client_shows_error_and_never_redirects(
    alice: Any, citizen: Person, app_a: Application
) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get("/authorize/", authorize_params(client_id="no-existe"))
    assert response.status_code == 400
    assert "Location" not in response
    assert "No se pudo iniciar sesión" in response.content.decode()


def test_redirect_uri_mismatch_never_redirects(alice: Any, citizen: Person, app_a: Application) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get("/authorize/", authorize_params(redirect_uri="https://atacante.example/cb"))
    assert response.status_code == 400
    assert "Location" not in response


def test_unapproved_client_cannot_sign_in(alice: Any, citizen: Person, institution_a: Any) -> None:
    make_client(institution_a, client_id="pendiente", status=ClientRegistration.Status.PENDING)
    client = Client()
    client.force_login(alice)
    response = client.get("/authorize/", authorize_params(client_id="pendiente"))
    assert response.status_code == 400
    assert "Location" not in response


def test_anonymous_is_sent_to_sign_in(app_a: Application) -> None:
    response = Client().get("/authorize/", authorize_params())
    assert response.status_code == 302
    assert response["Location"].startswith("/cuenta/ingresar/")


def test_scope_outside_registration_is_refused(alice: Any, citizen: Person, institution_a: Any) -> None:
    make_client(institution_a, client_id="limitado", scopes="openid email")
    client = Client()
    client.force_login(alice)
    response = client.get(
        "/authorize/", authorize_params(client_id="limitado", scope="openid documento_identidad")
    )
    assert response.status_code == 302
    assert parse_qs(urlparse(response["Location"]).query)["error"] == ["invalid_scope"]


def _exchange(code: str, verifier: str, client_id: str = "licencias") -> Any:
    return Client().post(
        "/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": client_id,
            "client_secret": SECRET,
            "code_verifier": verifier,
        },
    )


def test_wrong_pkce_verifier_and_reused_code_give_invalid_grant(
    alice: Any, citizen: Person, app_a: Application
) -> None:
    verifier, challenge = pkce_pair()
    client = Client()
    client.force_login(alice)
    code = consent_and_get_code(client, authorize_params(code_challenge=challenge))
    wrong = _exchange(code, "otro-" + verifier)
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"

    code = consent_and_get_code(client, authorize_params(code_challenge=challenge, prompt="consent"))
    assert _exchange(code, verifier).status_code == 200
    reused = _exchange(code, verifier)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


def test_public_client_must_use_pkce(alice: Any, citizen: Person, institution_a: Any) -> None:
    make_client(institution_a, client_id="spa", client_type=Application.CLIENT_PUBLIC)
    client = Client()
    client.force_login(alice)
    params = authorize_params(client_id="spa")
    del params["code_challenge"], params["code_challenge_method"]
    response = client.get("/authorize/", params)
    assert response.status_code == 302
    assert parse_qs(urlparse(response["Location"]).query)["error"] == ["invalid_request"]


# ---------------------------------------------------------------------------------------------- consent


def test_consent_is_remembered_until_withdrawn(alice: Any, citizen: Person, app_a: Application) -> None:
    client = Client()
    client.force_login(alice)
    consent_and_get_code(client, authorize_params())
    again = client.get("/authorize/", authorize_params())
    assert again.status_code == 302 and "code=" in again["Location"]  # no second question

    forced = client.get("/authorize/", authorize_params(prompt="consent"))
    assert forced.status_code == 200  # Bolivian RPs send prompt=consent: always asked

    wider = client.get("/authorize/", authorize_params(scope="openid profile email celular"))
    assert wider.status_code == 200  # more data than agreed: asked again

    Consent.objects.filter(user=alice).update(withdrawn_at="2026-01-01T00:00:00Z")
    assert client.get("/authorize/", authorize_params()).status_code == 200
    silent = client.get("/authorize/", authorize_params(prompt="none"))
    assert parse_qs(urlparse(silent["Location"]).query)["error"] == ["consent_required"]


def test_denying_consent_returns_access_denied(alice: Any, citizen: Person, app_a: Application) -> None:
    client = Client()
    client.force_login(alice)
    page = client.get("/authorize/", authorize_params())
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.content.decode()))
    form.pop("allow", None)  # the person clicks «No autorizar»
    answer = client.post("/authorize/", form)
    assert parse_qs(urlparse(answer["Location"]).query)["error"] == ["access_denied"]
    assert not Consent.objects.filter(user=alice).exists()


# ----------------------------------------------------------------------------------- levels of assurance


def test_acr_values_above_the_person_level_is_refused(
    alice: Any, citizen: Person, app_a: Application
) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get("/authorize/", authorize_params(acr_values="verificado"))
    query = parse_qs(urlparse(response["Location"]).query)
    assert query["error"] == ["unmet_authentication_requirements"]
    assert query["state"] == ["st4te"]
    assert AuditEntry.objects.filter(action="oidc.level_refused").exists()

    citizen.assurance_level = AssuranceLevel.VERIFICADO
    citizen.save()
    assert client.get("/authorize/", authorize_params(acr_values="verificado")).status_code == 200


def test_client_minimum_level_applies_without_acr_values(
    alice: Any, citizen: Person, institution_a: Any
) -> None:
    make_client(institution_a, client_id="estricto", min_assurance=AssuranceLevel.VERIFICADO)
    client = Client()
    client.force_login(alice)
    response = client.get("/authorize/", authorize_params(client_id="estricto"))
    assert parse_qs(urlparse(response["Location"]).query)["error"] == ["unmet_authentication_requirements"]


# ------------------------------------------------------------------------------------ Bolivian compatibility


def test_bolivian_relying_party_reads_its_claim_shape_at_legacy_paths(
    alice: Any, citizen: Person, institution_a: Any
) -> None:
    make_client(institution_a, client_id="legado", shape=ClientRegistration.ClaimShape.BOLIVIA)
    verifier, challenge = pkce_pair()
    client = Client()
    client.force_login(alice)
    scope = "openid profile fecha_nacimiento email celular offline_access"
    page = client.get(
        "/auth", authorize_params(client_id="legado", scope=scope, prompt="consent", code_challenge=challenge)
    )
    assert page.status_code == 200
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.content.decode()))
    form["allow"] = "Authorize"
    code = parse_qs(urlparse(client.post("/auth", form)["Location"]).query)["code"][0]
    token = (
        Client()
        .post(
            "/token",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "client_id": "legado",
                "client_secret": SECRET,
                "code_verifier": verifier,
            },
        )
        .json()
    )
    me = Client().get("/me", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}").json()
    assert me == {
        "sub": str(citizen.uuid),
        "profile": {
            "documento_identidad": {
                "tipo_documento": "CI",
                "numero_documento": "4567891",
                "complemento": "1A",
            },
            "nombre": {"nombres": "Alicia", "primer_apellido": "Mamani", "segundo_apellido": "Quispe"},
        },
        "email": "alicia@example.bo",
        "celular": "+59171234567",
        "fecha_nacimiento": "17/05/1990",
    }
    assert "refresh_token" in token

    introspection = (
        Client()
        .post(
            "/token/introspection",
            {"token": token["access_token"]},
            HTTP_AUTHORIZATION=_basic("legado", SECRET),
        )
        .json()
    )
    assert introspection["active"] is True
    assert (
        Client()
        .post(
            "/token/revocation", {"token": token["access_token"]}, HTTP_AUTHORIZATION=_basic("legado", SECRET)
        )
        .status_code
        == 200
    )
    assert Client().get("/me", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}").status_code == 401
    logout = Client().get(
        "/session/end", {"client_id": "legado", "post_logout_redirect_uri": "http://127.0.0.1:8080/bye"}
    )
    assert logout.status_code in (200, 302)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# ---------------------------------------------------------------------------------------------- machines


def test_client_credentials_for_machine_clients(institution_a: Any) -> None:
    make_client(institution_a, client_id="interop", grant=Application.GRANT_CLIENT_CREDENTIALS, scopes="")
    response = Client().post(
        "/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=_basic("interop", SECRET)
    )
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"
    wrong = Client().post(
        "/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=_basic("interop", "otro-secreto")
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"


def test_suspended_machine_client_gets_no_token(institution_a: Any) -> None:
    make_client(
        institution_a,
        client_id="interop",
        grant=Application.GRANT_CLIENT_CREDENTIALS,
        scopes="",
        status=ClientRegistration.Status.SUSPENDED,
    )
    response = Client().post(
        "/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=_basic("interop", SECRET)
    )
    assert response.status_code == 401


def test_client_secret_is_stored_with_the_fast_keyed_hash(app_a: Application) -> None:
    from django.contrib.auth.hashers import check_password

    stored = Application.objects.get(pk=app_a.pk).client_secret
    assert stored.startswith("vt_hmac_sha256$")
    assert SECRET not in stored
    assert check_password(SECRET, stored)


# ------------------------------------------------------------------------------------------ key rotation


def test_key_rotation_keeps_old_tokens_verifiable(
    settings: Any, alice: Any, citizen: Person, app_a: Application
) -> None:
    from oauth2_provider.settings import oauth2_settings

    from ventanilla.identity.keys import generate_rsa_pem

    verifier, challenge = pkce_pair()
    client = Client()
    client.force_login(alice)
    code = consent_and_get_code(client, authorize_params(code_challenge=challenge))
    old_id_token = _exchange(code, verifier).json()["id_token"]
    old_key = settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"]

    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "OIDC_RSA_PRIVATE_KEY": generate_rsa_pem(),
        "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [old_key],
    }
    oauth2_settings.reload()
    try:
        jwks = Client().get("/.well-known/jwks.json").json()
        assert len(jwks["keys"]) == 2
        key_set = JsonWebKey.import_key_set(jwks)
        jwt.decode(old_id_token, key_set).validate()  # issued before rotation, still verifiable

        code = consent_and_get_code(client, authorize_params(code_challenge=challenge, prompt="consent"))
        new_id_token = _exchange(code, verifier).json()["id_token"]
        new_kid = jwt.decode(new_id_token, key_set).header["kid"]
        old_kid = jwt.decode(old_id_token, key_set).header["kid"]
        assert new_kid != old_kid
    finally:
        settings.OAUTH2_PROVIDER = {
            **settings.OAUTH2_PROVIDER,
            "OIDC_RSA_PRIVATE_KEY": old_key,
            "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [],
        }
        oauth2_settings.reload()


def test_tokens_of_other_institutions_clients_are_independent(
    alice: Any, citizen: Person, app_a: Application, institution_b: Any
) -> None:
    make_client(institution_b, client_id="municipio")
    client = Client()
    client.force_login(alice)
    consent_and_get_code(client, authorize_params())
    # Consent to A's client does not authorize B's client.
    assert client.get("/authorize/", authorize_params(client_id="municipio")).status_code == 200
    assert AccessToken.objects.count() == 0 and RefreshToken.objects.count() == 0


# ------------------------------------------------------------------------------- security review fixes


def _signed_in(user: Any, amr: list[str] | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if amr is not None:
        AccountSession.objects.create(user=user, session_key=client.session.session_key, amr=amr)
    return client


def test_level_is_enforced_on_the_consent_post_too(alice: Any, citizen: Person, institution_a: Any) -> None:
    make_client(institution_a, client_id="estricto", min_assurance=AssuranceLevel.VERIFICADO)
    client = _signed_in(alice)
    refused = client.get("/authorize/", authorize_params(client_id="estricto"))
    assert "unmet_authentication_requirements" in refused["Location"]
    # Posting the consent form directly (skipping the GET) must not yield a code.
    params = authorize_params(client_id="estricto")
    answer = client.post("/authorize/", {**params, "claims": "null", "allow": "Authorize"})
    assert answer.status_code == 403
    assert "Location" not in answer
    assert not AuthorizationContext.objects.exists()


def test_id_token_amr_is_the_one_of_the_session_that_authorized(
    alice: Any, citizen: Person, app_a: Application
) -> None:
    _signed_in(alice, amr=["pwd", "otp"])  # another device, with the second factor
    client = _signed_in(alice, amr=["pwd"])  # this device: password only
    verifier, challenge = pkce_pair()
    code = consent_and_get_code(client, authorize_params(code_challenge=challenge))
    id_token = _exchange(code, verifier).json()["id_token"]
    key_set = JsonWebKey.import_key_set(Client().get("/.well-known/jwks.json").json())
    assert jwt.decode(id_token, key_set)["amr"] == ["pwd"]


def test_prompt_login_asks_to_sign_in_again(alice: Any, citizen: Person, app_a: Application) -> None:
    client = _signed_in(alice)
    type(alice).objects.filter(pk=alice.pk).update(last_login="2026-01-01T00:00:00Z")
    response = client.get("/authorize/", authorize_params(prompt="login"))
    assert response.status_code == 302
    assert response["Location"].startswith("/cuenta/ingresar/")
    assert "prompt" not in response["Location"]
    assert "_auth_user_id" not in client.session  # signed out until the person signs in again


def test_refresh_token_only_with_offline_access(alice: Any, citizen: Person, app_a: Application) -> None:
    client = _signed_in(alice)
    verifier, challenge = pkce_pair()
    code = consent_and_get_code(client, authorize_params(code_challenge=challenge, scope="openid email"))
    assert "refresh_token" not in _exchange(code, verifier).json()
    code = consent_and_get_code(
        client, authorize_params(code_challenge=challenge, scope="openid email offline_access")
    )
    assert "refresh_token" in _exchange(code, verifier).json()


def test_introspection_answers_only_about_the_callers_own_tokens(
    alice: Any, citizen: Person, app_a: Application, institution_b: Any
) -> None:
    make_client(institution_b, client_id="otra")
    client = _signed_in(alice)
    verifier, challenge = pkce_pair()
    code = consent_and_get_code(client, authorize_params(code_challenge=challenge))
    access = _exchange(code, verifier).json()["access_token"]
    mine = (
        Client()
        .post("/introspect/", {"token": access}, HTTP_AUTHORIZATION=_basic("licencias", SECRET))
        .json()
    )
    assert mine["active"] is True
    assert mine["sub"] == str(citizen.uuid)
    assert "username" not in mine  # the username carries the document number
    other = Client().post("/introspect/", {"token": access}, HTTP_AUTHORIZATION=_basic("otra", SECRET)).json()
    assert other == {"active": False}


def test_logout_redirect_only_for_approved_clients_and_revokes_only_that_clients_tokens(
    alice: Any, citizen: Person, app_a: Application, institution_a: Any
) -> None:
    pending = make_client(institution_a, client_id="pendiente", status=ClientRegistration.Status.PENDING)
    pending.post_logout_redirect_uris = "https://malo.example/x"
    pending.save()
    response = Client().get(
        "/logout/", {"client_id": "pendiente", "post_logout_redirect_uri": "https://malo.example/x"}
    )
    assert not response.get("Location", "").startswith("https://malo.example")

    make_client(institution_a, client_id="otro-sistema")
    client = _signed_in(alice)
    verifier, challenge = pkce_pair()
    code_a = consent_and_get_code(client, authorize_params(code_challenge=challenge))
    tokens_a = _exchange(code_a, verifier).json()
    code_b = consent_and_get_code(
        client, authorize_params(client_id="otro-sistema", code_challenge=challenge)
    )
    tokens_b = _exchange(code_b, verifier, client_id="otro-sistema").json()
    Client().get(
        "/logout/",
        {"id_token_hint": tokens_a["id_token"], "post_logout_redirect_uri": "http://127.0.0.1:8080/bye"},
    )
    assert (
        Client().get("/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens_a['access_token']}").status_code == 401
    )
    assert (
        Client().get("/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens_b['access_token']}").status_code == 200
    )


def test_admin_has_no_sign_in_of_its_own(agency: Any) -> None:
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/cuenta/ingresar/")
    assert (
        Client().post("/admin/login/", {"username": "agencia", "password": "clave-de-prueba-123"}).status_code
        == 302
    )


def test_id_token_hint_of_someone_else_is_not_answered_by_this_session(
    alice: Any, citizen: Person, app_a: Application, institution_a: Any
) -> None:
    client = _signed_in(alice)
    verifier, challenge = pkce_pair()
    tokens = _exchange(
        consent_and_get_code(client, authorize_params(code_challenge=challenge)), verifier
    ).json()
    hint = tokens["id_token"]
    # Same person: the hint matches and the flow goes on (consent remembered → code).
    same = client.get("/authorize/", authorize_params(id_token_hint=hint, prompt="none"))
    assert same.status_code == 302 and "code=" in same["Location"]
    # Another person's session: prompt=none answers login_required; otherwise sign in again.
    from django.contrib.auth import get_user_model

    other = get_user_model().objects.create_user(username="otra", password="clave-de-prueba-123")
    other_client = _signed_in(other)
    silent = other_client.get("/authorize/", authorize_params(id_token_hint=hint, prompt="none"))
    assert silent.status_code == 302
    assert parse_qs(urlparse(silent["Location"]).query)["error"] == ["login_required"]
    loud = other_client.get("/authorize/", authorize_params(id_token_hint=hint))
    assert loud.status_code == 302 and loud["Location"].startswith("/cuenta/ingresar/")
    # A forged or foreign hint is refused.
    forged = client.get("/authorize/", authorize_params(id_token_hint=hint[:-4] + "AAAA"))
    assert parse_qs(urlparse(forged["Location"]).query)["error"] == ["invalid_request"]


def test_code_exchange_reads_the_grant_once(
    alice: Any, citizen: Person, app_a: Application, django_assert_max_num_queries: Any
) -> None:
    verifier, challenge = pkce_pair()
    client = _signed_in(alice)
    code = consent_and_get_code(client, authorize_params(code_challenge=challenge))
    with django_assert_max_num_queries(16):
        assert _exchange(code, verifier).status_code == 200
