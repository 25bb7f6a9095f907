"""The Bolivia-compatible approval API: an institution's system (client-credentials token) asks a citizen
(their Ciudadanía Digital access token) to approve a PDF or JSON document; the result comes back by a signed
callback (the external endpoint mocked at the HTTP boundary with httpx.MockTransport) or by polling."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx
import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from ventanilla.core.models import AuditEntry
from ventanilla.documents import selectors, tasks
from ventanilla.documents.models import ApprovalRequest
from ventanilla.identity.tests.conftest import PASSWORD, make_citizen
from ventanilla.identity.tests.test_oidc import SECRET, _basic, make_client

pytestmark = pytest.mark.django_db

URL = "/aprobacion-documentos/v1/aprobaciones"
CALLBACK = "https://sistema.inst-a.example/aprobaciones/resultado"
CONTENT = json.dumps({"contrato": "Servicio de agua", "monto": 120}).encode()


@pytest.fixture
def citizen(db: Any) -> Any:
    return make_citizen("CI-4567891", number="4567891")


def _machine_token(institution: Any, client_id: str, scope: str = "aprobacion_documentos") -> str:
    make_client(institution, client_id=client_id, grant=Application.GRANT_CLIENT_CREDENTIALS, scopes=scope)
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    response = Client().post("/token/", data, HTTP_AUTHORIZATION=_basic(client_id, SECRET))
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


def _citizen_token(user: Any, institution: Any, client_id: str) -> str:
    app = make_client(institution, client_id=client_id)
    token = f"ciudadano-{client_id}-{uuid.uuid4().hex}"
    AccessToken.objects.create(
        user=user,
        application=app,
        token=token,
        expires=timezone.now() + dt.timedelta(minutes=10),
        scope="openid",
    )
    return token


@pytest.fixture
def machine_a(institution_a: Any) -> str:
    return _machine_token(institution_a, "sistema-a")


@pytest.fixture
def machine_b(institution_b: Any) -> str:
    return _machine_token(institution_b, "sistema-b")


@pytest.fixture
def citizen_token_a(citizen: Any, institution_a: Any) -> str:
    return _citizen_token(citizen, institution_a, "portal-a")


def _body(citizen_token: str, content: bytes = CONTENT, **overrides: Any) -> dict[str, Any]:
    body = {
        "tipoDocumento": "JSON",
        "documento": base64.b64encode(content).decode(),
        "hashDocumento": hashlib.sha256(content).hexdigest(),
        "idTramite": str(uuid.uuid4()),
        "descripcion": "Contrato de servicio de agua potable",
        "token": citizen_token,
        "callbackUrl": CALLBACK,
    }
    body.update(overrides)
    return body


def _post(machine: str | None, body: Any) -> Any:
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {machine}"} if machine else {}
    return Client().post(URL, json.dumps(body), content_type="application/json", **headers)


class Receiver:
    """The institution's callback endpoint, at the HTTP boundary."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.statuses = statuses or [200]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self.statuses[min(len(self.requests) - 1, len(self.statuses) - 1)]
        return httpx.Response(status, json={"ok": status < 300})


@pytest.fixture
def receiver(monkeypatch: Any) -> Receiver:
    endpoint = Receiver()
    monkeypatch.setattr(tasks, "http_client", lambda: httpx.Client(transport=httpx.MockTransport(endpoint)))
    return endpoint


