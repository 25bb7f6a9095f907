"""The outbox: nothing lost, nothing sent twice, retries with backoff, templates with placeholders."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from conftest import login, member
from ventanilla.core.models import AuditEntry, Role
from ventanilla.inbox import services
from ventanilla.inbox.models import DeliveryAttempt, MessageTemplate, OutboxMessage
from ventanilla.inbox.tasks import deliver_message

Status = OutboxMessage.Status


def queue_email(capture: Any, institution: Any = None, **extra: Any) -> OutboxMessage:
    values = {"channel": "email", "to": "persona@example.org", "subject": "Asunto", "body": "Hola"}
    values.update(extra)
    with capture(execute=True):
        message = services.message_queue(institution_id=institution.pk if institution else None, **values)
    message.refresh_from_db()
    return message


def test_message_is_a_row_before_it_is_sent_and_sent_on_commit(
    institution_a: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = services.message_queue(
            institution_id=institution_a.pk,
            channel="email",
            to="Persona@Example.org",
            subject="S",
            body="B",
            reference="ref-1",
        )
        assert OutboxMessage.objects.get(pk=message.pk).status == Status.QUEUED
        assert mail.outbox == []
    assert len(callbacks) == 1
    callbacks[0]()
    message.refresh_from_db()
    assert message.status == Status.SENT and message.attempts == 1 and message.sent_at is not None
    assert message.to == "persona@example.org"
    assert (
        message.provider_reference
        and mail.outbox[0].extra_headers["Message-ID"] == message.provider_reference
    )
    attempt = DeliveryAttempt.objects.get(message=message)
    assert attempt.outcome == "sent" and attempt.number == 1


def test_a_message_confirmed_sent_is_never_sent_again(
    institution_a: Any, django_capture_on_commit_callbacks: Any
) -> None:
    message = queue_email(django_capture_on_commit_callbacks, institution_a)
    assert len(mail.outbox) == 1
    # the task runs again (duplicate enqueue, retry by the queue, sweeper): nothing is sent
    assert deliver_message.call(str(message.pk)) == "skipped"
    assert deliver_message.call(str(message.pk)) == "skipped"
    assert len(mail.outbox) == 1
    assert DeliveryAttempt.objects.filter(message=message).count() == 1
    assert services.outbox_sweep() == 0


def test_a_worker_that_dies_mid_send_loses_nothing(
    institution_a: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        message = services.message_queue(
            institution_id=institution_a.pk, channel="email", to="a@example.org", subject="S", body="B"
        )
    # a worker claimed it (status sending, lease) and died before sending
    now = timezone.now()
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=Status.SENDING, attempts=1, locked_until=now + dt.timedelta(minutes=5)
    )
    DeliveryAttempt.objects.create(message=message, number=1, started_at=now)
    # while the lease holds, nobody else takes it
    assert deliver_message.call(str(message.pk)) == "skipped"
    assert services.outbox_sweep() == 0
    assert mail.outbox == []
    # the lease expires: the sweeper hands it back and it is delivered exactly once
    OutboxMessage.objects.filter(pk=message.pk).update(locked_until=now - dt.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.outbox_sweep() == 1
    message.refresh_from_db()
    assert message.status == Status.SENT and message.attempts == 2
    assert len(mail.outbox) == 1
    assert list(DeliveryAttempt.objects.filter(message=message).values_list("number", "outcome")) == [
        (1, "started"),
        (2, "sent"),
    ]
    assert services.outbox_sweep() == 0


def test_retries_with_exponential_backoff_then_fails(
    settings: Any, institution_a: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_BACKEND = "ventanilla.inbox.tests.failing_backend.FailingBackend"
    settings.OUTBOX_MAX_ATTEMPTS = 3
    settings.OUTBOX_RETRY_BASE_SECONDS = 60
    message = queue_email(django_capture_on_commit_callbacks, institution_a)  # first attempt fails on commit
    assert message.status == Status.QUEUED and message.attempts == 1
    assert "servidor de correo caído" in message.last_error
    first_due = message.next_attempt_at
    assert first_due is not None
    assert dt.timedelta(seconds=59) <= first_due - message.created_at <= dt.timedelta(seconds=62)
    # not due yet: not retried
    assert (
        services.message_deliver(message_id=message.pk, now=first_due - dt.timedelta(seconds=5)) == "skipped"
    )
    # second attempt at the due time: the delay doubles
    assert services.message_deliver(message_id=message.pk, now=first_due) == "retry"
    message.refresh_from_db()
    assert message.attempts == 2 and message.next_attempt_at == first_due + dt.timedelta(seconds=120)
    # third and last attempt: failed for good, audited
    with django_capture_on_commit_callbacks(execute=True):
        assert services.message_deliver(message_id=message.pk, now=message.next_attempt_at) == "failed"
    message.refresh_from_db()
    assert message.status == Status.FAILED and message.attempts == 3
    assert DeliveryAttempt.objects.filter(message=message, outcome="failed").count() == 3
    assert AuditEntry.objects.filter(action="inbox.message.failed", target_id=str(message.pk)).exists()
    assert services.outbox_sweep(now=timezone.now() + dt.timedelta(days=1)) == 0
    assert mail.outbox == []


def test_sweeper_delivers_due_retries(
    settings: Any, institution_a: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_BACKEND = "ventanilla.inbox.tests.failing_backend.FailingBackend"
    message = queue_email(django_capture_on_commit_callbacks, institution_a)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    out = StringIO()
    call_command("outbox_sweep", "--inline", stdout=out)  # not due yet
    assert "0" in out.getvalue()
    OutboxMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    call_command("outbox_sweep", "--inline", stdout=StringIO())
    message.refresh_from_db()
    assert message.status == Status.SENT and len(mail.outbox) == 1


def test_sms_goes_through_the_identity_provider(
    db: Any, sms_outbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message = services.message_queue(
            institution_id=None, channel="sms", to="+591 71234567", subject="", body="Su trámite avanzó."
        )
    message.refresh_from_db()
    assert message.status == Status.SENT and message.to == "+59171234567"
    assert [(m.to, m.text) for m in sms_outbox] == [("+59171234567", "Su trámite avanzó.")]


@pytest.mark.parametrize(
    ("channel", "to", "field"),
    [("email", "no-es-correo", "to"), ("sms", "123", "to"), ("fax", "x", "channel")],
)
def test_bad_recipients_are_refused(channel: str, to: str, field: str, db: Any) -> None:
    with pytest.raises(services.DomainError) as refused:
        services.message_queue(institution_id=None, channel=channel, to=to, subject="S", body="B")
    assert refused.value.field == field
    assert OutboxMessage.objects.count() == 0


# -- templates ----------------------------------------------------------------------------------------


@pytest.fixture
def template_a(institution_a: Any, bob: Any) -> MessageTemplate:
    return services.template_save(
        actor=bob,
        institution_id=institution_a.pk,
        name="Trámite listo",
        channel="email",
        subject="Su trámite ((codigo)) está listo",
        body="Hola ((nombre)):\n\nPuede recoger su documento en ((oficina)).",
    )


def test_template_renders_and_missing_placeholder_is_refused(
    template_a: MessageTemplate,
    institution_a: Any,
    institution_b: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with pytest.raises(services.MissingPersonalisation) as refused:
        services.message_from_template(
            institution_id=institution_a.pk,
            template_id=template_a.pk,
            to="juana@example.org",
            personalisation={"nombre": "Juana", "codigo": "ABC"},
        )
    assert refused.value.missing == ["oficina"] and refused.value.code == "missing_personalisation"
    with pytest.raises(services.MissingPersonalisation):
        services.message_from_template(
            institution_id=institution_a.pk,
            template_id=template_a.pk,
            to="juana@example.org",
            personalisation={"nombre": "Juana", "codigo": "ABC", "oficina": "  "},
        )
    assert OutboxMessage.objects.count() == 0
    # another institution cannot use A's template
    with pytest.raises(services.NotFound):
        services.message_from_template(
            institution_id=institution_b.pk, template_id=template_a.pk, to="x@example.org", personalisation={}
        )
    with django_capture_on_commit_callbacks(execute=True):
        message = services.message_from_template(
            institution_id=institution_a.pk,
            template_id=template_a.pk,
            to="juana@example.org",
            personalisation={"nombre": "Juana", "codigo": "ABC-234", "oficina": "la Oficina central"},
            reference="caso-1",
        )
    assert message.template_version == 1 and message.reference == "caso-1"
    assert mail.outbox[0].subject == "Su trámite ABC-234 está listo"
    assert "Puede recoger su documento en la Oficina central." in mail.outbox[0].body


def test_template_editing_bumps_version_and_is_scoped(
    template_a: MessageTemplate, bob: Any, charlie: Any, institution_a: Any
) -> None:
    updated = services.template_save(
        actor=bob,
        institution_id=institution_a.pk,
        template=template_a,
        name="Trámite listo",
        channel="email",
        subject=template_a.subject,
        body=template_a.body + " Gracias.",
    )
    assert updated.version == 2
    with pytest.raises(services.Forbidden):
        services.template_save(
            actor=charlie, institution_id=institution_a.pk, name="x", channel="sms", body="y"
        )


def test_template_pages_with_preview(
    template_a: MessageTemplate, bob_client: Any, charlie_client: Any
) -> None:
    url = f"/gestion/notificaciones/plantillas/{template_a.pk}/"
    page = bob_client.get(url)
    assert page.status_code == 200 and 'for="id_p_nombre"' in page.content.decode()
    missing = bob_client.post(url, {"previsualizar": "1", "p_nombre": "Juana", "p_codigo": "X"})
    assert missing.status_code == 400
    assert "oficina" in missing.content.decode() and 'href="#id_p_oficina"' in missing.content.decode()
    ok = bob_client.post(
        url, {"previsualizar": "1", "p_nombre": "Juana", "p_codigo": "X-1", "p_oficina": "El Alto"}
    )
    assert ok.status_code == 200
    html = ok.content.decode()
    assert "Su trámite X-1 está listo" in html and "El Alto" in html
    assert "Trámite listo" in bob_client.get("/gestion/notificaciones/plantillas/").content.decode()
    # charlie (institution B) does not see A's template
    assert charlie_client.get(url).status_code == 404
    assert "Trámite listo" not in charlie_client.get("/gestion/notificaciones/plantillas/").content.decode()
    created = bob_client.post(
        "/gestion/notificaciones/plantillas/nueva/",
        {
            "guardar": "1",
            "institution": template_a.institution_id,
            "name": "SMS cita",
            "channel": "sms",
            "body": "Cita el ((fecha))",
        },
    )
    assert created.status_code == 302
    assert MessageTemplate.objects.filter(name="SMS cita", channel="sms").exists()
    refused = bob_client.post(
        "/gestion/notificaciones/plantillas/nueva/",
        {
            "guardar": "1",
            "institution": template_a.institution_id,
            "name": "Correo",
            "channel": "email",
            "body": "x",
        },
    )
    assert refused.status_code == 400 and 'href="#id_subject"' in refused.content.decode()


def test_api_key_pages_show_the_secret_once_and_revoke(
    bob_client: Any, charlie_client: Any, institution_a: Any, institution_b: Any
) -> None:
    response = bob_client.post(
        "/gestion/notificaciones/claves/", {"institution": institution_a.pk, "name": "Sistema de trámites"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    key = html.split('<code id="nueva-clave">')[1].split("</code>")[0]
    assert key.startswith("sistema_de_tramites-") and len(key) == len("sistema_de_tramites-") + 36 + 1 + 36
    listing = bob_client.get("/gestion/notificaciones/claves/").content.decode()
    assert key[-36:] not in listing and "sistema_de_tramites" in listing
    from ventanilla.inbox.models import ApiKey

    api_key = ApiKey.objects.get()
    assert key[-36:] not in api_key.secret_encrypted
    assert charlie_client.post(f"/gestion/notificaciones/claves/{api_key.pk}/revocar/").status_code == 404
    assert bob_client.post(f"/gestion/notificaciones/claves/{api_key.pk}/revocar/").status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    # clerks send notifications but do not manage keys
    clerk = login(member("clerk-a", Role.CLERK, institution_a))
    assert clerk.get("/gestion/notificaciones/claves/").status_code == 403


def test_retry_is_enqueued_for_later_on_a_real_queue(
    settings: Any, institution_a: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """With a backend that supports deferral (database, RQ), the retry is enqueued with run_after."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default", "email"]}
    }
    settings.EMAIL_BACKEND = "ventanilla.inbox.tests.failing_backend.FailingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        message = services.message_queue(
            institution_id=institution_a.pk, channel="email", to="a@example.org", subject="S", body="B"
        )
    backend = deliver_message.get_backend()
    assert [r.args for r in backend.results] == [[str(message.pk)]]  # queued, not run
    assert OutboxMessage.objects.get(pk=message.pk).status == Status.QUEUED
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_message.call(str(message.pk)) == "retry"
    message.refresh_from_db()
    retry = backend.results[-1]
    assert retry.args == [str(message.pk)] and retry.task.run_after == message.next_attempt_at
    assert retry.task.queue_name == "email"


