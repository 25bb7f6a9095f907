"""Once-only (issues 5 and 7): a form field is filled from the civil registry through the interoperability
mediator (real HTTP, live server), the registry's record stands in for the identity document the citizen
would otherwise upload, and the consultation appears in the citizen's «¿Quién usó mis datos?»."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from conftest import login
from ventanilla.cases.models import Case, CaseFile
from ventanilla.identity.models import DataUse
from ventanilla.identity.tests.conftest import make_citizen
from ventanilla.interop.tests.conftest import build_world
from ventanilla.interop.tests.conftest import interop_log_flushable as interop_log_flushable

from .conftest import publish, spec


@pytest.mark.django_db(transaction=True)
def test_form_prefilled_and_document_taken_from_the_registry(
    live_server: Any,
    interop_log_flushable: Any,
    institution_a: Any,
    institution_b: Any,
    procedure_b: Any,
    agency: Any,
    settings: Any,
) -> None:
    from ventanilla.core.models import Office

    Office.objects.get_or_create(institution=institution_b, code="INSTB-SEDE", defaults={"name": "Sede B"})
    world = build_world(live_server.url, institution_a, institution_b, token=False)
    registry = world.service.identifier  # INSTA/REGISTRO/personas
    fields = [
        *spec()["fields"],
        {
            "name": "fecha_nacimiento",
            "label": "Fecha de nacimiento",
            "type": "date",
            "required": True,
            "prefill": {"service": registry, "path": "personas/{documento}", "key": "fecha_nacimiento"},
        },
    ]
    documents = [
        *spec()["documents"],
        {
            "name": "cedula",
            "label": "Cédula de identidad",
            "required": True,
            "accept": ["pdf"],
            "registry": {"service": registry, "path": "personas/{documento}"},
        },
    ]
    steps = [dict(s, office="INSTB-SEDE") for s in spec()["steps"]]
    publish(procedure_b, agency, spec(fields=fields, documents=documents, steps=steps))
    citizen = make_citizen("CI-4567891", number="4567891", first_names="Juan Carlos", birth_date=None)

    client = login(citizen)
    edit = client.get(reverse("cases:apply-start", args=[procedure_b.slug]))["Location"]
    case = Case.objects.get()
    assert case.prefilled.get("fecha_nacimiento") == "registro" and case.data["fecha_nacimiento"]
    stored = CaseFile.objects.get(case=case, name="cedula")
    assert stored.source == CaseFile.Source.REGISTRY and stored.content_type == "application/json"
    page = client.get(edit).content.decode()
    assert "Ya lo tiene el Estado" in page
    assert 'name="f-cedula"' not in page  # nothing to upload
    assert 'name="f-croquis"' in page
    # The consultation is in the citizen's transparency log, with the consumer institution.
    use = DataUse.objects.get(person__document_number="4567891")
    assert use.institution_id == institution_b.pk
    history = client.get(reverse("identity:data-use-list")).content.decode()
    assert institution_b.name in history


@pytest.mark.django_db(transaction=True)
def test_registry_answers_and_documents_cannot_be_overwritten_by_the_applicant(
    live_server: Any,
    interop_log_flushable: Any,
    institution_a: Any,
    institution_b: Any,
    procedure_b: Any,
    agency: Any,
) -> None:
    from ventanilla.core.models import Office

    Office.objects.get_or_create(institution=institution_b, code="INSTB-SEDE", defaults={"name": "Sede B"})
    world = build_world(live_server.url, institution_a, institution_b, token=False)
    registry = world.service.identifier
    fields = [
        *spec()["fields"],
        {
            "name": "fecha_nacimiento",
            "label": "Fecha de nacimiento",
            "type": "date",
            "required": True,
            "prefill": {"service": registry, "path": "personas/{documento}", "key": "fecha_nacimiento"},
        },
    ]
    documents = [
        *spec()["documents"],
        {
            "name": "cedula",
            "label": "Cédula",
            "required": True,
            "accept": ["pdf"],
            "registry": {"service": registry, "path": "personas/{documento}"},
        },
    ]
    steps = [dict(s, office="INSTB-SEDE") for s in spec()["steps"]]
    publish(procedure_b, agency, spec(fields=fields, documents=documents, steps=steps))
    citizen = make_citizen("CI-4567891", number="4567891", first_names="Juan Carlos", birth_date=None)
    client = login(citizen)
    edit = client.get(reverse("cases:apply-start", args=[procedure_b.slug]))["Location"]
    case = Case.objects.get()
    from_registry = case.data["fecha_nacimiento"]
    from .conftest import pdf_upload

    client.post(
        edit,
        {
            "f-nombre_local": "Tienda",
            "f-rubro": "comercio",
            "f-fecha_nacimiento": "2001-01-01",
            "f-cedula": pdf_upload("mia.pdf"),
            "guardar": "1",
        },
    )
    case.refresh_from_db()
    assert case.data["fecha_nacimiento"] == from_registry
    assert CaseFile.objects.get(case=case, name="cedula", replaced_at__isnull=True).source == "registro"


@pytest.mark.django_db(transaction=True)
def test_a_resumed_draft_asks_again_a_registry_that_did_not_answer(
    live_server: Any,
    interop_log_flushable: Any,
    institution_a: Any,
    institution_b: Any,
    procedure_b: Any,
    agency: Any,
) -> None:
    from ventanilla.core.models import Office

    Office.objects.get_or_create(institution=institution_b, code="INSTB-SEDE", defaults={"name": "Sede B"})
    registry = "INSTA/REGISTRO/personas"
    documents = [
        *spec()["documents"],
        {
            "name": "cedula",
            "label": "Cédula",
            "required": True,
            "accept": ["pdf"],
            "registry": {"service": registry, "path": "personas/{documento}"},
        },
    ]
    steps = [dict(s, office="INSTB-SEDE") for s in spec()["steps"]]
    publish(procedure_b, agency, spec(documents=documents, steps=steps))
    citizen = make_citizen("CI-4567891", number="4567891", first_names="Juan Carlos")
    client = login(citizen)
    start = reverse("cases:apply-start", args=[procedure_b.slug])
    client.get(start)  # the mediator knows no such consumer yet: the citizen would upload it
    assert not CaseFile.objects.exists()
    build_world(live_server.url, institution_a, institution_b, token=False)
    client.get(start)  # resumed: the registry answers now
    assert CaseFile.objects.get(name="cedula").source == "registro"
