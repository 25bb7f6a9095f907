"""Periodic upkeep of Expedientes (run it every few minutes from cron or a scheduler):

- close as abandoned the observed cases whose correction deadline has passed;
- remind applicants of drafts about to expire, and expire the ones past their date;
- re-enqueue the webhook deliveries whose retry time has come (backends without deferred tasks).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from ventanilla.cases import services
from ventanilla.cases.models import WebhookDelivery


class Command(BaseCommand):
    help = "Cierra observaciones vencidas, vence borradores y reintenta webhooks pendientes."

    def handle(self, *args: Any, **options: Any) -> None:
        from ventanilla.cases.tasks import deliver_webhook

        abandoned = services.observations_expire()
        reminded, expired = services.drafts_housekeep()
        due = list(
            WebhookDelivery.objects.filter(
                status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=timezone.now()
            ).values_list("pk", flat=True)
        )
        for delivery_id in due:
            deliver_webhook.enqueue(delivery_id)
        self.stdout.write(
            f"observaciones cerradas por abandono: {abandoned}\n"
            f"borradores recordados: {reminded}\n"
            f"borradores vencidos: {expired}\n"
            f"webhooks reintentados: {len(due)}"
        )
