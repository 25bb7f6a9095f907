"""Fixtures for Expedientes: a published definition of institution A's procedure (two steps, every action),
the people who work on it (clerks of A and B, a supervisor, an editor), citizens, and helpers that file
cases through the real services (``file_case``) or, for volume, straight into the table (``bulk_cases``).

Kept general on purpose: the citizen pages, the API and the back office all use it."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from conftest import login, member
from ventanilla.core.models import Institution, Office, Role
from ventanilla.identity.tests.conftest import check_page, make_citizen

__all__ = ["check_page"]  # the page checker fixture (one h1, labels, no inline style/handlers)

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

SPEC: dict[str, Any] = {
    "fields": [
        {
            "name": "nombre_local",
            "label": "Nombre del local",
            "type": "text",
            "required": True,
            "min_length": 3,
            "max_length": 120,
        },
        {
            "name": "rubro",
            "label": "Rubro",
            "type": "choice",
            "required": True,
            "choices": [
                {"value": "comercio", "label": "Comercio"},
                {"value": "servicios", "label": "Servicios"},
                {"value": "otro", "label": "Otro"},
            ],
        },
        {
            "name": "detalle",
            "label": "Describa el rubro",
            "type": "textarea",
            "required": True,
            "show_if": {"field": "rubro", "equals": "otro"},
        },
        {
            "name": "superficie",
            "label": "Superficie (m²)",
            "type": "number",
            "required": False,
            "min": 1,
            "max": 10000,
        },
    ],
    "documents": [
        {
            "name": "croquis",
            "label": "Croquis del local",
            "required": True,
            "accept": ["pdf"],
            "max_size_mb": 1,
        }
    ],
    "fee": {"amount": "150.00", "concept": "Tasa municipal"},
    "min_assurance": "basico",
    "observation_days": 5,
    "steps": [
        {"code": "recepcion", "name": "Recepción", "office": "INSTA-SEDE", "sla_days": 2},
        {"code": "revision", "name": "Revisión técnica", "office": "INSTA-SEDE", "sla_days": 5},
    ],
    "transitions": [
        {"action": "approve", "from": "recepcion", "to": "revision"},
        {"action": "observe", "from": "recepcion"},
        {"action": "derive", "from": "recepcion"},
        {"action": "reject", "from": "recepcion"},
        {"action": "observe", "from": "revision"},
        {"action": "reject", "from": "revision"},
        {"action": "resolve", "from": "revision"},
    ],
    "resolution": {
        "title": "Licencia de funcionamiento {{ codigo }}",
        "body": "Se otorga a {{ solicitante.nombre }} la licencia para el local {{ nombre_local }}.",
    },
}


def spec(**changes: Any) -> dict[str, Any]:
    """A deep copy of the test definition with top-level keys replaced."""
    out = copy.deepcopy(SPEC)
    out.update(changes)
    return out


def pdf_upload(name: str = "croquis.pdf", content: bytes = PDF_BYTES) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def good_answers() -> dict[str, Any]:
    return {"nombre_local": "Tienda Illimani", "rubro": "comercio", "superficie": "40"}


def publish(procedure: Any, actor: Any, definition_spec: dict[str, Any] | None = None) -> Any:
    from ventanilla.cases.services import definition_publish, definition_save

    draft = definition_save(actor=actor, procedure_id=procedure.pk, spec=definition_spec or spec())
    return definition_publish(actor=actor, definition_id=draft.pk)


@pytest.fixture
def second_office_a(institution_a: Institution) -> Office:
    return Office.objects.create(
        institution=institution_a,
        code="INSTA-NORTE",
        name="Oficina norte A",
        department="L",
        municipality="El Alto",
    )


@pytest.fixture
def definition_a(procedure_a: Any, agency: Any, second_office_a: Office) -> Any:
    """Institution A's "licencia-de-conducir" with the test definition published (version 1)."""
    return publish(procedure_a, agency)


@pytest.fixture
def clerk_a(institution_a: Institution) -> Any:
    user = member("clerk_a", Role.CLERK, institution_a)
    user.first_name, user.last_name = "Ana", "Choque"
    user.save(update_fields=["first_name", "last_name"])
    return user


@pytest.fixture
def clerk_a2(institution_a: Institution) -> Any:
    return member("clerk_a2", Role.CLERK, institution_a)


@pytest.fixture
def clerk_b(institution_b: Institution) -> Any:
    return member("clerk_b", Role.CLERK, institution_b)


@pytest.fixture
def supervisor_a(institution_a: Institution) -> Any:
    return member("supervisor_a", Role.SUPERVISOR, institution_a)


@pytest.fixture
def clerk_a_client(clerk_a: Any) -> Any:
    return login(clerk_a)


@pytest.fixture
def clerk_b_client(clerk_b: Any) -> Any:
    return login(clerk_b)


@pytest.fixture
def supervisor_a_client(supervisor_a: Any) -> Any:
    return login(supervisor_a)


@pytest.fixture
def applicant(db: Any) -> Any:
    """A citizen (user with a Person, level básico)."""
    return make_citizen("CI-7654321", number="7654321", email="rosa@example.org", first_names="Rosa")


FileCase = Callable[..., Any]


@pytest.fixture
def file_case(definition_a: Any, applicant: Any) -> FileCase:
    """File a case online through the real services (draft → answers + upload → submit → receipt)."""
    from ventanilla.cases.services import application_submit, draft_save, draft_start

    def make(
        user: Any = None, *, answers: dict[str, Any] | None = None, procedure: Any = None, **updates: Any
    ) -> Any:
        user = user or applicant
        case = draft_start(actor=user, procedure_id=(procedure or definition_a.procedure).pk)
        draft_save(
            actor=user,
            case=case,
            raw=answers or good_answers(),
            uploads={"croquis": pdf_upload()},
            complete=True,
        )
        case = application_submit(actor=user, case=case)
        if updates:
            type(case).objects.filter(pk=case.pk).update(**updates)
            case.refresh_from_db()
        return case

    return make


@pytest.fixture
def bulk_cases(definition_a: Any, applicant: Any) -> Callable[..., list[Any]]:
    """``n`` submitted cases written straight to the table (no PDFs), for volume and query-count tests."""
    from ventanilla.cases.models import Case
    from ventanilla.core.codes import new_tracking_code
    from ventanilla.identity.account_selectors import person_for_user

    def make(n: int, **values: Any) -> list[Any]:
        person = person_for_user(applicant)
        office = Office.objects.get(code="INSTA-SEDE")
        now = timezone.now()
        rows = []
        for _i in range(n):
            row = {
                "definition": definition_a,
                "procedure_id": definition_a.procedure_id,
                "institution_id": definition_a.institution_id,
                "applicant": person,
                "status": Case.Status.IN_PROCESS,
                "data": good_answers(),
                "current_step": "recepcion",
                "office": office,
                "submitted_at": now,
                "step_started_at": now,
                "step_due_date": timezone.localdate() + dt.timedelta(days=7),
                "due_date": timezone.localdate() + dt.timedelta(days=14),
                "tracking_code": new_tracking_code(),
            }
            row.update(values)
            rows.append(Case.objects.create(**row))
        return rows

    return make
