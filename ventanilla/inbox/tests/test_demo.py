"""The inbox demo loader: notifications for the demo citizens, templates, a working API key; idempotent."""

from __future__ import annotations

from typing import Any

from django.test import Client

from ventanilla.core.models import AuditEntry, Institution
from ventanilla.identity.tests.conftest import make_citizen
from ventanilla.inbox.demo import load_demo_inbox
from ventanilla.inbox.models import ApiKey, MessageTemplate, Notification
from ventanilla.inbox.tests.test_notify_api import token


def test_load_demo_inbox_is_idempotent_and_prints_a_working_key(db: Any) -> None:
    Institution.objects.create(code="AGETIC", name="Agencia de Gobierno Electrónico", level="central")
    Institution.objects.create(code="MINGOB", name="Ministerio de Gobierno", level="central")
    make_citizen("CI-4567891", number="4567891")
    make_citizen("CI-5123987-1B", number="5123987", complement="1B")

    lines = load_demo_inbox()
    assert Notification.objects.count() == 4
    assert Notification.objects.filter(legal=True).count() == 2
    assert MessageTemplate.objects.count() == 4
    key_line = next(line for line in lines if "Clave de API" in line)
    full_key = key_line.rsplit(": ", 1)[1]
    assert Client().get("/v2/notifications", HTTP_AUTHORIZATION=token(full_key)).status_code == 200

    audits = AuditEntry.objects.count()
    again = load_demo_inbox()
    assert Notification.objects.count() == 4 and ApiKey.objects.count() == 1
    assert AuditEntry.objects.count() == audits
    assert next(line for line in again if "Clave de API" in line) == key_line