@pytest.mark.parametrize("late_result", ["success", "failure"])
def test_a_worker_whose_lease_expired_does_not_override_the_next_one(
    late_result: str, institution_a: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Regression: worker A is slow; its lease expires, worker B claims the message and sends it; A's late
    success or failure must not change B's result, and nothing is sent a third time."""
    with django_capture_on_commit_callbacks(execute=False):
        message = services.message_queue(
            institution_id=institution_a.pk, channel="email", to="a@example.org", subject="S", body="B"
        )
    real_send = services._send_now
    start = timezone.now()
    after_lease = start + dt.timedelta(seconds=settings_lease() + 1)
    results: dict[str, str] = {}
    calls: list[int] = []

    def slow_send(msg: OutboxMessage) -> str:
        calls.append(msg.attempts)
        if len(calls) == 1:  # worker A, stuck in the SMTP call while its lease runs out
            with django_capture_on_commit_callbacks(execute=True):
                results["B"] = services.message_deliver(message_id=message.pk, now=after_lease)
            if late_result == "failure":
                raise OSError("timeout")
            return "<a@late>"
        return real_send(msg)

    monkeypatch.setattr(services, "_send_now", slow_send)
    with django_capture_on_commit_callbacks(execute=True):
        results["A"] = services.message_deliver(message_id=message.pk, now=start)
    assert results == {"B": "sent", "A": "superseded"} and calls == [1, 2]
    message.refresh_from_db()
    assert message.status == Status.SENT and message.attempts == 2 and message.last_error == ""
    assert len(mail.outbox) == 1  # B's send; A's late result sends nothing more
    assert list(DeliveryAttempt.objects.filter(message=message).values_list("number", "outcome")) == [
        (1, "superseded"),
        (2, "sent"),
    ]
    assert services.outbox_sweep(now=after_lease + dt.timedelta(days=1), inline=True) == 0
    assert len(mail.outbox) == 1


def settings_lease() -> int:
    from django.conf import settings

    return int(settings.OUTBOX_LEASE_SECONDS)


def test_lease_must_outlast_the_mail_and_sms_timeouts(settings: Any) -> None:
    from ventanilla.inbox.checks import outbox_lease_check

    assert outbox_lease_check(None) == []
    settings.EMAIL_TIMEOUT = 200
    (error,) = outbox_lease_check(None)
    assert error.id == "inbox.E001" and "OUTBOX_LEASE_SECONDS" in error.msg
    settings.EMAIL_TIMEOUT = None  # no timeout at all: a send could outlive any lease
    assert outbox_lease_check(None)[0].id == "inbox.E001"
