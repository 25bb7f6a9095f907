"""Write path for Ciudadanía Digital accounts: registration, contact verification codes, sign-in and
brute-force protection, TOTP multi-factor authentication, sessions, passwords, consent withdrawal and
identity proofing (registrar in person, civil registry).

Every function validates, writes inside one transaction, records an audit entry in that transaction and
schedules side effects (e-mail, SMS) with ``transaction.on_commit``. Views only translate HTTP to these
calls. When a failed attempt must be remembered (a wrong code, a wrong password), the attempt is committed
first and the error is raised afterwards.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import re
import secrets
import time
from dataclasses import dataclass
from functools import partial
from importlib import import_module
from typing import Any

import pyotp
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, password_validation
from django.contrib.auth.hashers import check_password, make_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from ventanilla.core.errors import DomainError, Forbidden, NotFound
from ventanilla.core.models import Office
from ventanilla.core.services import audit_record, snapshot

from . import account_selectors as selectors
from .models import (
    AccountSession,
    AssuranceLevel,
    AuthFailure,
    Consent,
    DataSource,
    DataUse,
    Person,
    RecoveryCode,
    TotpDevice,
    VerificationCode,
)
from .sms import SmsError, send_sms
from .verifiers import CivilRegistryUnavailable, comparable, get_verifier

logger = logging.getLogger(__name__)

CODE_TTL = dt.timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5
CODE_RESEND_INTERVAL = dt.timedelta(seconds=60)
CODE_MAX_PER_HOUR = 3
# E-mail/SMS codes in 24 hours: per destination (whichever accounts asked for them, so nobody can flood a
# stranger's phone by registering document after document) and per person and kind (resends).
CODE_MAX_PER_DAY = 5
IN_PERSON_CODE_TTL = dt.timedelta(minutes=15)
IN_PERSON_CODE_LENGTH = 8
IN_PERSON_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
IN_PERSON_CODE_MAX_PER_HOUR = 10
# Device cookie (OWASP "slow down online guessing attacks with device cookies"): a browser where the
# account signed in before may keep trying its password while the account is locked for everyone else.
DEVICE_COOKIE_NAME = "ventanilla_dispositivo"
DEVICE_COOKIE_SALT = "ventanilla.identity.device-cookie"
DEVICE_COOKIE_MAX_AGE = 180 * 24 * 3600
DEVICE_COOKIE_PATH = "/cuenta/"
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
TOTP_PERIOD = 30
CIVIL_REGISTRY_MAX_MISMATCHES_PER_DAY = 3
PERSON_AUDIT_FIELDS = [
    "document_type",
    "document_number",
    "document_complement",
    "first_names",
    "first_surname",
    "second_surname",
    "names_source",
    "birth_date",
    "email_verified",
    "mobile_verified",
    "assurance_level",
    "verification_method",
    "verified_by",
    "verification_office",
]


def _raise_validation(exc: ValidationError, field: str) -> None:
    messages = list(exc.messages)
    raise DomainError(message=" ".join(messages), code="invalid", field=field) from exc


# -- registration -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationData:
    document_type: str
    document_number: str
    first_names: str
    first_surname: str
    birth_date: dt.date
    email: str
    mobile: str
    password: str
    document_complement: str = ""
    document_department: str = ""
    second_surname: str = ""


def mobile_normalize(value: str) -> str:
    """E.164 form of a mobile number of this installation's country (``""`` when empty); numbers of other
    countries or of an implausible length are refused."""
    number, errors = selectors.mobile_parse(value)
    if number is None:
        raise DomainError(message=" ".join(errors), code="invalid", field="mobile")
    return number


def account_register(*, actor: Any = None, data: RegistrationData) -> Any:
    """Self-registration at level «básico». Creates the account and its person (or links the person a clerk
    already recorded for this document) and sends the e-mail and SMS verification codes."""
    document, errors = selectors.document_parse(
        data.document_type, data.document_number, data.document_complement
    )
    if document is None:
        raise DomainError(message=" ".join(errors), code="invalid_document", field="document_number")
    department = (data.document_department or "").strip().upper()
    if department and settings.COUNTRY_PACK.department(department) is None:
        raise DomainError(message=_("Elija un departamento de la lista."), field="document_department")
    first_names = " ".join(data.first_names.split())
    first_surname = " ".join(data.first_surname.split())
    second_surname = " ".join(data.second_surname.split())
    if not first_names:
        raise DomainError(message=_("Escriba sus nombres."), code="required", field="first_names")
    if not first_surname and not second_surname:
        raise DomainError(message=_("Escriba al menos un apellido."), code="required", field="first_surname")
    if data.birth_date >= timezone.localdate() or data.birth_date.year < 1900:
        raise DomainError(message=_("Revise la fecha de nacimiento."), code="invalid", field="birth_date")
    email = get_user_model().objects.normalize_email(data.email.strip())
    if not email:
        raise DomainError(message=_("Escriba su correo electrónico."), code="required", field="email")
    mobile = mobile_normalize(data.mobile)
    if not mobile:
        raise DomainError(message=_("Escriba su número de celular."), code="required", field="mobile")
    _code_quota_check(purpose=VerificationCode.Purpose.VERIFY_EMAIL, destination=email)
    _code_quota_check(purpose=VerificationCode.Purpose.VERIFY_MOBILE, destination=mobile)

    User = get_user_model()
    username = selectors.username_for_document(document)
    candidate = User(
        username=username,
        first_name=first_names[:150],
        last_name=" ".join(p for p in (first_surname, second_surname) if p)[:150],
        email=email,
    )
    try:
        password_validation.validate_password(data.password, user=candidate)
    except ValidationError as exc:
        _raise_validation(exc, "password")

    duplicate = DomainError(
        message=_(
            "Ya existe una cuenta con este documento. Si es suya, ingrese con su contraseña o restablézcala."
        ),
        code="duplicate_document",
        field="document_number",
    )
    try:
        with transaction.atomic():
            person = (
                Person.objects.select_for_update()
                .filter(
                    document_type=document.type,
                    document_number=document.number,
                    document_complement=document.complement,
                )
                .first()
            )
            if (person is not None and person.user_id is not None) or User.objects.filter(
                username__iexact=username
            ).exists():
                raise duplicate
            user = User.objects.create_user(
                username=username,
                email=email,
                password=data.password,
                first_name=candidate.first_name,
                last_name=candidate.last_name,
            )
            linked = person is not None
            before = snapshot(person, PERSON_AUDIT_FIELDS) if person is not None else None
            if person is None:
                person = Person(
                    document_type=document.type,
                    document_number=document.number,
                    document_complement=document.complement,
                )
            person.user = user
            if person.names_source == DataSource.DECLARED:
                person.first_names = first_names
                person.first_surname = first_surname
                person.second_surname = second_surname
                person.birth_date = data.birth_date
            if department:
                person.document_department = department
            person.email, person.email_verified, person.email_source = email, False, DataSource.DECLARED
            person.mobile, person.mobile_verified, person.mobile_source = mobile, False, DataSource.DECLARED
            if person.assurance_level != AssuranceLevel.BASICO:
                # A verification vouched for the person, not for whoever now claims the document online.
                person.assurance_level = AssuranceLevel.BASICO
                person.verified_at = None
                person.verification_method = ""
                person.verified_by = None
                person.verification_office = None
            person.save()
            audit_record(
                actor=actor or user,
                action="account.register",
                target=person,
                before=before,
                after=snapshot(person, PERSON_AUDIT_FIELDS),
                metadata={"username": username, "linked_existing_person": linked},
            )
            _issue_code(person, VerificationCode.Purpose.VERIFY_EMAIL, email)
            _issue_code(person, VerificationCode.Purpose.VERIFY_MOBILE, mobile)
    except IntegrityError as exc:  # a concurrent registration of the same document won the race
        raise duplicate from exc
    return user


# -- contact verification codes ---------------------------------------------------------------------------


def _code_hash(person_id: int, purpose: str, code: str) -> str:
    return salted_hmac("ventanilla.identity.verification-code", f"{person_id}:{purpose}:{code}").hexdigest()


def _destination_key(purpose: str, destination: str) -> str:
    """How a code's destination is stored and counted: e-mail addresses without regard to case."""
    return destination.lower() if purpose == VerificationCode.Purpose.VERIFY_EMAIL else destination


