"""Retry outbox messages that are due, or stuck in «sending» after a worker died (run every minute).
Also hands back approval callbacks (documents app) left pending: lost enqueue, dead worker, due retry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ventanilla.documents.services import approval_callbacks_sweep
from ventanilla.inbox.services import outbox_sweep


class Command(BaseCommand):
    help = (
        "Reencola (o envía con --inline) los mensajes pendientes o trabados de la bandeja de salida, y los "
        "avisos de aprobación de documentos pendientes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--inline", action="store_true", help="Enviar aquí mismo en vez de encolar.")

    def handle(self, *args: Any, **options: Any) -> None:
        count = outbox_sweep(inline=options["inline"])
        self.stdout.write(f"Mensajes retomados: {count}")
        callbacks = approval_callbacks_sweep()
        self.stdout.write(f"Avisos de aprobación retomados: {callbacks}")
