"""Mark legal notifications left unopened past their deadline as notified (run daily, e.g. from cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ventanilla.inbox.services import notifications_deem


class Command(BaseCommand):
    help = "Da por notificadas las notificaciones legales no abiertas cuyo plazo venció."

    def handle(self, *args: Any, **options: Any) -> None:
        count = notifications_deem()
        self.stdout.write(f"Notificaciones dadas por notificadas: {count}")
