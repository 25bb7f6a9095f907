"""Reads of the interop app: who is calling (bearer token → subsystem), what they may call, the catalogue,
the metaservices' answers, back-office lists scoped to the user's institutions, and monitoring figures."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from ventanilla.core.models import Institution
from ventanilla.core.permissions import editable_institution_ids
from ventanilla.identity.account_selectors import document_parse, person_find_by_document, person_for_user

from .models import AccessRight, InteropConsent, Member, MessageLogEntry, Service, Subsystem

CLIENT_CREDENTIALS = "client-credentials"
REGISTRATION_APPROVED = "aprobada"  # identity ClientRegistration.Status.APPROVED


# -- callers ----------------------------------------------------------------------------------------------


def subsystem_for_token(raw_token: str) -> Subsystem | None:
    """The active subsystem a valid client-credentials access token belongs to, else None."""
    if not raw_token:
        return None
    checksum = hashlib.sha256(raw_token.encode("utf-8")).hexdigest()
    token = (
        get_access_token_model()
        .objects.select_related("application__registration")
        .filter(token_checksum=checksum)
        .first()
    )
    if token is None or token.is_expired() or token.user_id is not None:
        return None
    application = token.application
    if application is None or application.authorization_grant_type != CLIENT_CREDENTIALS:
        return None
    # A client the agency suspended stops at once, even with a token issued before.
    registration = getattr(application, "registration", None)
    if registration is None or registration.status != REGISTRATION_APPROVED:
        return None
    return (
        Subsystem.objects.select_related("member__institution")
        .filter(oauth_application_id=application.pk, status=Subsystem.Status.ACTIVE)
        .first()
    )


def subsystem_by_identifier(identifier: str) -> Subsystem | None:
    member_code, _, code = (identifier or "").strip().partition("/")
    if not member_code or not code or "/" in code:
        return None
    return (
        Subsystem.objects.select_related("member__institution")
        .filter(member__institution__code=member_code, code=code)
        .first()
    )


def service_by_identifier(identifier: str, *, active_only: bool = True) -> Service | None:
    parts = (identifier or "").strip().split("/")
    if len(parts) != 3 or not all(parts):
        return None
    services = Service.objects.select_related("subsystem__member__institution").filter(
        subsystem__member__institution__code=parts[0], subsystem__code=parts[1], code=parts[2]
    )
    if active_only:
        services = services.filter(status=Service.Status.ACTIVE, subsystem__status=Subsystem.Status.ACTIVE)
    return services.first()


@dataclass(frozen=True)
class RightCheck:
    right: AccessRight | None
    reason: str  # "" when in force; else none / expired / revoked / operation / purpose
    purpose: str = ""  # the right's purpose the call's purpose matched


def path_pattern_regex(pattern: str) -> re.Pattern[str]:
    """An operation pattern as a regular expression: ``*`` matches within one path segment (never a
    «/»), ``**`` matches across segments, ``?`` one character of a segment; the rest is literal."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def operation_allowed(right: AccessRight, method: str, path: str) -> bool:
    """``path`` is the decoded, normalised path (the mediator refuses any other)."""
    operations = right.operation_list()
    if not operations:
        return True
    path = path or "/"
    return any(
        (allowed_method in ("*", method.upper())) and path_pattern_regex(pattern).fullmatch(path) is not None
        for allowed_method, pattern in operations
    )


def purpose_match(purpose: str, allowed: list[str]) -> str | None:
    """The allowed purpose the call's purpose is bound to, or None. Normalised (spaces, case): equal, or
    the allowed purpose followed by «:» and a detail (a right for «Trámite» covers «Trámite: Licencia»)."""
    wanted = normalize_purpose(purpose)
    if not wanted:
        return None
    for candidate in allowed:
        norm = normalize_purpose(candidate)
        if norm and (wanted == norm or wanted.startswith(norm + ":")):
            return candidate
    return None


def access_right_check(
    *, consumer: Subsystem, service: Service, method: str, path: str, purpose: str | None = None
) -> RightCheck:
    """The consumer's right in force on this operation (and, when given, this purpose), or why there is
    none."""
    now = timezone.now()
    rights = list(AccessRight.objects.filter(consumer=consumer, service=service).order_by("-created_at"))
    in_force = [r for r in rights if r.is_in_force(now)]
    operation_ok = [r for r in in_force if operation_allowed(r, method, path)]
    for right in operation_ok:
        if purpose is None:
            return RightCheck(right, "")
        matched = purpose_match(purpose, right.purpose_list())
        if matched is not None:
            return RightCheck(right, "", matched)
    if operation_ok:
        return RightCheck(None, "purpose")
    if in_force:
        return RightCheck(None, "operation")
    if any(r.status == AccessRight.Status.APPROVED for r in rights):
        return RightCheck(None, "expired")
    if any(r.status == AccessRight.Status.REVOKED for r in rights):
        return RightCheck(None, "revoked")
    return RightCheck(None, "none")