def _code_quota_check(*, purpose: str, destination: str, person: Person | None = None) -> None:
    """Refuse a new e-mail/SMS code when the destination (or the person, for this kind) already got
    ``CODE_MAX_PER_DAY`` codes in the last 24 hours."""
    since = timezone.now() - dt.timedelta(days=1)
    field = "email" if purpose == VerificationCode.Purpose.VERIFY_EMAIL else "mobile"
    sent = VerificationCode.objects.filter(
        destination=_destination_key(purpose, destination), created_at__gte=since
    ).count()
    if sent >= CODE_MAX_PER_DAY:
        if field == "email":
            message = _(
                "Este correo ya recibió %(n)d códigos hoy. Por seguridad no enviamos más: intente mañana "
                "o use otro correo."
            )
        else:
            message = _(
                "Este número de celular ya recibió %(n)d códigos hoy. Por seguridad no enviamos más: "
                "intente mañana o use otro número."
            )
        raise DomainError(
            message=message % {"n": CODE_MAX_PER_DAY}, code="rate_limited", field=field, status=429
        )
    if person is not None:
        asked = VerificationCode.objects.filter(person=person, purpose=purpose, created_at__gte=since).count()
        if asked >= CODE_MAX_PER_DAY:
            raise DomainError(
                message=_("Ya pidió %(n)d códigos hoy. Intente nuevamente mañana.") % {"n": CODE_MAX_PER_DAY},
                code="rate_limited",
                field=field,
                status=429,
            )


def _issue_code(person: Person, purpose: str, destination: str) -> None:
    """Create a fresh code (earlier ones stop working) and deliver it after the transaction commits."""
    now = timezone.now()
    VerificationCode.objects.filter(
        person=person, purpose=purpose, used_at__isnull=True, expires_at__gt=now
    ).update(expires_at=now)
    code = f"{secrets.randbelow(10**6):06d}"
    VerificationCode.objects.create(
        person=person,
        purpose=purpose,
        destination=_destination_key(purpose, destination),
        code_hash=_code_hash(person.pk, purpose, code),
        expires_at=now + CODE_TTL,
    )
    transaction.on_commit(partial(_deliver_code, purpose, destination, code))


def _deliver_code(purpose: str, destination: str, code: str) -> None:
    minutes = int(CODE_TTL.total_seconds() // 60)
    portal = settings.COUNTRY_PACK.portal_name
    try:
        if purpose == VerificationCode.Purpose.VERIFY_EMAIL:
            send_mail(
                _("Su código de verificación de %(portal)s") % {"portal": portal},
                _(
                    "Su código para verificar este correo en %(portal)s es: %(code)s\n\n"
                    "Vence en %(minutes)d minutos. Si usted no creó una cuenta, ignore este mensaje.\n"
                    "Nunca comparta este código: nadie de la institución se lo pedirá."
                )
                % {"portal": portal, "code": code, "minutes": minutes},
                None,
                [destination],
            )
        else:
            send_sms(
                destination,
                _(
                    "%(portal)s: su código de verificación es %(code)s. "
                    "Vence en %(minutes)d minutos. No lo comparta."
                )
                % {"portal": portal, "code": code, "minutes": minutes},
            )
    except (SmsError, OSError):
        logger.exception("No se pudo entregar el código de verificación (%s)", purpose)


def _purpose_contact(person: Person, purpose: str) -> tuple[str, bool]:
    if purpose == VerificationCode.Purpose.VERIFY_EMAIL:
        return person.email, person.email_verified
    if purpose == VerificationCode.Purpose.VERIFY_MOBILE:
        return person.mobile, person.mobile_verified
    raise DomainError(message=_("Tipo de código desconocido."), code="invalid")


def _person_of(actor: Any) -> Person:
    person = selectors.person_for_user(actor)
    if person is None:
        raise NotFound(_("Su cuenta no tiene datos de identidad registrados."))
    return person


def verification_code_resend(*, actor: Any, purpose: str) -> None:
    """Send a new code: at most one a minute, ``CODE_MAX_PER_HOUR`` an hour and ``CODE_MAX_PER_DAY`` a day
    per kind, and ``CODE_MAX_PER_DAY`` a day to the same destination whoever asks."""
    person = _person_of(actor)
    destination, verified = _purpose_contact(person, purpose)
    if not destination:
        raise DomainError(message=_("No hay un dato registrado para verificar."), code="invalid")
    if verified:
        raise DomainError(message=_("Este dato ya está verificado."), code="already_verified")
    now = timezone.now()
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=person.pk).first()
        recent = VerificationCode.objects.filter(
            person=person, purpose=purpose, created_at__gte=now - dt.timedelta(hours=1)
        ).order_by("-created_at")
        last = recent.first()
        if last is not None and last.created_at > now - CODE_RESEND_INTERVAL:
            wait = int((last.created_at + CODE_RESEND_INTERVAL - now).total_seconds()) + 1
            raise DomainError(
                message=ngettext(
                    "Ya enviamos un código. Espere %(n)d segundo para pedir otro.",
                    "Ya enviamos un código. Espere %(n)d segundos para pedir otro.",
                    wait,
                )
                % {"n": wait},
                code="rate_limited",
                status=429,
            )
        if recent.count() >= CODE_MAX_PER_HOUR:
            raise DomainError(
                message=_("Pidió demasiados códigos. Intente nuevamente en una hora."),
                code="rate_limited",
                status=429,
            )
        _code_quota_check(purpose=purpose, destination=destination, person=person)
        _issue_code(person, purpose, destination)
        audit_record(actor=actor, action="account.code_sent", target=person, metadata={"purpose": purpose})


