"""Accounts through HTTP: registration, contact codes, sign-in and lockout, passwords, sessions, identity
proofing (registrar and civil registry) and the pages' accessibility basics."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from ventanilla.core.errors import DomainError, Forbidden
from ventanilla.core.models import AuditEntry, Office
from ventanilla.identity import accounts, sms, verifiers
from ventanilla.identity.models import AccountSession, AuthFailure, DataUse, Person, VerificationCode

from .conftest import PASSWORD, make_citizen

pytestmark = pytest.mark.django_db

User = get_user_model()

REGISTRATION = {
    "document_type": "CI",
    "document_number": "6.543.210",
    "document_complement": "",
    "document_department": "L",
    "first_names": "Rosa",
    "first_surname": "Condori",
    "second_surname": "Apaza",
    "birth_date": "1995-03-14",
    "email": "rosa@example.org",
    "mobile": "7123 4567",
    "password1": "tortuga-azul-mirando-el-lago",
    "password2": "tortuga-azul-mirando-el-lago",
    "accept_terms": "on",
}


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


def _code_from(text: str) -> str:
    found = re.search(r"\b(\d{6})\b", text)
    assert found, text
    return found.group(1)


def _register(client: Client, django_capture_on_commit_callbacks: Any, **overrides: str) -> Any:
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/cuenta/registro/", {**REGISTRATION, **overrides})


# -- registration -----------------------------------------------------------------------------------------


def test_registration_creates_a_basic_account_and_sends_both_codes(
    client: Client, sms_outbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    response = _register(client, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response["Location"] == "/cuenta/verificar-contacto/"
    user = User.objects.get(username="CI-6543210")
    assert user.check_password(REGISTRATION["password1"])
    assert user.email == "rosa@example.org"
    person = user.person
    assert (person.document_type, person.document_number, person.document_department) == (
        "CI",
        "6543210",
        "L",
    )
    assert person.assurance_level == "basico"
    assert person.mobile == "+59171234567"
    assert not person.email_verified and not person.mobile_verified
    assert person.birth_date == dt.date(1995, 3, 14)
    # Only hashes are stored, and the codes went out by e-mail and SMS after commit.
    assert VerificationCode.objects.filter(person=person).count() == 2
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["rosa@example.org"]
    email_code = _code_from(mail.outbox[0].body)
    assert len(sms_outbox) == 1 and sms_outbox[0].to == "+59171234567"
    sms_code = _code_from(sms_outbox[0].text)
    assert not VerificationCode.objects.filter(code_hash__contains=email_code).exists()
    assert "account.register" in actions()
    # Signed in right away, with an AccountSession (amr pwd).
    session = AccountSession.objects.get(user=user)
    assert session.amr == ["pwd"]
    assert client.get("/cuenta/").status_code == 200

    # Verify both codes: e-mail and mobile are marked verified with source «código»; level stays básico.
    response = client.post(
        "/cuenta/verificar-contacto/", {"accion": "verificar-correo", "correo-code": email_code}
    )
    assert response.status_code == 302
    response = client.post(
        "/cuenta/verificar-contacto/", {"accion": "verificar-celular", "celular-code": sms_code}
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.email_verified, person.email_source) == (True, "codigo")
    assert (person.mobile_verified, person.mobile_source) == (True, "codigo")
    assert person.assurance_level == "basico"
    assert {"account.email_verified", "account.mobile_verified"} <= set(actions())


def test_invalid_document_is_refused_in_spanish_and_nothing_is_created(
    client: Client, sms_outbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    response = _register(client, django_capture_on_commit_callbacks, document_number="12AB")
    assert response.status_code == 200
    text = response.content.decode()
    assert "El número de cédula de identidad no es válido" in text
    assert 'aria-invalid="true"' in text
    assert not User.objects.exists()
    assert not Person.objects.exists()
    assert mail.outbox == [] and sms_outbox == []


def test_weak_or_similar_password_is_refused_with_spanish_messages(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    response = _register(
        client, django_capture_on_commit_callbacks, password1="password123", password2="password123"
    )
    assert response.status_code == 200
    assert "demasiado común" in response.content.decode()
    response = _register(
        client,
        django_capture_on_commit_callbacks,
        password1="rosa.condori.apaza",
        password2="rosa.condori.apaza",
    )
    assert response.status_code == 200
    assert "demasiado similar" in response.content.decode()
    assert not User.objects.exists()


def test_duplicate_document_is_refused(
    client: Client, citizen: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _register(client, django_capture_on_commit_callbacks, document_number="4567891")
    assert response.status_code == 200
    assert "Ya existe una cuenta con este documento" in response.content.decode()
    assert User.objects.filter(username__startswith="CI-").count() == 1


def test_registration_links_a_person_recorded_without_account(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    existing = Person.objects.create(
        document_type="CI", document_number="6543210", first_names="Rosa", first_surname="Condori"
    )
    response = _register(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    existing.refresh_from_db()
    assert existing.user is not None and existing.user.username == "CI-6543210"
    assert Person.objects.count() == 1


def test_registration_with_complement_uses_it_in_the_username(
    client: Client, citizen: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _register(
        client, django_capture_on_commit_callbacks, document_number="4567891", document_complement="1a"
    )
    assert response.status_code == 302
    assert User.objects.filter(username="CI-4567891-1A", person__document_complement="1A").exists()


# -- contact codes ----------------------------------------------------------------------------------------


@pytest.fixture
def fresh(client: Client, sms_outbox: list[Any], django_capture_on_commit_callbacks: Any) -> Any:
    _register(client, django_capture_on_commit_callbacks)
    return User.objects.get(username="CI-6543210")


def test_wrong_code_counts_attempts_and_blocks_after_five(client: Client, fresh: Any) -> None:
    code = _code_from(mail.outbox[0].body)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        response = client.post(
            "/cuenta/verificar-contacto/", {"accion": "verificar-correo", "correo-code": wrong}
        )
        assert response.status_code == 200
        assert f"Le quedan {left} intentos" in response.content.decode() or left == 1
    client.post("/cuenta/verificar-contacto/", {"accion": "verificar-correo", "correo-code": wrong})
    # Even the right code no longer works: the user must ask for a new one.
    response = client.post("/cuenta/verificar-contacto/", {"accion": "verificar-correo", "correo-code": code})
    assert "Demasiados intentos con este código" in response.content.decode()
    fresh.person.refresh_from_db()
    assert not fresh.person.email_verified


def test_expired_code_is_refused(client: Client, fresh: Any) -> None:
    code = _code_from(mail.outbox[0].body)
    VerificationCode.objects.filter(person=fresh.person).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    response = client.post("/cuenta/verificar-contacto/", {"accion": "verificar-correo", "correo-code": code})
    assert "El código venció" in response.content.decode()
    fresh.person.refresh_from_db()
    assert not fresh.person.email_verified


def test_resend_is_rate_limited_and_replaces_the_old_code(
    client: Client, fresh: Any, sms_outbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    old_code = _code_from(sms_outbox[0].text)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/cuenta/verificar-contacto/", {"accion": "reenviar-celular"}, follow=True)
    assert "Espere" in response.content.decode()
    assert len(sms_outbox) == 1
    VerificationCode.objects.filter(person=fresh.person).update(
        created_at=timezone.now() - dt.timedelta(minutes=2)
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/cuenta/verificar-contacto/", {"accion": "reenviar-celular"})
    assert len(sms_outbox) == 2
    new_code = _code_from(sms_outbox[1].text)
    if new_code != old_code:
        response = client.post(
            "/cuenta/verificar-contacto/", {"accion": "verificar-celular", "celular-code": old_code}
        )
        assert "no es correcto" in response.content.decode()
    client.post("/cuenta/verificar-contacto/", {"accion": "verificar-celular", "celular-code": new_code})
    fresh.person.refresh_from_db()
    assert fresh.person.mobile_verified


# -- sign-in ----------------------------------------------------------------------------------------------


def test_sign_in_with_document_number_records_session_and_audit(citizen: Any) -> None:
    client = Client(HTTP_USER_AGENT="Firefox de prueba")
    response = client.post("/cuenta/ingresar/", {"identifier": "4.567.891", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/cuenta/"
    session = AccountSession.objects.get(user=citizen)
    assert session.session_key == client.session.session_key
    assert (session.amr, session.ip_address, session.user_agent) == (
        ["pwd"],
        "127.0.0.1",
        "Firefox de prueba",
    )
    assert "account.login" in actions()


def test_sign_in_with_username_honours_safe_next_only(citizen: Any) -> None:
    client = Client()
    response = client.post(
        "/cuenta/ingresar/?next=/cuenta/sesiones/", {"identifier": "ci-4567891", "password": PASSWORD}
    )
    assert response["Location"] == "/cuenta/sesiones/"
    client = Client()
    response = client.post(
        "/cuenta/ingresar/",
        {"identifier": "CI-4567891", "password": PASSWORD, "next": "https://malo.example/"},
    )
    assert response["Location"] == "/cuenta/"


def test_wrong_password_fails_and_is_audited(client: Client, citizen: Any) -> None:
    response = client.post("/cuenta/ingresar/", {"identifier": "4567891", "password": "otra-cosa-123"})
    assert response.status_code == 200
    assert "no son correctos" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuthFailure.objects.filter(username="CI-4567891").count() == 1
    entry = AuditEntry.objects.get(action="account.login_failed")
    assert entry.target_id == str(citizen.pk)


def test_account_lockout_refuses_even_the_right_password_then_lifts(client: Client, citizen: Any) -> None:
    limit = settings.VENTANILLA_LOGIN_MAX_FAILURES_ACCOUNT
    for _attempt in range(limit):
        response = client.post("/cuenta/ingresar/", {"identifier": "4567891", "password": "mala-clave-xx"})
    assert response.status_code == 429
    # A different client (other IP) with the right password is refused too: the account is locked.
    other = Client(REMOTE_ADDR="10.9.9.9")
    response = other.post("/cuenta/ingresar/", {"identifier": "CI-4567891", "password": PASSWORD})
    assert response.status_code == 429
    text = response.content.decode()
    assert "Demasiados intentos fallidos" in text
    assert re.search(r"intente nuevamente en 1[45] minutos", text)
    assert "_auth_user_id" not in other.session
    assert AuditEntry.objects.filter(action="account.login_failed", metadata__reason="bloqueado").exists()
    # Locked attempts are not counted, so the lock cannot be extended forever by an attacker.
    assert AuthFailure.objects.filter(username="CI-4567891").count() == limit

    # Time passes: the failures leave the window and the right password works again; failures are cleared.
    AuthFailure.objects.update(
        created_at=timezone.now() - dt.timedelta(seconds=settings.VENTANILLA_LOGIN_WINDOW_SECONDS + 1)
    )
    response = other.post("/cuenta/ingresar/", {"identifier": "CI-4567891", "password": PASSWORD})
    assert response.status_code == 302
    assert not AuthFailure.objects.filter(username="CI-4567891").exists()


def test_ip_lockout_blocks_every_account_from_that_address(settings: Any, citizen: Any) -> None:
    settings.VENTANILLA_LOGIN_MAX_FAILURES_IP = 4
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for number in range(4):
        attacker.post("/cuenta/ingresar/", {"identifier": f"999000{number}", "password": "x-y-z-123456"})
    response = attacker.post("/cuenta/ingresar/", {"identifier": "4567891", "password": PASSWORD})
    assert response.status_code == 429
    assert "desde su conexión" in response.content.decode()
    assert "_auth_user_id" not in attacker.session
    # Someone else, from another address, signs in normally.
    assert (
        Client(REMOTE_ADDR="198.51.100.1")
        .post("/cuenta/ingresar/", {"identifier": "4567891", "password": PASSWORD})
        .status_code
        == 302
    )


def test_logout_ends_the_account_session(citizen: Any, sign_in: Any) -> None:
    client = sign_in("4567891")
    session = AccountSession.objects.get(user=citizen)
    response = client.post("/cuenta/salir/")
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.ended_at is not None
    assert client.get("/cuenta/").status_code == 302
    assert "account.logout" in actions()


# -- passwords --------------------------------------------------------------------------------------------


def test_password_reset_email_link_works(client: Client, citizen: Any) -> None:
    response = client.post("/cuenta/contrasena/recuperar/", {"email": "juana@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "contraseña" in message.subject.lower()
    link = re.search(r"https?://[^/]+(/cuenta/contrasena/restablecer/\S+)", message.body).group(1)
    response = client.get(link, follow=True)
    assert response.status_code == 200
    assert "Elegir una contraseña nueva" in response.content.decode()
    set_password_url = response.redirect_chain[-1][0]
    new_password = "llama-andina-con-poncho-rojo"
    response = client.post(set_password_url, {"new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 302
    assert response["Location"] == "/cuenta/contrasena/restablecida/"
    citizen.refresh_from_db()
    assert citizen.check_password(new_password)
    assert "account.password_reset" in actions()
    # The link works once only.
    assert "no es válido" in client.get(link, follow=True).content.decode()
    assert (
        Client().post("/cuenta/ingresar/", {"identifier": "4567891", "password": new_password}).status_code
        == 302
    )


def test_password_change_requires_the_old_one_and_signs_out_other_devices(citizen: Any, sign_in: Any) -> None:
    laptop, phone = sign_in("4567891"), sign_in("4567891")
    response = laptop.post(
        "/cuenta/contrasena/cambiar/",
        {
            "old_password": "no-es-esta",
            "new_password1": "nueva-clave-larga-9",
            "new_password2": "nueva-clave-larga-9",
        },
    )
    assert "La contraseña actual no es correcta" in response.content.decode()
    response = laptop.post(
        "/cuenta/contrasena/cambiar/",
        {
            "old_password": PASSWORD,
            "new_password1": "nueva-clave-larga-9",
            "new_password2": "nueva-clave-larga-9",
        },
    )
    assert response.status_code == 302
    assert laptop.get("/cuenta/").status_code == 200  # still signed in here
    assert phone.get("/cuenta/").status_code == 302  # signed out there
    open_sessions = AccountSession.objects.filter(user=citizen, ended_at__isnull=True)
    assert list(open_sessions.values_list("session_key", flat=True)) == [laptop.session.session_key]
    assert "account.password_change" in actions()


# -- sessions ---------------------------------------------------------------------------------------------


def test_sessions_list_and_sign_out_other_devices(citizen: Any, sign_in: Any) -> None:
    laptop = sign_in("4567891", HTTP_USER_AGENT="Portátil Firefox")
    phone = sign_in("4567891", HTTP_USER_AGENT="Teléfono Chrome", REMOTE_ADDR="192.0.2.44")
    page = laptop.get("/cuenta/sesiones/").content.decode()
    assert "Portátil Firefox" in page and "Teléfono Chrome" in page and "192.0.2.44" in page
    assert page.count(">esta sesión<") == 1

    response = laptop.post("/cuenta/sesiones/cerrar-otras/")
    assert response.status_code == 302
    assert phone.get("/cuenta/").status_code == 302
    assert laptop.get("/cuenta/").status_code == 200
    phone_session = AccountSession.objects.get(user_agent="Teléfono Chrome")
    assert phone_session.ended_at is not None
    assert "account.session_end_others" in actions()


def test_sign_out_one_session_and_not_someone_elses(citizen: Any, alice_person: Any, sign_in: Any) -> None:
    laptop = sign_in("4567891")
    phone = sign_in("4567891", HTTP_USER_AGENT="Teléfono")
    phone_session = AccountSession.objects.get(user_agent="Teléfono")
    alice_client = sign_in("alice", "clave-de-prueba-123")
    # Alice cannot end the citizen's session.
    assert alice_client.post("/cuenta/sesiones/cerrar/", {"sesion": phone_session.pk}).status_code == 404
    assert phone.get("/cuenta/").status_code == 200
    laptop.post("/cuenta/sesiones/cerrar/", {"sesion": phone_session.pk})
    assert phone.get("/cuenta/").status_code == 302
    assert "account.session_end" in actions()


# -- identity proofing: registrar -------------------------------------------------------------------------


def _registrar_url() -> str:
    return "/gestion/registro-identidad/?document_type=CI&document_number=4567891&document_complement="


def test_registrar_verifies_a_person_in_their_office(
    registrar_a: Any, citizen: Any, institution_a: Any
) -> None:
    client = Client()
    client.force_login(registrar_a)
    office = institution_a.offices.get()
    page = client.get(_registrar_url())
    assert page.status_code == 200
    assert "Juana Quispe Mamani" in page.content.decode()
    code = accounts.in_person_code_issue(actor=citizen).code  # the citizen shows it from Mi cuenta
    response = client.post(
        _registrar_url(),
        {
            "person": str(citizen.person.uuid),
            "office": office.pk,
            "first_names": "Juana",
            "first_surname": "Quispe",
            "second_surname": "Mamani",
            "birth_date": "1990-05-17",
            "document_checked": "on",
            "code": code,
        },
    )
    assert response.status_code == 302
    person = Person.objects.get(pk=citizen.person.pk)
    assert person.assurance_level == "verificado"
    assert (person.verification_method, person.verified_by, person.verification_office) == (
        "registrador",
        registrar_a,
        office,
    )
    assert person.names_source == "registrador"
    assert User.objects.count() == 2  # stepping up never creates an account
    entry = AuditEntry.objects.get(action="person.verify")
    assert entry.institution_id == institution_a.pk
    assert DataUse.objects.filter(person=person, institution=institution_a).exists()


def test_registrar_of_b_cannot_use_an_office_of_a(
    registrar_b: Any, citizen: Any, institution_a: Any, institution_b: Any
) -> None:
    office_a = institution_a.offices.get()
    client = Client()
    client.force_login(registrar_b)
    code = accounts.in_person_code_issue(actor=citizen).code
    response = client.post(
        _registrar_url(),
        {
            "person": str(citizen.person.uuid),
            "office": office_a.pk,
            "first_names": "Juana",
            "first_surname": "Quispe",
            "birth_date": "1990-05-17",
            "document_checked": "on",
            "code": code,
        },
    )
    assert response.status_code == 200
    assert "Elija una oficina de su institución" in response.content.decode()
    assert Person.objects.get(pk=citizen.person.pk).assurance_level == "basico"
    # The service refuses it too, whoever calls it.
    with pytest.raises(Forbidden):
        accounts.person_verify_by_registrar(
            actor=registrar_b,
            person=citizen.person,
            office=office_a,
            data=accounts.ProofingData("Juana", "Quispe", "Mamani", dt.date(1990, 5, 17)),
            document_checked=True,
            code=code,
        )
    assert Person.objects.get(pk=citizen.person.pk).assurance_level == "basico"


def test_citizens_and_editors_get_403_at_the_registrar_desk(alice: Any, bob: Any) -> None:
    for user in (alice, bob):
        client = Client()
        client.force_login(user)
        assert client.get("/gestion/registro-identidad/").status_code == 403
    assert Client().get("/gestion/registro-identidad/").status_code == 302


def test_registrar_cannot_verify_themselves(registrar_a: Any, institution_a: Any) -> None:
    Person.objects.create(user=registrar_a, document_type="CI", document_number="8888888", first_names="Reg")
    code = accounts.in_person_code_issue(actor=registrar_a).code
    with pytest.raises(Forbidden):
        accounts.person_verify_by_registrar(
            actor=registrar_a,
            person=registrar_a.person,
            office=Office.objects.get(institution=institution_a),
            data=accounts.ProofingData("Reg", "Istrador", "", dt.date(1980, 1, 1)),
            document_checked=True,
            code=code,
        )


# -- identity proofing: civil registry --------------------------------------------------------------------


def test_civil_registry_match_steps_up_the_same_account(citizen: Any, sign_in: Any) -> None:
    client = sign_in("4567891")
    response = client.post(
        "/cuenta/verificacion/registro-civil/",
        {
            "first_names": "JUANA",
            "first_surname": "quispe",
            "second_surname": "Mamaní",
            "birth_date": "1990-05-17",
        },
    )
    assert response.status_code == 302
    person = Person.objects.get(user=citizen)
    assert (person.assurance_level, person.verification_method, person.names_source) == (
        "verificado",
        "registro_civil",
        "registro_civil",
    )
    assert User.objects.count() == 1
    assert "person.verify" in actions()
    assert DataUse.objects.filter(person=person, application_name="Registro civil").exists()


def test_civil_registry_mismatch_is_shown_and_audited(citizen: Any, sign_in: Any) -> None:
    client = sign_in("4567891")
    response = client.post(
        "/cuenta/verificacion/registro-civil/",
        {
            "first_names": "Juana",
            "first_surname": "Quispe",
            "second_surname": "Mamani",
            "birth_date": "1991-05-17",
        },
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "La fecha de nacimiento no coincide con el registro civil" in text
    assert "Los nombres no coinciden" not in text
    assert Person.objects.get(user=citizen).assurance_level == "basico"
    assert AuditEntry.objects.filter(action="person.civil_registry_mismatch").count() == 1


def test_civil_registry_attempts_are_limited_per_day(citizen: Any, sign_in: Any) -> None:
    client = sign_in("4567891")
    wrong = {
        "first_names": "Juana",
        "first_surname": "Quispe",
        "second_surname": "Mamani",
        "birth_date": "1991-01-01",
    }
    for _attempt in range(3):
        client.post("/cuenta/verificacion/registro-civil/", wrong)
    right = {**wrong, "birth_date": "1990-05-17"}
    response = client.post("/cuenta/verificacion/registro-civil/", right)
    assert response.status_code == 429
    assert "demasiadas verificaciones" in response.content.decode()
    assert Person.objects.get(user=citizen).assurance_level == "basico"


def test_civil_registry_unknown_document_is_explained(db: Any, sign_in: Any) -> None:
    make_citizen("CI-1112223", number="1112223")
    client = sign_in("1112223")
    response = client.post(
        "/cuenta/verificacion/registro-civil/",
        {
            "first_names": "Juana",
            "first_surname": "Quispe",
            "second_surname": "Mamani",
            "birth_date": "1990-05-17",
        },
    )
    assert "no tiene un registro para su documento" in response.content.decode()


# -- service-level rules ----------------------------------------------------------------------------------


def test_register_service_revalidates_the_document(db: Any) -> None:
    with pytest.raises(DomainError) as caught:
        accounts.account_register(
            data=accounts.RegistrationData(
                document_type="CI",
                document_number="abc",
                first_names="X",
                first_surname="Y",
                birth_date=dt.date(1990, 1, 1),
                email="x@example.org",
                mobile="71234567",
                password=PASSWORD,
            )
        )
    assert caught.value.field == "document_number"
    assert not User.objects.exists()


# -- pages ------------------------------------------------------------------------------------------------


ANONYMOUS_PAGES = [
    "/cuenta/ingresar/",
    "/cuenta/registro/",
    "/cuenta/contrasena/recuperar/",
    "/cuenta/contrasena/recuperar/enviado/",
    "/cuenta/contrasena/restablecida/",
    "/cuenta/contrasena/restablecer/MQ/token-malo/",
]
ACCOUNT_PAGES = [
    "/cuenta/",
    "/cuenta/verificar-contacto/",
    "/cuenta/contrasena/cambiar/",
    "/cuenta/seguridad/dos-pasos/",
    "/cuenta/sesiones/",
    "/cuenta/aplicaciones/",
    "/cuenta/uso-de-mis-datos/",
    "/cuenta/verificacion/registro-civil/",
    "/cuenta/salir/",
]


@pytest.mark.parametrize("url", ANONYMOUS_PAGES)
def test_public_pages_are_accessible(client: Client, url: str, check_page: Any) -> None:
    check_page(client.get(url))


@pytest.mark.parametrize("url", ACCOUNT_PAGES)
def test_account_pages_are_accessible(citizen: Any, sign_in: Any, url: str, check_page: Any) -> None:
    check_page(sign_in("4567891").get(url))


@pytest.mark.parametrize("url", ACCOUNT_PAGES[:-1])
def test_account_pages_need_sign_in(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/cuenta/ingresar/?next=")


def test_account_pages_work_for_accounts_without_a_person(alice: Any, check_page: Any) -> None:
    client = Client()
    client.force_login(alice)
    for url in ACCOUNT_PAGES[:-2]:
        check_page(client.get(url))


def test_registrar_pages_are_accessible(registrar_a: Any, citizen: Any, check_page: Any) -> None:
    client = Client()
    client.force_login(registrar_a)
    check_page(client.get("/gestion/registro-identidad/"))
    check_page(client.get(_registrar_url()))


def test_form_errors_keep_the_page_accessible(client: Client, check_page: Any) -> None:
    response = client.post("/cuenta/registro/", {"document_type": "CI"})
    check_page(response)
    assert 'id="resumen-errores"' in response.content.decode()


# -- pluggable providers ----------------------------------------------------------------------------------


class _SmsGateway(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    status: ClassVar[int] = 202

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append({"auth": self.headers["Authorization"], "json": json.loads(body)})
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def sms_gateway() -> Any:
    _SmsGateway.received = []
    server = HTTPServer(("127.0.0.1", 0), _SmsGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_http_sms_provider_posts_json_with_a_bearer_token(settings: Any, sms_gateway: Any) -> None:
    host, port = sms_gateway.server_address
    settings.SMS_PROVIDER = "ventanilla.identity.sms.HttpSmsProvider"
    settings.SMS_HTTP_URL = f"http://{host}:{port}/enviar"
    settings.SMS_HTTP_TOKEN = "ficha-secreta"
    sms.send_sms("+59171234567", "Hola")
    assert _SmsGateway.received == [
        {"auth": "Bearer ficha-secreta", "json": {"to": "+59171234567", "text": "Hola"}}
    ]
    _SmsGateway.status = 500
    try:
        with pytest.raises(sms.SmsError):
            sms.send_sms("+59171234567", "Hola")
    finally:
        _SmsGateway.status = 202
    with pytest.raises(sms.SmsError):
        sms.HttpSmsProvider(url="http://127.0.0.1:9/", timeout=0.5).send("+59171234567", "Hola")


def test_sms_failure_does_not_break_registration(
    client: Client, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.SMS_PROVIDER = "ventanilla.identity.sms.HttpSmsProvider"
    settings.SMS_HTTP_URL = "http://127.0.0.1:9/no-hay-nadie"
    settings.SMS_HTTP_TIMEOUT = 0.5
    response = _register(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert User.objects.filter(username="CI-6543210").exists()
    assert len(mail.outbox) == 1  # the e-mail still went out; the SMS can be asked again


def test_demo_civil_registry_rules() -> None:
    registry = verifiers.get_verifier()
    assert registry.lookup("CI", "4567891", "").first_names == "Juana"
    assert registry.lookup("CI", "3333333", "").deceased
    assert registry.lookup("CI", "1234500", "").deceased
    assert registry.lookup("CI", "1234567", "") is None
    assert verifiers.comparable("  JOSÉ   Luis ") == verifiers.comparable("jose luis")


def test_deceased_record_cannot_be_used(db: Any, sign_in: Any) -> None:
    make_citizen("CI-3333333", number="3333333", first_names="Pedro", first_surname="Rojas")
    client = sign_in("3333333")
    response = client.post(
        "/cuenta/verificacion/registro-civil/",
        {
            "first_names": "Pedro",
            "first_surname": "Rojas",
            "second_surname": "Vargas",
            "birth_date": "1940-03-03",
        },
    )
    assert "no permite verificar este documento" in response.content.decode()
    assert Person.objects.get(document_number="3333333").assurance_level == "basico"
