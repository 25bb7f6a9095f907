"""TOTP multi-factor authentication: enrolment, two-step sign-in, replay, recovery codes, disabling."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.utils import timezone

from ventanilla.core.models import AuditEntry
from ventanilla.identity import accounts
from ventanilla.identity.models import AccountSession, AuthFailure, RecoveryCode, TotpDevice

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db

SECRET = pyotp.random_base32()


@pytest.fixture
def mfa_citizen(citizen: Any) -> Any:
    """The citizen with an active authenticator (no step used yet) and two known recovery codes."""
    TotpDevice.objects.create(
        user=citizen, secret_encrypted=accounts.totp_secret_encrypt(SECRET), confirmed_at=timezone.now()
    )
    for raw in ("abcde23456", "fghjk78923"):
        RecoveryCode.objects.create(user=citizen, code_hash=make_password(raw))
    return citizen


def _password_step(client: Client, next_url: str = "") -> Any:
    url = "/cuenta/ingresar/" + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"identifier": "4567891", "password": PASSWORD})


def _now_code() -> str:
    return pyotp.TOTP(SECRET).now()


# -- enrolment --------------------------------------------------------------------------------------------


def test_enrolment_shows_qr_and_secret_then_confirms_with_a_code(
    citizen: Any, sign_in: Any, check_page: Any
) -> None:
    client = sign_in("4567891")
    response = client.post("/cuenta/seguridad/dos-pasos/activar/", {"accion": "iniciar"})
    assert response.status_code == 302
    device = TotpDevice.objects.get(user=citizen)
    assert not device.is_active

    page = client.get("/cuenta/seguridad/dos-pasos/activar/")
    html = page.content.decode()
    check_page(page)
    assert "<svg" in html and "data:" not in html
    secret = re.search(r'id="clave-secreta">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    # Encrypted at rest: the stored value is a Fernet token, not the secret.
    assert secret not in device.secret_encrypted
    assert accounts.totp_secret_decrypt(device.secret_encrypted) == secret

    response = client.post("/cuenta/seguridad/dos-pasos/activar/", {"code": "000000"})
    assert "El código no es correcto" in response.content.decode() or pyotp.TOTP(secret).now() == "000000"

    response = client.post("/cuenta/seguridad/dos-pasos/activar/", {"code": pyotp.TOTP(secret).now()})
    check_page(response)
    assert "no-store" in response["Cache-Control"]
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", response.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    device.refresh_from_db()
    assert device.is_active and device.last_used_step > 0
    stored = list(RecoveryCode.objects.filter(user=citizen).values_list("code_hash", flat=True))
    assert len(stored) == 10 and not any(code.replace("-", "") in h for code in codes for h in stored)
    assert "account.mfa_enabled" in AuditEntry.objects.values_list("action", flat=True)


def test_secret_survives_secret_key_rotation(settings: Any) -> None:
    token = accounts.totp_secret_encrypt("JBSWY3DPEHPK3PXP")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "otra-clave-nueva-de-prueba"
    assert accounts.totp_secret_decrypt(token) == "JBSWY3DPEHPK3PXP"
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(accounts.DomainError):
        accounts.totp_secret_decrypt(token)


# -- two-step sign-in -------------------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_before_logging_in(mfa_citizen: Any) -> None:
    client = Client()
    response = _password_step(client, next_url="/cuenta/sesiones/")
    assert response.status_code == 302
    assert response["Location"] == "/cuenta/ingresar/codigo/"
    assert "_auth_user_id" not in client.session  # not signed in yet
    assert client.get("/cuenta/").status_code == 302

    response = client.post("/cuenta/ingresar/codigo/", {"code": "12345"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session

    response = client.post("/cuenta/ingresar/codigo/", {"code": _now_code()})
    assert response.status_code == 302
    assert response["Location"] == "/cuenta/sesiones/"
    assert client.get("/cuenta/").status_code == 200
    session = AccountSession.objects.get(user=mfa_citizen)
    assert session.amr == ["pwd", "otp"]
    assert session.session_key == client.session.session_key


def test_wrong_code_is_refused_and_counted(mfa_citizen: Any) -> None:
    client = Client()
    _password_step(client)
    current = _now_code()
    wrong = f"{(int(current) + 500000) % 1000000:06d}"
    response = client.post("/cuenta/ingresar/codigo/", {"code": wrong})
    assert response.status_code == 200
    assert "El código no es correcto" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuthFailure.objects.filter(username=mfa_citizen.username).count() == 1
    assert AuditEntry.objects.filter(
        action="account.login_failed", metadata__reason="segundo_factor"
    ).exists()


def test_replayed_code_is_refused(mfa_citizen: Any) -> None:
    first = Client()
    _password_step(first)
    code = _now_code()
    assert first.post("/cuenta/ingresar/codigo/", {"code": code}).status_code == 302

    second = Client()
    _password_step(second)
    response = second.post("/cuenta/ingresar/codigo/", {"code": code})
    # The code's time step was already used (even if the clock moved on, it still matches that step).
    assert response.status_code == 200
    assert "ya fue usado" in response.content.decode()
    assert "_auth_user_id" not in second.session


def test_replay_is_refused_for_any_earlier_step(mfa_citizen: Any) -> None:
    device = TotpDevice.objects.get(user=mfa_citizen)
    now = time.time()
    device.last_used_step = int(now // 30)
    device.save()
    previous = pyotp.TOTP(SECRET).at(now - 30)
    with pytest.raises(accounts.DomainError) as caught:
        accounts.mfa_verify(user=mfa_citizen, code=previous, ip_address=None)
    assert "ya fue usado" in caught.value.message


def test_recovery_code_works_once(mfa_citizen: Any) -> None:
    client = Client()
    _password_step(client)
    response = client.post("/cuenta/ingresar/codigo/", {"code": "ABCDE-23456"})
    assert response.status_code == 302
    assert AccountSession.objects.get(user=mfa_citizen).amr == ["pwd", "otp"]
    assert RecoveryCode.objects.filter(user=mfa_citizen, used_at__isnull=False).count() == 1

    again = Client()
    _password_step(again)
    response = again.post("/cuenta/ingresar/codigo/", {"code": "abcde-23456"})
    assert response.status_code == 200
    assert "no es válido o ya fue usado" in response.content.decode()
    assert "_auth_user_id" not in again.session


def test_wrong_second_factor_codes_lock_the_account(settings: Any, mfa_citizen: Any) -> None:
    settings.VENTANILLA_LOGIN_MAX_FAILURES_ACCOUNT = 3
    client = Client()
    _password_step(client)
    for _attempt in range(3):
        response = client.post("/cuenta/ingresar/codigo/", {"code": "zzzzz-zzzzz"})
    assert response.status_code == 429
    assert "Demasiados intentos fallidos" in response.content.decode()
    # Even the right password is refused now, before any code is asked.
    response = _password_step(Client())
    assert response.status_code == 429


def test_pending_second_step_expires(mfa_citizen: Any) -> None:
    client = Client()
    _password_step(client)
    session = client.session
    session["identity_mfa_pending"]["at"] -= 3600
    session.save()
    response = client.post("/cuenta/ingresar/codigo/", {"code": _now_code()})
    assert response.status_code == 302
    assert response["Location"] == "/cuenta/ingresar/"
    assert "_auth_user_id" not in client.session


def test_second_step_page_is_accessible(mfa_citizen: Any, check_page: Any) -> None:
    client = Client()
    _password_step(client)
    check_page(client.get("/cuenta/ingresar/codigo/"))


# -- managing the second factor ---------------------------------------------------------------------------


def _signed_in_with_mfa() -> Client:
    client = Client()
    _password_step(client)
    client.post("/cuenta/ingresar/codigo/", {"code": "fghjk78923"})
    return client


def test_disable_requires_the_password(mfa_citizen: Any, check_page: Any) -> None:
    client = _signed_in_with_mfa()
    check_page(client.get("/cuenta/seguridad/dos-pasos/"))
    response = client.post(
        "/cuenta/seguridad/dos-pasos/", {"accion": "desactivar", "desactivar-password": "no"}
    )
    assert "La contraseña no es correcta" in response.content.decode()
    assert TotpDevice.objects.filter(user=mfa_citizen).exists()
    response = client.post(
        "/cuenta/seguridad/dos-pasos/", {"accion": "desactivar", "desactivar-password": PASSWORD}
    )
    assert response.status_code == 302
    assert not TotpDevice.objects.filter(user=mfa_citizen).exists()
    assert not RecoveryCode.objects.filter(user=mfa_citizen).exists()
    assert "account.mfa_disabled" in AuditEntry.objects.values_list("action", flat=True)
    # Next sign-in needs the password only.
    assert _password_step(Client())["Location"] == "/cuenta/"


def test_regenerated_recovery_codes_replace_the_old_ones(mfa_citizen: Any) -> None:
    client = _signed_in_with_mfa()
    response = client.post(
        "/cuenta/seguridad/dos-pasos/", {"accion": "regenerar", "regenerar-password": PASSWORD}
    )
    assert response.status_code == 200
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", response.content.decode())
    assert len(codes) == 10
    with pytest.raises(accounts.DomainError):
        accounts.mfa_verify(user=mfa_citizen, code="abcde-23456", ip_address=None)
    assert accounts.mfa_verify(user=mfa_citizen, code=codes[0], ip_address=None) == ["pwd", "otp"]