def verification_code_check(*, actor: Any, purpose: str, code: str) -> Person:
    """Check a code; on success the e-mail or mobile is marked verified (source «código»)."""
    person = _person_of(actor)
    destination, verified = _purpose_contact(person, purpose)
    if verified:
        return person
    typed = re.sub(r"\s+", "", code or "")
    error: DomainError | None = None
    with transaction.atomic():
        row = (
            VerificationCode.objects.select_for_update()
            .filter(person=person, purpose=purpose)
            .order_by("-created_at", "-pk")
            .first()
        )
        now = timezone.now()
        if (
            row is None
            or row.used_at is not None
            or row.destination not in {destination, _destination_key(purpose, destination)}
        ):
            error = DomainError(message=_("No hay un código vigente. Pida uno nuevo."), code="no_code")
        elif row.expires_at <= now:
            error = DomainError(message=_("El código venció. Pida uno nuevo."), code="expired")
        elif row.attempts >= CODE_MAX_ATTEMPTS:
            error = DomainError(
                message=_("Demasiados intentos con este código. Pida uno nuevo."), code="too_many_attempts"
            )
        elif constant_time_compare(row.code_hash, _code_hash(person.pk, purpose, typed)):
            row.used_at = now
            row.save(update_fields=["used_at"])
            before = snapshot(person, PERSON_AUDIT_FIELDS)
            if purpose == VerificationCode.Purpose.VERIFY_EMAIL:
                person.email_verified, person.email_source = True, DataSource.CODE
                fields = ["email_verified", "email_source", "updated_at"]
                action = "account.email_verified"
            else:
                person.mobile_verified, person.mobile_source = True, DataSource.CODE
                fields = ["mobile_verified", "mobile_source", "updated_at"]
                action = "account.mobile_verified"
            person.save(update_fields=fields)
            audit_record(
                actor=actor,
                action=action,
                target=person,
                before=before,
                after=snapshot(person, PERSON_AUDIT_FIELDS),
            )
        else:
            row.attempts += 1
            row.save(update_fields=["attempts"])
            audit_record(
                actor=actor, action="account.code_failed", target=person, metadata={"purpose": purpose}
            )
            left = CODE_MAX_ATTEMPTS - row.attempts
            if left > 0:
                message = ngettext(
                    "El código no es correcto. Le queda %(n)d intento.",
                    "El código no es correcto. Le quedan %(n)d intentos.",
                    left,
                ) % {"n": left}
            else:
                message = _("El código no es correcto y ya no quedan intentos. Pida uno nuevo.")
            error = DomainError(message=message, code="wrong_code")
    if error is not None:
        raise error
    return person


# -- sign-in and brute-force protection -------------------------------------------------------------------


@dataclass(frozen=True)
class LoginOutcome:
    user: Any = None
    needs_mfa: bool = False
    error: str = ""
    locked: bool = False


def _failure_record(
    *,
    keys: list[str],
    ip_address: str | None,
    user: Any,
    reason: str,
    identifier: str,
    trusted_device: bool = False,
) -> None:
    now = timezone.now()
    AuthFailure.objects.bulk_create(
        [AuthFailure(username=key[:150], ip_address=ip_address, created_at=now) for key in keys]
    )
    metadata: dict[str, Any] = {"identifier": identifier[:150], "reason": reason}
    if trusted_device:
        metadata["trusted_device"] = True
    audit_record(actor=None, action="account.login_failed", target=user, metadata=metadata)


# -- device cookies ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceCookie:
    """A browser where the account signed in before: the account's public id, a random nonce and a tag of
    the password it signed in with (a new password retires every device cookie issued before)."""

    user_uuid: str
    nonce: str
    password_tag: str

    @property
    def failure_key(self) -> str:
        digest = hashlib.sha256(self.nonce.encode()).hexdigest()[:40]
        return f"{selectors.DEVICE_FAILURE_PREFIX}{digest}"

    def belongs_to(self, user: Any) -> bool:
        return (
            user is not None
            and constant_time_compare(self.user_uuid, str(getattr(user, "uuid", "")))
            and constant_time_compare(self.password_tag, _password_tag(user))
        )


def _password_tag(user: Any) -> str:
    return str(user.get_session_auth_hash())[:16]


def device_cookie_value(*, user: Any) -> str:
    """A new signed device cookie for ``user`` (set after every successful sign-in)."""
    payload = {"u": str(user.uuid), "n": secrets.token_urlsafe(24), "p": _password_tag(user)}
    return signing.dumps(payload, salt=DEVICE_COOKIE_SALT)


