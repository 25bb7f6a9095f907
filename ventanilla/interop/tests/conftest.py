"""Fixtures of the interop tests: a provider (institution A, subsystem REGISTRO) publishing the demo civil
registry, a consumer (institution B, subsystem EXPEDIENTES) with a client-credentials client and an
approved right, and helpers to call the mediator over real HTTP (live server)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from django.db import connection

from ventanilla.core.models import Institution
from ventanilla.interop.demo import PURPOSE as DEMO_PURPOSE
from ventanilla.interop.demo import demo_registry_mark
from ventanilla.interop.models import AccessRight, Service, Subsystem
from ventanilla.interop.providers import CIVIL_REGISTRY_PATH, DEMO_REGISTRY_CIVIL
from ventanilla.interop.services import (
    ServiceData,
    access_right_grant,
    service_save,
    subsystem_client_create,
    subsystem_save,
)

APPEND_ONLY_TABLES = ("interop_messagelogentry", "interop_chainseal")
TRIGGERS_SQLITE = [
    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{event.lower()} BEFORE {event} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"
    for table in APPEND_ONLY_TABLES
    for event in ("UPDATE", "DELETE")
]


def triggers_off() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for table in APPEND_ONLY_TABLES:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks, so ALTER TABLE may run
            for table in APPEND_ONLY_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_update")


def triggers_on() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for statement in TRIGGERS_SQLITE:
                cursor.execute(statement)
        else:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in APPEND_ONLY_TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_no_update")


@pytest.fixture
def interop_log_flushable(audit_log_flushable: Any) -> Any:
    """Live-server tests on SQLite: let Django empty the message log and the seals after the test (see
    core's fixture)."""
    yield
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for table in APPEND_ONLY_TABLES:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")


@pytest.fixture
def interop_triggers(db: Any) -> None:
    """The append-only triggers exist (a live-server test on this worker may have dropped one)."""
    triggers_on()


@dataclass
class World:
    base: str
    provider: Subsystem
    service: Service
    consumer: Subsystem
    right: AccessRight
    client_id: str
    secret: str
    token: str

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Interop-Client": self.consumer.identifier,
            "Interop-Purpose": "Prellenado de formularios de trámites",
            "Interop-Subject": "CI-4567891",
            "Interop-User": "bob",
        }
        headers.update(extra)
        return {
            k: (quote(v, safe=" /-") if k.startswith("Interop-") else v)
            for k, v in headers.items()
            if v is not None
        }

    def url(self, rest: str = "personas/CI-4567891", service: Service | None = None) -> str:
        return f"{self.base}/interop/r1/{(service or self.service).identifier}/{rest}"

    def call(
        self,
        rest: str = "personas/CI-4567891",
        *,
        method: str = "GET",
        service: Service | None = None,
        timeout: float = 10,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = kwargs.pop("headers", None) or self.headers()
        return httpx.request(method, self.url(rest, service), headers=headers, timeout=timeout, **kwargs)


def token_for(base: str, client_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = httpx.post(
        f"{base}/token/",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def make_service(provider: Subsystem, code: str, base_url: str, **values: Any) -> Service:
    data = ServiceData(
        code=code,
        name=values.pop("name", f"Servicio {code}"),
        base_url=base_url,
        personal_data=values.pop("personal_data", ""),
        legal_basis="Ley de prueba",
        **values,
    )
    return service_save(actor=None, subsystem=provider, data=data)


def grant(consumer: Subsystem, service: Service, **values: Any) -> AccessRight:
    return access_right_grant(
        actor=None,
        consumer=consumer,
        service=service,
        purpose=values.pop("purpose", DEMO_PURPOSE),
        legal_basis="Ley de prueba",
        **values,
    )


def build_world(
    base: str, institution_a: Institution, institution_b: Institution, *, token: bool = True
) -> World:
    provider = subsystem_save(
        actor=None,
        institution=institution_a,
        code="REGISTRO",
        name="Registro civil A",
        kind=Subsystem.Kind.PROVIDER,
    )
    service = make_service(
        provider,
        "personas",
        base + CIVIL_REGISTRY_PATH,
        name="Consulta de personas",
        personal_data="Nombres y apellidos, fecha de nacimiento",
    )
    demo_registry_mark(service, DEMO_REGISTRY_CIVIL)  # the demo registry accepts this service's secret
    consumer = subsystem_save(
        actor=None,
        institution=institution_b,
        code="EXPEDIENTES",
        name="Expedientes B",
        kind=Subsystem.Kind.CONSUMER,
    )
    client_id, secret = subsystem_client_create(actor=None, subsystem=consumer)
    right = grant(consumer, service)
    return World(
        base=base,
        provider=provider,
        service=service,
        consumer=consumer,
        right=right,
        client_id=client_id,
        secret=secret,
        token=token_for(base, client_id, secret) if token else "",
    )


@pytest.fixture
def world(
    live_server: Any, interop_log_flushable: Any, institution_a: Institution, institution_b: Institution
) -> World:
    return build_world(live_server.url, institution_a, institution_b)
