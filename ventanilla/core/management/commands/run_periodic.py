"""The platform's clock: runs the periodic management commands of every module at their interval.

One process per deployment (beside the task workers): `make run` and `make serve-prod` start it. Every
periodic command is idempotent and safe to run twice at once, so a second scheduler, or a cron entry
calling a command directly, does no harm. The schedule is ``settings.PERIODIC_COMMANDS``:
``[(command name, interval in seconds), ...]``. ``--once`` runs each command once and exits (cron-style).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

log = logging.getLogger("ventanilla.periodic")


class Command(BaseCommand):
    help = "Ejecuta los comandos periódicos (barrido de la bandeja de salida, plazos, sellos) a su intervalo."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Ejecuta cada comando una vez y termina.")

    def _run(self, name: str) -> bool:
        if not connection.in_atomic_block:  # a long-running loop drops stale connections between runs
            close_old_connections()
        started = time.monotonic()
        try:
            call_command(name, stdout=self.stdout, stderr=self.stderr)
        except Exception:  # one failing command must not stop the others
            log.exception("periodic command %s failed", name)
            return False
        log.info("periodic command %s done in %.2fs", name, time.monotonic() - started)
        return True

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        schedule = [(str(name), max(int(every), 1)) for name, every in settings.PERIODIC_COMMANDS]
        if once:
            failed = [name for name, _every in schedule if not self._run(name)]
            if failed:
                raise SystemExit(f"Fallaron: {', '.join(failed)}")
            return
        due = {name: 0.0 for name, _every in schedule}
        self.stdout.write(f"Tareas periódicas: {', '.join(f'{n} cada {e}s' for n, e in schedule)}")
        while True:
            now = time.monotonic()
            for name, every in schedule:
                if now >= due[name]:
                    self._run(name)
                    due[name] = time.monotonic() + every
            time.sleep(max(0.5, min(due.values()) - time.monotonic()))
