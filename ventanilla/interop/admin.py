"""Technical admin of the interop app: read-only views (every write goes through the services and the
back office, so it is audited; the message log is append-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import AccessRight, ChainSeal, InteropConsent, Member, MessageLogEntry, Service, Subsystem


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Member)
class MemberAdmin(ReadOnlyAdmin):
    list_display = ("institution", "created_at")


@admin.register(Subsystem)
class SubsystemAdmin(ReadOnlyAdmin):
    list_display = ("identifier", "name", "kind", "status")
    list_select_related = ("member__institution",)


@admin.register(Service)
class ServiceAdmin(ReadOnlyAdmin):
    list_display = ("identifier", "name", "status", "needs_consent", "confidential_by_law")
    list_select_related = ("subsystem__member__institution",)
    exclude = ("provider_secret",)


@admin.register(AccessRight)
class AccessRightAdmin(ReadOnlyAdmin):
    list_display = ("consumer", "service", "status", "expires_at")
    list_select_related = ("consumer__member__institution", "service__subsystem__member__institution")


@admin.register(InteropConsent)
class InteropConsentAdmin(ReadOnlyAdmin):
    list_display = ("person", "consumer", "service", "purpose", "granted_at", "withdrawn_at")


@admin.register(MessageLogEntry)
class MessageLogEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "seq",
        "created_at",
        "client",
        "service_id_text",
        "method",
        "status",
        "outcome",
        "latency_ms",
    )
    exclude = ("request_body", "response_body")


@admin.register(ChainSeal)
class ChainSealAdmin(ReadOnlyAdmin):
    list_display = ("seq", "created_at", "entry_hash")
