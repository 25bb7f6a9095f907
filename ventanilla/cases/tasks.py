"""Background work of Expedientes: webhook deliveries (HMAC-signed, retried with backoff)."""

from __future__ import annotations

import datetime as dt
import json
import logging

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from .models import WebhookDelivery
from .services import webhook_signature

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


@task(queue_name="webhooks")
def deliver_webhook(delivery_id: int) -> str:
    """POST one status change to the institution's endpoint. Idempotent: a delivered row is never sent
    again; receivers deduplicate by ``Ventanilla-Event-Id``."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
            .first()
        )
        if delivery is None:
            return "skipped"
        hook = delivery.webhook
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        stamp = str(int(timezone.now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Ventanilla-Webhooks/1",
            "Ventanilla-Event-Id": str(delivery.event_id),
            "Ventanilla-Signature": f"t={stamp},v1={webhook_signature(hook.secret, stamp, body)}",
        }
        delivery.attempts += 1
        try:
            response = httpx.post(
                hook.url, content=body, headers=headers, timeout=settings.CASES_WEBHOOK_TIMEOUT
            )
            delivery.last_status_code = response.status_code
            ok = 200 <= response.status_code < 300
            delivery.last_error = "" if ok else f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok = False
            delivery.last_error = type(exc).__name__[:300]
        if ok:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.next_attempt_at = None
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = timezone.now() + _backoff(delivery.attempts)
        delivery.save()
    if delivery.status == WebhookDelivery.Status.PENDING and delivery.next_attempt_at:
        # Backends without deferred tasks (the immediate one in tests) leave the retry to
        # `manage.py cases_housekeeping`, which re-enqueues every pending delivery that is due.
        if deliver_webhook.get_backend().supports_defer:
            retry_at = delivery.next_attempt_at
            deliver_webhook.using(run_after=retry_at).enqueue(delivery_id)
        return "retry"
    return delivery.status
