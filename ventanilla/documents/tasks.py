"""Background work of the documents app: approval callbacks to the requesting institution.

The task takes the request's id, re-reads it and does nothing unless a delivery is still pending, so
retries and duplicates are harmless. Each attempt is recorded on the row (attempts, last error). With a
queue that supports deferred runs, retries back off exponentially (30 s, 60 s, 120 s, …); with the
immediate backend of tests they run at once. The body is signed:
``X-Ventanilla-Signature: sha256=HMAC(secret, "<timestamp>.<body>")`` with ``X-Ventanilla-Timestamp``;
the secret is the ``secretoCallback`` returned when the request was created.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx
from django.conf import settings
from django.utils import timezone
from django_tasks import task

from . import pki, selectors, services
from .models import ApprovalRequest

logger = logging.getLogger(__name__)


def callback_secret(public_id: Any) -> str:
    """The HMAC key of one request's callbacks (derived from SECRET_KEY; given to the client once)."""
    return base64.urlsafe_b64encode(pki.derived_secret(f"approval-callback:{public_id}")).decode().rstrip("=")


def callback_signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def http_client() -> httpx.Client:
    """The HTTP client used for callbacks (tests replace it with one on an httpx.MockTransport)."""
    return httpx.Client(timeout=settings.DOCUMENTS_CALLBACK_TIMEOUT, follow_redirects=False)


@task(queue_name="webhooks")
def deliver_approval_callback(approval_id: int) -> str:
    """One delivery attempt: claim (conditional UPDATE with a lease), check the address again (SSRF),
    POST, record the outcome against this claim only. Duplicates and late runs do nothing."""
    attempt = services.callback_claim(approval_id=approval_id)
    if attempt is None:
        return "nothing to do"
    approval = ApprovalRequest.objects.select_related("evidence").get(pk=approval_id)
    final = attempt >= settings.DOCUMENTS_CALLBACK_MAX_ATTEMPTS
    problem = services.callback_url_problem(approval.callback_url)
    if problem:  # DNS may have changed since the request was accepted: no POST to an internal address
        services.callback_attempt_record(
            approval_id=approval_id, attempt=attempt, delivered=False, error=problem, final=final
        )
        logger.warning("documents: approval callback %s refused (%s)", approval.public_id, problem)
        if not final:
            _retry(approval_id, attempt)
        return problem
    body = json.dumps(selectors.approval_public_dict(approval), ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Ventanilla-Aprobaciones/1.0",
        "X-Ventanilla-Timestamp": timestamp,
        "X-Ventanilla-Signature": callback_signature(callback_secret(approval.public_id), timestamp, body),
    }
    error = ""
    try:
        with http_client() as client:
            response = client.post(approval.callback_url, content=body, headers=headers)
        if 200 <= response.status_code < 300:
            services.callback_attempt_record(approval_id=approval_id, attempt=attempt, delivered=True)
            return "delivered"
        error = f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    outcome = services.callback_attempt_record(
        approval_id=approval_id, attempt=attempt, delivered=False, error=error, final=final
    )
    logger.info("documents: approval callback %s failed (%s)", approval.public_id, error)
    if outcome == "retry":
        _retry(approval_id, attempt)
    return error


def _retry(approval_id: int, attempts: int) -> None:
    services.enqueue_callback_retry(approval_id, timezone.now() + services.callback_retry_delay(attempts))
