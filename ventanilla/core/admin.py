from django.contrib import admin

from .models import AuditEntry, Closure, Institution, Membership, Office


class OfficeInline(admin.TabularInline):
    model = Office
    extra = 0


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "department", "is_active")
    list_filter = ("level", "is_active")
    search_fields = ("code", "name", "acronym")
    inlines = [OfficeInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "institution")
    list_filter = ("role",)
    raw_id_fields = ("user", "institution")


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = ("date", "institution", "office", "reason")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor_label", "action", "target_type", "target_repr", "ip_address")
    list_filter = ("action",)
    search_fields = ("actor_label", "target_repr", "target_id", "request_id")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