def device_cookie_read(value: str | None) -> DeviceCookie | None:
    """The device cookie a request presented, when its signature is ours and it is under 180 days old."""
    if not value:
        return None
    try:
        payload = signing.loads(value, salt=DEVICE_COOKIE_SALT, max_age=DEVICE_COOKIE_MAX_AGE)
    except signing.BadSignature:  # also an expired one (SignatureExpired)
        return None
    if not isinstance(payload, dict):
        return None
    user_uuid, nonce, tag = payload.get("u"), payload.get("n"), payload.get("p")
    if (
        not (isinstance(user_uuid, str) and isinstance(nonce, str) and isinstance(tag, str))
        or len(nonce) < 16
    ):
        return None
    return DeviceCookie(user_uuid=user_uuid, nonce=nonce, password_tag=tag)


def _trusted_device(device_cookie: str | None, users: list[Any]) -> tuple[Any, DeviceCookie | None]:
    """Which of ``users`` the device cookie was issued to, with the cookie; else ``(None, None)``."""
    device = device_cookie_read(device_cookie)
    if device is None:
        return None, None
    for user in users:
        if device.belongs_to(user):
            return user, device
    return None, None


def login_attempt(
    *,
    identifier: str,
    password: str,
    ip_address: str | None,
    request: Any = None,
    device_cookie: str | None = None,
) -> LoginOutcome:
    """First sign-in step. A locked account or IP is refused before the password is even checked; a wrong
    password counts against both; a right one either completes (``user``) or asks for the second factor.

    A browser presenting a valid device cookie of the account is judged by its own failures instead of the
    account's: attackers elsewhere cannot lock the owner out, and its failures lock only that browser. The
    per-IP lock applies to everyone."""
    identifier = (identifier or "").strip()
    candidates = selectors.account_candidates(identifier)
    trusted, device = _trusted_device(device_cookie, candidates)
    if trusted is not None and device is not None:
        candidates = [trusted]
        keys = [device.failure_key]
    else:
        keys = selectors.failure_keys(identifier, candidates)
    lockout = selectors.login_lockout_get(usernames=keys, ip_address=ip_address, device=trusted is not None)
    target = candidates[0] if len(candidates) == 1 else None
    if lockout is not None:
        with transaction.atomic():
            audit_record(
                actor=None,
                action="account.login_failed",
                target=target,
                metadata={
                    "identifier": identifier[:150],
                    "reason": "bloqueado",
                    "scope": lockout.scope,
                    "trusted_device": trusted is not None,
                },
            )
        return LoginOutcome(error=lockout.message, locked=True)

    user = None
    for candidate in candidates:
        user = authenticate(request, username=candidate.get_username(), password=password)
        if user is not None:
            break
    if not candidates:
        # Same cost as a real check, so response time does not reveal which accounts exist.
        make_password(password)
    if user is None:
        with transaction.atomic():
            _failure_record(
                keys=keys,
                ip_address=ip_address,
                user=target,
                reason="contrasena",
                identifier=identifier,
                trusted_device=trusted is not None,
            )
        lockout = selectors.login_lockout_get(
            usernames=keys, ip_address=ip_address, device=trusted is not None
        )
        if lockout is not None:
            return LoginOutcome(error=lockout.message, locked=True)
        return LoginOutcome(
            error=_("El documento (o usuario) o la contraseña no son correctos. Revise e intente de nuevo.")
        )
    if selectors.has_active_totp(user):
        return LoginOutcome(user=user, needs_mfa=True)
    return LoginOutcome(user=user)


def login_complete(
    *,
    user: Any,
    session_key: str,
    ip_address: str | None,
    user_agent: str,
    amr: list[str],
    device_cookie: str | None = None,
) -> AccountSession:
    """Record the signed-in device after ``django.contrib.auth.login``; clears the account's failures, or,
    when the browser signed in with its device cookie, only that browser's (a lock that attackers caused
    elsewhere stays for them)."""
    now = timezone.now()
    _trusted, device = _trusted_device(device_cookie, [user])
    with transaction.atomic():
        if device is not None:
            AuthFailure.objects.filter(username=device.failure_key).delete()
        else:
            AuthFailure.objects.filter(username=user.get_username()).delete()
        session, _created = AccountSession.objects.update_or_create(
            session_key=session_key,
            defaults={
                "user": user,
                "ip_address": ip_address,
                "user_agent": (user_agent or "")[:300],
                "amr": list(amr),
                "created_at": now,
                "last_seen": now,
                "ended_at": None,
            },
        )
        audit_record(actor=user, action="account.login", target=user, metadata={"amr": list(amr)})
    return session


def _matching_step(secret: str, code: str, at: float) -> int | None:
    totp = pyotp.TOTP(secret, interval=TOTP_PERIOD)
    current = int(at // TOTP_PERIOD)
    found = None
    for step in (current - 1, current, current + 1):
        if constant_time_compare(totp.generate_otp(step), code):
            found = step
    return found


def _recovery_normalize(code: str) -> str:
    return re.sub(r"[\s\-]+", "", code or "").lower()


def mfa_verify(
    *, user: Any, code: str, ip_address: str | None, device_cookie: str | None = None
) -> list[str]:
    """Second sign-in step: a TOTP code (not reused: its time step must be newer than the last one used)
    or an unused recovery code. Returns the ``amr`` values; wrong codes count as failed sign-ins (of the
    browser only, when it presents the account's device cookie)."""
    _trusted, cookie = _trusted_device(device_cookie, [user])
    keys = [cookie.failure_key] if cookie is not None else [user.get_username()]
    lockout = selectors.login_lockout_get(usernames=keys, ip_address=ip_address, device=cookie is not None)
    if lockout is not None:
        raise DomainError(message=lockout.message, code="locked", status=429)
    typed = re.sub(r"\s+", "", code or "")
    error = _("El código no es correcto. Revise su aplicación de autenticación e intente de nuevo.")
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
        if device is None:
            raise DomainError(message=_("Su cuenta no tiene un segundo factor activo."), code="no_mfa")
        if re.fullmatch(r"\d{6}", typed):
            step = _matching_step(totp_secret_decrypt(device.secret_encrypted), typed, time.time())
            if step is not None and step > device.last_used_step:
                device.last_used_step = step
                device.save(update_fields=["last_used_step"])
                audit_record(
                    actor=user, action="account.mfa_verified", target=user, metadata={"method": "totp"}
                )
                return ["pwd", "otp"]
            if step is not None:
                error = _("Ese código ya fue usado. Espere a que su aplicación muestre uno nuevo.")
        else:
            normalized = _recovery_normalize(typed)
            for recovery in RecoveryCode.objects.select_for_update().filter(user=user, used_at__isnull=True):
                if normalized and check_password(normalized, recovery.code_hash):
                    recovery.used_at = timezone.now()
                    recovery.save(update_fields=["used_at"])
                    audit_record(
                        actor=user,
                        action="account.recovery_code_used",
                        target=user,
                        metadata={"left": selectors.recovery_codes_left(actor=user)},
                    )
                    return ["pwd", "otp"]
            error = _("El código de recuperación no es válido o ya fue usado.")
        _failure_record(
            keys=keys,
            ip_address=ip_address,
            user=user,
            reason="segundo_factor",
            identifier=user.get_username(),
            trusted_device=cookie is not None,
        )
    lockout = selectors.login_lockout_get(usernames=keys, ip_address=ip_address, device=cookie is not None)
    if lockout is not None:
        raise DomainError(message=lockout.message, code="locked", status=429)
    raise DomainError(message=error, code="wrong_code", field="code")


# -- TOTP secrets at rest ---------------------------------------------------------------------------------


def _fernet_key(secret_key: str) -> bytes:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"ventanilla-identity", info=b"totp-secret-encryption"
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived)


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys if key])


