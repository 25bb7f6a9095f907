from django.contrib import admin
from django.urls import include, path

from ventanilla.core import views as core_views

from .api import api

admin.site.site_header = "Ventanilla — administración técnica"
admin.site.site_title = "Ventanilla"

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("ventanilla.identity.urls")),
    path("", include("ventanilla.identity.oidc_urls")),
    path("admin/", admin.site.urls),
    path("health/live", core_views.health_live, name="health-live"),
    path("health/ready", core_views.health_ready, name="health-ready"),
    path("", include("ventanilla.catalog.urls")),
]

handler404 = "ventanilla.core.views.page_not_found"
handler500 = "ventanilla.core.views.server_error"
handler403 = "ventanilla.core.views.permission_denied"
handler400 = "ventanilla.core.views.bad_request"
