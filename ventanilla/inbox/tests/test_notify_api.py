"""The GOV.UK Notify-compatible API: Notify's own client library against a live server, auth and shapes."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from django.core import mail
from django.test import Client
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from ventanilla.inbox import services
from ventanilla.inbox.models import MessageTemplate, OutboxMessage


def make_template(institution: Any, channel: str = "email") -> MessageTemplate:
    return services.template_save(
        actor=None,
        institution_id=institution.pk,
        name=f"Aviso {channel}",
        channel=channel,
        subject="Trámite ((codigo))" if channel == "email" else "",
        body="Hola ((nombre)), su trámite ((codigo)) está listo.",
    )


def token(api_key: str, *, iat: int | None = None, secret: str | None = None) -> str:
    service_id, key_secret = api_key[-73:-37], api_key[-36:]
    claims = {"iss": service_id, "iat": int(time.time()) if iat is None else iat}
    return "Bearer " + jwt.encode(claims, secret or key_secret, algorithm="HS256")


@pytest.fixture
def key_a(institution_a: Any) -> str:
    return services.api_key_create(actor=None, institution_id=institution_a.pk, name="sistema")[1]


@pytest.fixture
def key_b(institution_b: Any) -> str:
    return services.api_key_create(actor=None, institution_id=institution_b.pk, name="otro")[1]


def test_notify_client_library_sends_email_through_live_server(
    live_server: Any, audit_log_flushable: Any, institution_a: Any
) -> None:
    template = make_template(institution_a)
    _key, api_key = services.api_key_create(actor=None, institution_id=institution_a.pk, name="Producción")
    client = NotificationsAPIClient(api_key, base_url=live_server.url)

    response = client.send_email_notification(
        email_address="juana@example.org",
        template_id=str(template.pk),
        personalisation={"nombre": "Juana", "codigo": "ABC-234"},
        reference="expediente-1",
    )
    assert response["reference"] == "expediente-1"
    assert response["content"]["subject"] == "Trámite ABC-234"
    assert response["content"]["body"] == "Hola Juana, su trámite ABC-234 está listo."
    assert response["template"] == {
        "id": str(template.pk),
        "version": 1,
        "uri": f"{live_server.url}/services/{api_key[-73:-37]}/templates/{template.pk}",
    }
    assert response["uri"] == f"{live_server.url}/v2/notifications/{response['id']}"
    # the task ran after the commit: the e-mail went out through the configured backend
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["juana@example.org"]
    assert mail.outbox[0].subject == "Trámite ABC-234"

    status = client.get_notification_by_id(response["id"])
    assert status["status"] == "delivered" and status["type"] == "email"
    assert status["email_address"] == "juana@example.org" and status["reference"] == "expediente-1"
    listed = client.get_all_notifications(template_type="email", reference="expediente-1")
    assert [n["id"] for n in listed["notifications"]] == [response["id"]]
    assert client.get_all_notifications(status="technical-failure")["notifications"] == []

    with pytest.raises(HTTPError) as missing:
        client.send_email_notification(
            email_address="juana@example.org",
            template_id=str(template.pk),
            personalisation={"nombre": "Juana"},
        )
    assert missing.value.status_code == 400
    assert missing.value.message == [
        {"error": "BadRequestError", "message": "Missing personalisation: codigo"}
    ]
    assert OutboxMessage.objects.count() == 1


def test_post_shapes_and_errors(
    key_a: str, institution_a: Any, sms_outbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    email_template = make_template(institution_a)
    sms_template = make_template(institution_a, "sms")
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        sms = client.post(
            "/v2/notifications/sms",
            {
                "phone_number": "+59171234567",
                "template_id": str(sms_template.pk),
                "personalisation": {"nombre": "Ana", "codigo": "Z"},
            },
            content_type="application/json",
            HTTP_AUTHORIZATION=token(key_a),
        )
    assert sms.status_code == 201, sms.content
    assert sms.json()["content"]["body"] == "Hola Ana, su trámite Z está listo."
    assert sms.json()["reference"] is None
    assert sms_outbox[0].to == "+59171234567"

    def post(path: str, data: Any) -> Any:
        return client.post(path, data, content_type="application/json", HTTP_AUTHORIZATION=token(key_a))

    required = post("/v2/notifications/email", {})
    assert required.status_code == 400
    assert required.json() == {
        "errors": [
            {"error": "ValidationError", "message": "email_address is a required property"},
            {"error": "ValidationError", "message": "template_id is a required property"},
        ],
        "status_code": 400,
    }
    wrong_type = post(
        "/v2/notifications/email", {"email_address": "a@example.org", "template_id": str(sms_template.pk)}
    )
    assert wrong_type.json()["errors"][0] == {
        "error": "BadRequestError",
        "message": "sms template is not suitable for email notification",
    }
    unknown = post(
        "/v2/notifications/email", {"email_address": "a@example.org", "template_id": str(uuid.uuid4())}
    )
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["message"] == "Template not found"
    bad_email = post(
        "/v2/notifications/email",
        {
            "email_address": "nada",
            "template_id": str(email_template.pk),
            "personalisation": {"nombre": "a", "codigo": "b"},
        },
    )
    assert bad_email.json()["errors"][0] == {
        "error": "ValidationError",
        "message": "email_address Not a valid email address",
    }
    bad_json = client.post(
        "/v2/notifications/email", "{no", content_type="application/json", HTTP_AUTHORIZATION=token(key_a)
    )
    assert bad_json.status_code == 400 and bad_json.json()["errors"][0]["error"] == "BadRequestError"
    assert client.get("/v2/notifications/email", HTTP_AUTHORIZATION=token(key_a)).status_code == 405


def test_jwt_authentication_rules(key_a: str, institution_a: Any) -> None:
    client = Client()

    def call(header: str | None) -> Any:
        extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
        return client.get("/v2/notifications", **extra)

    assert call(token(key_a)).status_code == 200
    missing = call(None)
    assert missing.status_code == 401
    assert missing.json() == {
        "errors": [{"error": "AuthError", "message": "Unauthorized: authentication token must be provided"}],
        "status_code": 401,
    }
    assert call("Basic abc").status_code == 401
    assert call("Bearer no-es-un-jwt").json()["errors"][0]["message"].startswith("Invalid token")
    forged = call(token(key_a, secret=str(uuid.uuid4())))
    assert (
        forged.status_code == 403
        and forged.json()["errors"][0]["message"] == "Invalid token: API key not found"
    )
    old = call(token(key_a, iat=int(time.time()) - 60))
    assert old.status_code == 403
    assert (
        old.json()["errors"][0]["message"] == "Error: Your system clock must be accurate to within 30 seconds"
    )
    future = call(token(key_a, iat=int(time.time()) + 60))
    assert future.status_code == 403
    no_service = call(
        "Bearer "
        + jwt.encode({"iss": str(uuid.uuid4()), "iat": int(time.time())}, "x" * 36, algorithm="HS256")
    )
    assert no_service.json()["errors"][0]["message"] == "Invalid token: service not found"
    # revoked keys stop working
    from ventanilla.inbox.models import ApiKey

    services.api_key_revoke(actor=None, api_key=ApiKey.objects.get(institution=institution_a))
    revoked = call(token(key_a))
    assert (
        revoked.status_code == 403
        and revoked.json()["errors"][0]["message"] == "Invalid token: API key revoked"
    )


def test_institutions_only_see_their_own_messages(
    key_a: str, key_b: str, institution_a: Any, django_capture_on_commit_callbacks: Any
) -> None:
    template = make_template(institution_a)
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            "/v2/notifications/email",
            {
                "email_address": "a@example.org",
                "template_id": str(template.pk),
                "personalisation": {"nombre": "A", "codigo": "1"},
            },
            content_type="application/json",
            HTTP_AUTHORIZATION=token(key_a),
        ).json()
    mine = client.get(f"/v2/notifications/{sent['id']}", HTTP_AUTHORIZATION=token(key_a))
    assert mine.status_code == 200 and mine.json()["status"] == "delivered"
    theirs = client.get(f"/v2/notifications/{sent['id']}", HTTP_AUTHORIZATION=token(key_b))
    assert theirs.status_code == 404
    assert theirs.json() == {
        "errors": [{"error": "NoResultFound", "message": "No result found"}],
        "status_code": 404,
    }
    assert client.get("/v2/notifications", HTTP_AUTHORIZATION=token(key_b)).json()["notifications"] == []
    # B cannot send with A's template either
    refused = client.post(
        "/v2/notifications/email",
        {
            "email_address": "a@example.org",
            "template_id": str(template.pk),
            "personalisation": {"nombre": "A", "codigo": "1"},
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=token(key_b),
    )
    assert refused.status_code == 400 and refused.json()["errors"][0]["message"] == "Template not found"
    bad_id = client.get("/v2/notifications/xyz", HTTP_AUTHORIZATION=token(key_a))
    assert bad_id.status_code == 400


def test_list_filters_and_pagination_links(
    key_a: str,
    institution_a: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    template = make_template(institution_a)
    client = Client()
    ids = []
    for number in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            ids.append(
                client.post(
                    "/v2/notifications/email",
                    {
                        "email_address": f"p{number}@example.org",
                        "template_id": str(template.pk),
                        "personalisation": {"nombre": "P", "codigo": str(number)},
                        "reference": f"r{number % 2}",
                    },
                    content_type="application/json",
                    HTTP_AUTHORIZATION=token(key_a),
                ).json()["id"]
            )
    with django_assert_max_num_queries(5):
        listing = client.get("/v2/notifications", HTTP_AUTHORIZATION=token(key_a)).json()
    assert [n["id"] for n in listing["notifications"]] == list(reversed(ids))
    assert "older_than=" + ids[0] in listing["links"]["next"]
    older = client.get(f"/v2/notifications?older_than={ids[2]}", HTTP_AUTHORIZATION=token(key_a)).json()
    assert [n["id"] for n in older["notifications"]] == [ids[1], ids[0]]
    by_ref = client.get("/v2/notifications?reference=r0", HTTP_AUTHORIZATION=token(key_a)).json()
    assert {n["id"] for n in by_ref["notifications"]} == {ids[0], ids[2]}
    assert (
        client.get("/v2/notifications?template_type=sms", HTTP_AUTHORIZATION=token(key_a)).json()[
            "notifications"
        ]
        == []
    )
    assert (
        len(
            client.get("/v2/notifications?status=delivered", HTTP_AUTHORIZATION=token(key_a)).json()[
                "notifications"
            ]
        )
        == 3
    )
    assert (
        client.get("/v2/notifications?status=created", HTTP_AUTHORIZATION=token(key_a)).json()[
            "notifications"
        ]
        == []
    )
    wrong = client.get("/v2/notifications?status=elefante", HTTP_AUTHORIZATION=token(key_a))
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["error"] == "ValidationError"
