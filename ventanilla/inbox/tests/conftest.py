"""Fixtures for the inbox tests: a citizen with a Person (Juana, CI 4567891), machine clients of
institutions A and B with their bearer tokens, SMS outbox, on-commit runner."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from ventanilla.identity.tests.conftest import check_page, make_citizen

__all__ = ["check_page"]  # the page checker fixture, shared with identity

CLIENT_SECRET = "secreto-de-maquina-" + "x" * 40


@pytest.fixture
def juana(db: Any) -> Any:
    """Citizen user with a Person: Juana Quispe Mamani, CI 4567891, e-mail and mobile verified."""
    return make_citizen("CI-4567891", number="4567891", email="juana@example.org", mobile="+59171234567")


@pytest.fixture
def juana_person(juana: Any) -> Any:
    return juana.person


@pytest.fixture
def sms_outbox() -> Iterator[list[Any]]:
    from ventanilla.identity import sms

    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture(autouse=True)
def _clean_mail() -> None:
    mail.outbox = []


def make_machine_client(
    institution: Any, client_id: str, status: str = "aprobada", scopes: str = "notificaciones"
) -> Any:
    from django.apps import apps
    from oauth2_provider.models import Application

    ClientRegistration = apps.get_model("identity", "ClientRegistration")

    app = Application.objects.create(
        name=f"Sistema {client_id}",
        client_id=client_id,
        client_secret=CLIENT_SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        algorithm=Application.RS256_ALGORITHM,
    )
    ClientRegistration.objects.create(
        application=app, institution=institution, status=status, allowed_scopes=scopes
    )
    return app


def bearer_for(client_id: str, scope: str = "notificaciones") -> str:
    """A real access token from /token/ (client-credentials grant)."""
    basic = base64.b64encode(f"{client_id}:{CLIENT_SECRET}".encode()).decode()
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    response = Client().post("/token/", data, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200, response.content
    return "Bearer " + response.json()["access_token"]


@pytest.fixture
def token_a(institution_a: Any) -> str:
    make_machine_client(institution_a, "sistema-a")
    return bearer_for("sistema-a")


@pytest.fixture
def token_b(institution_b: Any) -> str:
    make_machine_client(institution_b, "sistema-b")
    return bearer_for("sistema-b")