def totp_secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def totp_secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DomainError(
            message=_(
                "No se pudo leer su segundo factor. Desactívelo con su contraseña y vuelva a activarlo."
            ),
            code="mfa_unreadable",
        ) from exc


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    uri: str


def totp_enrolment_get(*, actor: Any) -> TotpEnrolment | None:
    """The pending (unconfirmed) authenticator secret and its ``otpauth://`` URI, for the enrolment page."""
    device = selectors.totp_device_get(actor=actor)
    if device is None or device.is_active:
        return None
    secret = totp_secret_decrypt(device.secret_encrypted)
    uri = pyotp.TOTP(secret, interval=TOTP_PERIOD).provisioning_uri(
        name=actor.get_username(), issuer_name=settings.COUNTRY_PACK.portal_name
    )
    return TotpEnrolment(secret=secret, uri=uri)


def totp_enrol_start(*, actor: Any) -> TotpDevice:
    """Create (or renew) a pending authenticator with a fresh secret; it works only after ``totp_confirm``."""
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=actor).first()
        if device is not None and device.is_active:
            raise DomainError(
                message=_("La verificación en dos pasos ya está activa."), code="already_active"
            )
        secret = pyotp.random_base32()
        if device is None:
            device = TotpDevice(user=actor)
        device.secret_encrypted = totp_secret_encrypt(secret)
        device.confirmed_at = None
        device.last_used_step = 0
        device.save()
        audit_record(actor=actor, action="account.mfa_enrol_start", target=actor)
    return device


def _recovery_codes_new(user: Any) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _index in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _i in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        RecoveryCode.objects.create(user=user, code_hash=make_password(raw))
    return codes


def totp_confirm(*, actor: Any, code: str) -> list[str]:
    """Activate the pending authenticator with a code from the app; returns the recovery codes, which
    are shown once and stored only as hashes."""
    typed = re.sub(r"\s+", "", code or "")
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=actor).first()
        if device is None or device.is_active:
            raise DomainError(message=_("No hay una activación pendiente."), code="no_enrolment")
        step = None
        if re.fullmatch(r"\d{6}", typed):
            step = _matching_step(totp_secret_decrypt(device.secret_encrypted), typed, time.time())
        if step is None:
            raise DomainError(
                message=_("El código no es correcto. Escriba los 6 dígitos que muestra su aplicación ahora."),
                code="wrong_code",
                field="code",
            )
        device.confirmed_at = timezone.now()
        device.last_used_step = step
        device.save(update_fields=["confirmed_at", "last_used_step"])
        codes = _recovery_codes_new(actor)
        audit_record(actor=actor, action="account.mfa_enabled", target=actor)
    return codes


def _require_password(actor: Any, password: str) -> None:
    if not password or not actor.check_password(password):
        raise DomainError(message=_("La contraseña no es correcta."), code="wrong_password", field="password")


def totp_disable(*, actor: Any, password: str) -> None:
    _require_password(actor, password)
    with transaction.atomic():
        deleted, _detail = TotpDevice.objects.filter(user=actor).delete()
        RecoveryCode.objects.filter(user=actor).delete()
        if not deleted:
            raise DomainError(message=_("La verificación en dos pasos no está activa."), code="not_active")
        audit_record(actor=actor, action="account.mfa_disabled", target=actor)


def recovery_codes_regenerate(*, actor: Any, password: str) -> list[str]:
    _require_password(actor, password)
    with transaction.atomic():
        if not TotpDevice.objects.filter(user=actor, confirmed_at__isnull=False).exists():
            raise DomainError(message=_("La verificación en dos pasos no está activa."), code="not_active")
        codes = _recovery_codes_new(actor)
        audit_record(actor=actor, action="account.recovery_codes_regenerated", target=actor)
    return codes


# -- sessions ---------------------------------------------------------------------------------------------


def _session_store_delete(session_key: str) -> None:
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore(session_key=session_key).delete()


def _sessions_end(sessions: list[AccountSession]) -> None:
    now = timezone.now()
    for session in sessions:
        _session_store_delete(session.session_key)
    AccountSession.objects.filter(pk__in=[s.pk for s in sessions]).update(ended_at=now)


def account_session_touch(*, session_key: str | None) -> None:
    """Refresh ``last_seen`` of the caller's session (at most once a minute; one UPDATE)."""
    if not session_key:
        return
    now = timezone.now()
    AccountSession.objects.filter(
        session_key=session_key, ended_at__isnull=True, last_seen__lt=now - dt.timedelta(minutes=1)
    ).update(last_seen=now)


