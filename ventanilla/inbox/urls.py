from django.urls import path

from . import notify, views

app_name = "inbox"

urlpatterns = [
    # Mi cuenta: the person's legal inbox
    path("cuenta/notificaciones/", views.account_notification_list, name="account-notification-list"),
    path(
        "cuenta/notificaciones/<str:notification_id>/",
        views.account_notification_detail,
        name="account-notification-detail",
    ),
    path(
        "cuenta/notificaciones/<str:notification_id>/documentos/<str:code>.pdf",
        views.account_notification_document,
        name="account-notification-document",
    ),
    path(
        "cuenta/notificaciones/<str:notification_id>/archivar/",
        views.account_notification_archive,
        name="account-notification-archive",
    ),
    # Back office
    path("gestion/notificaciones/", views.manage_notification_list, name="manage-notification-list"),
    path("gestion/notificaciones/nueva/", views.manage_notification_new, name="manage-notification-new"),
    path("gestion/notificaciones/plantillas/", views.manage_template_list, name="manage-template-list"),
    path("gestion/notificaciones/plantillas/nueva/", views.manage_template_edit, name="manage-template-new"),
    path(
        "gestion/notificaciones/plantillas/<str:template_id>/",
        views.manage_template_edit,
        name="manage-template-edit",
    ),
    path("gestion/notificaciones/mensajes/", views.manage_outbox, name="manage-outbox"),
    path("gestion/notificaciones/claves/", views.manage_api_keys, name="manage-api-keys"),
    path(
        "gestion/notificaciones/claves/<int:key_id>/revocar/",
        views.manage_api_key_revoke,
        name="manage-api-key-revoke",
    ),
    path(
        "gestion/notificaciones/<str:notification_id>/",
        views.manage_notification_detail,
        name="manage-notification-detail",
    ),
    # GOV.UK Notify-compatible API
    path("v2/notifications/email", notify.post_email, name="notify-email"),
    path("v2/notifications/sms", notify.post_sms, name="notify-sms"),
    path("v2/notifications/letter", notify.post_letter, name="notify-letter"),
    path("v2/notifications", notify.get_notifications, name="notify-list"),
    path("v2/notifications/<str:notification_id>", notify.get_notification, name="notify-detail"),
]
