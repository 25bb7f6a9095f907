"""Technical admin (read-only): documents, approval requests, signing keys and trust roots. Every write goes
through the services (issue, revoke, approve, documents_key_import); private keys are never shown."""

from typing import Any

from django.contrib import admin

from .models import ApprovalRequest, CertificateAuthority, Document, SigningKey


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ("code", "kind", "title", "institution", "status", "issued_at")
    list_filter = ("kind", "status")
    search_fields = ("code", "reference")


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "title", "institution", "status", "created_at", "callback_status")
    list_filter = ("status", "callback_status")
    search_fields = ("public_id", "reference")


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ("institution", "is_active", "is_development", "not_after", "created_at")
    exclude = ("private_key_encrypted",)


@admin.register(CertificateAuthority)
class CertificateAuthorityAdmin(ReadOnlyAdmin):
    list_display = ("name", "is_development", "created_at")
    exclude = ("private_key_encrypted",)