def subject_document(subject: str) -> Any:
    """``CI-1234567``, ``CI-1234567-1A``, or just ``1234567`` / ``1234567-1A`` (the country's first
    document type) → a parsed document, or None when it is not valid."""
    parts = (subject or "").strip().upper().split("-")
    if not parts or not parts[0]:
        return None
    if parts[0].isdigit():
        types = getattr(settings.COUNTRY_PACK, "document_types", None) or []
        default = getattr(types[0], "code", "CI") if types else "CI"
        parts = [default, *parts]
    doc_type, number, complement = parts[0], parts[1] if len(parts) > 1 else "", "-".join(parts[2:])
    if not number:
        return None
    document, _errors = document_parse(doc_type, number, complement)
    return document


def person_id_for_subject(subject: str) -> int | None:
    document = subject_document(subject)
    if document is None:
        return None
    person = person_find_by_document(document=document)
    return person.pk if person else None


def normalize_purpose(purpose: str) -> str:
    return " ".join((purpose or "").split()).casefold()


def consent_in_force(*, person_id: int, consumer: Subsystem, service: Service, purpose: str) -> bool:
    """A consent in force for this consumer, service and purpose (bound like a right's purposes)."""
    now = timezone.now()
    return any(
        consent.is_valid(now)
        and purpose_match(purpose, consent.purpose.replace(";", "\n").splitlines()) is not None
        for consent in InteropConsent.objects.filter(person_id=person_id, consumer=consumer, service=service)
    )


# -- metaservices ------------------------------------------------------------------------------------------


def member_list() -> QuerySet[Member]:
    return (
        Member.objects.select_related("institution")
        .prefetch_related("subsystems")
        .order_by("institution__code")
    )


def subsystem_services(*, member_code: str, subsystem_code: str) -> list[Service] | None:
    subsystem = subsystem_by_identifier(f"{member_code}/{subsystem_code}")
    if subsystem is None:
        return None
    return list(
        Service.objects.select_related("subsystem__member__institution").filter(
            subsystem=subsystem, status=Service.Status.ACTIVE
        )
    )


def allowed_services(*, consumer: Subsystem) -> list[tuple[Service, AccessRight]]:
    now = timezone.now()
    rights = (
        AccessRight.objects.select_related("service__subsystem__member__institution")
        .filter(consumer=consumer, status=AccessRight.Status.APPROVED, service__status=Service.Status.ACTIVE)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by(
            "service__subsystem__member__institution__code", "service__subsystem__code", "service__code"
        )
    )
    return [(right.service, right) for right in rights]


# -- public catalogue ---------------------------------------------------------------------------------------


def public_service_list(*, q: str = "", institution: str = "") -> QuerySet[Service]:
    services = Service.objects.select_related("subsystem__member__institution").filter(
        status=Service.Status.ACTIVE, subsystem__status=Subsystem.Status.ACTIVE
    )
    if institution:
        services = services.filter(subsystem__member__institution__code=institution)
    for word in (q or "").split()[:8]:
        services = services.filter(
            Q(name__icontains=word)
            | Q(description__icontains=word)
            | Q(code__icontains=word)
            | Q(personal_data__icontains=word)
            | Q(subsystem__name__icontains=word)
            | Q(subsystem__member__institution__name__icontains=word)
            | Q(subsystem__member__institution__code__icontains=word)
        )
    return services


def public_service_get(identifier: str) -> Service:
    service = service_by_identifier(identifier)
    if service is None:
        raise Http404
    return service


def service_consumers(*, service: Service) -> list[AccessRight]:
    """Who may consult a service now, and why (public: the State's exchanges are not secret)."""
    now = timezone.now()
    return list(
        AccessRight.objects.select_related("consumer__member__institution")
        .filter(service=service, status=AccessRight.Status.APPROVED)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("consumer__member__institution__name", "consumer__code")
    )


def member_institutions() -> QuerySet[Institution]:
    return Institution.objects.filter(interop_member__isnull=False).order_by("name")


# -- back office ------------------------------------------------------------------------------------------


def managed_institution_ids(actor: Any) -> set[int] | None:
    """Institutions whose subsystems and services the user manages; None: all (platform agency)."""
    return editable_institution_ids(actor)


def _scoped(queryset: QuerySet[Any], actor: Any, lookup: str) -> QuerySet[Any]:
    ids = managed_institution_ids(actor)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{lookup}__in": ids})


def subsystem_list_for_actor(*, actor: Any) -> QuerySet[Subsystem]:
    return _scoped(
        Subsystem.objects.select_related("member__institution", "oauth_application"),
        actor,
        "member__institution_id",
    )


def subsystem_get_for_actor(*, actor: Any, pk: int) -> Subsystem:
    subsystem = subsystem_list_for_actor(actor=actor).filter(pk=pk).first()
    if subsystem is None:
        raise Http404
    return subsystem


def service_list_for_actor(*, actor: Any) -> QuerySet[Service]:
    return _scoped(
        Service.objects.select_related("subsystem__member__institution"),
        actor,
        "subsystem__member__institution_id",
    )


def service_get_for_actor(*, actor: Any, pk: int) -> Service:
    service = service_list_for_actor(actor=actor).filter(pk=pk).first()
    if service is None:
        raise Http404
    return service


