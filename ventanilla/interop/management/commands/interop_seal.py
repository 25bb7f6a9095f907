"""Sign the current head of the message-log chain (run it periodically, e.g. every 10 minutes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ventanilla.core.errors import DomainError
from ventanilla.interop.services import chain_seal


class Command(BaseCommand):
    help = "Firma la cabeza de la cadena del registro de mensajes de interoperabilidad."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            seal = chain_seal(actor=None)
        except DomainError as error:
            raise CommandError(error.message) from error
        if seal is None:
            self.stdout.write("Nada que sellar (registro vacío o cabeza ya sellada).")
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Sellada la entrada #{seal.seq} ({seal.entry_hash[:16]}…).")
            )
