"""Security review of the accounts (each test reproduces an attack first):

A. identity proofing bound to whoever controls the account: the civil-registry step needs the account's
   e-mail and mobile confirmed by code; a registration never takes over a document that has an account or
   keeps a level earned by someone else; the registrar's desk needs the one-time «código para verificación
   presencial» the citizen shows from Mi cuenta.
B. registration abuse: mobiles only with the installation's prefix, codes capped per destination and per
   person per day, registration POSTs limited per IP.
C. lockout as denial of service: a signed device cookie lets the owner's browser keep trying while the
   account is locked for everyone else; its failures lock only that cookie.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pyotp
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail, signing
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from ventanilla.core.errors import DomainError
from ventanilla.core.models import AuditEntry
from ventanilla.identity import accounts
from ventanilla.identity.models import (
    AuthFailure,
    DataUse,
    Person,
    TotpDevice,
    VerificationCode,
)

from .conftest import PASSWORD, make_citizen

pytestmark = pytest.mark.django_db

User = get_user_model()

CIVIL_URL = "/cuenta/verificacion/registro-civil/"
CODE_URL = "/cuenta/verificacion/codigo-presencial/"
LOGIN_URL = "/cuenta/ingresar/"
JUANA = {  # what the demo civil registry holds for CI 4567891
    "first_names": "Juana",
    "first_surname": "Quispe",
    "second_surname": "Mamani",
    "birth_date": "1990-05-17",
}
IMPOSTOR = {
    "document_type": "CI",
    "document_number": "4567891",
    "document_complement": "",
    "document_department": "L",
    **JUANA,
    "email": "impostor@example.org",
    "mobile": "7999 0000",
    "password1": "tortuga-azul-mirando-el-lago",
    "password2": "tortuga-azul-mirando-el-lago",
    "accept_terms": "on",
}


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


def _register(client: Client, capture: Any, **overrides: str) -> Any:
    with capture(execute=True):
        return client.post("/cuenta/registro/", {**IMPOSTOR, **overrides})


def _code_from(text: str) -> str:
    found = re.search(r"\b(\d{6})\b", text)
    assert found, text
    return found.group(1)


# -- A.1 civil registry needs the account's own contact details confirmed -----------------------------


def test_civil_registry_refuses_an_account_whose_contacts_are_not_confirmed(
    client: Client, sms_outbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    # Someone who knows Juana's document number, names and birth date registers as her...
    response = _register(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    person = Person.objects.get(document_number="4567891")
    assert not person.email_verified and not person.mobile_verified

    # ...and asks the civil registry to vouch for them: refused before the registry is even consulted.
    page = client.get(CIVIL_URL).content.decode()
    assert "confirme su correo y su celular" in page
    assert "/cuenta/verificar-contacto/" in page
    response = client.post(CIVIL_URL, JUANA)
    assert response.status_code == 403
    assert "confirme su correo y su celular" in response.content.decode()
    person.refresh_from_db()
    assert person.assurance_level == "basico"
    assert not DataUse.objects.filter(person=person).exists()
    with pytest.raises(DomainError) as caught:
        accounts.person_verify_with_civil_registry(
            actor=person.user, data=accounts.ProofingData("Juana", "Quispe", "Mamani", dt.date(1990, 5, 17))
        )
    assert caught.value.code == "contact_unverified"

    # With only the e-mail confirmed it is still refused.
    client.post(
        "/cuenta/verificar-contacto/",
        {"accion": "verificar-correo", "correo-code": _code_from(mail.outbox[0].body)},
    )
    assert client.post(CIVIL_URL, JUANA).status_code == 403
    # Both confirmed by code: the registry check runs.
    client.post(
        "/cuenta/verificar-contacto/",
        {"accion": "verificar-celular", "celular-code": _code_from(sms_outbox[0].text)},
    )
    assert client.post(CIVIL_URL, JUANA).status_code == 302
    person.refresh_from_db()
    assert person.assurance_level == "verificado"


def test_registration_never_takes_over_a_document_that_has_an_account(
    client: Client, sms_outbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    owner = make_citizen("CI-4567891", number="4567891", email="juana@example.org", level="verificado")
    response = _register(client, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert "Ya existe una cuenta con este documento" in response.content.decode()
    person = Person.objects.get(document_number="4567891")
    assert (person.user_id, person.email, person.assurance_level) == (
        owner.pk,
        "juana@example.org",
        "verificado",
    )
    assert User.objects.count() == 1
    assert mail.outbox == [] and sms_outbox == []
    # The same document typed differently is the same document.
    response = _register(client, django_capture_on_commit_callbacks, document_number="4.567.891")
    assert "Ya existe una cuenta con este documento" in response.content.decode()


def test_a_person_without_account_is_claimed_only_at_basic_level(
    client: Client, registrar_a: Any, institution_a: Any, django_capture_on_commit_callbacks: Any
) -> None:
    recorded = Person.objects.create(
        document_type="CI",
        document_number="4567891",
        first_names="Juana",
        first_surname="Quispe",
        second_surname="Mamani",
        names_source="registrador",
        birth_date=dt.date(1990, 5, 17),
        email="juana@example.org",
        email_verified=True,
        mobile="+59171234567",
        mobile_verified=True,
        assurance_level="verificado",
        verified_at=timezone.now(),
        verification_method="registrador",
        verified_by=registrar_a,
        verification_office=institution_a.offices.get(),
    )
    response = _register(client, django_capture_on_commit_callbacks, first_names="Juanita")
    assert response.status_code == 302
    recorded.refresh_from_db()
    assert recorded.user is not None
    # The level, the verified contact details and the registrar's names are not handed to the claimant.
    assert recorded.assurance_level == "basico"
    assert (recorded.verified_at, recorded.verification_method, recorded.verified_by) == (None, "", None)
    assert (recorded.email, recorded.email_verified) == ("impostor@example.org", False)
    assert (recorded.mobile, recorded.mobile_verified) == ("+59179990000", False)
    assert recorded.first_names == "Juana"
    # And the civil registry cannot lift it back until the claimant confirms their own contacts.
    assert client.post(CIVIL_URL, JUANA).status_code == 403
    recorded.refresh_from_db()
    assert recorded.assurance_level == "basico"


# -- A.2 the registrar's desk is bound to the person present ----------------------------------------------


def _registrar_client(registrar: Any) -> Client:
    client = Client()
    client.force_login(registrar)
    return client


def _registrar_url(number: str = "4567891") -> str:
    return f"/gestion/registro-identidad/?document_type=CI&document_number={number}&document_complement="


def _registrar_post(
    client: Client, person: Person, office: Any, code: str | None, number: str = "4567891"
) -> Any:
    data = {
        "person": str(person.uuid),
        "office": office.pk,
        "first_names": person.first_names,
        "first_surname": person.first_surname,
        "second_surname": person.second_surname,
        "birth_date": person.birth_date.isoformat() if person.birth_date else "",
        "document_checked": "on",
    }
    if code is not None:
        data["code"] = code
    return client.post(_registrar_url(number), data)


def _code_of(client: Client) -> str:
    """Ask Mi cuenta for a presencial code and read it from the page."""
    response = client.post(CODE_URL)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    found = re.search(
        r'<strong class="codigo-presencial"[^>]*>([A-Z0-9-]+)</strong>', response.content.decode()
    )
    assert found, response.content.decode()
    return found.group(1)


def test_registrar_needs_the_code_shown_by_the_person_present(
    citizen: Any, alice_person: Any, registrar_a: Any, institution_a: Any, sign_in: Any, check_page: Any
) -> None:
    office = institution_a.offices.get()
    desk = _registrar_client(registrar_a)
    person = citizen.person

    # Knowing the document number is no longer enough to raise whatever account holds it.
    response = _registrar_post(desk, person, office, code=None)
    assert response.status_code == 200
    assert "Escriba el código" in response.content.decode()
    response = _registrar_post(desk, person, office, code="ABCD-EFGH")
    assert response.status_code == 200
    assert "El código de verificación presencial no es válido" in response.content.decode()
    person.refresh_from_db()
    assert person.assurance_level == "basico"
    assert AuditEntry.objects.filter(action="person.verify_code_failed", target_id=str(person.pk)).exists()

    # Mi cuenta explains how to get the code; the citizen asks for it.
    citizen_client = sign_in("4567891")
    page = citizen_client.get("/cuenta/").content.decode()
    assert "código para verificación presencial" in page and CODE_URL in page
    check_page(citizen_client.get(CODE_URL))
    code = _code_of(citizen_client)
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert not re.search(r"[01IO]", code)
    row = VerificationCode.objects.get(person=person, purpose="presencial")
    assert code.replace("-", "") not in row.code_hash  # stored hashed
    assert dt.timedelta(minutes=14, seconds=59) < row.expires_at - row.created_at <= dt.timedelta(minutes=15)
    assert "account.in_person_code_issued" in actions()

    # Another person's valid code does not verify this one.
    alice_client = Client()
    alice_client.force_login(alice_person.user)
    alice_code = _code_of(alice_client)
    response = _registrar_post(desk, person, office, code=alice_code)
    assert "no es válido" in response.content.decode()
    person.refresh_from_db()
    assert person.assurance_level == "basico"

    # The person's own code, typed loosely by the registrar, works once.
    response = _registrar_post(desk, person, office, code=" " + code.lower().replace("-", " "))
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.assurance_level, person.verification_method, person.verified_by) == (
        "verificado",
        "registrador",
        registrar_a,
    )
    entry = AuditEntry.objects.get(action="person.verify")
    assert entry.metadata["in_person_code"] is True
    # Alice's code was never used on her own account, so she is still básico.
    alice_person.refresh_from_db()
    assert alice_person.assurance_level == "basico"
    # Used codes do not work again.
    Person.objects.filter(pk=person.pk).update(assurance_level="basico")
    response = _registrar_post(desk, person, office, code=code)
    assert "no es válido" in response.content.decode()


def test_presencial_code_expires_is_replaced_and_burns_after_wrong_tries(
    citizen: Any, registrar_a: Any, institution_a: Any
) -> None:
    office = institution_a.offices.get()
    desk = _registrar_client(registrar_a)
    person = citizen.person
    first = accounts.in_person_code_issue(actor=citizen).code
    second = accounts.in_person_code_issue(actor=citizen).code
    # A regenerated code replaces the previous one.
    assert "no es válido" in _registrar_post(desk, person, office, code=first).content.decode()
    # Fifteen minutes later it has expired.
    VerificationCode.objects.filter(person=person, purpose="presencial").update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert "no es válido" in _registrar_post(desk, person, office, code=second).content.decode()
    # Wrong guesses burn the code: after five, even the right one is refused.
    third = accounts.in_person_code_issue(actor=citizen).code
    for _attempt in range(accounts.CODE_MAX_ATTEMPTS):
        _registrar_post(desk, person, office, code="ZZZZ-ZZZZ")
    assert "no es válido" in _registrar_post(desk, person, office, code=third).content.decode()
    person.refresh_from_db()
    assert person.assurance_level == "basico"


def test_registrar_service_requires_the_code(citizen: Any, registrar_a: Any, institution_a: Any) -> None:
    office = institution_a.offices.get()
    data = accounts.ProofingData("Juana", "Quispe", "Mamani", dt.date(1990, 5, 17))
    with pytest.raises(DomainError) as caught:
        accounts.person_verify_by_registrar(
            actor=registrar_a, person=citizen.person, office=office, data=data, document_checked=True, code=""
        )
    assert caught.value.field == "code"
    assert Person.objects.get(pk=citizen.person.pk).assurance_level == "basico"


# -- B. registration abuse --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mobile", ["+1 202 555 0143", "0034 612 345 678", "+595 981 123456", "712345", "7123456789012"]
)
def test_foreign_or_implausible_mobile_is_refused(
    client: Client, sms_outbox: list[Any], django_capture_on_commit_callbacks: Any, mobile: str
) -> None:
    response = _register(client, django_capture_on_commit_callbacks, mobile=mobile)
    assert response.status_code == 200
    assert "Escriba un número de celular de" in response.content.decode()
    assert not User.objects.exists() and sms_outbox == [] and mail.outbox == []
    with pytest.raises(DomainError) as caught:
        accounts.mobile_normalize(mobile)
    assert caught.value.field == "mobile"


def test_local_mobile_forms_are_accepted() -> None:
    prefix = settings.COUNTRY_PACK.phone_prefix
    assert accounts.mobile_normalize("7123 4567") == prefix + "71234567"
    assert accounts.mobile_normalize(f"{prefix} 7123-4567") == prefix + "71234567"
    assert accounts.mobile_normalize("00" + prefix[1:] + "71234567") == prefix + "71234567"


def test_sixth_code_to_the_same_number_in_a_day_is_refused(
    sms_outbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    # An abuser registers document after document with a victim's number to flood it with SMS.
    for index in range(5):
        response = _register(
            Client(),
            django_capture_on_commit_callbacks,
            document_number=f"700000{index}",
            email=f"abuso{index}@example.org",
            mobile="7555 0000",
        )
        assert response.status_code == 302
    assert len(sms_outbox) == 5
    response = _register(
        Client(),
        django_capture_on_commit_callbacks,
        document_number="7000009",
        email="abuso9@example.org",
        mobile="7555 0000",
    )
    assert response.status_code == 200
    assert "Este número de celular ya recibió 5 códigos hoy" in response.content.decode()
    assert len(sms_outbox) == 5
    assert not User.objects.filter(username="CI-7000009").exists()
    # The same holds for an e-mail address.
    for index in range(5, 9):
        _register(
            Client(),
            django_capture_on_commit_callbacks,
            document_number=f"710000{index}",
            email="victima@example.org",
            mobile=f"7600 000{index}",
        )
    response = _register(
        Client(),
        django_capture_on_commit_callbacks,
        document_number="7200000",
        email="VICTIMA@example.org",
        mobile="7600 0009",
    )
    assert "Este correo ya recibió 5 códigos hoy" not in response.content.decode()  # 5th is allowed
    response = _register(
        Client(),
        django_capture_on_commit_callbacks,
        document_number="7200001",
        email="Victima@Example.org",
        mobile="7600 0010",
    )
    assert "Este correo ya recibió 5 códigos hoy" in response.content.decode()


def test_resends_are_capped_per_person_per_day(
    sms_outbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()
    _register(client, django_capture_on_commit_callbacks)
    user = User.objects.get(username="CI-4567891")
    for _index in range(4):
        # Step past the one-a-minute and per-hour limits: only the daily cap is left to stop it.
        VerificationCode.objects.filter(person=user.person).update(
            created_at=timezone.now() - dt.timedelta(hours=2)
        )
        accounts.verification_code_resend(actor=user, purpose=VerificationCode.Purpose.VERIFY_MOBILE)
    VerificationCode.objects.filter(person=user.person).update(
        created_at=timezone.now() - dt.timedelta(hours=2)
    )
    with pytest.raises(DomainError) as caught:
        accounts.verification_code_resend(actor=user, purpose=VerificationCode.Purpose.VERIFY_MOBILE)
    assert caught.value.code == "rate_limited"
    assert "5 códigos hoy" in caught.value.message
    # The limit is per day: tomorrow it can be asked again.
    VerificationCode.objects.filter(person=user.person).update(
        created_at=timezone.now() - dt.timedelta(days=1, minutes=1)
    )
    accounts.verification_code_resend(actor=user, purpose=VerificationCode.Purpose.VERIFY_MOBILE)


def test_registration_posts_are_limited_per_ip(settings: Any) -> None:
    settings.VENTANILLA_RATE_LIMITS = {
        **settings.VENTANILLA_RATE_LIMITS,
        "register": {"limit": 3, "window": 3600},
    }
    cache.clear()
    abuser = Client(REMOTE_ADDR="203.0.113.90")
    for _attempt in range(3):
        assert abuser.post("/cuenta/registro/", {"document_type": "CI"}).status_code == 200
    response = abuser.post("/cuenta/registro/", {"document_type": "CI"})
    assert response.status_code == 429
    assert "Demasiadas solicitudes" in response.content.decode()
    assert abuser.get("/cuenta/registro/").status_code == 200  # reading the form is not counted
    assert (
        Client(REMOTE_ADDR="198.51.100.90").post("/cuenta/registro/", {"document_type": "CI"}).status_code
        == 200
    )
    cache.clear()


# -- C. device cookies against lockout as denial of service -----------------------------------------------

COOKIE = "ventanilla_dispositivo"


def _owner_browser(identifier: str = "4567891", password: str = PASSWORD) -> Client:
    """A browser where the owner signed in once (so it holds a device cookie) and signed out again."""
    browser = Client(REMOTE_ADDR="192.0.2.10")
    response = browser.post(LOGIN_URL, {"identifier": identifier, "password": password})
    assert response.status_code == 302
    assert COOKIE in response.cookies
    browser.post("/cuenta/salir/")
    assert browser.cookies[COOKIE].value
    return browser


def _lock_from_many_ips(identifier: str = "4567891") -> None:
    for index in range(settings.VENTANILLA_LOGIN_MAX_FAILURES_ACCOUNT):
        Client(REMOTE_ADDR=f"203.0.113.{index + 1}").post(
            LOGIN_URL, {"identifier": identifier, "password": "adivinanza-mala"}
        )


def test_device_cookie_is_signed_httponly_lax_and_long_lived(citizen: Any, settings: Any) -> None:
    settings.SESSION_COOKIE_SECURE = True
    response = Client().post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD})
    morsel = response.cookies[COOKIE]
    assert morsel["httponly"] and morsel["secure"]
    assert morsel["samesite"] == "Lax"
    assert int(morsel["max-age"]) == 180 * 24 * 3600
    payload = signing.loads(morsel.value, salt=accounts.DEVICE_COOKIE_SALT)
    assert payload["u"] == str(citizen.uuid) and len(payload["n"]) >= 16
    # Each sign-in gets a new nonce.
    again = Client().post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD}).cookies[COOKIE].value
    assert signing.loads(again, salt=accounts.DEVICE_COOKIE_SALT)["n"] != payload["n"]


def test_owner_with_device_cookie_signs_in_while_attackers_locked_the_account(citizen: Any) -> None:
    owner = _owner_browser()
    _lock_from_many_ips()
    # Without the cookie (a new browser), the owner gets the lockout message as before.
    stranger = Client(REMOTE_ADDR="192.0.2.10")
    response = stranger.post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD})
    assert response.status_code == 429
    assert "Demasiados intentos fallidos para esta cuenta" in response.content.decode()
    # The browser the owner used before still may try the password.
    response = owner.post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD})
    assert response.status_code == 302
    assert owner.get("/cuenta/").status_code == 200
    # The owner's success does not lift the lock the attackers caused for everyone else.
    response = Client().post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD})
    assert response.status_code == 429


def test_forged_or_foreign_device_cookie_gives_no_bypass(citizen: Any, alice_person: Any) -> None:
    alice_browser = _owner_browser("alice", "clave-de-prueba-123")
    _lock_from_many_ips()
    forged = [
        "basura",
        signing.dumps({"u": str(citizen.uuid), "n": "a" * 32}, salt="otra-sal"),
        signing.dumps(
            {"u": str(citizen.uuid), "n": "a" * 32}, salt=accounts.DEVICE_COOKIE_SALT, key="otra-clave"
        ),
        alice_browser.cookies[COOKIE].value,  # valid, but for another account
    ]
    for value in forged:
        browser = Client()
        browser.cookies[COOKIE] = value
        response = browser.post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD})
        assert response.status_code == 429, value
        assert "_auth_user_id" not in browser.session
    # A cookie older than 180 days is not honoured either.
    payload = signing.loads(accounts.device_cookie_value(user=citizen), salt=accounts.DEVICE_COOKIE_SALT)

    class _SignedLongAgo(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - 181 * 24 * 3600)

    stale = Client()
    stale.cookies[COOKIE] = _SignedLongAgo(salt=accounts.DEVICE_COOKIE_SALT).sign_object(payload)
    assert stale.post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD}).status_code == 429
    fresh = Client()
    fresh.cookies[COOKIE] = signing.TimestampSigner(salt=accounts.DEVICE_COOKIE_SALT).sign_object(payload)
    assert fresh.post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD}).status_code == 302


def test_device_failures_lock_only_that_device(citizen: Any) -> None:
    laptop, phone = _owner_browser(), _owner_browser()
    limit = settings.VENTANILLA_LOGIN_MAX_FAILURES_ACCOUNT
    for _attempt in range(limit):
        response = laptop.post(LOGIN_URL, {"identifier": "4567891", "password": "me-equivoque-otra-vez"})
    assert response.status_code == 429
    assert "desde este navegador" in response.content.decode()
    assert laptop.post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD}).status_code == 429
    # The account itself is not locked: neither the other device nor a new browser is affected.
    assert not AuthFailure.objects.filter(username=citizen.username).exists()
    assert phone.post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD}).status_code == 302
    assert Client().post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD}).status_code == 302


def test_attacker_with_a_cookie_of_their_own_account_does_not_unlock_the_victim(
    citizen: Any, alice_person: Any
) -> None:
    owner = _owner_browser()
    attacker = _owner_browser("alice", "clave-de-prueba-123")
    limit = settings.VENTANILLA_LOGIN_MAX_FAILURES_ACCOUNT
    for _attempt in range(limit):
        attacker.post(LOGIN_URL, {"identifier": "4567891", "password": "adivinanza-mala"})
    # The failures counted against the victim's account, not against the attacker's own device...
    assert AuthFailure.objects.filter(username=citizen.username).count() == limit
    response = attacker.post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in attacker.session
    assert Client().post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD}).status_code == 429
    # ...while the real owner's browser still gets in, and the attacker's own account is not locked.
    assert owner.post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD}).status_code == 302
    assert (
        attacker.post(LOGIN_URL, {"identifier": "alice", "password": "clave-de-prueba-123"}).status_code
        == 302
    )


def test_device_cookie_does_not_lift_the_ip_lockout(settings: Any, citizen: Any) -> None:
    settings.VENTANILLA_LOGIN_MAX_FAILURES_IP = 4
    owner = _owner_browser()
    for number in range(4):
        Client(REMOTE_ADDR="192.0.2.10").post(
            LOGIN_URL, {"identifier": f"999000{number}", "password": "x-y-z-1"}
        )
    response = owner.post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD})
    assert response.status_code == 429
    assert "desde su conexión" in response.content.decode()


def test_device_cookie_also_covers_the_second_factor(citizen: Any) -> None:
    secret = pyotp.random_base32()
    TotpDevice.objects.create(
        user=citizen, secret_encrypted=accounts.totp_secret_encrypt(secret), confirmed_at=timezone.now()
    )
    owner = Client(REMOTE_ADDR="192.0.2.10")
    owner.post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD})
    owner.post("/cuenta/ingresar/codigo/", {"code": pyotp.TOTP(secret).now()})
    assert COOKIE in owner.cookies
    owner.post("/cuenta/salir/")
    TotpDevice.objects.filter(user=citizen).update(last_used_step=0)
    _lock_from_many_ips()
    assert owner.post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD})["Location"] == (
        "/cuenta/ingresar/codigo/"
    )
    # Wrong second-factor codes from the trusted browser count against that browser, not the account.
    before = AuthFailure.objects.filter(username=citizen.username).count()
    response = owner.post("/cuenta/ingresar/codigo/", {"code": "zzzzz-zzzzz"})
    assert response.status_code == 200
    assert AuthFailure.objects.filter(username=citizen.username).count() == before
    response = owner.post("/cuenta/ingresar/codigo/", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert owner.get("/cuenta/").status_code == 200


def test_second_factor_failures_without_device_cookie_still_lock_the_account(
    settings: Any, citizen: Any
) -> None:
    settings.VENTANILLA_LOGIN_MAX_FAILURES_ACCOUNT = 2
    TotpDevice.objects.create(
        user=citizen,
        secret_encrypted=accounts.totp_secret_encrypt(pyotp.random_base32()),
        confirmed_at=timezone.now(),
    )
    browser = Client()
    browser.post(LOGIN_URL, {"identifier": "4567891", "password": PASSWORD})
    for _attempt in range(2):
        response = browser.post("/cuenta/ingresar/codigo/", {"code": "zzzzz-zzzzz"})
    assert response.status_code == 429
    assert "Demasiados intentos fallidos para esta cuenta" in response.content.decode()
    assert AuthFailure.objects.filter(username=citizen.username).count() == 2


def test_a_new_password_retires_earlier_device_cookies(citizen: Any) -> None:
    # Someone who once signed in with the old password keeps no bypass after the owner changes it.
    old_browser = _owner_browser()
    accounts.password_reset_complete(user=citizen, new_password="llama-andina-con-poncho-rojo")
    _lock_from_many_ips()
    response = old_browser.post(
        LOGIN_URL, {"identifier": "4567891", "password": "llama-andina-con-poncho-rojo"}
    )
    assert response.status_code == 429
