from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ventanilla.catalog.imports import ImportFailed, catalog_import_file


class Command(BaseCommand):
    help = "Importa trámites desde un archivo CSV o JSON (todo o nada; informa errores por línea)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        if not path.exists():
            raise CommandError(f"No existe el archivo {path}")
        try:
            report = catalog_import_file(actor=None, filename=path.name, content=path.read_bytes())
        except ImportFailed as exc:
            for error in exc.report.errors:
                self.stderr.write(
                    f"{error.location}: {error.message}" + (f" [{error.field}]" if error.field else "")
                )
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.total} trámites: {report.created} nuevos, {report.updated} actualizados, "
                f"{report.unchanged} sin cambios."
            )
        )
