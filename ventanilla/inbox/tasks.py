"""Background tasks of the inbox app (Django Tasks API). They take ids and are idempotent."""

from __future__ import annotations

from django_tasks import task

from . import services


@task(queue_name="email")
def deliver_message(message_id: str) -> str:
    """Deliver one outbox message (claims it first: a message already sent is never sent again)."""
    return services.message_deliver(message_id=message_id)


@task(queue_name="email")
def sweep_outbox() -> int:
    """Hand due and stuck messages back to ``deliver_message`` (also: ``manage.py outbox_sweep``)."""
    return services.outbox_sweep()


@task()
def issue_constancia(notification_id: int) -> str:
    """Issue the signed «constancia de notificación» once the notification takes effect."""
    document = services.notification_constancia_issue(notification_id=notification_id)
    return getattr(document, "code", "")


@task()
def deem_notifications() -> int:
    """Mark legal notifications left unopened past their deadline (also: ``manage.py inbox_deem``)."""
    return services.notifications_deem()
