"""List (or delete) stored document files without a row, left by rolled-back transactions."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ventanilla.documents import services


class Command(BaseCommand):
    help = "Lista (o borra con --delete) archivos de documentos sin registro en la base de datos."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--delete", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        found = services.orphan_files(delete=options["delete"])
        for path in found:
            self.stdout.write(path)
        self.stdout.write(f"{len(found)} archivos huérfanos{' borrados' if options['delete'] else ''}.")
