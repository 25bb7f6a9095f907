"""Technical admin (for the platform operator). Editors use the back office at /gestion/, not this."""

from django.contrib import admin

from .models import Category, LifeEvent, Procedure, Simplification


@admin.register(Category, LifeEvent)
class ReferenceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "order")


@admin.register(Procedure)
class ProcedureAdmin(admin.ModelAdmin):
    list_display = ("name", "institution", "status", "digitisation_level", "updated_at")
    list_filter = ("status", "digitisation_level", "category")
    search_fields = ("name", "slug")
    readonly_fields = [f.name for f in Procedure._meta.concrete_fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False  # every write goes through the services (back office, API, import)


@admin.register(Simplification)
class SimplificationAdmin(admin.ModelAdmin):
    list_display = ("procedure", "date", "legal_act")
    readonly_fields = [f.name for f in Simplification._meta.concrete_fields]
