"""Background tasks of the interop app."""

from __future__ import annotations

from django_tasks import task

from .services import chain_seal


@task()
def interop_seal_task() -> int | None:
    """Sign the chain head (idempotent: a head already sealed is left alone). Schedule it periodically
    (cron/systemd timer: ``manage.py interop_seal``, or enqueue this task)."""
    seal = chain_seal(actor=None)
    return seal.seq if seal else None
