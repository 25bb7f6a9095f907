"""Technical admin (read-only): the operator inspects the outbox and the evidence; services write."""

from typing import Any

from django.contrib import admin

from .models import ApiKey, DeliveryAttempt, MessageTemplate, Notification, OutboxMessage


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("number", "started_at", "finished_at", "outcome", "error", "provider_reference")

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "channel", "to", "institution", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "channel")
    search_fields = ("to", "reference", "provider_reference")
    exclude = ("body",)  # message content stays out of the operator's screen
    inlines = [DeliveryAttemptInline]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = (
        "available_at",
        "institution",
        "legal",
        "first_opened_at",
        "effective_at",
        "effect_reason",
    )
    list_filter = ("legal", "effect_reason")
    search_fields = ("uuid", "case_reference", "content_hash")
    exclude = ("subject", "body")


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ReadOnlyAdmin):
    list_display = ("name", "institution", "channel", "version", "is_active")


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ("name", "institution", "service_id", "created_at", "last_used_at", "revoked_at")
    exclude = ("secret_encrypted",)
