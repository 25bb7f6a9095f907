from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.urls import include, path

from ventanilla.core import metrics as core_metrics
from ventanilla.core import views as core_views

from .api import api

admin.site.site_header = "Ventanilla — administración técnica"
# The technical admin has no sign-in of its own: it uses the platform's (lockout, MFA, session list).
admin.site.login = lambda request, extra_context=None: redirect_to_login(request.get_full_path())  # type: ignore[method-assign]
admin.site.site_title = "Ventanilla"

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("ventanilla.identity.urls")),
    path("", include("ventanilla.identity.oidc_urls")),
    path("admin/", admin.site.urls),
    path("health/live", core_views.health_live, name="health-live"),
    path("health/ready", core_views.health_ready, name="health-ready"),
    path("metrics", core_metrics.metrics_view, name="metrics"),
    path("", include("ventanilla.documents.urls")),
    path("", include("ventanilla.inbox.urls")),
    path("", include("ventanilla.cases.urls")),
    path("", include("ventanilla.interop.urls")),
    path("", include("ventanilla.catalog.urls")),
]

handler404 = "ventanilla.core.views.page_not_found"
handler500 = "ventanilla.core.views.server_error"
handler403 = "ventanilla.core.views.permission_denied"
handler400 = "ventanilla.core.views.bad_request"
