from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ventanilla.core.errors import DomainError
from ventanilla.demo.loader import load_all


class Command(BaseCommand):
    help = (
        "Carga (o actualiza) los datos de demostración de todos los módulos. Se puede repetir sin duplicar."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            lines = load_all()
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("Datos de demostración listos."))
