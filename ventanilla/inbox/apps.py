from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "ventanilla.inbox"
    label = "inbox"
    verbose_name = "Notificaciones electrónicas"