def test_request_is_accepted_and_citizen_approval_is_called_back(
    machine_a: str,
    citizen_token_a: str,
    citizen: Any,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    body = _body(citizen_token_a)
    response = _post(machine_a, body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["finalizado"] is True
    datos = data["datos"]
    assert datos["estado"] == "pendiente" and datos["idTramite"] == body["idTramite"]
    assert datos["hashDocumento"] == body["hashDocumento"] and datos["secretoCallback"]
    approval = ApprovalRequest.objects.get(public_id=datos["id"])
    assert approval.person_id == citizen.person.pk and approval.client_id == "sistema-a"
    assert selectors.approval_content(approval) == CONTENT
    assert AuditEntry.objects.filter(
        action="document_approval.request", actor_label="cliente:sistema-a"
    ).exists()

    # Polling while pending
    polled = Client().get(f"{URL}/{datos['id']}", HTTP_AUTHORIZATION=f"Bearer {machine_a}")
    assert polled.status_code == 200 and polled.json()["datos"]["estado"] == "pendiente"

    # The person approves in Mi cuenta (the JSON content is shown for review)
    client = Client()
    client.force_login(citizen)
    page = client.get(f"/cuenta/aprobaciones/{datos['id']}/")
    assert "Servicio de agua" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            f"/cuenta/aprobaciones/{datos['id']}/", {"decision": "aprobar", "password": PASSWORD}
        )
    assert answer.status_code == 302

    (delivered,) = receiver.requests
    assert str(delivered.url) == CALLBACK
    payload = json.loads(delivered.content)
    assert payload["id"] == datos["id"] and payload["aprobado"] is True and payload["estado"] == "aprobado"
    assert payload["hashAprobado"] == body["hashDocumento"] and payload["metodoAutenticacion"] == ["pwd"]
    assert payload["codigoVerificacion"] and payload["urlVerificacion"].endswith(
        f"/verificar/{payload['codigoVerificacion']}/"
    )
    expected = hmac.new(
        datos["secretoCallback"].encode(),
        delivered.headers["X-Ventanilla-Timestamp"].encode() + b"." + delivered.content,
        hashlib.sha256,
    ).hexdigest()
    assert delivered.headers["X-Ventanilla-Signature"] == f"sha256={expected}"
    approval.refresh_from_db()
    assert approval.callback_status == "entregado" and approval.callback_attempts == 1
    # Idempotent: running the task again sends nothing.
    tasks.deliver_approval_callback.enqueue(approval.pk)
    assert len(receiver.requests) == 1

    final = Client().get(f"{URL}/{datos['id']}", HTTP_AUTHORIZATION=f"Bearer {machine_a}").json()["datos"]
    assert final["estado"] == "aprobado" and final["codigoVerificacion"] == payload["codigoVerificacion"]


def test_callback_is_retried_then_marked_failed(
    machine_a: str,
    citizen_token_a: str,
    citizen: Any,
    receiver: Receiver,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.DOCUMENTS_CALLBACK_MAX_ATTEMPTS = 3
    receiver.statuses = [503, 500, 502]
    datos = _post(machine_a, _body(citizen_token_a)).json()["datos"]
    client = Client()
    client.force_login(citizen)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/cuenta/aprobaciones/{datos['id']}/", {"decision": "rechazar", "password": PASSWORD})
    assert len(receiver.requests) == 3
    approval = ApprovalRequest.objects.get(public_id=datos["id"])
    assert approval.callback_status == "fallido" and approval.callback_attempts == 3
    assert approval.callback_last_error == "HTTP 502"
    assert json.loads(receiver.requests[0].content)["aprobado"] is False


def test_callback_retry_succeeds_after_a_failure(
    machine_a: str,
    citizen_token_a: str,
    citizen: Any,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    receiver.statuses = [500, 204]
    datos = _post(machine_a, _body(citizen_token_a)).json()["datos"]
    client = Client()
    client.force_login(citizen)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/cuenta/aprobaciones/{datos['id']}/", {"decision": "aprobar", "password": PASSWORD})
    approval = ApprovalRequest.objects.get(public_id=datos["id"])
    assert len(receiver.requests) == 2 and approval.callback_status == "entregado"
    assert approval.callback_attempts == 2


def test_pdf_documents_are_accepted(machine_a: str, citizen_token_a: str) -> None:
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    response = _post(machine_a, _body(citizen_token_a, pdf, tipoDocumento="PDF", callbackUrl=""))
    assert response.status_code == 201
    assert response.json()["datos"]["secretoCallback"] is None


def test_bad_hash_is_a_machine_readable_400(machine_a: str, citizen_token_a: str) -> None:
    response = _post(machine_a, _body(citizen_token_a, hashDocumento="0" * 64))
    assert response.status_code == 400
    data = response.json()
    assert data["finalizado"] is False
    assert data["errors"] == [
        {
            "code": "hash_mismatch",
            "message": "hashDocumento no coincide con el SHA-256 del documento enviado.",
            "field": "hashDocumento",
        }
    ]
    assert not ApprovalRequest.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"tipoDocumento": "XML"}, "literal_error", "tipoDocumento"),
        ({"hashDocumento": "abc"}, "string_pattern_mismatch", "hashDocumento"),
        ({"idTramite": "no-uuid"}, "uuid_parsing", "idTramite"),
        ({"documento": "###"}, "invalid_base64", "documento"),
        ({"tipoDocumento": "PDF"}, "not_pdf", "documento"),
        ({"callbackUrl": "http://example.org/x"}, "invalid_callback_url", "callbackUrl"),
        ({"token": "no-existe"}, "invalid_citizen_token", "token"),
    ],
)
def test_invalid_bodies(
    machine_a: str, citizen_token_a: str, overrides: dict[str, Any], code: str, field: str
) -> None:
    response = _post(machine_a, _body(citizen_token_a, **overrides))
    assert response.status_code == 400, response.content
    first = response.json()["errors"][0]
    assert (first["code"], first["field"]) == (code, field)


