"""Ciudadanía Digital pages. Mounted at the site root (``path("", include("ventanilla.identity.urls"))``):
citizen pages live under ``cuenta/``, the registrar's desk under ``gestion/``. OIDC endpoints have their own
URL module."""

from django.urls import path

from . import client_views, views

app_name = "identity"

urlpatterns = [
    # sign-in, sign-out, registration
    path("cuenta/ingresar/", views.login_view, name="login"),
    path("cuenta/ingresar/codigo/", views.login_mfa, name="login-mfa"),
    path("cuenta/salir/", views.logout_view, name="logout"),
    path("cuenta/registro/", views.register, name="register"),
    path("cuenta/verificar-contacto/", views.contact_verify, name="contact-verify"),
    # Mi cuenta
    path("cuenta/", views.account, name="account"),
    path("cuenta/contrasena/cambiar/", views.password_change, name="password-change"),
    path("cuenta/contrasena/recuperar/", views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "cuenta/contrasena/recuperar/enviado/",
        views.PasswordResetDoneView.as_view(),
        name="password-reset-done",
    ),
    path(
        "cuenta/contrasena/restablecer/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "cuenta/contrasena/restablecida/",
        views.PasswordResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
    path("cuenta/seguridad/dos-pasos/", views.mfa, name="mfa"),
    path("cuenta/seguridad/dos-pasos/activar/", views.mfa_enrol, name="mfa-enrol"),
    path("cuenta/sesiones/", views.session_list, name="session-list"),
    path("cuenta/sesiones/cerrar/", views.session_end, name="session-end"),
    path("cuenta/sesiones/cerrar-otras/", views.session_end_others, name="session-end-others"),
    path("cuenta/aplicaciones/", views.consent_list, name="consent-list"),
    path("cuenta/aplicaciones/revocar/", views.consent_withdraw, name="consent-withdraw"),
    path("cuenta/uso-de-mis-datos/", views.data_use_list, name="data-use-list"),
    path("cuenta/verificacion/registro-civil/", views.civil_registry_verify, name="civil-registry-verify"),
    path("cuenta/verificacion/codigo-presencial/", views.in_person_code, name="in-person-code"),
    # back office: identity proofing by a registrar (clerk)
    path("gestion/registro-identidad/", views.registrar, name="registrar"),
    # back office: institutions' relying-party applications, reviewed by the agency
    *client_views.urlpatterns,
]
