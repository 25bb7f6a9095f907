"""Reads for accounts and Mi cuenta: sign-in lookups, lockout state, sessions, connected applications,
the data-use log and the registrar's person search. No writes here."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ventanilla.core.models import AuditEntry, Office, Role
from ventanilla.core.permissions import institutions_with_role

from .models import AccountSession, AuthFailure, Consent, DataUse, Person, RecoveryCode, TotpDevice

REGISTRAR_ROLES = frozenset({Role.CLERK})
CIVIL_REGISTRY_MISMATCH_ACTION = "person.civil_registry_mismatch"

_SEPARATORS = re.compile(r"[\s.\-]+")


# -- documents --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    type: str
    number: str
    complement: str


def document_parse(
    document_type: str, number: str, complement: str = ""
) -> tuple[Document | None, list[str]]:
    """Validate and normalize a document with the country pack: ``(document, [])`` or ``(None, errors)``."""
    doc_type = settings.COUNTRY_PACK.document_type(document_type)
    if doc_type is None:
        return None, [_("Elija un tipo de documento de la lista.")]
    errors = doc_type.validate(number or "", complement or "")
    if errors:
        return None, errors
    comp = doc_type.normalize_complement(complement or "") if doc_type.has_complement else ""
    return Document(doc_type.code, doc_type.normalize(number), comp), []


def username_for_document(document: Document) -> str:
    """The account name for a document: ``CI-1234567`` or, with a complement, ``CI-1234567-1A``."""
    name = f"{document.type}-{document.number}"
    return f"{name}-{document.complement}" if document.complement else name


# -- mobile numbers ---------------------------------------------------------------------------------------

# Digits after the country prefix that a mobile number may have (Bolivia 8, Paraguay 9). A country pack may
# narrow it with a ``mobile_digits`` attribute.
MOBILE_NATIONAL_DIGITS = (8, 9)


def mobile_parse(value: str) -> tuple[str | None, list[str]]:
    """E.164 form of a mobile number of this installation's country: ``(number, [])``, ``("", [])`` when
    empty, or ``(None, errors)``. Numbers without ``+`` (or ``00``) get the country's prefix (a leading trunk
    ``0`` is dropped); numbers of other countries are refused, so codes are never sent abroad."""
    digits = re.sub(r"[\s().\-]+", "", value or "")
    if not digits:
        return "", []
    pack = settings.COUNTRY_PACK
    prefix = pack.phone_prefix
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not digits.startswith("+"):
        digits = prefix + digits.removeprefix("0")
    low, high = getattr(pack, "mobile_digits", MOBILE_NATIONAL_DIGITS)
    national = digits[len(prefix) :] if digits.startswith(prefix) else ""
    if not re.fullmatch(rf"\d{{{low},{high}}}", national):
        return None, [
            _(
                "Escriba un número de celular de %(country)s (%(prefix)s) válido. "
                "No enviamos códigos a números de otros países."
            )
            % {"country": pack.name, "prefix": prefix}
        ]
    return digits, []


def person_find_by_document(*, document: Document) -> Person | None:
    return (
        Person.objects.select_related("user", "verification_office", "verified_by")
        .filter(
            document_type=document.type,
            document_number=document.number,
            document_complement=document.complement,
        )
        .first()
    )


def person_for_user(user: Any) -> Person | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        person: Person = user.person
    except Person.DoesNotExist:
        return None
    return person


# -- sign-in ----------------------------------------------------------------------------------------------


def account_candidates(identifier: str) -> list[Any]:
    """Active accounts a sign-in identifier can mean: the username (any case), or the document number
    typed the way people write it ("4.567.891", "E-1234567"). Usually one; two people may share a
    number with different complements."""
    User = get_user_model()
    text = (identifier or "").strip()
    if not text:
        return []
    exact = list(User.objects.filter(username=text, is_active=True)[:1])
    if exact:
        return exact
    by_username = list(User.objects.filter(username__iexact=text, is_active=True)[:2])
    if len(by_username) == 1:
        return by_username
    numbers = {doc.normalize(text) for doc in settings.COUNTRY_PACK.document_types} - {""}
    if not numbers:
        return []
    return list(User.objects.filter(is_active=True, person__document_number__in=numbers).order_by("pk")[:5])


def failure_keys(identifier: str, candidates: list[Any]) -> list[str]:
    """What failed attempts are counted against: the accounts' usernames, or the typed identifier."""
    if candidates:
        return [user.get_username() for user in candidates]
    return [_SEPARATORS.sub("", identifier or "").lower()[:150]]


# Failures of a browser that holds a valid device cookie are counted under this key instead of the account's
# username (so they lock that browser only). Typed identifiers are stored lower-case and usernames cannot
# contain "#", so no other key can collide with it.
DEVICE_FAILURE_PREFIX = "DISPOSITIVO#"


@dataclass(frozen=True)
class Lockout:
    scope: str  # "cuenta" | "dispositivo" | "ip"
    minutes: int

    @property
    def message(self) -> str:
        wait = ngettext(
            "intente nuevamente en %(n)d minuto", "intente nuevamente en %(n)d minutos", self.minutes
        ) % {"n": self.minutes}
        if self.scope == "ip":
            return _(
                "Demasiados intentos fallidos desde su conexión. Por seguridad bloqueamos el ingreso por un "
                "tiempo: %(wait)s."
            ) % {"wait": wait}
        if self.scope == "dispositivo":
            return _(
                "Demasiados intentos fallidos desde este navegador. Por seguridad bloqueamos el ingreso "
                "desde aquí por un tiempo: %(wait)s. Si olvidó su contraseña, puede restablecerla."
            ) % {"wait": wait}
        return _(
            "Demasiados intentos fallidos para esta cuenta. Por seguridad bloqueamos el ingreso por un "
            "tiempo: %(wait)s. Si olvidó su contraseña, puede restablecerla."
        ) % {"wait": wait}


