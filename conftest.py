"""Shared fixtures. The cast (ARCHITECTURE.md): citizen ``alice``, ``bob`` of institution A, ``charlie`` of
institution B, and ``agency`` (the platform agency). Every object-level rule is tested with bob vs charlie."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from ventanilla.catalog.services import ChannelData, ProcedureData, RequirementData, StepData, procedure_save
from ventanilla.core.models import Institution, Membership, Office, Role


@pytest.fixture(autouse=True)
def _empty_cache() -> Any:
    """Each test starts with an empty cache (rate-limit counters, cached catalogue counts)."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def institution_a(db: Any) -> Institution:
    institution = Institution.objects.create(
        code="INSTA", name="Servicio de Identificación de Prueba", acronym="SIP", level="central"
    )
    Office.objects.create(
        institution=institution,
        code="INSTA-SEDE",
        name="Oficina central A",
        department="L",
        municipality="La Paz",
    )
    return institution


@pytest.fixture
def institution_b(db: Any) -> Institution:
    institution = Institution.objects.create(
        code="INSTB", name="Gobierno Municipal de Prueba", acronym="GMP", level="municipal", department="S"
    )
    Office.objects.create(
        institution=institution,
        code="INSTB-SEDE",
        name="Oficina central B",
        department="S",
        municipality="Santa Cruz de la Sierra",
    )
    return institution


def _user(username: str, **extra: Any) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username=username, password="clave-de-prueba-123", **extra)  # noqa: S106


def member(username: str, role: str, institution: Institution | None) -> Any:
    """A user holding ``role`` in ``institution`` (None for the platform agency)."""
    user = _user(username)
    Membership.objects.create(user=user, institution=institution, role=role)
    return user


@pytest.fixture
def alice(db: Any) -> Any:
    return _user("alice", first_name="Alicia", last_name="Mamani")


@pytest.fixture
def bob(institution_a: Institution) -> Any:
    return member("bob", Role.INSTITUTION_EDITOR, institution_a)


@pytest.fixture
def charlie(institution_b: Institution) -> Any:
    return member("charlie", Role.INSTITUTION_EDITOR, institution_b)


@pytest.fixture
def agency(db: Any) -> Any:
    return member("agencia", Role.PLATFORM_ADMIN, None)


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def bob_client(bob: Any) -> Client:
    return login(bob)


@pytest.fixture
def charlie_client(charlie: Any) -> Client:
    return login(charlie)


@pytest.fixture
def agency_client(agency: Any) -> Client:
    return login(agency)


def make_procedure(
    institution: Institution, slug: str, name: str, *, status: str = "publicado", **overrides: Any
) -> Any:
    """A procedure written through the real service (system actor), as the demo loader does."""
    office = institution.offices.first()
    values: dict[str, Any] = {
        "slug": slug,
        "name": name,
        "institution": institution.code,
        "summary": f"Resumen de {name.lower()}.",
        "category": "identidad-y-documentos",
        "office": office.code if office else None,
        "requirements": [RequirementData(name="Cédula de identidad vigente", held_by_state=True)],
        "steps": [StepData(title="Presentarse en ventanilla")],
        "channels": [ChannelData(channel="presencial", offices=[office.code] if office else [])],
        "cost_amount": Decimal("17.00"),
        "currency": "BOB",
        "max_days": 3,
        "status": status,
    }
    values.update(overrides)
    return procedure_save(actor=None, data=ProcedureData(**values))


@pytest.fixture
def procedure_a(institution_a: Institution) -> Any:
    return make_procedure(
        institution_a,
        "licencia-de-conducir",
        "Licencia de conducir",
        category="vehiculos-y-transporte",
        keywords="brevet",
    )


@pytest.fixture
def procedure_b(institution_b: Institution) -> Any:
    return make_procedure(
        institution_b,
        "permiso-de-construccion",
        "Permiso de construcción",
        category="vivienda-y-construccion",
        cost_amount=None,
    )


@pytest.fixture
def audit_log_flushable(transactional_db: Any) -> Any:
    """For live-server tests on SQLite: Django empties tables with DELETE after a transactional test, which
    the append-only trigger refuses. Drop that trigger just before the flush (PostgreSQL flushes with
    TRUNCATE, which row triggers do not see). Tests of the trigger itself use ``audit_triggers``."""
    from django.db import connection

    yield
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS core_auditentry_no_delete")


@pytest.fixture
def audit_triggers(db: Any) -> None:
    """Make sure the append-only triggers exist (a live-server test on this worker may have dropped one)."""
    from django.db import connection

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TRIGGER IF NOT EXISTS core_auditentry_no_delete BEFORE DELETE ON core_auditentry "
                "BEGIN SELECT RAISE(ABORT, 'core_auditentry is append-only'); END;"
            )
