"""System checks of the inbox app: the outbox lease must outlast a send.

A worker holds a message for OUTBOX_LEASE_SECONDS; after that another worker may take it back. If a single
SMTP or SMS call can last longer than half the lease, a slow (but alive) worker could still be sending when
its message is taken over, and the message would go out twice."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.compatibility)
def outbox_lease_check(app_configs: Any, **kwargs: Any) -> list[Error]:
    lease = int(getattr(settings, "OUTBOX_LEASE_SECONDS", 300))
    email_timeout = getattr(settings, "EMAIL_TIMEOUT", None)
    sms_timeout = float(getattr(settings, "SMS_HTTP_TIMEOUT", 10))
    if email_timeout is None:
        return [
            Error(
                "EMAIL_TIMEOUT no está definido: un envío de correo podría durar más que "
                "OUTBOX_LEASE_SECONDS y el mensaje enviarse dos veces.",
                hint="Defina EMAIL_TIMEOUT (segundos), por ejemplo 30.",
                id="inbox.E001",
            )
        ]
    slowest = max(float(email_timeout), sms_timeout)
    if lease <= 2 * slowest:
        return [
            Error(
                f"OUTBOX_LEASE_SECONDS ({lease}) debe ser mayor que el doble del mayor plazo de envío "
                f"(EMAIL_TIMEOUT={email_timeout}, SMS_HTTP_TIMEOUT={sms_timeout}); si no, un trabajador "
                "lento podría seguir enviando cuando otro retoma el mensaje.",
                hint="Aumente OUTBOX_LEASE_SECONDS o reduzca EMAIL_TIMEOUT / SMS_HTTP_TIMEOUT.",
                id="inbox.E001",
            )
        ]
    return []
