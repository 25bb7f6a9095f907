"""Institutions' systems: list, read and move their cases through /api/v1/cases with a client-credentials
token (scoped to their institution), webhooks signed with HMAC and retried, and concurrent transitions
where exactly one wins."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.db import connection  # noqa: F401 - read by the skipif condition below
from django.test import Client
from oauth2_provider.models import Application

from ventanilla.cases.models import Case, WebhookDelivery
from ventanilla.cases.services import case_transition, webhook_register
from ventanilla.identity.models import ClientRegistration

pytestmark = pytest.mark.django_db
SECRET = "secreto-de-sistema-de-prueba-0123456789"


def _system(institution: Any, client_id: str, scopes: str = "expedientes") -> str:
    app = Application.objects.create(
        name=f"Sistema {client_id}",
        client_id=client_id,
        client_secret=SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        algorithm=Application.RS256_ALGORITHM,
    )
    ClientRegistration.objects.create(
        application=app,
        institution=institution,
        status=ClientRegistration.Status.APPROVED,
        allowed_scopes=scopes,
    )
    basic = "Basic " + base64.b64encode(f"{client_id}:{SECRET}".encode()).decode()
    response = Client().post(
        "/token/", {"grant_type": "client_credentials", "scope": scopes}, HTTP_AUTHORIZATION=basic
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


@pytest.fixture
def system_a(institution_a: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {_system(institution_a, 'sistema-a')}")


@pytest.fixture
def system_b(institution_b: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {_system(institution_b, 'sistema-b')}")


def test_api_requires_a_token_with_the_scope(client: Client, institution_a: Any, file_case: Any) -> None:
    case = file_case()
    assert client.get("/api/v1/cases").status_code == 401
    without_scope = Client(
        HTTP_AUTHORIZATION=f"Bearer {_system(institution_a, 'otro', scopes='notificaciones')}"
    )
    assert without_scope.get("/api/v1/cases").status_code == 401
    assert (
        Client(HTTP_AUTHORIZATION="Bearer inventado").get(f"/api/v1/cases/{case.tracking_code}").status_code
        == 401
    )


def test_list_and_detail_are_scoped_to_the_callers_institution(
    system_a: Client, system_b: Client, file_case: Any
) -> None:
    case = file_case()
    listing = system_a.get("/api/v1/cases").json()
    assert listing["count"] == 1 and listing["results"][0]["tracking_code"] == case.tracking_code
    detail = system_a.get(f"/api/v1/cases/{case.tracking_code}").json()
    assert detail["allowed_actions"] == ["approve", "observe", "derive", "reject"]
    assert {"label": "Nombre del local", "value": "Tienda Illimani"} in detail["answers"]
    assert [h["kind"] for h in detail["history"]] == ["creado", "presentado"]
    assert system_b.get("/api/v1/cases").json()["count"] == 0
    refused = system_b.get(f"/api/v1/cases/{case.tracking_code}")
    assert refused.status_code == 404 and refused.json()["errors"][0]["code"] == "not_found"
    assert (
        system_b.post(
            f"/api/v1/cases/{case.tracking_code}/transitions",
            {"action": "approve", "version": case.version},
            content_type="application/json",
        ).status_code
        == 404
    )


def test_transition_through_the_api_and_409_on_a_stale_version(system_a: Client, file_case: Any) -> None:
    case = file_case()
    url = f"/api/v1/cases/{case.tracking_code}/transitions"
    first = system_a.post(
        url, {"action": "approve", "version": case.version}, content_type="application/json"
    )
    assert first.status_code == 200, first.content
    assert first.json()["step"] == "revision" and first.json()["version"] == case.version + 1
    stale = system_a.post(
        url, {"action": "approve", "version": case.version}, content_type="application/json"
    )
    assert stale.status_code == 409 and stale.json()["errors"][0]["code"] == "conflict"
    no_reason = system_a.post(
        url, {"action": "reject", "version": case.version + 1}, content_type="application/json"
    )
    assert no_reason.status_code == 400 and no_reason.json()["errors"][0]["field"] == "reason"
    not_allowed = system_a.post(
        url, {"action": "derive", "version": case.version + 1, "reason": "x"}, content_type="application/json"
    )
    assert not_allowed.status_code == 409 and not_allowed.json()["errors"][0]["code"] == "invalid_transition"
    bad = system_a.post(url, {"action": "volar", "version": 1}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "action"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="row locks need PostgreSQL (SQLite serializes writers)"
)
def test_concurrent_transitions_one_wins_the_other_gets_409(
    file_case: Any, clerk_a: Any, audit_log_flushable: Any
) -> None:
    case = file_case()
    results: list[str] = []
    barrier = threading.Barrier(2)

    def act(action: str, reason: str) -> None:
        from django.db import connection as thread_connection

        barrier.wait()
        try:
            case_transition(
                actor=clerk_a,
                tracking_code=case.tracking_code,
                action=action,
                version=case.version,
                reason=reason,
            )
            results.append("ok")
        except Exception as exc:
            results.append(getattr(exc, "code", type(exc).__name__))
        finally:
            thread_connection.close()

    threads = [
        threading.Thread(target=act, args=("approve", "")),
        threading.Thread(target=act, args=("reject", "No")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "ok"]
    assert Case.objects.get(pk=case.pk).version == case.version + 1


def test_same_version_sequential_second_is_409(file_case: Any, clerk_a: Any) -> None:
    case = file_case()
    case_transition(actor=clerk_a, tracking_code=case.tracking_code, action="approve", version=case.version)
    with pytest.raises(Exception) as refused:
        case_transition(
            actor=clerk_a, tracking_code=case.tracking_code, action="reject", version=case.version, reason="x"
        )
    assert getattr(refused.value, "status", None) == 409


def test_webhook_is_signed_retried_and_delivered_once(
    file_case: Any,
    supervisor_a: Any,
    clerk_a: Any,
    institution_a: Any,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _hook, secret = webhook_register(
        actor=supervisor_a, institution_id=institution_a.pk, url="https://sistema.example.gob.bo/hooks"
    )
    calls: list[httpx.Request] = []
    answers = iter([httpx.Response(503), httpx.Response(200)])

    def fake_post(url: str, *, content: bytes, headers: dict[str, str], timeout: float) -> httpx.Response:
        calls.append(httpx.Request("POST", url, content=content, headers=headers))
        return next(answers)

    monkeypatch.setattr("ventanilla.cases.tasks.httpx.post", fake_post)  # the institution's server: external
    with django_capture_on_commit_callbacks(execute=True):
        case = file_case()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.attempts == 1
    assert delivery.last_error == "HTTP 503" and delivery.next_attempt_at
    # The housekeeping command re-enqueues what is due.
    WebhookDelivery.objects.update(next_attempt_at=delivery.next_attempt_at - dt.timedelta(hours=1))
    call_command("cases_housekeeping")
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED and delivery.attempts == 2
    call_command("cases_housekeeping")  # never sent again
    assert len(calls) == 2
    request = calls[-1]
    body = request.content
    assert (
        json.loads(body)["tracking_code"] == case.tracking_code and json.loads(body)["event"] == "submitted"
    )
    stamp, signature = (part.split("=", 1)[1] for part in request.headers["Ventanilla-Signature"].split(","))
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert request.headers["Ventanilla-Event-Id"] == str(delivery.event_id)


def test_due_dates_skip_weekends_and_national_holidays(
    file_case: Any, monkeypatch: Any, institution_a: Any
) -> None:
    from django.utils import timezone

    # Friday 31 July 2026, 10:00 in La Paz; Thursday 6 August is Independence Day.
    friday = dt.datetime(2026, 7, 31, 14, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: friday)
    case = file_case()
    # recepción: 2 business days → Mon 3, Tue 4.
    # revisión: +5 → Wed 5, Fri 7 (6 is a holiday), Mon 10, Tue 11, Wed 12.
    assert case.step_due_date == dt.date(2026, 8, 4)
    assert case.due_date == dt.date(2026, 8, 12)
