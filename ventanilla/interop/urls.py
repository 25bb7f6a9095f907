from django.urls import path

from . import providers, views

app_name = "interop"

META = "interop/r1/meta/"
SERVICE = "<str:member>/<str:subsystem>/<str:service>"

urlpatterns = [
    # Metaservices first: they share the /interop/r1/ prefix with the mediator.
    path(f"{META}members", views.meta_members, name="meta-members"),
    path(f"{META}allowed", views.meta_allowed, name="meta-allowed"),
    path(f"{META}<str:member>/<str:subsystem>/services", views.meta_services, name="meta-services"),
    path(f"{META}{SERVICE}/openapi", views.meta_openapi, name="meta-openapi"),
    # The mediator.
    path(f"interop/r1/{SERVICE}", views.mediate, name="mediate-root"),
    path(f"interop/r1/{SERVICE}/<path:path>", views.mediate, name="mediate"),
    # Public catalogue.
    path("interoperabilidad/", views.catalogue, name="catalogue"),
    path(f"interoperabilidad/servicios/{SERVICE}/", views.catalogue_service, name="catalogue-service"),
    path(
        f"interoperabilidad/servicios/{SERVICE}/openapi.json",
        views.catalogue_openapi,
        name="catalogue-openapi",
    ),
    # Mi cuenta.
    path("cuenta/consentimientos/", views.consent_list, name="consent-list"),
    path("cuenta/consentimientos/<int:pk>/retirar/", views.consent_withdraw, name="consent-withdraw"),
    # Back office.
    path("gestion/interoperabilidad/", views.manage_index, name="manage-index"),
    path(
        "gestion/interoperabilidad/subsistemas/nuevo/",
        views.manage_subsystem_form,
        name="manage-subsystem-new",
    ),
    path("gestion/interoperabilidad/subsistemas/<int:pk>/", views.manage_subsystem, name="manage-subsystem"),
    path(
        "gestion/interoperabilidad/subsistemas/<int:pk>/editar/",
        views.manage_subsystem_form,
        name="manage-subsystem-edit",
    ),
    path(
        "gestion/interoperabilidad/subsistemas/<int:pk>/credenciales/",
        views.manage_subsystem_client,
        name="manage-subsystem-client",
    ),
    path(
        "gestion/interoperabilidad/subsistemas/<int:subsystem_pk>/servicios/nuevo/",
        views.manage_service_form,
        name="manage-service-new",
    ),
    path("gestion/interoperabilidad/servicios/<int:pk>/", views.manage_service, name="manage-service"),
    path(
        "gestion/interoperabilidad/servicios/<int:pk>/editar/",
        views.manage_service_form,
        name="manage-service-edit",
    ),
    path(
        "gestion/interoperabilidad/servicios/<int:pk>/secreto/",
        views.manage_service_secret,
        name="manage-service-secret",
    ),
    path(
        "gestion/interoperabilidad/accesos/solicitar/",
        views.manage_access_request,
        name="manage-access-request",
    ),
    path(
        "gestion/interoperabilidad/accesos/<int:pk>/<str:action>/",
        views.manage_access_decide,
        name="manage-access-decide",
    ),
    # Demo provider registries (real provider services behind the mediator).
    path(
        "registros-demo/registro-civil/v1/personas/<str:document>",
        providers.civil_registry_person,
        name="demo-civil-person",
    ),
    path(
        "registros-demo/registro-comercio/v1/empresas/<str:tax_id>",
        providers.company_registry_company,
        name="demo-company",
    ),
]
