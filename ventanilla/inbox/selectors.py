"""Reads of the inbox app: a person's notifications, an institution's sent notifications, templates,
API keys, outbox messages, and the callers of the two APIs (OAuth2 bearer, Notify JWT)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from ventanilla.core.countries.base import NOTIFY_ON_DELIVERY, NOTIFY_ON_OPEN_OR_DAYS
from ventanilla.core.errors import NotFound
from ventanilla.core.models import Role
from ventanilla.core.permissions import institutions_with_role, is_platform_admin
from ventanilla.identity.client_selectors import client_token_get

from .models import ApiKey, MessageTemplate, Notification, OutboxMessage

#: Who sends notifications from the back office: the institution's staff.
SENDER_ROLES = frozenset({Role.INSTITUTION_ADMIN, Role.INSTITUTION_EDITOR, Role.CLERK, Role.SUPERVISOR})
#: Who manages templates and API keys of an institution.
MANAGER_ROLES = frozenset({Role.INSTITUTION_ADMIN, Role.INSTITUTION_EDITOR})


# -- the legal rule ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EffectRule:
    rule: str
    deemed_business_days: int


def effect_rule() -> EffectRule:
    """When a legal notification takes effect here: the country pack's rule, unless settings override it."""
    pack = settings.COUNTRY_PACK
    rule = getattr(settings, "INBOX_EFFECT_RULE", "") or pack.notification_effect_rule
    if rule not in (NOTIFY_ON_DELIVERY, NOTIFY_ON_OPEN_OR_DAYS):
        raise ValueError(f"INBOX_EFFECT_RULE desconocida: {rule!r}")
    days = int(getattr(settings, "INBOX_DEEMED_BUSINESS_DAYS", -1))
    if days < 0:
        days = int(getattr(pack, "notification_deemed_business_days", 0))
    if rule == NOTIFY_ON_OPEN_OR_DAYS and days <= 0:
        days = 5
    return EffectRule(rule=rule, deemed_business_days=days)


# -- API callers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiCaller:
    institution_id: int
    label: str


#: The OAuth2 scope an institution's system needs to send notifications (settings.OIDC_SCOPES).
NOTIFICATIONS_SCOPE = "notificaciones"


def api_caller_for_token(token: str) -> ApiCaller | None:
    """The institution behind an OAuth2 bearer token: a live client-credentials token (no person behind
    it) of an approved client, granted the ``notificaciones`` scope. A citizen's token is refused."""
    caller = client_token_get(token)
    if caller is None or caller.user_id is not None or NOTIFICATIONS_SCOPE not in caller.scopes:
        return None
    return ApiCaller(institution_id=caller.institution_id, label=f"api:{caller.client_id}")


def api_keys_for_service(service_id: str) -> list[ApiKey]:
    try:
        wanted = uuid.UUID(str(service_id))
    except (TypeError, ValueError, AttributeError):
        return []
    return list(ApiKey.objects.select_related("institution").filter(service_id=wanted))


# -- permissions ---------------------------------------------------------------------------------------


def sender_institution_ids(user: Any) -> set[int]:
    return institutions_with_role(user, SENDER_ROLES)


def manager_institution_ids(user: Any) -> set[int] | None:
    """Institutions whose templates and keys ``user`` manages; ``None`` means all (platform agency)."""
    if is_platform_admin(user):
        return None
    return institutions_with_role(user, MANAGER_ROLES)


# -- citizen's inbox -----------------------------------------------------------------------------------


def link_path_is_safe(path: str) -> bool:
    """A notification's link must stay on this site: a single "/" followed by something other than "/" or
    "\\" (browsers read "//host" and "/\\host" as another host), no control characters, and no host or
    scheme by Django's own test."""
    if not path or len(path) < 2 or path[0] != "/" or path[1] in "/\\":
        return False
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        return False
    return url_has_allowed_host_and_scheme(path, allowed_hosts=set())


def person_can_read_notifications(person: Any) -> bool:
    """Whether the content of notifications is shown to this person (and opening them counts): identity
    verified («verificado» or above), or both e-mail and mobile confirmed. A self-registered account that
    claimed a Person the institutions created (level «básico», contacts unconfirmed) may not read them."""
    if person is None:
        return False
    return bool(person.meets("verificado") or (person.email_verified and person.mobile_verified))


def unread_count(*, person_id: int) -> int:
    return Notification.objects.filter(
        person_id=person_id, first_opened_at__isnull=True, archived_at__isnull=True
    ).count()


def notification_list_for_person(
    *, person_id: int, query: str = "", archived: bool = False
) -> QuerySet[Notification]:
    qs = (
        Notification.objects.filter(person_id=person_id, archived_at__isnull=not archived)
        .select_related("institution")
        .order_by("-available_at", "-id")
    )
    query = query.strip()
    if query:
        qs = qs.filter(
            Q(subject__icontains=query)
            | Q(body__icontains=query)
            | Q(case_reference__icontains=query)
            | Q(institution__name__icontains=query)
            | Q(institution__acronym__icontains=query)
        )
    return qs


