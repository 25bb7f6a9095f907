"""Create the development CA («Ventanilla CA de desarrollo») and a signing key per active institution."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ventanilla.core.errors import DomainError
from ventanilla.core.models import Institution
from ventanilla.documents import services


class Command(BaseCommand):
    help = "Crea la CA de desarrollo y una clave de firma por institución (solo con DOCUMENTS_DEV_CA)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--institution", action="append", default=[], help="Código de institución (repetible)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ids = None
        if options["institution"]:
            ids = list(
                Institution.objects.filter(code__in=options["institution"]).values_list("pk", flat=True)
            )
        try:
            count = services.dev_keys_ensure(actor=None, institution_ids=ids)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Claves de firma de desarrollo listas para {count} instituciones.")
