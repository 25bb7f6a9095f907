"""Hardening found in review: webhook targets (SSRF), stale drafts, registry data the citizen cannot
overwrite, corrections after the deadline, malformed definitions, lost webhook enqueues, disabled
webhooks, and corrections filed by a clerk on the person's behalf."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from conftest import login
from ventanilla.cases.definitions import validate
from ventanilla.cases.models import Case, CaseEvent, WebhookDelivery
from ventanilla.cases.services import (
    application_correct,
    application_submit,
    case_transition,
    draft_save,
    draft_start,
    webhook_disable,
    webhook_register,
    webhook_url_problem,
)
from ventanilla.core.errors import DomainError

from .conftest import good_answers, pdf_upload, spec

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1@evil.example/",
        "http://localhost.evil.example/",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://user:pass@sistema.example.org/hook",
        "http://127.0.0.1:6379/",
        "ftp://sistema.example.org/",
    ],
)
def test_webhook_targets_inside_the_network_are_refused_in_production(url: str, settings: Any) -> None:
    settings.CASES_WEBHOOK_ALLOW_PRIVATE = False
    assert webhook_url_problem(url)


def test_public_https_webhook_is_accepted(settings: Any, monkeypatch: Any) -> None:
    import socket

    settings.CASES_WEBHOOK_ALLOW_PRIVATE = False
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("200.87.100.10", 443))])
    assert webhook_url_problem("https://sistema.example.gob.bo/avisos") is None


def test_a_stale_draft_cannot_be_saved_after_submission(applicant: Any, definition_a: Any) -> None:
    case = draft_start(actor=applicant, procedure_id=definition_a.procedure_id)
    stale = Case.objects.get(pk=case.pk)
    draft_save(
        actor=applicant, case=case, raw=good_answers(), uploads={"croquis": pdf_upload()}, complete=True
    )
    application_submit(actor=applicant, case=case)
    with pytest.raises(DomainError) as refused:
        draft_save(actor=applicant, case=stale, raw={"nombre_local": "Otro nombre"})
    assert refused.value.status == 409
    assert Case.objects.get(pk=case.pk).data["nombre_local"] == "Tienda Illimani"


def test_correction_after_the_deadline_is_refused(file_case: Any, clerk_a: Any, applicant: Any) -> None:
    case = file_case()
    case = case_transition(
        actor=clerk_a, tracking_code=case.tracking_code, action="observe", version=case.version, reason="x"
    )
    Case.objects.filter(pk=case.pk).update(observation_due_date=timezone.localdate() - dt.timedelta(days=1))
    case.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        application_correct(actor=applicant, case=case, raw=good_answers())
    assert refused.value.code == "deadline_passed"
    assert Case.objects.get(pk=case.pk).status == Case.Status.OBSERVED


def test_clerk_files_the_correction_on_behalf_of_the_person(
    file_case: Any, clerk_a: Any, clerk_b: Any
) -> None:
    case = file_case()
    case = case_transition(
        actor=clerk_a, tracking_code=case.tracking_code, action="observe", version=case.version, reason="x"
    )
    url = reverse("cases:staff-correct", args=[case.tracking_code])
    assert login(clerk_b).get(url).status_code == 404
    response = login(clerk_a).post(url, {"f-nombre_local": "Tienda Illimani II", "f-rubro": "comercio"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROCESS and case.data["nombre_local"] == "Tienda Illimani II"
    event = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.CORRECT).get()
    assert event.actor == clerk_a and "en nombre" in event.comment


@pytest.mark.parametrize(
    "broken",
    [
        {"transitions": [{"action": "approve", "from": ["recepcion"], "to": {"x": 1}}]},
        {"fields": [{"name": "a", "label": "A", "type": ["text"]}]},
        {"fields": [{"name": "a", "label": "A", "type": "choice", "choices": [{"value": ["x"]}]}]},
        {"fields": [{"name": "d", "label": "D", "type": "date", "min": 5}]},
        {"steps": [{"code": "recepcion", "name": "R", "office": ["INSTA-SEDE"], "sla_days": 1}]},
    ],
)
def test_malformed_definitions_are_listed_as_problems_never_a_crash(broken: dict[str, Any]) -> None:
    problems = validate(spec(**broken), office_codes={"INSTA-SEDE"})
    assert problems, broken


def test_a_lost_enqueue_is_delivered_by_housekeeping_and_disabled_hooks_stop(
    file_case: Any,
    supervisor_a: Any,
    institution_a: Any,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from ventanilla.cases import tasks

    hook, _secret = webhook_register(
        actor=supervisor_a, institution_id=institution_a.pk, url="https://sistema.example.org/avisos"
    )
    sent: list[str] = []
    monkeypatch.setattr(tasks.httpx, "post", lambda url, **kw: sent.append(url) or httpx.Response(200))

    class QueueDown:
        def enqueue(self, *args: Any, **kwargs: Any) -> None:
            raise ConnectionError("Redis no responde")

    monkeypatch.setattr(tasks, "deliver_webhook", QueueDown())
    with django_capture_on_commit_callbacks(execute=True):
        file_case()  # the change commits; the enqueue fails quietly (robust)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.attempts == 0
    monkeypatch.undo()
    monkeypatch.setattr(tasks.httpx, "post", lambda url, **kw: sent.append(url) or httpx.Response(200))
    call_command("cases_housekeeping")
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED and sent == [
        "https://sistema.example.org/avisos"
    ]

    webhook_disable(actor=supervisor_a, webhook_id=hook.pk)
    pending = WebhookDelivery.objects.create(
        webhook=hook, case=delivery.case, payload={"event": "x"}, next_attempt_at=timezone.now()
    )
    call_command("cases_housekeeping")
    pending.refresh_from_db()
    assert pending.status == WebhookDelivery.Status.FAILED and len(sent) == 1