def account_session_end(*, actor: Any, session_id: int, current_session_key: str | None) -> None:
    """Sign out one of the account's other devices."""
    with transaction.atomic():
        session = (
            AccountSession.objects.select_for_update()
            .filter(pk=session_id, user=actor, ended_at__isnull=True)
            .first()
        )
        if session is None:
            raise NotFound(_("Esa sesión no existe o ya fue cerrada."))
        if session.session_key == current_session_key:
            raise DomainError(message=_("Para cerrar esta sesión use «Salir»."), code="current_session")
        _sessions_end([session])
        audit_record(
            actor=actor,
            action="account.session_end",
            target=actor,
            metadata={"ip": session.ip_address, "user_agent": session.user_agent[:120]},
        )


def account_sessions_end_others(*, actor: Any, current_session_key: str | None) -> int:
    """Sign out every device except the caller's."""
    with transaction.atomic():
        others = list(
            AccountSession.objects.select_for_update()
            .filter(user=actor, ended_at__isnull=True)
            .exclude(session_key=current_session_key or "")
        )
        _sessions_end(others)
        audit_record(
            actor=actor, action="account.session_end_others", target=actor, metadata={"count": len(others)}
        )
    return len(others)


def account_logout(*, actor: Any, session_key: str | None) -> None:
    """Record the end of the caller's session (the view then calls ``django.contrib.auth.logout``)."""
    with transaction.atomic():
        if session_key:
            AccountSession.objects.filter(session_key=session_key, ended_at__isnull=True).update(
                ended_at=timezone.now()
            )
        audit_record(actor=actor, action="account.logout", target=actor)


def account_session_rekey(*, actor: Any, old_key: str | None, new_key: str | None) -> None:
    """Follow the session to its new key after Django cycled it (password change keeps the user signed in)."""
    if old_key and new_key and old_key != new_key:
        AccountSession.objects.filter(user=actor, session_key=old_key).update(session_key=new_key)


# -- passwords --------------------------------------------------------------------------------------------


def password_change(
    *, actor: Any, old_password: str, new_password: str, current_session_key: str | None
) -> None:
    """Change the password (the old one is required) and sign out every other device."""
    if not actor.check_password(old_password or ""):
        raise DomainError(
            message=_("La contraseña actual no es correcta."), code="wrong_password", field="old_password"
        )
    try:
        password_validation.validate_password(new_password, user=actor)
    except ValidationError as exc:
        _raise_validation(exc, "new_password1")
    with transaction.atomic():
        _replace_password(
            user=actor,
            new_password=new_password,
            keep_session_key=current_session_key,
            action="account.password_change",
        )


def password_reset_complete(*, user: Any, new_password: str) -> None:
    """Set a new password from an e-mailed reset link: every session ends and the lockout is cleared."""
    try:
        password_validation.validate_password(new_password, user=user)
    except ValidationError as exc:
        _raise_validation(exc, "new_password1")
    with transaction.atomic():
        AuthFailure.objects.filter(username=user.get_username()).delete()
        _replace_password(
            user=user, new_password=new_password, keep_session_key=None, action="account.password_reset"
        )


def _replace_password(*, user: Any, new_password: str, keep_session_key: str | None, action: str) -> None:
    """Set the password, end every open session except ``keep_session_key`` and audit it (caller holds the
    transaction)."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    ended = list(
        AccountSession.objects.select_for_update()
        .filter(user=user, ended_at__isnull=True)
        .exclude(session_key=keep_session_key or "")
    )
    _sessions_end(ended)
    audit_record(actor=user, action=action, target=user, metadata={"sessions_ended": len(ended)})


# -- consent ----------------------------------------------------------------------------------------------


def consent_withdraw(*, actor: Any, application_id: int) -> int:
    """Withdraw every consent the person gave to an application and revoke its tokens for that person.
    Returns how many consents were withdrawn; another person's application access is «not found»."""
    AccessToken = get_access_token_model()
    RefreshToken = get_refresh_token_model()
    Grant = get_grant_model()
    IDToken = get_id_token_model()
    with transaction.atomic():
        consents = list(
            Consent.objects.select_for_update()
            .select_related("application")
            .filter(user=actor, application_id=application_id, withdrawn_at__isnull=True)
        )
        if not consents:
            raise NotFound(_("No tiene acceso otorgado a esa aplicación."))
        application = consents[0].application
        now = timezone.now()
        Consent.objects.filter(pk__in=[c.pk for c in consents]).update(withdrawn_at=now)
        refresh_tokens = list(
            RefreshToken.objects.filter(user=actor, application_id=application_id, revoked__isnull=True)
        )
        for refresh_token in refresh_tokens:
            refresh_token.revoke()
        access_deleted, _detail = AccessToken.objects.filter(
            user=actor, application_id=application_id
        ).delete()
        Grant.objects.filter(user=actor, application_id=application_id).delete()
        IDToken.objects.filter(user=actor, application_id=application_id).delete()
        registration = getattr(application, "registration", None)
        audit_record(
            actor=actor,
            action="consent.withdraw",
            target=application,
            institution=registration.institution_id if registration is not None else None,
            metadata={
                "client_id": application.client_id,
                "scopes": sorted({s for c in consents for s in c.scopes.split()}),
                "refresh_tokens_revoked": len(refresh_tokens),
                "access_tokens_deleted": access_deleted,
            },
        )
    return len(consents)


# -- identity proofing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProofingData:
    first_names: str
    first_surname: str
    second_surname: str
    birth_date: dt.date | None


@dataclass(frozen=True)
class InPersonCode:
    code: str
    expires_at: dt.datetime


def _in_person_normalize(code: str) -> str:
    return re.sub(r"[\s\-]+", "", code or "").upper()