def _parse_uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise NotFound(message="Notificación no encontrada.") from None


def notification_get_for_person(*, person_id: int, notification_uuid: Any) -> Notification:
    found = (
        Notification.objects.select_related("institution", "person", "constancia")
        .prefetch_related("documents")
        .filter(person_id=person_id, uuid=_parse_uuid(notification_uuid))
        .first()
    )
    if found is None:
        raise NotFound(message="Notificación no encontrada.")
    return found


def notification_document_for_person(*, notification: Notification, code: str) -> Any:
    """One of the notification's attached documents, or its constancia, by verification code; NotFound
    for any other code (the person only reaches documents through their own notification)."""
    from ventanilla.core.codes import normalize_tracking_code

    wanted = normalize_tracking_code(code or "")
    if not wanted:
        raise NotFound(message="Documento no encontrado.")
    constancia = notification.constancia
    if constancia is not None and constancia.code == wanted:
        return constancia
    for document in notification.documents.all():
        if document.code == wanted:
            return document
    raise NotFound(message="Documento no encontrado.")


def notification_get_for_institution(*, institution_ids: set[int], notification_uuid: Any) -> Notification:
    """A notification as its sender sees it; another institution's is «not found»."""
    found = (
        Notification.objects.select_related("institution", "person", "constancia")
        .prefetch_related("documents")
        .filter(institution_id__in=institution_ids, uuid=_parse_uuid(notification_uuid))
        .first()
    )
    if found is None:
        raise NotFound(message="Notificación no encontrada.")
    return found


def notification_list_for_institutions(
    *, institution_ids: set[int], query: str = ""
) -> QuerySet[Notification]:
    qs = (
        Notification.objects.filter(institution_id__in=institution_ids)
        .select_related("institution", "person")
        .order_by("-available_at", "-id")
    )
    query = query.strip()
    if query:
        qs = qs.filter(
            Q(subject__icontains=query)
            | Q(case_reference__icontains=query)
            | Q(person__document_number__icontains=query)
        )
    return qs


def notifications_due_for_deeming(*, today: dt.date) -> QuerySet[Notification]:
    """Unopened legal notifications whose last day (``deemed_on``, the Nth business day) is over: they take
    effect at 00:00 of the day after, so only those with ``deemed_on`` strictly before ``today``."""
    return Notification.objects.filter(
        legal=True, effective_at__isnull=True, first_opened_at__isnull=True, deemed_on__lt=today
    ).select_related("institution")


# -- templates and keys --------------------------------------------------------------------------------


def _scoped(qs: QuerySet[Any], institution_ids: set[int] | None) -> QuerySet[Any]:
    return qs if institution_ids is None else qs.filter(institution_id__in=institution_ids)


def template_list(*, institution_ids: set[int] | None) -> QuerySet[MessageTemplate]:
    return _scoped(MessageTemplate.objects.select_related("institution"), institution_ids).order_by(
        "institution__name", "name"
    )


def template_get(*, institution_ids: set[int] | None, template_id: Any) -> MessageTemplate:
    try:
        wanted = uuid.UUID(str(template_id))
    except (TypeError, ValueError, AttributeError):
        raise NotFound(message="Plantilla no encontrada.") from None
    found = template_list(institution_ids=institution_ids).filter(pk=wanted).first()
    if found is None:
        raise NotFound(message="Plantilla no encontrada.")
    return found


def api_key_list(*, institution_ids: set[int] | None) -> QuerySet[ApiKey]:
    return _scoped(ApiKey.objects.select_related("institution", "created_by"), institution_ids)


def api_key_get(*, institution_ids: set[int] | None, key_id: int) -> ApiKey:
    found = api_key_list(institution_ids=institution_ids).filter(pk=key_id).first()
    if found is None:
        raise NotFound(message="Clave no encontrada.")
    return found


EVIDENCE_HASH_VERSION = 2