def test_json_content_must_be_json(machine_a: str, citizen_token_a: str) -> None:
    raw = b"no es json"
    response = _post(machine_a, _body(citizen_token_a, raw))
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "not_json"
    malformed = Client().post(
        URL, "{", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {machine_a}"
    )
    assert malformed.status_code == 400 and malformed.json()["errors"][0]["code"] == "json_invalid"


def test_caller_must_be_an_approved_institution_client(citizen_token_a: str, institution_a: Any) -> None:
    assert _post(None, _body(citizen_token_a)).status_code == 401
    unauthorized = _post("inventado", _body(citizen_token_a))
    assert unauthorized.status_code == 401 and unauthorized["WWW-Authenticate"].startswith("Bearer")
    # A citizen's token is not an institution's credential.
    assert _post(citizen_token_a, _body(citizen_token_a)).status_code == 401
    # A client-credentials token without the «aprobacion_documentos» scope is not enough either.
    assert (
        _post(
            _machine_token(institution_a, "sin-alcance", scope="expedientes"), _body(citizen_token_a)
        ).status_code
        == 401
    )
    assert not ApprovalRequest.objects.exists()
    # A suspended client's still-valid token stops working.
    token = _machine_token(institution_a, "sistema-suspendido")
    Application.objects.get(client_id="sistema-suspendido").registration.__class__.objects.filter(
        application__client_id="sistema-suspendido"
    ).update(status="suspendida")
    assert _post(token, _body(citizen_token_a)).status_code == 401


def test_citizen_token_of_another_institution_is_refused(machine_b: str, citizen_token_a: str) -> None:
    response = _post(machine_b, _body(citizen_token_a))
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "invalid_citizen_token"


def test_expired_citizen_token_is_refused(machine_a: str, citizen_token_a: str) -> None:
    AccessToken.objects.filter(user__isnull=False).update(expires=timezone.now() - dt.timedelta(seconds=1))
    assert _post(machine_a, _body(citizen_token_a)).json()["errors"][0]["code"] == "invalid_citizen_token"


def test_other_institution_cannot_poll_or_act(
    machine_a: str, machine_b: str, citizen_token_a: str, charlie_client: Client
) -> None:
    datos = _post(machine_a, _body(citizen_token_a)).json()["datos"]
    other = Client().get(f"{URL}/{datos['id']}", HTTP_AUTHORIZATION=f"Bearer {machine_b}")
    assert other.status_code == 404 and other.json()["errors"][0]["code"] == "not_found"
    assert Client().get(f"{URL}/{datos['id']}").status_code == 401
    assert Client().get(f"{URL}/no-uuid", HTTP_AUTHORIZATION=f"Bearer {machine_a}").status_code == 404
    assert charlie_client.get(f"/gestion/documentos/aprobaciones/{datos['id']}/").status_code == 404


