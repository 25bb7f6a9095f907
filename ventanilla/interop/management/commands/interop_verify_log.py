"""Verify the whole message-log hash chain and the seals; exit 1 and name the first tampered entry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ventanilla.interop.services import chain_verify


class Command(BaseCommand):
    help = "Verifica la cadena de hashes del registro de mensajes de interoperabilidad y sus sellos."

    def handle(self, *args: Any, **options: Any) -> None:
        report = chain_verify()
        for warning in report.warnings:
            self.stderr.write(self.style.WARNING(warning))
        if not report.ok:
            raise CommandError(
                f"Registro alterado: primera entrada con problemas #{report.first_bad_seq}: {report.problem} "
                f"({report.entries} entradas revisadas)."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Cadena íntegra: {report.entries} entradas, {report.seals} sellos verificados."
            )
        )
