from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CatalogConfig(AppConfig):
    name = "ventanilla.catalog"
    label = "catalog"
    verbose_name = "Portal de Trámites"

    def ready(self) -> None:
        from .signals import ensure_reference_data

        post_migrate.connect(ensure_reference_data, sender=self)
