"""registry_query(): the in-process path other apps use (e.g. to prefill a form). Same checks, same log,
same data-use row, same codes as the HTTP mediator; the provider is still called over real HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from ventanilla.identity.tests.conftest import make_citizen
from ventanilla.interop.models import AccessRight, MessageLogEntry, Service
from ventanilla.interop.services import InteropError, RegistryAnswer, registry_query

from .conftest import World, grant, make_service

pytestmark = pytest.mark.urls("ventanilla.interop.tests.urls")

PURPOSE = "Prellenado de formularios de trámites"


def _query(world: World, **overrides: Any) -> RegistryAnswer:
    values: dict[str, Any] = {
        "actor": None,
        "client": "INSTB/EXPEDIENTES",
        "service": world.service.identifier,
        "path": "personas/4567891",
        "purpose": PURPOSE,
        "subject": "4567891",
        "user": "funcionario.b",
    }
    values.update(overrides)
    return registry_query(**values)


def test_query_returns_parsed_data_and_logs(world: World) -> None:
    citizen = make_citizen("CI-4567891", number="4567891")
    answer = _query(world)
    assert answer.status == 200
    assert answer.data["primer_apellido"] == "Quispe"
    entry = MessageLogEntry.objects.get(request_id=answer.request_id)
    assert (entry.outcome, entry.user, entry.subject) == ("ok", "funcionario.b", "4567891")
    assert citizen.person.data_uses.filter(application_name="Expedientes B", purpose=PURPOSE).exists()


def test_query_defaults_the_user_to_the_actor(world: World, bob: Any) -> None:
    answer = _query(world, actor=bob, user="")
    assert MessageLogEntry.objects.get(request_id=answer.request_id).user == "bob"


def test_query_not_found_is_an_answer(world: World) -> None:
    answer = _query(world, path="/personas/CI-1111111", subject="CI-1111111")
    assert answer.status == 404 and answer.data["error"] == "no_registrado"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("no_right", "access_denied"),
        ("expired", "access_denied"),
        ("consent", "consent_required"),
        ("unknown", "unknown_service"),
        ("client", "bad_client"),
        ("purpose", "missing_header"),
        ("timeout", "provider_timeout"),
        ("error", "provider_error"),
    ],
)
def test_query_refusals_use_the_mediator_codes(world: World, change: str, code: str) -> None:
    overrides: dict[str, Any] = {}
    if change == "no_right":
        AccessRight.objects.all().update(status="rechazado")
    elif change == "expired":
        AccessRight.objects.all().update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    elif change == "consent":
        Service.objects.filter(pk=world.service.pk).update(needs_consent=True)
    elif change == "unknown":
        overrides["service"] = "INSTA/REGISTRO/nada"
    elif change == "client":
        overrides["client"] = "INSTB/NO-EXISTE"
    elif change == "purpose":
        overrides["purpose"] = ""
    elif change in ("timeout", "error"):
        path = "lento" if change == "timeout" else "falla"
        service = make_service(
            world.provider, path, f"{world.base}/prueba-proveedor/{path}", timeout_seconds=0.3
        )
        grant(world.consumer, service)
        overrides.update(service=service.identifier, path="/x", subject="")
    with pytest.raises(InteropError) as raised:
        _query(world, **overrides)
    assert raised.value.code == code
    assert raised.value.status in (400, 401, 403, 404, 502, 504)