def test_oversized_body_is_a_json_413(machine_a: str, citizen_token_a: str, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = _post(machine_a, _body(citizen_token_a, b"{}" + b" " * 2000))
    assert response.status_code == 413 and response.json()["errors"][0]["code"] == "too_large"


# -- callbacks: SSRF guard, claim, sweep -----------------------------------------------------------------


@pytest.mark.parametrize("target", ["https://169.254.169.254/latest/meta-data/", "https://10.0.0.5/aviso"])
def test_callback_to_internal_addresses_is_refused(
    machine_a: str, citizen_token_a: str, settings: Any, target: str
) -> None:
    settings.DOCUMENTS_CALLBACK_ALLOW_PRIVATE = False
    response = _post(machine_a, _body(citizen_token_a, callbackUrl=target))
    assert response.status_code == 400, response.content
    first = response.json()["errors"][0]
    assert (first["code"], first["field"]) == ("invalid_callback_url", "callbackUrl")
    assert not ApprovalRequest.objects.exists()


def _decided(
    machine: str, citizen_token: str, citizen: Any, capture: Any, **overrides: Any
) -> ApprovalRequest:
    datos = _post(machine, _body(citizen_token, **overrides)).json()["datos"]
    client = Client()
    client.force_login(citizen)
    with capture(execute=True):
        client.post(f"/cuenta/aprobaciones/{datos['id']}/", {"decision": "rechazar", "password": PASSWORD})
    return ApprovalRequest.objects.get(public_id=datos["id"])


def test_callback_address_is_checked_again_before_posting(
    machine_a: str,
    citizen_token_a: str,
    citizen: Any,
    receiver: Receiver,
    settings: Any,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The name resolved to a public address when accepted; by the time of the POST it points inside."""
    monkeypatch.setattr(tasks, "_retry", lambda *args: None)
    settings.DOCUMENTS_CALLBACK_ALLOW_PRIVATE = False
    monkeypatch.setattr(
        "ventanilla.core.net.socket.getaddrinfo",
        lambda host, port, **kw: [(2, 1, 6, "", ("93.184.216.34", port))],
    )
    datos = _post(machine_a, _body(citizen_token_a)).json()["datos"]
    monkeypatch.setattr(
        "ventanilla.core.net.socket.getaddrinfo",
        lambda host, port, **kw: [(2, 1, 6, "", ("10.0.0.5", port))],
    )
    client = Client()
    client.force_login(citizen)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/cuenta/aprobaciones/{datos['id']}/", {"decision": "rechazar", "password": PASSWORD})
    assert receiver.requests == []
    approval = ApprovalRequest.objects.get(public_id=datos["id"])
    assert approval.callback_attempts == 1 and "no es pública" in approval.callback_last_error
    assert approval.callback_status == "pendiente" and approval.callback_locked_until is None


def test_callback_is_claimed_once_and_a_stale_worker_records_nothing(
    machine_a: str,
    citizen_token_a: str,
    citizen: Any,
    receiver: Receiver,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from ventanilla.documents import services

    monkeypatch.setattr(services, "_enqueue_callback", lambda *args, **kwargs: None)  # a lost enqueue
    approval = _decided(machine_a, citizen_token_a, citizen, django_capture_on_commit_callbacks)
    assert approval.callback_status == "pendiente" and receiver.requests == []
    # Two workers at once: only the first claim wins; the second posts nothing.
    first = services.callback_claim(approval_id=approval.pk)
    assert first == 1 and services.callback_claim(approval_id=approval.pk) is None
    assert tasks.deliver_approval_callback.enqueue(approval.pk).return_value == "nothing to do"
    assert receiver.requests == []
    # Its lease expires: a second worker takes over and delivers; the first one's late failure is ignored.
    later = timezone.now() + services.callback_lease() + dt.timedelta(seconds=1)
    second = services.callback_claim(approval_id=approval.pk, now=later)
    assert second == 2
    assert services.callback_attempt_record(approval_id=approval.pk, attempt=2, delivered=True) == "delivered"
    assert (
        services.callback_attempt_record(
            approval_id=approval.pk, attempt=1, delivered=False, error="HTTP 500"
        )
        == "superseded"
    )
    approval.refresh_from_db()
    assert approval.callback_status == "entregado" and approval.callback_last_error == ""


def test_sweep_delivers_callbacks_whose_enqueue_was_lost(
    machine_a: str,
    citizen_token_a: str,
    citizen: Any,
    receiver: Receiver,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.core.management import call_command

    from ventanilla.documents import services

    class BrokenQueue:
        def enqueue(self, *args: Any) -> None:
            raise RuntimeError("cola caída")

    monkeypatch.setattr(tasks, "deliver_approval_callback", BrokenQueue())
    approval = _decided(machine_a, citizen_token_a, citizen, django_capture_on_commit_callbacks)
    approval.refresh_from_db()
    assert approval.status == "rechazado" and approval.callback_status == "pendiente"  # commit not broken
    monkeypatch.undo()
    monkeypatch.setattr(tasks, "http_client", lambda: httpx.Client(transport=httpx.MockTransport(receiver)))
    assert services.approval_callbacks_sweep() == 0  # just decided: its own enqueue may still be on the way
    ApprovalRequest.objects.filter(pk=approval.pk).update(decided_at=timezone.now() - dt.timedelta(minutes=5))
    call_command("outbox_sweep")
    approval.refresh_from_db()
    assert approval.callback_status == "entregado" and len(receiver.requests) == 1
    call_command("outbox_sweep")
    assert len(receiver.requests) == 1
