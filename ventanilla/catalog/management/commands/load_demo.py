from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ventanilla.catalog.demo_loader import load_demo
from ventanilla.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Carga (o actualiza) los datos de demostración del país configurado. Se puede repetir sin duplicar."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = load_demo()
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Demostración: {report.institutions} instituciones, {report.offices} oficinas, "
                f"trámites {report.procedures_created} nuevos / {report.procedures_updated} actualizados / "
                f"{report.procedures_unchanged} sin cambios, {report.simplifications} simplificaciones, "
                f"{report.users} cuentas."
            )
        )
