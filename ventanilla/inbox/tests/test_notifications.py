"""The legal inbox: evidence trail, effect rules per country, Mi cuenta, back office, API and permissions."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import Client

from conftest import login, member
from ventanilla.core.models import AuditEntry, Role
from ventanilla.documents.selectors import document_content, document_verify
from ventanilla.inbox import services
from ventanilla.inbox.models import Notification, OutboxMessage
from ventanilla.inbox.selectors import unread_count

LA_PAZ = ZoneInfo("America/La_Paz")


def send(institution: Any, person: Any, capture: Any, **extra: Any) -> Notification:
    values: dict[str, Any] = {
        "subject": "Resolución de su solicitud",
        "body": "Se resolvió aprobar su solicitud de licencia. Plazo de apelación: 10 días hábiles.",
        "legal": True,
        "case_reference": "ABC-234-XYZ",
    }
    values.update(extra)
    with capture(execute=True):
        notification = services.notification_send(
            actor=None, institution_id=institution.pk, person_id=person.pk, **values
        )
    notification.refresh_from_db()
    return notification


@pytest.fixture
def py_rule(settings: Any) -> None:
    settings.INBOX_EFFECT_RULE = "on_open_or_days"
    settings.INBOX_DEEMED_BUSINESS_DAYS = 5


# -- evidence -----------------------------------------------------------------------------------------


def test_full_evidence_trail_on_delivery_rule(
    institution_a: Any,
    juana: Any,
    juana_person: Any,
    sms_outbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    notification = send(institution_a, juana_person, django_capture_on_commit_callbacks)

    # evidence hash v2: SHA-256 of the canonical JSON of content and circumstances
    from ventanilla.inbox import selectors

    expected = selectors.evidence_hash(
        version=2,
        subject=notification.subject,
        body=notification.body,
        attachment_hashes=[],
        uuid_value=notification.uuid,
        institution_code="INSTA",
        recipient=("CI", "4567891", ""),
        case_reference="ABC-234-XYZ",
        legal=True,
        available_at=notification.available_at,
    )
    assert notification.content_hash == expected and len(expected) == 64
    assert notification.content_hash_version == 2 and selectors.notification_hash_verifies(notification)
    # Bolivia: it takes effect when it is made available
    assert notification.available_at is not None
    assert notification.effective_at == notification.available_at
    assert notification.effect_reason == "delivery"
    assert notification.first_opened_at is None
    # signed constancia issued through the documents app
    constancia = notification.constancia
    assert constancia is not None and constancia.kind == "constancia_notificacion" and constancia.signed
    pdf = document_content(constancia)
    assert pdf.startswith(b"%PDF") and b"/ByteRange" in pdf
    assert hashlib.sha256(pdf).hexdigest() == constancia.sha256
    assert constancia.reference == str(notification.uuid)
    verification = document_verify(code=constancia.code)
    assert (
        verification.outcome == "valid" and verification.signature.intact and verification.signature.trusted
    )
    # alerts: e-mail and SMS, never the content
    assert len(mail.outbox) == 1
    alert = mail.outbox[0]
    assert alert.to == ["juana@example.org"]
    assert institution_a.name in alert.subject
    for secret in ("Resolución", "licencia", "ABC-234-XYZ"):
        assert secret not in alert.subject + alert.body
    assert f"/cuenta/notificaciones/{notification.uuid}/" in alert.body
    assert len(sms_outbox) == 1 and "licencia" not in sms_outbox[0].text
    assert (
        OutboxMessage.objects.filter(reference=f"notification:{notification.uuid}", status="sent").count()
        == 2
    )
    assert AuditEntry.objects.filter(
        action="inbox.notification.send", target_id=str(notification.pk)
    ).exists()
    assert AuditEntry.objects.filter(action="inbox.notification.constancia").count() == 1

    # the person opens it: first opening recorded once, audited once
    client = login(juana)
    assert unread_count(person_id=juana_person.pk) == 1
    page = client.get(f"/cuenta/notificaciones/{notification.uuid}/")
    assert page.status_code == 200
    assert "Plazo de apelación" in page.content.decode()
    notification.refresh_from_db()
    first = notification.first_opened_at
    assert first is not None
    assert client.get(f"/cuenta/notificaciones/{notification.uuid}/").status_code == 200
    notification.refresh_from_db()
    assert notification.first_opened_at == first
    assert AuditEntry.objects.filter(action="inbox.notification.open").count() == 1
    assert unread_count(person_id=juana_person.pk) == 0
    # the effect does not move when opened under the delivery rule
    assert notification.effect_reason == "delivery"


def test_attachments_enter_the_hash(
    institution_a: Any, institution_b: Any, juana_person: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from ventanilla.documents.services import document_issue

    document = document_issue(
        actor=None,
        institution_id=institution_a.pk,
        kind="resolucion",
        title="Resolución administrativa 12/2026",
        template_name="inbox/tests/attachment.html",
        context={},
        person_id=juana_person.pk,
        sign=False,
    )
    notification = send(
        institution_a, juana_person, django_capture_on_commit_callbacks, document_ids=[document.pk]
    )
    assert list(notification.documents.all()) == [document]
    from ventanilla.inbox import selectors

    assert selectors.notification_hash_verifies(notification)
    # the attachment's SHA-256 is part of the hash: the same notification without it hashes differently
    Notification.documents.through.objects.filter(notification_id=notification.pk).delete()
    stripped = Notification.objects.select_related("institution", "person").get(pk=notification.pk)
    assert not selectors.notification_hash_verifies(stripped)
    # another institution cannot attach A's document
    with pytest.raises(services.DomainError) as refused:
        services.notification_send(
            actor=None,
            institution_id=institution_b.pk,
            person_id=juana_person.pk,
            subject="x",
            body="y",
            document_ids=[document.pk],
        )
    assert refused.value.field == "document_ids"


def test_paraguay_rule_deemed_after_five_business_days(
    py_rule: None, institution_a: Any, juana_person: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Friday 18 Dec 2026; 25 Dec is a holiday: 21, 22, 23, 24, 28 → the 5th business day is Monday 28 Dec,
    # and the notification takes effect when that day ends (00:00 of Tuesday 29 Dec).
    sent_at = dt.datetime(2026, 12, 18, 10, 0, tzinfo=LA_PAZ)
    notification = send(institution_a, juana_person, django_capture_on_commit_callbacks, now=sent_at)
    assert notification.effective_at is None and notification.constancia_id is None
    assert notification.deemed_on == dt.date(2026, 12, 28)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.notifications_deem(now=dt.datetime(2026, 12, 24, 23, 0, tzinfo=LA_PAZ)) == 0
        # the whole 5th business day still belongs to the person
        assert services.notifications_deem(now=dt.datetime(2026, 12, 28, 23, 59, tzinfo=LA_PAZ)) == 0
    notification.refresh_from_db()
    assert notification.effective_at is None

    with django_capture_on_commit_callbacks(execute=True):
        assert services.notifications_deem(now=dt.datetime(2026, 12, 29, 0, 5, tzinfo=LA_PAZ)) == 1
    notification.refresh_from_db()
    assert notification.effect_reason == "deemed"
    assert notification.effective_at == dt.datetime(2026, 12, 29, 0, 0, tzinfo=LA_PAZ)
    assert notification.first_opened_at is None
    assert notification.constancia is not None and notification.constancia.signed
    # running again changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notifications_deem(now=dt.datetime(2026, 12, 30, 8, 0, tzinfo=LA_PAZ)) == 0


def test_opening_during_the_last_business_day_counts_as_opened(
    py_rule: None, institution_a: Any, juana: Any, juana_person: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Regression (off by one): the deadline used to fall at 00:00 of the Nth business day."""
    notification = send(
        institution_a,
        juana_person,
        django_capture_on_commit_callbacks,
        now=dt.datetime(2026, 12, 18, 10, 0, tzinfo=LA_PAZ),
    )
    opened_at = dt.datetime(2026, 12, 28, 16, 0, tzinfo=LA_PAZ)
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_open(actor=juana, notification=notification, now=opened_at)
    notification.refresh_from_db()
    assert notification.effect_reason == "opened" and notification.effective_at == opened_at


