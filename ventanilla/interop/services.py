"""Writes of the interop app and the mediator itself.

- Registry: members, subsystems, services, access rights (request → approve/reject → revoke), all audited.
- Consents: a citizen grants or withdraws consent per consumer, service and purpose.
- Message log: ``log_append`` chains every exchange (SHA-256 of the previous entry), ``chain_seal`` signs the
  head, ``chain_verify`` re-computes the whole chain and reports the first entry that does not match.
- Mediator: ``exchange_open`` runs every check (client, service, right, expiry, operation, consent, rate
  limit), calls the provider over HTTP, and logs the exchange when the answer has been read. The HTTP view
  (``views.mediate``) streams that answer to the consumer; ``registry_query`` (used in-process by other
  apps, e.g. to prefill a form) reads it whole. Both share this one code path, so they refuse alike.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import posixpath
import re
import socket
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.core import ratelimit
from ventanilla.core.errors import DomainError, ErrorItem, Forbidden, InvalidTransition
from ventanilla.core.models import Institution
from ventanilla.core.net import outbound_url_problem
from ventanilla.core.permissions import can_edit_institution_content, is_platform_admin
from ventanilla.core.services import audit_record, snapshot
from ventanilla.identity.accounts import data_use_record
from ventanilla.identity.clients import (
    CLIENT_CREDENTIALS,
    CONFIDENTIAL,
    client_approve,
    client_register,
    known_scopes,
)

from . import selectors
from .models import (
    AccessRight,
    ChainSeal,
    InteropConsent,
    LogHead,
    Member,
    MessageLogEntry,
    Service,
    Subsystem,
    new_provider_secret,
)

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
PROVIDER_SECRET_HEADER = "Interop-Provider-Secret"  # noqa: S105 (a header name)
RATE_SCOPE = "interop"
# OAuth2 scope a subsystem's client is registered with (tokens are accepted by their link to the subsystem).
INTEROP_SCOPE = "interoperabilidad"
RATE_WINDOW = 60
CHUNK = 64 * 1024

# --------------------------------------------------------------------------------------------------------
# Errors: one code and one HTTP status per kind of refusal
# --------------------------------------------------------------------------------------------------------

REFUSALS: dict[str, int] = {
    "missing_header": 400,
    "invalid_header": 400,
    "bad_client": 401,
    "access_denied": 403,
    "consent_required": 403,
    "unknown_service": 404,
    "length_required": 411,
    "rate_limited": 429,
    "provider_error": 502,
    "provider_timeout": 504,
}


class InteropError(DomainError):
    """A refusal of the mediator. ``code`` is one of ``REFUSALS``; the status goes with it."""

    def __init__(self, code: str, message: str, *, field: str | None = None, retry_after: int = 0) -> None:
        super().__init__(message=message, code=code, field=field, status=REFUSALS[code])
        self.retry_after = retry_after


def _refuse(code: str, message: str, field: str | None = None) -> InteropError:
    return InteropError(code, message, field=field)


# --------------------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------------------


def _require_manager(actor: Any, institution_id: int) -> None:
    if actor is not None and not can_edit_institution_content(actor, institution_id):
        raise Forbidden(_("Solo la institución dueña o la agencia gestionan este registro."))


def _clean(instance: Any, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        items = [
            ErrorItem("invalid", str(message), name)
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
        first = items[0]
        raise DomainError(message=first.message, field=first.field, extra=items[1:]) from exc


def member_ensure(*, actor: Any, institution: Institution) -> Member:
    """The member of an institution, registered the first time it takes part."""
    _require_manager(actor, institution.pk)
    with transaction.atomic():
        member, created = Member.objects.get_or_create(institution=institution)
        if created:
            audit_record(actor=actor, action="interop.member.create", target=member, institution=institution)
    return member


SUBSYSTEM_FIELDS = ["code", "name", "description", "kind", "status", "rate_limit"]


def subsystem_save(
    *,
    actor: Any,
    institution: Institution,
    code: str,
    name: str,
    kind: str = Subsystem.Kind.BOTH,
    description: str = "",
    status: str = Subsystem.Status.ACTIVE,
    rate_limit: int | None = None,
    subsystem: Subsystem | None = None,
) -> Subsystem:
    """Create a subsystem of ``institution`` (or update ``subsystem``)."""
    _require_manager(actor, institution.pk)
    with transaction.atomic():
        member = member_ensure(actor=actor, institution=institution)
        created = subsystem is None
        if subsystem is None:
            subsystem = Subsystem(member=member)
        elif subsystem.member_id != member.pk:
            raise Forbidden()
        before = None if created else snapshot(subsystem, SUBSYSTEM_FIELDS)
        _check_agency_limits(actor, subsystem, created=created, status=status, rate_limit=rate_limit)
        subsystem.code = code.strip()
        subsystem.name = name.strip()
        subsystem.kind = kind
        subsystem.description = description.strip()
        subsystem.status = status
        subsystem.rate_limit = rate_limit
        _clean(subsystem, exclude=["member"])
        if Subsystem.objects.filter(member=member, code=subsystem.code).exclude(pk=subsystem.pk).exists():
            raise DomainError(
                message=_("Ese código ya existe en su institución."), code="duplicate", field="code"
            )
        subsystem.save()
        audit_record(
            actor=actor,
            action=f"interop.subsystem.{'create' if created else 'update'}",
            target=subsystem,
            institution=institution,
            before=before,
            after=snapshot(subsystem, SUBSYSTEM_FIELDS),
        )
    return subsystem


def _check_agency_limits(
    actor: Any, subsystem: Subsystem, *, created: bool, status: str, rate_limit: int | None
) -> None:
    """Only the platform agency (or the system) raises a subsystem's call limit or reactivates a
    subsystem the agency suspended; an institution may always lower its limit or suspend itself."""
    agency = actor is None or is_platform_admin(actor)
    if agency:
        if status == Subsystem.Status.SUSPENDED and subsystem.status != Subsystem.Status.SUSPENDED:
            subsystem.suspended_by_platform = actor is not None
        elif status == Subsystem.Status.ACTIVE:
            subsystem.suspended_by_platform = False
        return
    if created:
        return
    if (
        subsystem.suspended_by_platform
        and subsystem.status == Subsystem.Status.SUSPENDED
        and status != Subsystem.Status.SUSPENDED
    ):
        raise Forbidden(_("La agencia suspendió este subsistema: solo la agencia puede reactivarlo."))
    old = subsystem.rate_limit
    if old is not None and (rate_limit is None or rate_limit > old):
        raise DomainError(
            message=_("Solo la agencia puede aumentar el límite de llamadas (el actual es %(limit)s).")
            % {"limit": old},
            code="forbidden",
            field="rate_limit",
            status=403,
        )


def subsystem_client_create(
    *, actor: Any, subsystem: Subsystem, client_id: str | None = None, client_secret: str | None = None
) -> tuple[str, str]:
    """Register (approved) the OAuth2 client-credentials application that authenticates the subsystem and
    link it. Returns ``(client_id, raw secret)``; show the secret once. Fixed ids/secrets: system only."""
    institution = subsystem.member.institution
    _require_manager(actor, institution.pk)
    if subsystem.oauth_application_id is not None:
        raise DomainError(
            message=_("El subsistema ya tiene una aplicación cliente."), code="duplicate", field="subsystem"
        )
    with transaction.atomic():
        registration, secret = client_register(
            actor=None if actor is None else actor,
            institution=institution,
            name=f"Interoperabilidad {subsystem.identifier}"[:100],
            client_type=CONFIDENTIAL,
            grant_type=CLIENT_CREDENTIALS,
            redirect_uris=[],
            post_logout_redirect_uris=[],
            allowed_scopes=[INTEROP_SCOPE] if INTEROP_SCOPE in known_scopes() else [],
            description=_("Credenciales de cliente del subsistema %(id)s.") % {"id": subsystem.identifier},
            client_id=client_id,
            client_secret=client_secret,
        )
        # The platform agency reviews human-facing clients; a subsystem client is machine to machine and
        # is approved by registering the subsystem itself (the system approves it).
        client_approve(actor=None, registration=registration, comment="Subsistema de interoperabilidad.")
        subsystem.oauth_application = registration.application
        subsystem.save(update_fields=["oauth_application", "updated_at"])
        audit_record(
            actor=actor,
            action="interop.subsystem.client",
            target=subsystem,
            institution=institution,
            metadata={"client_id": registration.application.client_id},
        )
    return registration.application.client_id, secret or ""


@dataclass
class ServiceData:
    code: str
    name: str
    base_url: str
    version: str = "v1"
    description: str = ""
    openapi: dict[str, Any] = field(default_factory=dict)
    classification: str = Service.Classification.INTERNAL
    personal_data: str = ""
    legal_basis: str = ""
    needs_consent: bool = False
    confidential_by_law: bool = False
    status: str = Service.Status.ACTIVE
    timeout_seconds: float | None = None
    log_bodies: bool = False


SERVICE_FIELDS = [
    "code",
    "name",
    "version",
    "description",
    "base_url",
    "classification",
    "personal_data",
    "legal_basis",
    "needs_consent",
    "confidential_by_law",
    "status",
    "timeout_seconds",
    "log_bodies",
]


def service_save(
    *, actor: Any, subsystem: Subsystem, data: ServiceData, service: Service | None = None
) -> Service:
    """Publish a service of ``subsystem`` (or update ``service``). The OpenAPI document is not audited in
    full (only whether it changed); the provider secret never is."""
    _require_manager(actor, subsystem.member.institution_id)
    if not subsystem.provides:
        raise DomainError(
            message=_("El subsistema no está registrado como proveedor."),
            code="not_provider",
            field="subsystem",
        )
    if not isinstance(data.openapi, dict):
        raise DomainError(message=_("El documento OpenAPI debe ser un objeto JSON."), field="openapi")
    with transaction.atomic():
        created = service is None
        if service is None:
            service = Service(subsystem=subsystem)
        elif service.subsystem_id != subsystem.pk:
            raise Forbidden()
        before = None if created else snapshot(service, SERVICE_FIELDS)
        openapi_changed = created or service.openapi != data.openapi
        for name in SERVICE_FIELDS:
            value = getattr(data, name)
            setattr(service, name, value.strip() if isinstance(value, str) else value)
        service.base_url = service.base_url.rstrip("/")
        service.openapi = data.openapi
        _clean(service, exclude=["subsystem", "provider_secret"])
        problem = provider_url_problem(service.base_url)
        if problem:
            raise DomainError(message=problem, code="invalid", field="base_url")
        if Service.objects.filter(subsystem=subsystem, code=service.code).exclude(pk=service.pk).exists():
            raise DomainError(
                message=_("Ese código ya existe en el subsistema."), code="duplicate", field="code"
            )
        service.save()
        audit_record(
            actor=actor,
            action=f"interop.service.{'create' if created else 'update'}",
            target=service,
            institution=subsystem.member.institution_id,
            before=before,
            after=snapshot(service, SERVICE_FIELDS),
            metadata={"openapi_changed": openapi_changed},
        )
    return service


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for item in settings.INTEROP_PROVIDER_ALLOWED_NETWORKS or []:
        try:
            networks.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            logger.warning("INTEROP_PROVIDER_ALLOWED_NETWORKS: %r is not a network", item)
    return networks


def provider_url_problem(url: str) -> str | None:
    """Why the mediator may not call a provider at ``url`` (in Spanish), or None. The mediator must never
    be a proxy into the platform's own network (SSRF): HTTPS only, no credentials in the URL, and every
    address the host resolves to must be public or inside ``INTEROP_PROVIDER_ALLOWED_NETWORKS`` (the
    government network where real providers sit). Loopback, link-local (169.254/16 — cloud metadata —,
    fe80::/10), unspecified and multicast addresses are refused even there. With
    ``INTEROP_ALLOW_PRIVATE_PROVIDERS`` (development and tests) private addresses and plain HTTP to
    localhost are accepted. Checked when a service is saved and again before each call (DNS changes)."""
    allow_private = bool(settings.INTEROP_ALLOW_PRIVATE_PROVIDERS)
    networks = _allowed_networks()
    if allow_private or not networks:
        return outbound_url_problem(url, allow_private=allow_private)
    try:
        parts = urlsplit((url or "").strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return _("La URL no es válida.")
    if "@" in parts.netloc or not host:
        return _("La URL no es válida (sin usuario ni contraseña en la dirección).")
    if parts.scheme != "https":
        return _("La dirección debe usar HTTPS.")
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return _("No se pudo resolver el nombre «%(host)s».") % {"host": host}
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        refused = (
            address.is_loopback or address.is_link_local or address.is_unspecified or address.is_multicast
        )
        if refused or not (address.is_global or any(address in network for network in networks)):
            return _(
                "La dirección de «%(host)s» no es pública ni está en las redes de proveedores permitidas."
            ) % {"host": host}
    return None


def service_secret_rotate(*, actor: Any, service: Service) -> Service:
    _require_manager(actor, service.subsystem.member.institution_id)
    with transaction.atomic():
        service.provider_secret = new_provider_secret()
        service.save(update_fields=["provider_secret", "updated_at"])
        audit_record(
            actor=actor,
            action="interop.service.secret_rotate",
            target=service,
            institution=service.subsystem.member.institution_id,
        )
    return service


RIGHT_FIELDS = [
    "service",
    "consumer",
    "operations",
    "purpose",
    "legal_basis",
    "expires_at",
    "status",
    "comment",
]


def _right_institutions(right: AccessRight) -> tuple[int, int]:
    return right.service.subsystem.member.institution_id, right.consumer.member.institution_id


def access_right_request(
    *,
    actor: Any,
    consumer: Subsystem,
    service: Service,
    purpose: str,
    legal_basis: str,
    operations: str = "",
    expires_at: dt.datetime | None = None,
) -> AccessRight:
    """The consumer's institution asks the provider for access; it starts «solicitado»."""
    _require_manager(actor, consumer.member.institution_id)
    if not consumer.consumes:
        raise DomainError(
            message=_("El subsistema no está registrado como consumidor."),
            code="not_consumer",
            field="consumer",
        )
    if not purpose.strip():
        raise DomainError(message=_("Indique la finalidad."), field="purpose")
    if not legal_basis.strip():
        raise DomainError(message=_("Indique la base legal."), field="legal_basis")
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError(message=_("La fecha de vencimiento debe ser futura."), field="expires_at")
    for line in operations.splitlines():
        parts = line.split()
        if parts and (len(parts) > 2 or not parts[-1].startswith(("/", "*"))):
            raise DomainError(
                message=_("Escriba una operación por línea: MÉTODO /ruta (p. ej., GET /personas/*)."),
                field="operations",
            )
    with transaction.atomic():
        right = AccessRight.objects.create(
            service=service,
            consumer=consumer,
            operations="\n".join(line.strip() for line in operations.splitlines() if line.strip()),
            purpose=purpose.strip(),
            legal_basis=legal_basis.strip(),
            expires_at=expires_at,
            requested_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(
            actor=actor,
            action="interop.right.request",
            target=right,
            institution=service.subsystem.member.institution_id,
            after=snapshot(right, RIGHT_FIELDS),
            metadata={"consumer_institution": consumer.member.institution_id},
        )
    return right


def _decide(
    *, actor: Any, right: AccessRight, to: str, allowed_from: set[str], action: str, comment: str = ""
) -> AccessRight:
    provider_institution, _consumer_institution = _right_institutions(right)
    _require_manager(actor, provider_institution)
    with transaction.atomic():
        right = AccessRight.objects.select_for_update().get(pk=right.pk)
        if right.status not in allowed_from:
            raise InvalidTransition(right.get_status_display(), action)
        before = snapshot(right, RIGHT_FIELDS)
        right.status = to
        right.comment = comment.strip()[:400]
        right.decided_by = actor if getattr(actor, "is_authenticated", False) else None
        right.decided_at = timezone.now()
        right.save(update_fields=["status", "comment", "decided_by", "decided_at"])
        audit_record(
            actor=actor,
            action=f"interop.right.{action}",
            target=right,
            institution=provider_institution,
            before=before,
            after=snapshot(right, RIGHT_FIELDS),
        )
    return right


def access_right_approve(*, actor: Any, right: AccessRight, comment: str = "") -> AccessRight:
    """The provider grants the request (only the provider's institution or the agency)."""
    return _decide(
        actor=actor,
        right=right,
        to=AccessRight.Status.APPROVED,
        allowed_from={AccessRight.Status.REQUESTED},
        action="approve",
        comment=comment,
    )


def access_right_reject(*, actor: Any, right: AccessRight, comment: str = "") -> AccessRight:
    return _decide(
        actor=actor,
        right=right,
        to=AccessRight.Status.REJECTED,
        allowed_from={AccessRight.Status.REQUESTED},
        action="reject",
        comment=comment,
    )


def access_right_revoke(*, actor: Any, right: AccessRight, comment: str = "") -> AccessRight:
    """The provider withdraws a granted right; calls are refused from now on."""
    return _decide(
        actor=actor,
        right=right,
        to=AccessRight.Status.REVOKED,
        allowed_from={AccessRight.Status.APPROVED},
        action="revoke",
        comment=comment,
    )


def access_right_grant(
    *,
    actor: Any,
    consumer: Subsystem,
    service: Service,
    purpose: str,
    legal_basis: str,
    operations: str = "",
    expires_at: dt.datetime | None = None,
) -> AccessRight:
    """Request and approve in one step (the system, or a user who manages both sides)."""
    _require_manager(actor, service.subsystem.member.institution_id)
    with transaction.atomic():
        right = access_right_request(
            actor=actor,
            consumer=consumer,
            service=service,
            purpose=purpose,
            legal_basis=legal_basis,
            operations=operations,
            expires_at=expires_at,
        )
        return access_right_approve(actor=actor, right=right, comment=_("Otorgado por el proveedor."))


# --------------------------------------------------------------------------------------------------------
# Consents (Mi cuenta)
# --------------------------------------------------------------------------------------------------------


def interop_consent_grant(
    *, actor: Any, right: AccessRight, expires_at: dt.datetime | None = None
) -> InteropConsent:
    """The signed-in citizen lets ``right.consumer`` obtain their data from ``right.service`` for
    ``right.purpose`` until ``expires_at`` (or until withdrawn)."""
    person = selectors.person_of(actor)
    if person is None:
        raise Forbidden(_("Su cuenta no tiene datos de una persona."))
    if not (right.is_in_force() and right.service.needs_consent):
        raise DomainError(message=_("Ese intercambio no está disponible."), field="right")
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError(message=_("La fecha de vencimiento debe ser futura."), field="expires_at")
    with transaction.atomic():
        consent = InteropConsent.objects.create(
            person=person,
            consumer=right.consumer,
            service=right.service,
            purpose=right.purpose,
            expires_at=expires_at,
        )
        audit_record(
            actor=actor,
            action="interop.consent.grant",
            target=consent,
            metadata={
                "consumer": right.consumer.identifier,
                "service": right.service.identifier,
                "purpose": right.purpose,
            },
        )
    return consent


def interop_consent_withdraw(*, actor: Any, consent_id: int) -> InteropConsent:
    person = selectors.person_of(actor)
    consent = InteropConsent.objects.filter(pk=consent_id, person=person).first() if person else None
    if consent is None:
        raise DomainError(message=_("No encontrado."), code="not_found", status=404)
    if consent.withdrawn_at is not None:
        return consent
    with transaction.atomic():
        consent.withdrawn_at = timezone.now()
        consent.save(update_fields=["withdrawn_at"])
        audit_record(actor=actor, action="interop.consent.withdraw", target=consent)
    return consent


# --------------------------------------------------------------------------------------------------------
# Message log: hash chain, seals, verification
# --------------------------------------------------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


EMPTY_HASH = sha256_hex(b"")


DIGEST_VERSION = 2


def entry_digest(entry: MessageLogEntry) -> str:
    """SHA-256 of the entry's fields (bodies count through their hashes) chained to the previous hash.
    Version 2 (entries with ``digest_version`` 2) also binds the service and consumer ids and the version;
    earlier entries keep verifying with version 1."""
    created = entry.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    fields: list[Any] = [
        int(entry.seq),
        created,
        entry.request_id,
        entry.client,
        entry.service_id_text,
        entry.method,
        entry.path,
        entry.purpose,
        entry.subject,
        entry.user,
        int(entry.status),
        entry.outcome,
        int(entry.latency_ms),
        entry.request_hash,
        entry.response_hash,
        entry.prev_hash,
    ]
    if entry.digest_version is not None:
        fields = [f"v{int(entry.digest_version)}", *fields, entry.service_id, entry.consumer_id]
    return sha256_hex(json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode())


def request_hash_header(
    *,
    method: str,
    service_id: str,
    path: str,
    client: str,
    purpose: str,
    subject: str,
    user: str,
    body_hash: str,
    query: str = "",
) -> str:
    """The ``Interop-Request-Hash`` answer header: SHA-256 of the compact JSON array
    ``[method, service+path, query, client, purpose, subject, user, body SHA-256]`` (UTF-8, no spaces) —
    unambiguous, reproducible from the log entry, it ties the answer to the exact request."""
    canonical = json.dumps(
        [method.upper(), f"{service_id}{path}", query, client, purpose, subject, user, body_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return sha256_hex(canonical.encode())


@dataclass
class LogRecord:
    request_id: str
    client: str
    service_id_text: str
    method: str
    path: str
    purpose: str = ""
    subject: str = ""
    user: str = ""
    status: int = 0
    outcome: str = "ok"
    latency_ms: int = 0
    request_hash: str = EMPTY_HASH
    response_hash: str = EMPTY_HASH
    request_body: bytes | None = None
    response_body: bytes | None = None
    service: Service | None = None
    consumer: Subsystem | None = None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable(value: str) -> str:
    """What a log column may hold: control characters (NUL is refused by PostgreSQL) become U+FFFD."""
    return _CONTROL.sub("\ufffd", value or "")


def log_append(record: LogRecord) -> MessageLogEntry:
    """Append one entry, chained to the head. Locks the head row, so appends are totally ordered."""
    for name in ("request_id", "client", "service_id_text", "method", "path", "purpose", "subject", "user"):
        setattr(record, name, _printable(getattr(record, name)))
    with transaction.atomic():
        head, _created = LogHead.objects.select_for_update().get_or_create(pk=1)
        entry = MessageLogEntry(
            seq=head.seq + 1,
            created_at=timezone.now(),
            request_id=record.request_id[:64],
            client=record.client[:120],
            service_id_text=record.service_id_text[:200],
            service=record.service,
            consumer=record.consumer,
            method=record.method[:10],
            path=record.path[:1000],
            purpose=record.purpose[:200],
            subject=record.subject[:60],
            user=record.user[:150],
            status=record.status,
            outcome=record.outcome,
            latency_ms=max(0, int(record.latency_ms)),
            request_hash=record.request_hash,
            response_hash=record.response_hash,
            request_body=record.request_body,
            response_body=record.response_body,
            prev_hash=head.entry_hash or GENESIS_HASH,
            digest_version=DIGEST_VERSION,
        )
        entry.entry_hash = entry_digest(entry)
        entry.save()
        head.seq = entry.seq
        head.entry_hash = entry.entry_hash
        head.save(update_fields=["seq", "entry_hash"])
    return entry


def _seal_key() -> rsa.RSAPrivateKey:
    pem = settings.INTEROP_SEAL_PRIVATE_KEY or settings.OAUTH2_PROVIDER.get("OIDC_RSA_PRIVATE_KEY", "")
    if not pem:
        raise DomainError(message=_("No hay una clave para sellar el registro."), code="no_key", status=409)
    key = serialization.load_pem_private_key(str(pem).encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DomainError(message=_("La clave de sellado debe ser RSA."), code="no_key", status=409)
    return key


def _fingerprint(public_key: rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return sha256_hex(der)


def _seal_message(seq: int, entry_hash: str) -> bytes:
    return f"ventanilla-interop-seal:{seq}:{entry_hash}".encode()


def chain_seal(*, actor: Any = None) -> ChainSeal | None:
    """Sign the current chain head (None when the log is empty or the head is already sealed)."""
    key = _seal_key()
    with transaction.atomic():
        head = LogHead.objects.select_for_update().filter(pk=1).first()
        if head is None or head.seq == 0:
            return None
        if ChainSeal.objects.filter(seq=head.seq, entry_hash=head.entry_hash).exists():
            return None
        signature = key.sign(_seal_message(head.seq, head.entry_hash), padding.PKCS1v15(), hashes.SHA256())
        seal = ChainSeal.objects.create(
            seq=head.seq,
            entry_hash=head.entry_hash,
            key_fingerprint=_fingerprint(key.public_key()),
            signature=base64.b64encode(signature).decode(),
        )
        audit_record(actor=actor, action="interop.log.seal", target=seal, metadata={"seq": head.seq})
    return seal


@dataclass
class VerifyReport:
    ok: bool
    entries: int = 0
    seals: int = 0
    first_bad_seq: int | None = None
    problem: str = ""
    warnings: list[str] = field(default_factory=list)


def _trusted_seal_keys() -> dict[str, rsa.RSAPublicKey]:
    """Public keys whose seals verify, by fingerprint: the current sealing key and the retired ones listed
    in ``INTEROP_SEAL_TRUSTED_PUBLIC_KEYS`` (PEM)."""
    keys: dict[str, rsa.RSAPublicKey] = {}
    try:
        current = _seal_key().public_key()
        keys[_fingerprint(current)] = current
    except (DomainError, ValueError):
        pass
    for pem in settings.INTEROP_SEAL_TRUSTED_PUBLIC_KEYS or []:
        try:
            key = serialization.load_pem_public_key(str(pem).strip().encode())
        except ValueError:
            logger.warning("INTEROP_SEAL_TRUSTED_PUBLIC_KEYS: an entry is not a PEM public key")
            continue
        if isinstance(key, rsa.RSAPublicKey):
            keys[_fingerprint(key)] = key
    return keys


def chain_verify(*, batch: int = 2000) -> VerifyReport:
    """Re-compute every entry's hash in order; report the first entry whose content, chain link or
    sequence does not match; check that the chain ends where the head says (newest entries not deleted);
    then check every seal's signature, with a trusted key, against the entry it sealed."""
    report = VerifyReport(ok=True)
    expected_prev = GENESIS_HASH
    expected_seq = 1
    hashes_by_seq: dict[int, str] = {}
    # The head as it is now: entries appended while verifying are left for the next run. The head is
    # written in the same transaction as its entry, so every entry up to it is committed.
    head = LogHead.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.entry_hash) if head is not None else (0, "")
    sealed = set(ChainSeal.objects.filter(seq__lte=head_seq).values_list("seq", flat=True))
    last_seq = 0
    while True:
        chunk = list(
            MessageLogEntry.objects.filter(seq__gt=last_seq, seq__lte=head_seq).order_by("seq")[:batch]
        )
        if not chunk:
            break
        for entry in chunk:
            report.entries += 1
            last_seq = entry.seq
            problem = ""
            if entry.seq != expected_seq:
                problem = _("falta la entrada #%(seq)s (la cadena salta a #%(found)s)") % {
                    "seq": expected_seq,
                    "found": entry.seq,
                }
            elif entry.prev_hash != expected_prev:
                problem = _("el enlace con la entrada anterior no coincide")
            elif entry_digest(entry) != entry.entry_hash:
                problem = _("su contenido fue modificado (el hash no coincide)")
            elif (
                entry.request_body is not None and sha256_hex(bytes(entry.request_body)) != entry.request_hash
            ):
                problem = _("el cuerpo de la solicitud guardado fue modificado")
            elif (
                entry.response_body is not None
                and sha256_hex(bytes(entry.response_body)) != entry.response_hash
            ):
                problem = _("el cuerpo de la respuesta guardado fue modificado")
            if problem:
                report.ok = False
                report.first_bad_seq = min(entry.seq, expected_seq)
                report.problem = problem
                return report
            if entry.seq in sealed:
                hashes_by_seq[entry.seq] = entry.entry_hash
            expected_prev = entry.entry_hash
            expected_seq += 1
    if head_seq == 0 and MessageLogEntry.objects.exists():
        last_seq = MessageLogEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    if head_seq != last_seq or (head_seq and head_hash != expected_prev):
        report.ok = False
        report.first_bad_seq = last_seq + 1
        report.problem = _(
            "la cabeza de la cadena indica la entrada #%(head)s pero la última es #%(last)s "
            "(entradas recientes borradas o reescritas)"
        ) % {"head": head_seq, "last": last_seq}
        return report
    # A seal beyond the head read at the start is a seal of entries appended since — unless the head went
    # backwards (someone rewound it to hide deleted entries): the seals always catch that.
    newest_seal = ChainSeal.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    if newest_seal > head_seq:
        now_head = LogHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0
        if now_head < newest_seal:
            report.ok = False
            report.first_bad_seq = now_head + 1
            report.problem = _(
                "el sello de la entrada #%(seq)s está más allá de la cabeza de la cadena (#%(head)s): "
                "entradas borradas"
            ) % {"seq": newest_seal, "head": now_head}
            return report
    trusted = _trusted_seal_keys()
    for seal in ChainSeal.objects.filter(seq__lte=head_seq).order_by("seq", "pk"):
        report.seals += 1
        if seal.seq not in hashes_by_seq or hashes_by_seq[seal.seq] != seal.entry_hash:
            report.ok = False
            report.first_bad_seq = seal.seq
            report.problem = _(
                "el sello de la entrada #%(seq)s no coincide con el registro (entradas borradas o reescritas)"
            ) % {"seq": seal.seq}
            return report
        public_key = trusted.get(seal.key_fingerprint)
        if public_key is None:
            report.ok = False
            report.first_bad_seq = seal.seq
            report.problem = _(
                "el sello de la entrada #%(seq)s está firmado con una clave desconocida "
                "(agregue las claves retiradas a INTEROP_SEAL_TRUSTED_PUBLIC_KEYS)"
            ) % {"seq": seal.seq}
            return report
        try:
            public_key.verify(
                base64.b64decode(seal.signature),
                _seal_message(seal.seq, seal.entry_hash),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except Exception:
            report.ok = False
            report.first_bad_seq = seal.seq
            report.problem = _("la firma del sello de la entrada #%(seq)s no es válida") % {"seq": seal.seq}
            return report
    return report


# --------------------------------------------------------------------------------------------------------
# Mediator
# --------------------------------------------------------------------------------------------------------

# Request headers passed to the provider: an allow-list (content negotiation, conditional and range
# requests). Nothing else of the consumer's reaches the provider — no credentials, no hop-by-hop headers, no
# X-HTTP-Method-Override / X-Original-URL / X-Forwarded-* that some frameworks obey — and the Interop headers
# are the mediator's own, checked values.
FORWARDED_REQUEST_HEADERS = frozenset(
    {
        "content-type",
        "accept",
        "accept-language",
        "if-none-match",
        "if-modified-since",
        "range",
        "prefer",
    }
)
# Query parameters some frameworks read as the real HTTP method: refused when a right limits operations.
METHOD_OVERRIDE_PARAMS = frozenset(
    {"_method", "x-http-method-override", "x-http-method", "x-method-override"}
)
# Only these provider headers reach the consumer (no Server, X-Powered-By, Set-Cookie, internal hosts).
PASSED_RESPONSE_HEADERS = (
    "content-type",
    "content-disposition",
    "content-language",
    "content-encoding",
    "cache-control",
    "etag",
    "last-modified",
    "expires",
    "vary",
)
# Longest value of each Interop header (the message log's columns).
HEADER_LIMITS = {
    "Interop-Client": 120,
    "Interop-Purpose": 200,
    "Interop-Subject": 60,
    "Interop-User": 150,
}

_http_client: httpx.Client | None = None


def _http() -> httpx.Client:
    global _http_client
    if _http_client is None:
        _http_client = httpx.Client(
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
    return _http_client


@dataclass
class Call:
    """One consumer request, as the HTTP view or ``registry_query`` received it."""

    method: str
    service_id: str  # MEMBER/SUBSYSTEM/SERVICE
    path: str  # after the service code: "" or "/..." (percent-encoded as received)
    query: str = ""
    client: str = ""
    purpose: str = ""
    subject: str = ""
    user: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # other headers (only an allow-list is passed)
    body: Iterable[bytes] | bytes | None = None
    content_length: int | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


HEADER_SAFE = " /-_.,:;()@"
# Characters left as they are when the decoded path is re-encoded for the provider (RFC 3986 pchar + "/").
PATH_SAFE = "/:@!$&'()*+,;=-._~"
_ENCODED_OCTET = re.compile(r"%[0-9A-Fa-f]{2}")


def header_encode(value: str) -> str:
    """Interop header values travel as UTF-8, percent-encoded (X-Road's rule), so «trámite» fits in HTTP."""
    return quote(value, safe=HEADER_SAFE)


def header_decode(value: str) -> str:
    return unquote(value or "")


def path_normalize(raw: str) -> str:
    r"""The decoded path of a call ("" or "/…"), or ``invalid_header``: after one percent-decoding the path
    may hold no «.» or «..» segment, no empty segment («//»), no «\», no control character and no
    further percent-encoding, i.e. it must already be in its normal form. Operation rules are matched
    against this path and the provider receives exactly this path (re-encoded)."""
    try:
        decoded = unquote(raw or "", errors="strict") if raw else ""
    except UnicodeDecodeError:
        raise _refuse("invalid_header", _("La ruta no es UTF-8 válido."), "path") from None
    if not decoded:
        return ""
    if not decoded.startswith("/"):
        decoded = "/" + decoded
    segments = decoded.split("/")[1:]
    normal = posixpath.normpath(decoded) + ("/" if decoded.endswith("/") and decoded != "/" else "")
    if (
        "\\" in decoded
        or _CONTROL.search(decoded)
        or _ENCODED_OCTET.search(decoded)
        or any(segment in (".", "..") for segment in segments)
        or any(segment == "" for segment in segments[:-1])
        or normal != decoded
    ):
        raise _refuse(
            "invalid_header",
            _(
                "La ruta no es válida: sin segmentos «.» ni «..», sin «//», sin «\\», sin caracteres de "
                "control ni codificación doble."
            ),
            "path",
        )
    return decoded


def _timeout_for(service: Service) -> float:
    return float(service.timeout_seconds or settings.INTEROP_DEFAULT_TIMEOUT)


def _rate_check(consumer: Subsystem) -> None:
    """The platform's limit always applies; a subsystem's own limit can only make it stricter."""
    limit, window = ratelimit.limit_for(RATE_SCOPE, settings.INTEROP_RATE_LIMIT, RATE_WINDOW)
    if consumer.rate_limit and consumer.rate_limit * window < limit * RATE_WINDOW:
        limit, window = consumer.rate_limit, RATE_WINDOW
    verdict = ratelimit.hit(RATE_SCOPE, consumer.identifier, limit=limit, window=window)
    if not verdict.allowed:
        raise InteropError(
            "rate_limited",
            _("Demasiadas llamadas del subsistema %(client)s. Espere %(seconds)s segundos.")
            % {"client": consumer.identifier, "seconds": verdict.retry_after},
            retry_after=verdict.retry_after,
        )


@dataclass
class Authorized:
    consumer: Subsystem
    service: Service
    right: AccessRight
    person_id: int | None
    path: str = ""  # decoded and normalised
    purpose: str = ""  # the right's purpose the call is bound to


def _check_header_values(call: Call) -> None:
    values = {
        "Interop-Client": call.client,
        "Interop-Purpose": call.purpose,
        "Interop-Subject": call.subject,
        "Interop-User": call.user,
    }
    for name, value in values.items():
        if _CONTROL.search(value or ""):
            raise _refuse("invalid_header", _("%(name)s tiene caracteres de control.") % {"name": name}, name)
        if len(value or "") > HEADER_LIMITS[name]:
            raise _refuse(
                "invalid_header",
                _("%(name)s es demasiado larga (máximo %(limit)s caracteres).")
                % {"name": name, "limit": HEADER_LIMITS[name]},
                name,
            )


def exchange_authorize(*, consumer: Subsystem, call: Call) -> Authorized:
    """Every check of a call, in a fixed order; raises :class:`InteropError` on the first that fails.
    Shared by the HTTP mediator and ``registry_query``, so both refuse alike."""
    _check_header_values(call)
    if not call.purpose.strip():
        raise _refuse(
            "missing_header", _("Falta la cabecera Interop-Purpose (finalidad)."), "Interop-Purpose"
        )
    path = path_normalize(call.path)
    service = selectors.service_by_identifier(call.service_id)
    if service is None:
        raise _refuse(
            "unknown_service", _("El servicio %(id)s no existe o no está activo.") % {"id": call.service_id}
        )
    if service.is_personal and not call.subject.strip():
        raise _refuse(
            "missing_header",
            _("Este servicio devuelve datos de personas: indique Interop-Subject."),
            "Interop-Subject",
        )
    if call.subject.strip() and not call.user.strip():
        raise _refuse(
            "missing_header",
            _("Indique en Interop-User el funcionario que hace la consulta."),
            "Interop-User",
        )
    person_id = None
    if call.subject.strip():
        if selectors.subject_document(call.subject) is None:
            raise _refuse(
                "invalid_header",
                _("Interop-Subject debe ser un documento válido, p. ej., CI-1234567."),
                "Interop-Subject",
            )
        person_id = selectors.person_id_for_subject(call.subject)
    check = selectors.access_right_check(
        consumer=consumer, service=service, method=call.method, path=path, purpose=call.purpose
    )
    if check.right is None:
        messages = {
            "expired": _("El derecho de acceso de %(client)s a %(service)s venció."),
            "revoked": _("El derecho de acceso de %(client)s a %(service)s fue revocado."),
            "operation": _("El derecho de acceso de %(client)s a %(service)s no incluye esta operación."),
            "purpose": _(
                "La finalidad indicada en Interop-Purpose no es una de las del derecho de acceso de "
                "%(client)s a %(service)s."
            ),
            "none": _("%(client)s no tiene derecho de acceso a %(service)s."),
        }
        raise _refuse(
            "access_denied",
            messages[check.reason] % {"client": consumer.identifier, "service": service.identifier},
            "Interop-Purpose" if check.reason == "purpose" else None,
        )
    if check.right.operation_list() and any(
        name.strip().lower() in METHOD_OVERRIDE_PARAMS
        for name, _value in parse_qsl(call.query, keep_blank_values=True)
    ):
        raise _refuse(
            "access_denied",
            _(
                "El derecho de acceso limita las operaciones: "
                "la consulta no puede cambiar el método (_method)."
            ),
            "query",
        )
    if service.needs_consent and (
        person_id is None
        or not selectors.consent_in_force(
            person_id=person_id, consumer=consumer, service=service, purpose=call.purpose
        )
    ):
        raise _refuse(
            "consent_required",
            _("La persona no dio su consentimiento (vigente) para esta consulta y finalidad."),
            "Interop-Subject",
        )
    return Authorized(
        consumer=consumer,
        service=service,
        right=check.right,
        person_id=person_id,
        path=path,
        purpose=bound_purpose(call.purpose, check.purpose or check.right.purpose),
    )


def bound_purpose(call_purpose: str, right_purpose: str) -> str:
    """What the citizen's «¿Quién usó mis datos?» row says: the right's purpose as the provider approved
    it, plus the call's detail when the call refined it («Trámite» + «trámite: Licencia» → «Trámite:
    Licencia»)."""
    wanted = selectors.normalize_purpose(right_purpose)
    for index, char in enumerate(call_purpose):
        if char == ":" and selectors.normalize_purpose(call_purpose[:index]) == wanted:
            detail = " ".join(call_purpose[index + 1 :].split())
            return f"{right_purpose}: {detail}" if detail else right_purpose
    return right_purpose


def error_payload(error: InteropError) -> bytes:
    return json.dumps({"errors": [item.as_dict() for item in error.items()]}, ensure_ascii=False).encode()


def _log_refusal(
    *,
    call: Call,
    consumer: Subsystem | None,
    service: Service | None,
    error: InteropError,
    request_hash: str = EMPTY_HASH,
    latency_ms: int = 0,
) -> None:
    log_append(
        LogRecord(
            request_id=call.request_id,
            client=call.client,
            service_id_text=call.service_id,
            method=call.method,
            path=call.path + (f"?{call.query}" if call.query else ""),
            purpose=call.purpose,
            subject=call.subject,
            user=call.user,
            status=error.status,
            outcome=error.code,
            latency_ms=latency_ms,
            request_hash=request_hash,
            response_hash=sha256_hex(error_payload(error)),
            service=service,
            consumer=consumer,
        )
    )


class _HashingBody:
    """Passes the request body to httpx while hashing it (and keeping it when the service logs bodies)."""

    def __init__(self, body: Iterable[bytes] | bytes | None, keep: int) -> None:
        self.digest = hashlib.sha256()
        self.kept: bytearray | None = bytearray() if keep > 0 else None
        self.keep = keep
        self.overflow = False
        self._body = body

    def _see(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        if self.kept is not None and not self.overflow:
            if len(self.kept) + len(chunk) > self.keep:
                self.overflow = True
            else:
                self.kept.extend(chunk)

    def content(self) -> Iterator[bytes] | bytes | None:
        if self._body is None:
            return None
        if isinstance(self._body, bytes):
            self._see(self._body)
            return self._body
        return self._iterate(self._body)

    def _iterate(self, body: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in body:
            if chunk:
                self._see(chunk)
                yield chunk

    def stored(self) -> bytes | None:
        return bytes(self.kept) if self.kept is not None and not self.overflow else None


class OpenExchange:
    """An authorized call whose provider answered: status and headers now, the body as it arrives.
    Iterating ``body()`` to the end (or closing it) writes the log entry and the citizen's data-use row."""

    def __init__(
        self, *, call: Call, auth: Authorized, response: httpx.Response, started: float, sent: _HashingBody
    ) -> None:
        self.call = call
        self.auth = auth
        self._response = response
        self._started = started
        self._sent = sent
        self.status = response.status_code
        self.request_hash = request_hash_header(
            method=call.method,
            service_id=call.service_id,
            path=call.path,
            query=call.query,
            client=call.client,
            purpose=call.purpose,
            subject=call.subject,
            user=call.user,
            body_hash=sent.digest.hexdigest(),
        )
        self.headers = {
            name: response.headers[name] for name in PASSED_RESPONSE_HEADERS if name in response.headers
        }
        # The consumer can tell a complete answer from one cut short when the provider gave its length.
        length = response.headers.get("content-length", "")
        if length.isdigit() and call.method != "HEAD" and self.status not in (204, 304):
            self.headers["content-length"] = length
        self._finished = False

    def body(self) -> Iterator[bytes]:
        """The provider's body, chunk by chunk. The entry is logged before the last chunk is handed out,
        so when the consumer has the whole answer the log already holds it. When the provider breaks off
        (or drips past ``INTEROP_EXCHANGE_DEADLINE``) the failure is logged and an :class:`InteropError`
        is raised, so the consumer's connection is aborted instead of ending like a complete answer."""
        keep = settings.INTEROP_LOG_BODY_MAX_BYTES if self.auth.service.log_bodies else 0
        deadline = self._started + float(settings.INTEROP_EXCHANGE_DEADLINE)
        received = _HashingBody(None, keep)
        pending: bytes | None = None
        try:
            for chunk in self._response.iter_raw(CHUNK):
                if time.monotonic() > deadline:
                    self._finish(received, "provider_timeout", status=504)
                    raise InteropError(
                        "provider_timeout", _("El proveedor no terminó de responder a tiempo.")
                    )
                if not chunk:
                    continue
                received._see(chunk)
                if pending is not None:
                    yield pending
                pending = chunk
            self._finish(received, "ok")
            if pending is not None:
                yield pending
        except httpx.HTTPError as exc:
            self._finish(received, "provider_broke_off", status=502)
            raise InteropError("provider_error", _("El proveedor cortó la respuesta.")) from exc
        except GeneratorExit:
            self._finish(received, "consumer_closed")
            raise
        finally:
            self._response.close()

    def read(self, limit: int) -> bytes:
        data = bytearray()
        for chunk in self.body():
            data.extend(chunk)
            if len(data) > limit:
                self.close()
                raise InteropError("provider_error", _("La respuesta del proveedor es demasiado grande."))
        return bytes(data)

    def close(self) -> None:
        if not self._finished:
            self._finish(_HashingBody(None, 0), "consumer_closed")
        self._response.close()

    def _finish(self, received: _HashingBody, outcome: str, status: int | None = None) -> None:
        if self._finished:
            return
        self._finished = True
        auth, call = self.auth, self.call
        latency = int((time.monotonic() - self._started) * 1000)
        final_status = status or self.status
        with transaction.atomic():
            log_append(
                LogRecord(
                    request_id=call.request_id,
                    client=call.client,
                    service_id_text=call.service_id,
                    method=call.method,
                    path=call.path + (f"?{call.query}" if call.query else ""),
                    purpose=call.purpose,
                    subject=call.subject,
                    user=call.user,
                    status=final_status,
                    outcome=outcome,
                    latency_ms=latency,
                    request_hash=self._sent.digest.hexdigest(),
                    response_hash=received.digest.hexdigest(),
                    request_body=self._sent.stored(),
                    response_body=received.stored(),
                    service=auth.service,
                    consumer=auth.consumer,
                )
            )
            if (
                auth.person_id is not None
                and final_status < 400
                and outcome == "ok"
                and not auth.service.confidential_by_law
            ):
                # The right's purpose (what the provider approved), not whatever text the consumer sent.
                data_use_record(
                    person_id=auth.person_id,
                    institution_id=auth.consumer.member.institution_id,
                    application_name=auth.consumer.name,
                    purpose=auth.purpose or auth.right.purpose,
                    data=auth.service.personal_data or auth.service.name,
                )


def _header_value(name: str, value: str) -> bytes:
    """A forwarded header value as bytes (HTTP/1.1 headers are ISO-8859-1); control characters refused."""
    if re.search(r"[\x00-\x08\x0a-\x1f\x7f]", value):
        raise _refuse("invalid_header", _("La cabecera %(name)s no es válida.") % {"name": name}, name)
    return value.encode("latin-1")


def _build_request(client: httpx.Client, call: Call, auth: Authorized, sent: _HashingBody) -> httpx.Request:
    service, consumer = auth.service, auth.consumer
    headers: dict[str, bytes] = {}
    for name, value in call.headers.items():
        if name.lower() in FORWARDED_REQUEST_HEADERS:
            headers[name] = _header_value(name, str(value))
    own = {
        "Interop-Client": consumer.identifier,
        "Interop-Service": service.identifier,
        "Interop-Request-Id": call.request_id,
        "Interop-Purpose": header_encode(call.purpose),
        PROVIDER_SECRET_HEADER: service.provider_secret,
    }
    if call.subject:
        own["Interop-Subject"] = header_encode(call.subject)
    if call.user:
        own["Interop-User"] = header_encode(call.user)
    headers.update({name: value.encode("ascii") for name, value in own.items()})
    # The consumer gets the provider's bytes as they are: compressed only if the consumer asked for it.
    accept_encoding = next((v for k, v in call.headers.items() if k.lower() == "accept-encoding"), "identity")
    headers["Accept-Encoding"] = _header_value("Accept-Encoding", str(accept_encoding))
    content = sent.content()
    if call.content_length is not None and content is not None and not isinstance(content, bytes):
        headers["Content-Length"] = str(call.content_length).encode("ascii")
    url = service.base_url + quote(auth.path, safe=PATH_SAFE) + (f"?{call.query}" if call.query else "")
    return client.build_request(
        call.method,
        url,
        headers=[(name.encode("ascii"), value) for name, value in headers.items()],
        content=content,
        timeout=httpx.Timeout(_timeout_for(service)),
    )


def exchange_open(*, consumer: Subsystem | None, call: Call) -> OpenExchange:
    """Check the call and send it to the provider. Refusals are logged (except bad_client and
    rate_limited, which would let anyone fill the log) and raised as :class:`InteropError`; any other
    failure while preparing or sending the request becomes a logged refusal too (never a 500)."""
    if consumer is None or call.client.strip() != consumer.identifier:
        raise _refuse(
            "bad_client",
            _("El token no corresponde al subsistema indicado en Interop-Client."),
            "Interop-Client",
        )
    _rate_check(consumer)
    started = time.monotonic()
    service: Service | None = None
    try:
        auth = exchange_authorize(consumer=consumer, call=call)
    except InteropError as error:
        if error.code != "unknown_service":
            service = selectors.service_by_identifier(call.service_id)
        _log_refusal(call=call, consumer=consumer, service=service, error=error)
        raise
    service = auth.service
    keep = settings.INTEROP_LOG_BODY_MAX_BYTES if service.log_bodies else 0
    sent = _HashingBody(call.body, keep)
    client = _http()
    refusal: InteropError
    try:
        # Checked again before each call: the name may resolve elsewhere now (or settings changed).
        problem = provider_url_problem(service.base_url)
        if problem:
            logger.warning("interop: provider address of %s refused: %s", service.identifier, problem)
            raise _refuse("provider_error", _("La dirección del proveedor no está permitida."))
        request = _build_request(client, call, auth, sent)
    except InteropError as error:
        refusal = error
    except Exception:
        logger.exception("interop: could not build the request %s", call.request_id)
        refusal = _refuse("invalid_header", _("No se pudo preparar la solicitud al proveedor."))
    else:
        try:
            response = client.send(request, stream=True)
        except httpx.TimeoutException:
            refusal = _refuse("provider_timeout", _("El proveedor no respondió a tiempo."))
        except httpx.HTTPError:
            refusal = _refuse("provider_error", _("No se pudo comunicar con el proveedor."))
        except Exception:
            logger.exception("interop: could not send the request %s", call.request_id)
            refusal = _refuse("provider_error", _("No se pudo comunicar con el proveedor."))
        else:
            if response.status_code < 500:
                return OpenExchange(call=call, auth=auth, response=response, started=started, sent=sent)
            response.close()  # the provider's error page never reaches the consumer
            refusal = _refuse(
                "provider_error",
                _("El proveedor respondió con un error (%(status)s).") % {"status": response.status_code},
            )
    _log_refusal(
        call=call,
        consumer=consumer,
        service=service,
        error=refusal,
        request_hash=sent.digest.hexdigest(),
        latency_ms=int((time.monotonic() - started) * 1000),
    )
    raise refusal


# --------------------------------------------------------------------------------------------------------
# In-process consumers (other apps): the same checks, the same log, no HTTP hop to the mediator
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryAnswer:
    status: int
    data: Any
    request_id: str


def registry_query(
    *, actor: Any, client: str, service: str, path: str, purpose: str, subject: str = "", user: str = ""
) -> RegistryAnswer:
    """GET ``path`` of ``service`` ("MEMBER/SUBSYSTEM/SERVICE") on behalf of the consumer subsystem
    ``client`` ("MEMBER/SUBSYSTEM"), e.g. to prefill a form from a registry.

    Runs every check of the HTTP mediator (right, expiry, operation, consent, rate limit), calls the
    provider over HTTP, logs the exchange and writes the citizen's «¿Quién usó mis datos?» row. Raises
    :class:`InteropError` (a ``DomainError``) with the mediator's codes: unknown_service, access_denied,
    consent_required, missing_header, invalid_header, rate_limited, provider_timeout, provider_error,
    bad_client (the client subsystem does not exist or is suspended). ``data`` is the parsed JSON (or the
    text when the answer is not JSON); a provider 4xx (e.g. 404 «no registrado») is an answer, not an error.
    Do not call it inside a database transaction that stays open across the HTTP call.
    """
    consumer = selectors.subsystem_by_identifier(client)
    if consumer is None or consumer.status != Subsystem.Status.ACTIVE:
        raise _refuse(
            "bad_client",
            _("El subsistema consumidor %(client)s no existe o está suspendido.") % {"client": client},
            "client",
        )
    if not user:
        user = actor.get_username() if getattr(actor, "is_authenticated", False) else "sistema"
    if path and not path.startswith("/"):
        path = "/" + path
    base, _sep, query = path.partition("?")
    call = Call(
        method="GET",
        service_id=service,
        path=base,
        query=query,
        client=consumer.identifier,
        purpose=purpose,
        subject=subject,
        user=user,
        headers={"Accept": "application/json"},
    )
    exchange = exchange_open(consumer=consumer, call=call)
    raw = exchange.read(settings.INTEROP_REGISTRY_MAX_BYTES)
    data: Any
    try:
        data = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        data = raw.decode("utf-8", errors="replace")
    return RegistryAnswer(status=exchange.status, data=data, request_id=call.request_id)


def provider_secret_matches(given: str, expected: list[str]) -> bool:
    """Constant-time check of the ``Interop-Provider-Secret`` header (for providers written in Django).
    Compared as UTF-8 bytes: any value (even non-ASCII) is just a wrong secret."""
    if not given:
        return False
    raw = given.encode("utf-8", errors="surrogateescape")
    return any(hmac.compare_digest(raw, secret.encode("utf-8")) for secret in expected)