def evidence_hash(
    *,
    version: int,
    subject: str,
    body: str,
    attachment_hashes: Sequence[str],
    uuid_value: Any = None,
    institution_code: str = "",
    recipient: tuple[str, str, str] = ("", "", ""),
    case_reference: str = "",
    legal: bool = False,
    available_at: dt.datetime | None = None,
) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of a notification's evidence.

    v1 (notifications sent before v2): ``{"subject", "body", "attachments"}``.
    v2: ``{"v": 2, "uuid", "institution" (code), "recipient": {"document_type", "document_number",
    "document_complement"}, "case_reference", "legal", "available_at" (ISO 8601, UTC, microseconds),
    "subject", "body", "attachments"}`` — so the hash also proves who sent it, to whom, about which case,
    with which legal effect, and when it was made available. Attachments: their SHA-256, sorted."""
    data: dict[str, Any] = {"subject": subject, "body": body, "attachments": sorted(attachment_hashes)}
    if version >= 2:
        if available_at is None:
            raise ValueError("available_at is required for evidence hash v2")
        data.update(
            {
                "v": 2,
                "uuid": str(uuid_value),
                "institution": institution_code,
                "recipient": {
                    "document_type": recipient[0],
                    "document_number": recipient[1],
                    "document_complement": recipient[2],
                },
                "case_reference": case_reference,
                "legal": bool(legal),
                "available_at": available_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            }
        )
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def notification_evidence_hash(notification: Notification, *, version: int | None = None) -> str:
    """The evidence hash recomputed from the stored notification (its version unless ``version``)."""
    person = notification.person
    return evidence_hash(
        version=notification.content_hash_version if version is None else version,
        subject=notification.subject,
        body=notification.body,
        attachment_hashes=[d.sha256 for d in notification.documents.all()],
        uuid_value=notification.uuid,
        institution_code=notification.institution.code,
        recipient=(person.document_type, person.document_number, person.document_complement),
        case_reference=notification.case_reference,
        legal=notification.legal,
        available_at=notification.available_at,
    )


def notification_hash_verifies(notification: Notification) -> bool:
    """Whether the stored evidence hash still matches the stored notification (v1 and v2 alike)."""
    return hmac.compare_digest(notification_evidence_hash(notification), notification.content_hash)


def notification_evidence(notification: Notification) -> dict[str, Any]:
    """The evidence trail of a notification, as the API and the back office show it."""
    constancia = notification.constancia
    base = settings.VENTANILLA_PUBLIC_URL.rstrip("/")
    return {
        "content_hash": notification.content_hash,
        "hash_algorithm": "sha256",
        "hash_version": notification.content_hash_version,
        "hash_verified": notification_hash_verifies(notification),
        "available_at": notification.available_at,
        "first_opened_at": notification.first_opened_at,
        "effective_at": notification.effective_at,
        "effect_reason": notification.effect_reason or None,
        "effect_rule": notification.effect_rule or None,
        "deemed_on": notification.deemed_on,
        "constancia": (
            {
                "code": constancia.code,
                "sha256": constancia.sha256,
                "signed": bool(getattr(constancia, "signed", False)),
                "verify_url": base + constancia.verify_path,
            }
            if constancia is not None
            else None
        ),
    }


# -- outbox --------------------------------------------------------------------------------------------


def outbox_message_get(*, institution_id: int, message_id: Any) -> OutboxMessage:
    try:
        wanted = uuid.UUID(str(message_id))
    except (TypeError, ValueError, AttributeError):
        raise NotFound(message="No result found") from None
    found = (
        OutboxMessage.objects.select_related("template")
        .filter(institution_id=institution_id, pk=wanted, api_key__isnull=False)
        .first()
    )
    if found is None:
        raise NotFound(message="No result found")
    return found


def outbox_message_list_for_api(
    *,
    institution_id: int,
    channel: str = "",
    statuses: list[str] | None = None,
    reference: str = "",
    older_than: OutboxMessage | None = None,
    limit: int = 250,
) -> list[OutboxMessage]:
    """Messages an institution sent through the Notify-compatible API, newest first."""
    qs = OutboxMessage.objects.select_related("template").filter(
        institution_id=institution_id, api_key__isnull=False
    )
    if channel:
        qs = qs.filter(channel=channel)
    if statuses:
        qs = qs.filter(status__in=statuses)
    if reference:
        qs = qs.filter(reference=reference)
    if older_than is not None:
        qs = qs.filter(
            Q(created_at__lt=older_than.created_at)
            | Q(created_at=older_than.created_at, pk__lt=older_than.pk)
        )
    return list(qs.order_by("-created_at", "-pk")[:limit])


def outbox_list_for_institutions(
    *, institution_ids: set[int] | None, status: str = ""
) -> QuerySet[OutboxMessage]:
    """The outbox of the institutions (the platform's own messages only for the agency), newest first."""
    qs = OutboxMessage.objects.select_related("institution", "template").order_by("-created_at", "-pk")
    if institution_ids is not None:
        qs = qs.filter(institution_id__in=institution_ids)
    if status in OutboxMessage.Status.values:
        qs = qs.filter(status=status)
    return qs


def outbox_find(*, institution_id: int, message_id: Any) -> OutboxMessage | None:
    try:
        return OutboxMessage.objects.filter(
            institution_id=institution_id, pk=uuid.UUID(str(message_id))
        ).first()
    except (TypeError, ValueError, AttributeError):
        return None


def outbox_due_ids(*, now: dt.datetime | None = None, limit: int = 500) -> list[Any]:
    """Messages a worker should (re)try now: queued and due, or stuck in «sending» past their lease."""
    now = now or timezone.now()
    S = OutboxMessage.Status
    return list(
        OutboxMessage.objects.filter(
            (Q(status=S.QUEUED) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)))
            | (Q(status=S.SENDING) & (Q(locked_until__isnull=True) | Q(locked_until__lt=now)))
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
