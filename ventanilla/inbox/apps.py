from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "ventanilla.inbox"
    label = "inbox"
    verbose_name = "Notificaciones electrónicas"

    def ready(self) -> None:
        from . import checks  # noqa: F401 — registers the outbox lease check