def test_paraguay_rule_opened_before_the_deadline(
    py_rule: None, institution_a: Any, juana: Any, juana_person: Any, django_capture_on_commit_callbacks: Any
) -> None:
    sent_at = dt.datetime(2026, 12, 18, 10, 0, tzinfo=LA_PAZ)
    notification = send(institution_a, juana_person, django_capture_on_commit_callbacks, now=sent_at)
    opened_at = dt.datetime(2026, 12, 22, 9, 30, tzinfo=LA_PAZ)
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_open(actor=juana, notification=notification, now=opened_at)
    notification.refresh_from_db()
    assert notification.first_opened_at == opened_at
    assert notification.effective_at == opened_at and notification.effect_reason == "opened"
    assert notification.constancia is not None
    # already effective: the deeming run leaves it alone
    assert services.notifications_deem(now=dt.datetime(2027, 1, 5, tzinfo=LA_PAZ)) == 0


def test_opened_after_the_deadline_counts_as_deemed(
    py_rule: None, institution_a: Any, juana: Any, juana_person: Any, django_capture_on_commit_callbacks: Any
) -> None:
    notification = send(
        institution_a,
        juana_person,
        django_capture_on_commit_callbacks,
        now=dt.datetime(2026, 12, 18, 10, 0, tzinfo=LA_PAZ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_open(
            actor=juana, notification=notification, now=dt.datetime(2026, 12, 30, 9, 0, tzinfo=LA_PAZ)
        )
    notification.refresh_from_db()
    assert notification.effect_reason == "deemed"
    assert notification.effective_at == dt.datetime(2026, 12, 29, 0, 0, tzinfo=LA_PAZ)


def test_inbox_deem_command(
    py_rule: None, institution_a: Any, juana_person: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from io import StringIO

    from django.core.management import call_command

    send(
        institution_a,
        juana_person,
        django_capture_on_commit_callbacks,
        now=dt.datetime(2025, 3, 3, 10, tzinfo=LA_PAZ),
    )
    out = StringIO()
    call_command("inbox_deem", stdout=out)
    assert "1" in out.getvalue()
    assert Notification.objects.get().effect_reason == "deemed"


def test_non_legal_notification_has_no_effect(
    institution_a: Any, juana_person: Any, django_capture_on_commit_callbacks: Any
) -> None:
    notification = send(institution_a, juana_person, django_capture_on_commit_callbacks, legal=False)
    assert (
        notification.effective_at is None
        and notification.deemed_on is None
        and notification.constancia_id is None
    )


def test_bad_input_is_refused(institution_a: Any, juana_person: Any) -> None:
    with pytest.raises(services.DomainError) as refused:
        services.notification_send(
            actor=None, institution_id=institution_a.pk, person_id=juana_person.pk, subject="", body=""
        )
    assert {item.field for item in refused.value.items()} == {"subject", "body"}
    with pytest.raises(services.NotFound):
        services.notification_send(
            actor=None, institution_id=institution_a.pk, person_id=999999, subject="a", body="b"
        )


# -- Mi cuenta ----------------------------------------------------------------------------------------


def test_inbox_list_search_archive_and_constant_queries(
    institution_a: Any,
    institution_b: Any,
    juana: Any,
    juana_person: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    for number in range(3):
        send(
            institution_a,
            juana_person,
            django_capture_on_commit_callbacks,
            subject=f"Aviso {number}",
            legal=False,
        )
    send(
        institution_b,
        juana_person,
        django_capture_on_commit_callbacks,
        subject="Multa de tránsito",
        legal=False,
    )
    client = login(juana)
    with django_assert_max_num_queries(12) as few:
        page = client.get("/cuenta/notificaciones/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Tiene 4 notificaciones sin leer" in html
    assert html.count("<h1") == 1
    for number in range(8):
        send(
            institution_a,
            juana_person,
            django_capture_on_commit_callbacks,
            subject=f"Más {number}",
            legal=False,
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/cuenta/notificaciones/").status_code == 200

    found = client.get("/cuenta/notificaciones/", {"q": "tránsito"}).content.decode()
    assert "Multa de tránsito" in found and "Aviso 1" not in found
    # archive and restore
    target = Notification.objects.get(subject="Multa de tránsito")
    response = client.post(f"/cuenta/notificaciones/{target.uuid}/archivar/")
    assert response.status_code == 302
    assert "Multa de tránsito" not in client.get("/cuenta/notificaciones/").content.decode()
    assert "Multa de tránsito" in client.get("/cuenta/notificaciones/?archivadas=1").content.decode()
    client.post(f"/cuenta/notificaciones/{target.uuid}/archivar/", {"accion": "restaurar"})
    target.refresh_from_db()
    assert target.archived_at is None
    assert (
        AuditEntry.objects.filter(
            action__in=["inbox.notification.archive", "inbox.notification.unarchive"]
        ).count()
        == 2
    )
    # pagination (20 per page)
    for number in range(10):
        send(
            institution_a,
            juana_person,
            django_capture_on_commit_callbacks,
            subject=f"Lote {number}",
            legal=False,
        )
    second = client.get("/cuenta/notificaciones/?pagina=2").content.decode()
    assert "Página 2 de 2" in second


def test_someone_else_cannot_open_my_notification(
    institution_a: Any, juana_person: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from ventanilla.identity.tests.conftest import make_citizen

    notification = send(institution_a, juana_person, django_capture_on_commit_callbacks)
    other = make_citizen("CI-5123987-1B", number="5123987", complement="1B")
    client = login(other)
    assert client.get(f"/cuenta/notificaciones/{notification.uuid}/").status_code == 404
    assert client.post(f"/cuenta/notificaciones/{notification.uuid}/archivar/").status_code == 404
    notification.refresh_from_db()
    assert notification.first_opened_at is None
    assert Client().get("/cuenta/notificaciones/").status_code == 302  # anonymous → sign in


# -- back office --------------------------------------------------------------------------------------


def test_back_office_sends_and_other_institution_gets_404(
    institution_a: Any, institution_b: Any, juana_person: Any, django_capture_on_commit_callbacks: Any
) -> None:
    clerk_a = member("clerk-a", Role.CLERK, institution_a)
    clerk_b = member("clerk-b", Role.CLERK, institution_b)
    client = login(clerk_a)
    form = client.get("/gestion/notificaciones/nueva/")
    assert form.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/gestion/notificaciones/nueva/",
            {
                "institution": institution_a.pk,
                "document_type": "CI",
                "document_number": "4.567.891",
                "subject": "Citación",
                "body": "Preséntese el lunes.",
                "legal": "on",
            },
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    notification = Notification.objects.get()
    assert notification.person_id == juana_person.pk and notification.sender_label == "clerk-a"
    detail = client.get(f"/gestion/notificaciones/{notification.uuid}/")
    assert detail.status_code == 200 and notification.content_hash in detail.content.decode()
    assert "Citación" in client.get("/gestion/notificaciones/").content.decode()

    other = login(clerk_b)
    assert other.get(f"/gestion/notificaciones/{notification.uuid}/").status_code == 404
    assert "Citación" not in other.get("/gestion/notificaciones/").content.decode()


def test_back_office_form_errors_and_unknown_person(institution_a: Any) -> None:
    client = login(member("clerk-a", Role.CLERK, institution_a))
    response = client.post(
        "/gestion/notificaciones/nueva/",
        {
            "institution": institution_a.pk,
            "document_type": "CI",
            "document_number": "7654321",
            "subject": "A",
            "body": "B",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "indique sus nombres" in html.lower() or "envíe también sus nombres" in html
    assert 'href="#id_document_number"' in html
    assert Notification.objects.count() == 0
    # citizens and other staff without an institution role get 403
    assert (
        login(member("agencia", Role.PLATFORM_ADMIN, None)).get("/gestion/notificaciones/").status_code == 403
    )


# -- API /api/v1/notifications ------------------------------------------------------------------------


def test_api_sends_and_returns_evidence(
    token_a: str, token_b: str, institution_a: Any, juana_person: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()
    payload = {
        "document_type": "CI",
        "document_number": "4567891",
        "subject": "Resolución",
        "body": "Texto de la resolución.",
        "legal": True,
        "case_reference": "TRK-1",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/notifications", payload, content_type="application/json", HTTP_AUTHORIZATION=token_a
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["institution"] == "INSTA" and body["legal"] is True
    evidence = body["evidence"]
    assert evidence["effect_reason"] == "delivery" and evidence["content_hash"]
    assert evidence["effective_at"] == evidence["available_at"]

    # the constancia is issued by a background task after the commit: the evidence shows it
    detail = client.get(f"/api/v1/notifications/{body['id']}", HTTP_AUTHORIZATION=token_a)
    assert detail.status_code == 200
    evidence = detail.json()["evidence"]
    assert evidence["content_hash"] == body["evidence"]["content_hash"]
    assert evidence["constancia"]["signed"] is True
    assert evidence["constancia"]["verify_url"].endswith(f"/verificar/{evidence['constancia']['code']}/")
    # another institution: 404, same shape as an unknown id
    other = client.get(f"/api/v1/notifications/{body['id']}", HTTP_AUTHORIZATION=token_b)
    assert other.status_code == 404 and other.json()["errors"][0]["code"] == "not_found"
    assert client.get("/api/v1/notifications/no-es-un-uuid", HTTP_AUTHORIZATION=token_a).status_code == 404
    # no token / bad token
    assert client.get(f"/api/v1/notifications/{body['id']}").status_code == 401
    assert (
        client.get(f"/api/v1/notifications/{body['id']}", HTTP_AUTHORIZATION="Bearer nada").status_code == 401
    )


def test_api_unknown_person(token_a: str, django_capture_on_commit_callbacks: Any) -> None:
    client = Client()
    payload = {"document_type": "CI", "document_number": "7654321", "subject": "Aviso", "body": "Texto"}
    response = client.post(
        "/api/v1/notifications", payload, content_type="application/json", HTTP_AUTHORIZATION=token_a
    )
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "person_not_found"
    bad = client.post(
        "/api/v1/notifications",
        {**payload, "document_number": "12"},
        content_type="application/json",
        HTTP_AUTHORIZATION=token_a,
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "document_number"
    missing = client.post(
        "/api/v1/notifications",
        {"document_number": "7654321"},
        content_type="application/json",
        HTTP_AUTHORIZATION=token_a,
    )
    assert missing.status_code == 400 and len(missing.json()["errors"]) == 2
    assert "subject" in {e["field"] for e in missing.json()["errors"]}
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/notifications",
            {**payload, "first_names": "Pedro", "first_surname": "Condori", "email": "pedro@example.org"},
            content_type="application/json",
            HTTP_AUTHORIZATION=token_a,
        )
    assert created.status_code == 201, created.content
    assert created.json()["recipient_document"] == "CI 7654321"
    assert any(m.to == ["pedro@example.org"] for m in mail.outbox)


def test_api_refuses_suspended_clients(token_a: str, juana_person: Any) -> None:
    from django.apps import apps

    apps.get_model("identity", "ClientRegistration").objects.filter(
        application__client_id="sistema-a"
    ).update(status="suspendida")
    payload = {"document_number": "4567891", "subject": "Aviso", "body": "Texto"}
    response = Client().post(
        "/api/v1/notifications", payload, content_type="application/json", HTTP_AUTHORIZATION=token_a
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "unauthenticated"
    assert Notification.objects.count() == 0


def test_api_refuses_citizen_tokens_and_clients_without_the_scope(
    institution_a: Any, juana: Any, juana_person: Any
) -> None:
    """Regression: any token of an approved client used to be accepted — a person's included."""
    import datetime as _dt
    import uuid as _uuid

    from django.utils import timezone
    from oauth2_provider.models import AccessToken

    from .conftest import bearer_for, make_machine_client

    payload = {"document_number": "4567891", "subject": "Aviso", "body": "Texto"}

    def post(header: str) -> Any:
        return Client().post(
            "/api/v1/notifications", payload, content_type="application/json", HTTP_AUTHORIZATION=header
        )

    portal = make_machine_client(institution_a, "portal-a", scopes="openid notificaciones")
    citizen_token = f"ciudadano-{_uuid.uuid4().hex}"
    AccessToken.objects.create(
        user=juana,
        application=portal,
        token=citizen_token,
        expires=timezone.now() + _dt.timedelta(minutes=10),
        scope="openid notificaciones",
    )
    assert post(f"Bearer {citizen_token}").status_code == 401
    make_machine_client(institution_a, "sin-alcance", scopes="expedientes")
    assert post(bearer_for("sin-alcance", scope="expedientes")).status_code == 401
    assert Notification.objects.count() == 0
    make_machine_client(institution_a, "con-alcance")
    assert post(bearer_for("con-alcance")).status_code == 201


def test_unverified_account_sees_no_content_and_opening_is_not_recorded(
    institution_a: Any,
    juana: Any,
    juana_person: Any,
    py_rule: None,
    django_capture_on_commit_callbacks: Any,
    check_page: Any,
) -> None:
    """Regression: a self-registered account that claimed, at «básico», a Person an institution created could
    read that person's legal notifications and make them take effect by opening them."""
    from ventanilla.core.errors import DomainError

    type(juana_person).objects.filter(pk=juana_person.pk).update(
        assurance_level="basico", email_verified=True, mobile_verified=False
    )
    notification = send(institution_a, juana_person, django_capture_on_commit_callbacks)
    client = login(juana)
    listing = client.get("/cuenta/notificaciones/").content.decode()
    assert notification.subject not in listing and "Verifique su identidad" in listing
    searched = client.get("/cuenta/notificaciones/?q=licencia").content.decode()
    assert notification.subject not in searched
    page = client.get(f"/cuenta/notificaciones/{notification.uuid}/")
    html = page.content.decode()
    assert page.status_code == 403
    page.status_code = 200  # the page checks (one h1, labels, CSP) on the explanation page
    check_page(page)
    check_page(client.get("/cuenta/notificaciones/"))
    assert notification.body not in html and notification.subject not in html
    assert 'href="/cuenta/"' in html
    notification.refresh_from_db()
    assert notification.first_opened_at is None and notification.effective_at is None
    assert not AuditEntry.objects.filter(action="inbox.notification.open").exists()
    with pytest.raises(DomainError) as refused:
        services.notification_open(actor=juana, notification=notification)
    assert refused.value.code == "identity_not_verified"
    # Both contacts confirmed: readable, and the opening counts.
    type(juana_person).objects.filter(pk=juana_person.pk).update(mobile_verified=True)
    assert notification.body in client.get(f"/cuenta/notificaciones/{notification.uuid}/").content.decode()
    notification.refresh_from_db()
    assert notification.first_opened_at is not None and notification.effect_reason == "opened"


def test_verified_identity_reads_without_confirmed_contacts(
    institution_a: Any, juana: Any, juana_person: Any, django_capture_on_commit_callbacks: Any
) -> None:
    type(juana_person).objects.filter(pk=juana_person.pk).update(
        assurance_level="verificado", email_verified=False, mobile_verified=False
    )
    notification = send(institution_a, juana_person, django_capture_on_commit_callbacks)
    page = login(juana).get(f"/cuenta/notificaciones/{notification.uuid}/")
    assert page.status_code == 200 and notification.body in page.content.decode()


@pytest.mark.parametrize(
    "link", ["/\\evil.example", "//evil.example/x", "/\t/evil.example", "https://evil.example/", "/", "x/y"]
)
def test_link_path_must_stay_on_site(link: str, institution_a: Any, juana_person: Any) -> None:
    """Regression: "/\\evil.example" passed the old check and browsers follow it to another host."""
    from ventanilla.core.errors import DomainError

    with pytest.raises(DomainError) as refused:
        services.notification_send(
            actor=None,
            institution_id=institution_a.pk,
            person_id=juana_person.pk,
            subject="S",
            body="B",
            link_path=link,
        )
    assert refused.value.field == "link_path"
    assert not Notification.objects.exists()


def test_on_site_link_path_is_accepted_and_shown(
    institution_a: Any, juana: Any, juana_person: Any, django_capture_on_commit_callbacks: Any
) -> None:
    notification = send(
        institution_a, juana_person, django_capture_on_commit_callbacks, link_path="/cuenta/expedientes/ABC/"
    )
    html = login(juana).get(f"/cuenta/notificaciones/{notification.uuid}/").content.decode()
    assert 'href="/cuenta/expedientes/ABC/"' in html
    # a link stored before the stricter check is not rendered
    Notification.objects.filter(pk=notification.pk).update(link_path="/\\evil.example")
    html = login(juana).get(f"/cuenta/notificaciones/{notification.uuid}/").content.decode()
    assert "evil.example" not in html


def test_constancia_task_run_twice_issues_one_document(
    institution_a: Any, juana_person: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Regression: a second run of the task while the first was rendering issued a second constancia."""
    from ventanilla.documents import services as document_services
    from ventanilla.documents.models import Document

    real_issue = document_services.document_issue
    second_runs: list[Any] = []

    def issue_while_another_worker_runs(**kwargs: Any) -> Any:
        if not second_runs:  # the second worker starts while the first is still rendering and signing
            second_runs.append(services.notification_constancia_issue(notification_id=notification.pk))
        return real_issue(**kwargs)

    monkeypatch.setattr(document_services, "document_issue", issue_while_another_worker_runs)
    with django_capture_on_commit_callbacks(execute=False):
        notification = services.notification_send(
            actor=None,
            institution_id=institution_a.pk,
            person_id=juana_person.pk,
            subject="S",
            body="B",
            legal=True,
        )
    first = services.notification_constancia_issue(notification_id=notification.pk)
    assert second_runs == [None]
    again = services.notification_constancia_issue(notification_id=notification.pk)
    assert again == first
    assert Document.objects.filter(kind="constancia_notificacion").count() == 1
    notification.refresh_from_db()
    assert notification.constancia_id == first.pk and notification.constancia_claimed_until is None


def test_person_downloads_attachments_and_constancia_of_their_own_notification(
    institution_a: Any,
    juana: Any,
    juana_person: Any,
    django_capture_on_commit_callbacks: Any,
    check_page: Any,
) -> None:
    from ventanilla.documents.services import document_issue
    from ventanilla.identity.tests.conftest import make_citizen

    attachment = document_issue(
        actor=None,
        institution_id=institution_a.pk,
        kind="resolucion",
        title="Resolución administrativa 12/2026",
        template_name="inbox/tests/attachment.html",
        context={},
        person_id=juana_person.pk,
        sign=False,
    )
    unrelated = document_issue(
        actor=None,
        institution_id=institution_a.pk,
        kind="resolucion",
        title="Otra resolución",
        template_name="inbox/tests/attachment.html",
        context={},
        sign=False,
    )
    notification = send(
        institution_a, juana_person, django_capture_on_commit_callbacks, document_ids=[attachment.pk]
    )
    constancia = notification.constancia
    assert constancia is not None
    client = login(juana)
    base = f"/cuenta/notificaciones/{notification.uuid}/documentos"
    page = client.get(f"/cuenta/notificaciones/{notification.uuid}/")
    check_page(page)
    html = page.content.decode()
    assert f"{base}/{attachment.code}.pdf" in html and f"{base}/{constancia.code}.pdf" in html
    for document in (attachment, constancia):
        response = client.get(f"{base}/{document.code}.pdf")
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert hashlib.sha256(b"".join(response)).hexdigest() == document.sha256
    # a document that is not part of this notification, another person, anonymous: 404 / sign in
    assert client.get(f"{base}/{unrelated.code}.pdf").status_code == 404
    other = login(make_citizen("CI-5123987", number="5123987"))
    assert other.get(f"{base}/{attachment.code}.pdf").status_code == 404
    assert other.get(f"{base}/{constancia.code}.pdf").status_code == 404
    assert Client().get(f"{base}/{attachment.code}.pdf").status_code == 302


def test_evidence_hash_v2_covers_the_circumstances_and_v1_still_verifies(
    institution_a: Any, juana_person: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The v1 hash covered only subject, body and attachments: the sender, recipient, case, legal flag and
    time of a notification could change without the hash noticing."""
    from ventanilla.inbox import selectors

    notification = send(institution_a, juana_person, django_capture_on_commit_callbacks)
    assert notification.content_hash_version == 2 and selectors.notification_hash_verifies(notification)
    for change in (
        {"case_reference": "OTRA-REF"},
        {"legal": False},
        {"available_at": notification.available_at + dt.timedelta(seconds=1)},
    ):
        Notification.objects.filter(pk=notification.pk).update(**change)
        changed = Notification.objects.select_related("institution", "person").get(pk=notification.pk)
        assert not selectors.notification_hash_verifies(changed), change
        Notification.objects.filter(pk=notification.pk).update(
            case_reference=notification.case_reference,
            legal=notification.legal,
            available_at=notification.available_at,
        )
    # A notification stored with a v1 hash still verifies (and its v1 hash ignores the circumstances).
    legacy_hash = services.content_hash(
        subject=notification.subject, body=notification.body, attachment_hashes=[]
    )
    Notification.objects.filter(pk=notification.pk).update(content_hash=legacy_hash, content_hash_version=1)
    legacy = Notification.objects.select_related("institution", "person").get(pk=notification.pk)
    assert selectors.notification_hash_verifies(legacy)
    assert selectors.notification_evidence(legacy)["hash_version"] == 1
