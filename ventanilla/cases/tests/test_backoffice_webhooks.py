"""Webhooks page (register: secret shown once; list; disable; recent deliveries) and the housekeeping
command (expired observations closed as abandoned, due webhook retries re-enqueued)."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any
from unittest import mock

import httpx
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from conftest import login, member
from ventanilla.cases.models import Case, CaseEvent, Webhook, WebhookDelivery
from ventanilla.core.models import AuditEntry, Role

pytestmark = pytest.mark.django_db


def test_register_shows_the_secret_once(
    supervisor_a: Any, supervisor_a_client: Any, institution_a: Any
) -> None:
    url = reverse("cases:webhooks")
    response = supervisor_a_client.post(
        url, {"institution": institution_a.pk, "url": "https://sistema.example.org/avisos"}
    )
    assert response.status_code == 201
    hook = Webhook.objects.get()
    html = response.content.decode()
    assert hook.secret in html and "no se volverá a mostrar" in html
    assert AuditEntry.objects.filter(action="webhook.create", actor=supervisor_a).exists()
    html = supervisor_a_client.get(url).content.decode()
    assert "https://sistema.example.org/avisos" in html
    assert hook.secret not in html


def test_register_refuses_plain_http(supervisor_a_client: Any, institution_a: Any) -> None:
    response = supervisor_a_client.post(
        reverse("cases:webhooks"),
        {"institution": institution_a.pk, "url": "http://sistema.example.org/avisos"},
    )
    assert response.status_code == 400
    assert "HTTPS" in response.content.decode()
    assert not Webhook.objects.exists()


def test_disable_and_access(
    supervisor_a_client: Any, institution_a: Any, institution_b: Any, clerk_a_client: Any
) -> None:
    supervisor_a_client.post(
        reverse("cases:webhooks"), {"institution": institution_a.pk, "url": "https://a.example.org/h"}
    )
    hook = Webhook.objects.get()
    supervisor_b = login(member("supervisor_b", Role.SUPERVISOR, institution_b))
    # B's supervisor neither sees nor disables A's webhook, nor registers one for A
    assert "a.example.org" not in supervisor_b.get(reverse("cases:webhooks")).content.decode()
    assert supervisor_b.post(reverse("cases:webhook-disable", args=[hook.pk])).status_code == 404
    response = supervisor_b.post(
        reverse("cases:webhooks"), {"institution": institution_a.pk, "url": "https://b.example.org/h"}
    )
    assert response.status_code == 400
    assert Webhook.objects.count() == 1
    assert clerk_a_client.get(reverse("cases:webhooks")).status_code == 403
    hook.refresh_from_db()
    assert hook.is_active
    assert supervisor_a_client.post(reverse("cases:webhook-disable", args=[hook.pk])).status_code == 302
    hook.refresh_from_db()
    assert not hook.is_active


def test_deliveries_are_listed_with_status(
    supervisor_a: Any,
    supervisor_a_client: Any,
    clerk_a_client: Any,
    institution_a: Any,
    file_case: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from ventanilla.cases.services import webhook_register

    webhook_register(
        actor=supervisor_a, institution_id=institution_a.pk, url="https://sistema.example.org/avisos"
    )
    with (
        mock.patch("httpx.post", return_value=httpx.Response(200)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        case = file_case()
    with (
        mock.patch("httpx.post", return_value=httpx.Response(503)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        clerk_a_client.post(
            reverse("cases:staff-transition", args=[case.tracking_code]),
            {"action": "approve", "version": case.version},
        )
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"entregado", "pendiente"}
    html = supervisor_a_client.get(reverse("cases:webhooks")).content.decode()
    assert case.tracking_code in html and "Entregado" in html and "Pendiente" in html and "HTTP 503" in html


def test_housekeeping_closes_expired_observation_as_abandoned(clerk_a: Any, file_case: Any) -> None:
    from ventanilla.cases.services import case_transition

    case = file_case()
    case = case_transition(
        actor=clerk_a,
        tracking_code=case.tracking_code,
        action="observe",
        version=case.version,
        reason="Falta el croquis firmado",
    )
    on_time = file_case()
    on_time = case_transition(
        actor=clerk_a,
        tracking_code=on_time.tracking_code,
        action="observe",
        version=on_time.version,
        reason="Falta firma",
    )
    Case.objects.filter(pk=case.pk).update(observation_due_date=timezone.localdate() - dt.timedelta(days=1))
    out = StringIO()
    call_command("cases_housekeeping", stdout=out)
    assert "observaciones cerradas por abandono: 1" in out.getvalue()
    case.refresh_from_db()
    on_time.refresh_from_db()
    assert case.status == Case.Status.ABANDONED and case.closed_at is not None
    assert case.events.filter(kind=CaseEvent.Kind.ABANDON).exists()
    assert on_time.status == Case.Status.OBSERVED
    # idempotent
    out = StringIO()
    call_command("cases_housekeeping", stdout=out)
    assert "observaciones cerradas por abandono: 0" in out.getvalue()


def test_housekeeping_retries_due_webhook_deliveries(
    supervisor_a: Any, institution_a: Any, file_case: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from ventanilla.cases.services import webhook_register

    webhook_register(
        actor=supervisor_a, institution_id=institution_a.pk, url="https://sistema.example.org/avisos"
    )
    with (
        mock.patch("httpx.post", side_effect=httpx.ConnectError("caído")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        file_case()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.attempts == 1
    # not due yet: nothing is sent
    with mock.patch("httpx.post", return_value=httpx.Response(204)) as post:
        out = StringIO()
        call_command("cases_housekeeping", stdout=out)
        assert "webhooks reintentados: 0" in out.getvalue()
        assert not post.called
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with mock.patch("httpx.post", return_value=httpx.Response(204)) as post:
        out = StringIO()
        call_command("cases_housekeeping", stdout=out)
        assert "webhooks reintentados: 1" in out.getvalue()
        assert post.call_count == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED and delivery.attempts == 2