def login_lockout_get(
    *, usernames: list[str], ip_address: str | None, device: bool = False
) -> Lockout | None:
    """``Lockout`` when the accounts or the IP address reached their failure limit inside the window.
    The lock lifts when the oldest of the last ``limit`` failures leaves the window. With ``device=True``
    ``usernames`` holds a trusted browser's failure key, and its lock is that browser's only."""
    window = dt.timedelta(seconds=settings.VENTANILLA_LOGIN_WINDOW_SECONDS)
    now = timezone.now()
    since = now - window
    checks: list[tuple[str, QuerySet[AuthFailure], int]] = []
    if usernames:
        checks.append(
            (
                "dispositivo" if device else "cuenta",
                AuthFailure.objects.filter(username__in=usernames, created_at__gte=since),
                settings.VENTANILLA_LOGIN_MAX_FAILURES_ACCOUNT,
            )
        )
    if ip_address:
        checks.append(
            (
                "ip",
                AuthFailure.objects.filter(ip_address=ip_address, created_at__gte=since),
                settings.VENTANILLA_LOGIN_MAX_FAILURES_IP,
            )
        )
    for scope, failures, limit in checks:
        latest = list(failures.order_by("-created_at").values_list("created_at", flat=True)[:limit])
        if limit > 0 and len(latest) >= limit:
            unlock_at = latest[limit - 1] + window
            minutes = max(1, math.ceil((unlock_at - now).total_seconds() / 60))
            return Lockout(scope=scope, minutes=minutes)
    return None


# -- MFA --------------------------------------------------------------------------------------------------


def totp_device_get(*, actor: Any) -> TotpDevice | None:
    return TotpDevice.objects.filter(user_id=actor.pk).first()


def has_active_totp(user: Any) -> bool:
    return TotpDevice.objects.filter(user_id=user.pk, confirmed_at__isnull=False).exists()


def recovery_codes_left(*, actor: Any) -> int:
    return RecoveryCode.objects.filter(user_id=actor.pk, used_at__isnull=True).count()


# -- sessions ---------------------------------------------------------------------------------------------


def account_session_list(*, actor: Any, current_session_key: str | None) -> list[AccountSession]:
    """The account's open sessions, newest activity first; ``is_current`` marks the caller's own."""
    sessions = AccountSession.objects.filter(user_id=actor.pk, ended_at__isnull=True)
    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.db":
        from django.contrib.sessions.models import Session

        alive = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
        sessions = sessions.filter(session_key__in=alive)
    result = list(sessions.order_by("-last_seen"))
    for session in result:
        session.is_current = bool(current_session_key) and session.session_key == current_session_key  # type: ignore[attr-defined]
    result.sort(key=lambda s: not s.is_current)  # type: ignore[attr-defined]
    return result


# -- connected applications and data use -----------------------------------------------------------------


@dataclass
class ConnectedApplication:
    application_id: int
    name: str
    institution: str
    scopes: list[tuple[str, str]] = field(default_factory=list)
    granted_at: dt.datetime | None = None


def connected_application_list(*, actor: Any) -> list[ConnectedApplication]:
    """Applications the person has consented to (not withdrawn), one entry per application with the union
    of the scopes granted and the institution that registered it."""
    consents = (
        Consent.objects.filter(user_id=actor.pk, withdrawn_at__isnull=True)
        .select_related("application__registration__institution")
        .order_by("application__name", "granted_at")
    )
    described = getattr(settings, "OIDC_SCOPES", {})
    grouped: dict[int, ConnectedApplication] = {}
    for consent in consents:
        application = consent.application
        entry = grouped.get(application.pk)
        if entry is None:
            registration = getattr(application, "registration", None)
            institution = registration.institution.name if registration is not None else ""
            entry = grouped[application.pk] = ConnectedApplication(
                application_id=application.pk, name=application.name, institution=institution
            )
        known = {name for name, _label in entry.scopes}
        for scope in consent.scopes.split():
            if scope not in known:
                entry.scopes.append((scope, str(described.get(scope, scope))))
                known.add(scope)
        if entry.granted_at is None or consent.granted_at > entry.granted_at:
            entry.granted_at = consent.granted_at
    return list(grouped.values())


def data_use_page(*, actor: Any, page: int | str | None) -> Page[DataUse]:
    """The person's data-use log, newest first (no rows for an account without a person)."""
    uses = (
        DataUse.objects.filter(person__user_id=actor.pk)
        .select_related("institution")
        .order_by("-created_at", "-pk")
    )
    return Paginator(uses, getattr(settings, "VENTANILLA_PAGE_SIZE", 20)).get_page(page)


# -- identity proofing ------------------------------------------------------------------------------------


def registrar_institution_ids(user: Any) -> set[int]:
    return institutions_with_role(user, REGISTRAR_ROLES)


def registrar_office_list(*, actor: Any) -> QuerySet[Office]:
    """Active offices of the institutions where ``actor`` is a clerk (registrar)."""
    return Office.objects.filter(
        institution_id__in=registrar_institution_ids(actor), is_active=True
    ).select_related("institution")


def civil_registry_failures_recent(*, person: Person, hours: int = 24) -> int:
    since = timezone.now() - dt.timedelta(hours=hours)
    return AuditEntry.objects.filter(
        Q(action=CIVIL_REGISTRY_MISMATCH_ACTION),
        target_type=Person._meta.label_lower,
        target_id=str(person.pk),
        created_at__gte=since,
    ).count()