def in_person_code_issue(*, actor: Any) -> InPersonCode:
    """A new one-time «código para verificación presencial» (valid 15 minutes; the previous one stops
    working). The citizen tells it to the registrar at the desk, which binds the verification to the account
    of the person actually present. Only its hash is stored, so it is shown once."""
    person = _person_of(actor)
    purpose = VerificationCode.Purpose.IN_PERSON
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=person.pk).first()
        now = timezone.now()
        recent = VerificationCode.objects.filter(
            person=person, purpose=purpose, created_at__gte=now - dt.timedelta(hours=1)
        ).count()
        if recent >= IN_PERSON_CODE_MAX_PER_HOUR:
            raise DomainError(
                message=_("Pidió demasiados códigos. Intente nuevamente en una hora."),
                code="rate_limited",
                status=429,
            )
        VerificationCode.objects.filter(
            person=person, purpose=purpose, used_at__isnull=True, expires_at__gt=now
        ).update(expires_at=now)
        raw = "".join(secrets.choice(IN_PERSON_ALPHABET) for _index in range(IN_PERSON_CODE_LENGTH))
        expires_at = now + IN_PERSON_CODE_TTL
        VerificationCode.objects.create(
            person=person,
            purpose=purpose,
            destination="",
            code_hash=_code_hash(person.pk, purpose, raw),
            expires_at=expires_at,
        )
        audit_record(
            actor=actor,
            action="account.in_person_code_issued",
            target=person,
            metadata={"expires_at": expires_at.isoformat()},
        )
    half = IN_PERSON_CODE_LENGTH // 2
    return InPersonCode(code=f"{raw[:half]}-{raw[half:]}", expires_at=expires_at)


def _in_person_code_consume(*, person: Person, code: str, now: dt.datetime) -> str:
    """Inside the caller's transaction: ``""`` when ``code`` is the person's current presencial code (it
    is used up), else why not (a wrong guess counts against the code, which burns after five)."""
    purpose = VerificationCode.Purpose.IN_PERSON
    row = (
        VerificationCode.objects.select_for_update()
        .filter(person=person, purpose=purpose)
        .order_by("-created_at", "-pk")
        .first()
    )
    if row is None or row.used_at is not None:
        return "sin_codigo"
    if row.expires_at <= now:
        return "vencido"
    if row.attempts >= CODE_MAX_ATTEMPTS:
        return "demasiados_intentos"
    if not constant_time_compare(row.code_hash, _code_hash(person.pk, purpose, _in_person_normalize(code))):
        row.attempts += 1
        row.save(update_fields=["attempts"])
        return "incorrecto"
    row.used_at = now
    row.save(update_fields=["used_at"])
    return ""


def person_verify_by_registrar(
    *,
    actor: Any,
    person: Person,
    office: Office,
    data: ProofingData,
    document_checked: bool,
    code: str,
) -> Person:
    """A registrar (clerk) checked the person's identity document in person at one of their offices, and
    the person showed the presencial code of their account (Mi cuenta): that account steps up to
    «verificado». Without the account's valid code nothing changes, and the failure is audited."""
    institution_ids = selectors.registrar_institution_ids(actor)
    if not institution_ids:
        raise Forbidden(_("Solo un registrador de una institución puede verificar identidades."))
    if office.institution_id not in institution_ids or not office.is_active:
        raise Forbidden(_("Solo puede registrar verificaciones en una oficina de su institución."))
    if person.user_id is None:
        raise DomainError(
            message=_("Esta persona todavía no tiene cuenta. Pídale que se registre y vuelva a buscarla."),
            code="no_account",
        )
    if person.user_id == actor.pk:
        raise Forbidden(_("No puede verificar su propia identidad; otra persona registradora debe hacerlo."))
    if not document_checked:
        raise DomainError(
            message=_("Confirme que revisó el documento original en presencia de la persona."),
            code="required",
            field="document_checked",
        )
    first_names = " ".join(data.first_names.split())
    if not first_names or not (data.first_surname.strip() or data.second_surname.strip()):
        raise DomainError(message=_("Escriba los nombres y al menos un apellido."), code="required")
    if not _in_person_normalize(code):
        raise DomainError(
            message=_("Escriba el código de verificación presencial que la persona ve en Mi cuenta."),
            code="required",
            field="code",
        )
    refused: DomainError | None = None
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        problem = _in_person_code_consume(person=person, code=code, now=timezone.now())
        if problem:
            # Committed with the attempt counted; the error is raised after the transaction.
            audit_record(
                actor=actor,
                action="person.verify_code_failed",
                target=person,
                institution=office.institution_id,
                metadata={"office": office.code, "reason": problem},
            )
            refused = DomainError(
                message=_(
                    "El código de verificación presencial no es válido, ya se usó o venció. Pídale a la "
                    "persona que genere uno nuevo en Mi cuenta y se lo lea."
                ),
                code="wrong_code",
                field="code",
            )
        else:
            before = snapshot(person, PERSON_AUDIT_FIELDS)
            person.first_names = first_names
            person.first_surname = " ".join(data.first_surname.split())
            person.second_surname = " ".join(data.second_surname.split())
            person.birth_date = data.birth_date
            person.names_source = DataSource.REGISTRAR
            person.assurance_level = AssuranceLevel.VERIFICADO
            person.verified_at = timezone.now()
            person.verification_method = "registrador"
            person.verified_by = actor
            person.verification_office = office
            person.save()
            _user_names_sync(person)
            DataUse.objects.create(
                person=person,
                kind=DataUse.Kind.CONSULTATION,
                institution_id=office.institution_id,
                application_name=_("Oficina de registro: %(office)s") % {"office": office.name},
                purpose=_("Verificación de identidad en persona"),
                data=_("Documento de identidad, nombres y fecha de nacimiento"),
            )
            audit_record(
                actor=actor,
                action="person.verify",
                target=person,
                institution=office.institution_id,
                before=before,
                after=snapshot(person, PERSON_AUDIT_FIELDS),
                metadata={"method": "registrador", "office": office.code, "in_person_code": True},
            )
    if refused is not None:
        raise refused
    return person


def _user_names_sync(person: Person) -> None:
    if person.user_id is None:
        return
    get_user_model().objects.filter(pk=person.user_id).update(
        first_name=person.first_names[:150],
        last_name=" ".join(p for p in (person.first_surname, person.second_surname) if p)[:150],
    )


@dataclass(frozen=True)
class CivilCheck:
    ok: bool
    problems: list[str]


def contacts_first_message() -> str:
    """Why the civil-registry step is refused while the e-mail or the mobile is not confirmed."""
    return _(
        "Antes de verificar su identidad con el registro civil, confirme su correo y su celular con los "
        "códigos que le enviamos: así comprobamos que esta cuenta es suya."
    )


