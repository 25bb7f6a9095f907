"""Background work of Expedientes: webhook deliveries (HMAC-signed, retried with backoff)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from .models import WebhookDelivery
from .services import webhook_signature, webhook_url_problem

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
# While one worker sends, the row is "leased": nobody else picks it up until the lease ends. A worker
# that dies mid-send leaves the lease to expire; the delivery is then due again.
LEASE = dt.timedelta(seconds=60)


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Take the delivery if it is pending, due and its webhook still active (short transaction)."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("webhook")
            .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
            .first()
        )
        if delivery is None or (delivery.next_attempt_at and delivery.next_attempt_at > now):
            return None
        if not delivery.webhook.is_active:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.last_error = "webhook desactivado"
            delivery.next_attempt_at = None
            delivery.save(update_fields=["status", "last_error", "next_attempt_at"])
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + LEASE
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    return delivery


def _send(delivery: WebhookDelivery) -> tuple[bool, int | None, str]:
    hook = delivery.webhook
    problem = webhook_url_problem(hook.url)  # again: DNS may point somewhere else since registration
    if problem:
        return False, None, problem[:300]
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    stamp = str(int(timezone.now().timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Ventanilla-Webhooks/1",
        "Ventanilla-Event-Id": str(delivery.event_id),
        "Ventanilla-Signature": f"t={stamp},v1={webhook_signature(hook.secret, stamp, body)}",
    }
    try:
        response = httpx.post(hook.url, content=body, headers=headers, timeout=settings.CASES_WEBHOOK_TIMEOUT)
    except httpx.HTTPError as exc:
        return False, None, type(exc).__name__[:300]
    ok = 200 <= response.status_code < 300
    return ok, response.status_code, "" if ok else f"HTTP {response.status_code}"


@task(queue_name="webhooks")
def deliver_webhook(delivery_id: int) -> str:
    """POST one status change to the institution's endpoint, outside any database transaction.
    Idempotent: a delivered row is never sent again; receivers deduplicate by ``Ventanilla-Event-Id``."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return "skipped"
    ok, status_code, error = _send(delivery)
    now = timezone.now()
    fields: dict[str, Any] = {"last_status_code": status_code, "last_error": error}
    if ok:
        fields.update(status=WebhookDelivery.Status.DELIVERED, delivered_at=now, next_attempt_at=None)
    elif delivery.attempts >= MAX_ATTEMPTS:
        fields.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
    else:
        fields.update(next_attempt_at=now + _backoff(delivery.attempts))
    WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PENDING).update(**fields)
    if not ok and fields.get("next_attempt_at"):
        # Backends without deferred tasks (the immediate one in tests) leave the retry to
        # `manage.py cases_housekeeping`, which re-enqueues every pending delivery that is due.
        if deliver_webhook.get_backend().supports_defer:
            deliver_webhook.using(run_after=fields["next_attempt_at"]).enqueue(delivery_id)
        return "retry"
    return str(fields.get("status", WebhookDelivery.Status.PENDING))
