import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ventanilla.catalog.imports import export_csv, export_records
from ventanilla.catalog.selectors import export_queryset


class Command(BaseCommand):
    help = "Exporta el catálogo publicado como JSON o CSV a la salida estándar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("--institution", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        procedures = export_queryset(institution=options["institution"])
        if options["format"] == "csv":
            self.stdout.write(export_csv(procedures), ending="")
        else:
            self.stdout.write(json.dumps(export_records(procedures), ensure_ascii=False, indent=2))