def person_verify_with_civil_registry(*, actor: Any, data: ProofingData) -> CivilCheck:
    """The citizen asks to be checked against the civil registry. Names and birth date must match the
    registry (ignoring accents and case); then the account steps up to «verificado». Mismatches are
    audited and limited per day, so the registry cannot be used to guess someone's data."""
    person = _person_of(actor)
    if person.assurance_level == AssuranceLevel.VERIFICADO:
        raise DomainError(message=_("Su identidad ya está verificada."), code="already_verified")
    if not (person.email_verified and person.mobile_verified):
        # Knowing someone's names and birth date must not be enough: the account has to show first that it
        # controls the contact details it declared.
        raise DomainError(message=contacts_first_message(), code="contact_unverified", status=403)
    if selectors.civil_registry_failures_recent(person=person) >= CIVIL_REGISTRY_MAX_MISMATCHES_PER_DAY:
        raise DomainError(
            message=_(
                "Hubo demasiadas verificaciones sin coincidencia hoy. Intente mañana o acérquese a una "
                "oficina de registro con su documento."
            ),
            code="rate_limited",
            status=429,
        )
    try:
        record = get_verifier().lookup(
            person.document_type, person.document_number, person.document_complement
        )
    except CivilRegistryUnavailable as exc:
        raise DomainError(
            message=_("El registro civil no responde en este momento. Intente más tarde."),
            code="unavailable",
            status=503,
        ) from exc

    problems: list[str] = []
    if record is None:
        problems.append(_("El registro civil no tiene un registro para su documento."))
    elif record.deceased:
        problems.append(
            _("El registro civil no permite verificar este documento. Acuda a una oficina de registro.")
        )
    else:
        if comparable(data.first_names) != comparable(record.first_names):
            problems.append(_("Los nombres no coinciden con el registro civil."))
        if comparable(data.first_surname) != comparable(record.first_surname):
            problems.append(_("El primer apellido no coincide con el registro civil."))
        if comparable(data.second_surname) != comparable(record.second_surname):
            problems.append(_("El segundo apellido no coincide con el registro civil."))
        if data.birth_date != record.birth_date:
            problems.append(_("La fecha de nacimiento no coincide con el registro civil."))

    with transaction.atomic():
        locked = Person.objects.select_for_update().get(pk=person.pk)
        DataUse.objects.create(
            person=locked,
            kind=DataUse.Kind.CONSULTATION,
            application_name=_("Registro civil"),
            purpose=_("Verificación de identidad solicitada por usted"),
            data=_("Nombres y fecha de nacimiento"),
        )
        if problems:
            audit_record(
                actor=actor,
                action=selectors.CIVIL_REGISTRY_MISMATCH_ACTION,
                target=locked,
                metadata={"problems": problems},
            )
            return CivilCheck(ok=False, problems=problems)
        assert record is not None
        before = snapshot(locked, PERSON_AUDIT_FIELDS)
        locked.first_names = record.first_names
        locked.first_surname = record.first_surname
        locked.second_surname = record.second_surname
        locked.birth_date = record.birth_date
        locked.names_source = DataSource.CIVIL_REGISTRY
        locked.assurance_level = AssuranceLevel.VERIFICADO
        locked.verified_at = timezone.now()
        locked.verification_method = "registro_civil"
        locked.verified_by = None
        locked.verification_office = None
        locked.save()
        _user_names_sync(locked)
        audit_record(
            actor=actor,
            action="person.verify",
            target=locked,
            before=before,
            after=snapshot(locked, PERSON_AUDIT_FIELDS),
            metadata={"method": "registro_civil"},
        )
    return CivilCheck(ok=True, problems=[])


# -- public services used by other apps (cases, inbox, documents, interop) ------------------------------


def data_use_record(
    *,
    person_id: int,
    institution_id: int | None,
    application_name: str,
    purpose: str,
    data: str,
    kind: str = DataUse.Kind.CONSULTATION,
) -> DataUse:
    """Write one «¿Quién usó mis datos?» row (a consultation through interoperability, a case that read
    the person's data). Runs inside the caller's transaction."""
    return DataUse.objects.create(
        person_id=person_id,
        kind=kind,
        institution_id=institution_id,
        application_name=application_name[:255],
        purpose=purpose[:255],
        data=data[:400],
    )


@dataclass(frozen=True)
class PersonData:
    document_type: str
    document_number: str
    document_complement: str = ""
    first_names: str = ""
    first_surname: str = ""
    second_surname: str = ""
    email: str = ""
    mobile: str = ""


def person_ensure(*, actor: Any, data: PersonData) -> Person:
    """The person with this document, created (level «básico», no account) when the State does not know
    them yet — a clerk filing an application at the counter, an institution notifying someone. Contact
    details the clerk gives fill empty fields only; they never overwrite what the person declared."""
    document, errors = selectors.document_parse(
        data.document_type, data.document_number, data.document_complement
    )
    if document is None:
        raise DomainError(message=errors[0], field="document_number")
    with transaction.atomic():
        person = selectors.person_find_by_document(document=document)
        if person is None:
            if not data.first_names.strip():
                raise DomainError(
                    message=_("La persona no está registrada: indique sus nombres."), field="first_names"
                )
            person = Person.objects.create(
                document_type=document.type,
                document_number=document.number,
                document_complement=document.complement,
                first_names=data.first_names.strip(),
                first_surname=data.first_surname.strip(),
                second_surname=data.second_surname.strip(),
                email=data.email.strip().lower(),
                mobile=data.mobile.strip(),
            )
            audit_record(
                actor=actor,
                action="person.create",
                target=person,
                after=snapshot(person, ["document_type", "document_number", "first_names", "first_surname"]),
                metadata={"reason": "assisted"},
            )
            return person
        changed = []
        if data.email and not person.email:
            person.email = data.email.strip().lower()
            changed.append("email")
        if data.mobile and not person.mobile:
            person.mobile = data.mobile.strip()
            changed.append("mobile")
        if changed:
            person.save(update_fields=[*changed, "updated_at"])
            audit_record(
                actor=actor, action="person.contact_add", target=person, metadata={"fields": changed}
            )
    return person