def access_right_list_for_actor(*, actor: Any) -> QuerySet[AccessRight]:
    """Rights on the user's services (to decide) and of the user's subsystems (requested)."""
    rights = AccessRight.objects.select_related(
        "service__subsystem__member__institution", "consumer__member__institution"
    )
    ids = managed_institution_ids(actor)
    if ids is None:
        return rights
    return rights.filter(
        Q(service__subsystem__member__institution_id__in=ids) | Q(consumer__member__institution_id__in=ids)
    )


def access_right_get_for_actor(*, actor: Any, pk: int) -> AccessRight:
    right = access_right_list_for_actor(actor=actor).filter(pk=pk).first()
    if right is None:
        raise Http404
    return right


def requestable_services() -> QuerySet[Service]:
    return Service.objects.select_related("subsystem__member__institution").filter(
        status=Service.Status.ACTIVE
    )


# -- monitoring ---------------------------------------------------------------------------------------------


def _percentile(values: list[int], fraction: float) -> int:
    if not values:
        return 0
    ordered = sorted(values)
    index = max(0, math.ceil(fraction * len(ordered)) - 1)
    return ordered[index]


@dataclass
class StatsRow:
    period: dt.datetime
    calls: int = 0
    errors: int = 0
    p50: int = 0
    p95: int = 0
    p99: int = 0
    latencies: list[int] = field(default_factory=list, repr=False)


@dataclass
class ServiceStats:
    days: int
    total_calls: int
    total_errors: int
    p50: int
    p95: int
    p99: int
    rows: list[StatsRow]
    outcomes: dict[str, int]


MONITOR_MAX_ROWS = 200_000


def service_stats(*, service: Service, days: int | None = None, by: str = "day") -> ServiceStats:
    """Calls, errors and latency percentiles per hour or day over the last ``days`` days (bounded read)."""
    days = days or settings.INTEROP_MONITOR_DAYS
    since = timezone.now() - dt.timedelta(days=days)
    entries = (
        MessageLogEntry.objects.filter(service=service, created_at__gte=since)
        .order_by("-seq")
        .values_list("created_at", "status", "outcome", "latency_ms")[:MONITOR_MAX_ROWS]
    )
    tz = timezone.get_current_timezone()
    buckets: dict[dt.datetime, StatsRow] = {}
    outcomes: dict[str, int] = defaultdict(int)
    latencies: list[int] = []
    errors = 0
    for created_at, status, outcome, latency in entries:
        local = created_at.astimezone(tz)
        key = local.replace(minute=0, second=0, microsecond=0)
        if by == "day":
            key = key.replace(hour=0)
        row = buckets.setdefault(key, StatsRow(period=key))
        row.calls += 1
        is_error = status >= 500 or outcome != "ok"
        if is_error:
            row.errors += 1
            errors += 1
        row.latencies.append(latency)
        latencies.append(latency)
        outcomes[outcome] += 1
    rows = sorted(buckets.values(), key=lambda r: r.period, reverse=True)
    for row in rows:
        row.p50, row.p95, row.p99 = (_percentile(row.latencies, f) for f in (0.5, 0.95, 0.99))
    return ServiceStats(
        days=days,
        total_calls=len(latencies),
        total_errors=errors,
        p50=_percentile(latencies, 0.5),
        p95=_percentile(latencies, 0.95),
        p99=_percentile(latencies, 0.99),
        rows=rows,
        outcomes=dict(sorted(outcomes.items())),
    )


def recent_log_entries(*, service: Service, limit: int = 20) -> list[MessageLogEntry]:
    return list(MessageLogEntry.objects.filter(service=service).order_by("-seq")[:limit])


# -- consents (Mi cuenta) ----------------------------------------------------------------------------------


def person_of(user: Any) -> Any:
    return person_for_user(user)


def consent_list(*, person_id: int) -> QuerySet[InteropConsent]:
    return InteropConsent.objects.filter(person_id=person_id).select_related(
        "consumer__member__institution", "service__subsystem__member__institution"
    )


def consent_offers() -> QuerySet[AccessRight]:
    """Approved rights on services that need the citizen's consent: what a citizen may consent to."""
    now = timezone.now()
    return (
        AccessRight.objects.select_related(
            "consumer__member__institution", "service__subsystem__member__institution"
        )
        .filter(
            status=AccessRight.Status.APPROVED,
            service__needs_consent=True,
            service__status=Service.Status.ACTIVE,
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("consumer__member__institution__name", "service__name")
    )


# -- demo providers ---------------------------------------------------------------------------------------


def demo_provider_secrets(*, registry: str, base_urls: list[str]) -> list[str]:
    """Secrets of the platform's own demo registry services of this kind (marked by the demo loader) whose
    base URL is exactly one of ``base_urls`` (the platform's own address + the registry's path): how a
    demo provider knows the mediator. Another institution's service pointing here gets nothing."""
    wanted = [url.rstrip("/") for url in base_urls if url]
    if not registry or not wanted:
        return []
    return list(
        Service.objects.filter(demo_registry=registry, base_url__in=wanted).values_list(
            "provider_secret", flat=True
        )
    )
