"""Reads of the inbox app: a person's notifications, an institution's sent notifications, templates,
API keys, outbox messages, and the callers of the two APIs (OAuth2 bearer, Notify JWT)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from ventanilla.core.countries.base import NOTIFY_ON_DELIVERY, NOTIFY_ON_OPEN_OR_DAYS
from ventanilla.core.errors import NotFound
from ventanilla.core.models import Role
from ventanilla.core.permissions import institutions_with_role, is_platform_admin

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


def api_caller_for_token(token: str) -> ApiCaller | None:
    """The institution behind an OAuth2 bearer token: a valid, unexpired token of an approved client."""
    if not token:
        return None
    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
    access = (
        get_access_token_model()
        .objects.select_related("application__registration")
        .filter(token_checksum=checksum)
        .first()
    )
    if access is None or access.is_expired() or access.application is None:
        return None
    registration = getattr(access.application, "registration", None)
    if registration is None or registration.status != "aprobada":
        return None
    return ApiCaller(institution_id=registration.institution_id, label=f"api:{access.application.client_id}")


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
        Notification.objects.select_related("institution")
        .prefetch_related("documents")
        .filter(person_id=person_id, uuid=_parse_uuid(notification_uuid))
        .first()
    )
    if found is None:
        raise NotFound(message="Notificación no encontrada.")
    return found


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
    return Notification.objects.filter(
        legal=True, effective_at__isnull=True, first_opened_at__isnull=True, deemed_on__lte=today
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


def notification_evidence(notification: Notification) -> dict[str, Any]:
    """The evidence trail of a notification, as the API and the back office show it."""
    constancia = notification.constancia
    base = settings.VENTANILLA_PUBLIC_URL.rstrip("/")
    return {
        "content_hash": notification.content_hash,
        "hash_algorithm": "sha256",
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
