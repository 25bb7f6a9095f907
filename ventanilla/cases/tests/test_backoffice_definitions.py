"""The no-code definition editor: builder and JSON saves, the list of problems, publishing a new version
(filed cases keep theirs), export → import round trip, and editors of another institution get 404."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conftest import login, make_procedure
from ventanilla.cases.backoffice_forms import DefinitionBuilder
from ventanilla.cases.models import Case, ProcedureDefinition
from ventanilla.cases.tests.conftest import spec
from ventanilla.core.models import AuditEntry, Role

pytestmark = pytest.mark.django_db

OFFICES = [("INSTA-SEDE", "Oficina central A"), ("INSTA-NORTE", "Oficina norte A")]


def builder_post(definition_spec: dict[str, Any]) -> dict[str, Any]:
    """What the browser sends back for the builder page as rendered for ``definition_spec``."""
    builder = DefinitionBuilder(spec=definition_spec, offices=OFFICES)
    data: dict[str, Any] = {"op": "guardar"}

    def add(form: Any) -> None:
        for bound in form:
            value = bound.value()
            if value is None:
                continue
            if isinstance(value, bool):
                if value:
                    data[bound.html_name] = "on"
            elif isinstance(value, (list, tuple)):
                data[bound.html_name] = list(value)
            else:
                data[bound.html_name] = "" if value is None else str(value)

    add(builder.general)
    for formset in builder.formsets.values():
        add(formset.management_form)
        for form in formset.forms:
            add(form)
    return data


def edit_url(procedure: Any) -> str:
    return reverse("cases:definition-edit", args=[procedure.pk])


def test_list_shows_my_procedures_with_their_definition(
    bob_client: Any, charlie_client: Any, definition_a: Any, procedure_b: Any
) -> None:
    response = bob_client.get(reverse("cases:definition-list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert definition_a.procedure.name in html and "v1 publicada" in html
    assert procedure_b.name not in html
    html = charlie_client.get(reverse("cases:definition-list")).content.decode()
    assert definition_a.procedure.name not in html and procedure_b.name in html


def test_access(charlie_client: Any, clerk_a_client: Any, definition_a: Any) -> None:
    procedure = definition_a.procedure
    assert charlie_client.get(edit_url(procedure)).status_code == 404
    assert charlie_client.post(edit_url(procedure), builder_post(spec())).status_code == 404
    export = reverse("cases:definition-export", args=[procedure.pk, 1])
    assert charlie_client.get(export).status_code == 404
    assert clerk_a_client.get(edit_url(procedure)).status_code == 403
    assert ProcedureDefinition.objects.count() == 1


def test_builder_round_trip_saves_a_draft(bob: Any, bob_client: Any, definition_a: Any) -> None:
    procedure = definition_a.procedure
    response = bob_client.get(edit_url(procedure))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="nombre_local"' in html  # builder rows
    assert 'name="f-nombre_local"' in html and "disabled" in html  # preview of the citizen form
    data = builder_post(definition_a.spec)
    data["campos-0-label"] = "Nombre comercial del local"
    response = bob_client.post(edit_url(procedure), data)
    assert response.status_code == 302
    draft = ProcedureDefinition.objects.get(procedure=procedure, status=ProcedureDefinition.Status.DRAFT)
    assert draft.version == 2
    saved = draft.spec
    assert saved["fields"][0]["label"] == "Nombre comercial del local"
    original = definition_a.spec
    assert [f["name"] for f in saved["fields"]] == [f["name"] for f in original["fields"]]
    assert saved["fields"][1]["choices"] == original["fields"][1]["choices"]
    assert saved["fields"][2]["show_if"] == {"field": "rubro", "equals": "otro"}
    assert saved["documents"] == original["documents"]
    assert saved["steps"] == original["steps"]
    assert saved["transitions"] == original["transitions"]
    assert saved["resolution"] == original["resolution"]
    assert saved["fee"] == original["fee"] and saved["observation_days"] == 5
    assert AuditEntry.objects.filter(action="definition.save", actor=bob).exists()


def test_builder_adds_deletes_and_reorders_rows(bob_client: Any, definition_a: Any) -> None:
    data = builder_post(definition_a.spec)
    # a new field in the first empty row, placed first; delete "superficie"
    data.update(
        {
            "campos-4-name": "telefono",
            "campos-4-label": "Teléfono",
            "campos-4-type": "phone",
            "campos-4-ORDER": "0",
        }
    )
    data["campos-3-DELETE"] = "on"
    response = bob_client.post(edit_url(definition_a.procedure), data)
    assert response.status_code == 302
    draft = ProcedureDefinition.objects.get(status=ProcedureDefinition.Status.DRAFT)
    assert [f["name"] for f in draft.spec["fields"]] == ["telefono", "nombre_local", "rubro", "detalle"]


def test_invalid_definition_is_refused_with_every_problem(bob_client: Any, definition_a: Any) -> None:
    data = builder_post(definition_a.spec)
    data["campos-1-name"] = "nombre_local"  # duplicate field name
    data.update(
        {"pasos-2-code": "archivo", "pasos-2-name": "Archivo", "pasos-2-sla_days": "1"}
    )  # unreachable
    data.update(
        {
            "transiciones-7-action": "approve",
            "transiciones-7-source": "archivo",
            "transiciones-7-target": "nada",
        }
    )
    response = bob_client.post(edit_url(definition_a.procedure), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "El nombre de campo «nombre_local» está repetido." in html
    assert "El paso «archivo» es inalcanzable desde el primero." in html
    assert "«Aprobar» en «archivo» lleva a un paso inexistente «nada»." in html
    # each problem links to its row
    assert 'href="#campos-1-fila"' in html and 'href="#transiciones-7-fila"' in html
    # what was typed stays on the page, nothing was saved
    assert 'value="archivo"' in html
    assert not ProcedureDefinition.objects.filter(status=ProcedureDefinition.Status.DRAFT).exists()


def test_json_tab_saves_and_lists_problems(bob_client: Any, definition_a: Any) -> None:
    broken = spec(transitions=[{"action": "approve", "from": "recepcion", "to": "revision"}])
    response = bob_client.post(
        edit_url(definition_a.procedure), {"op": "guardar_json", "json-spec": json.dumps(broken)}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Ningún paso permite resolver el trámite." in html
    assert "El paso «revision» no tiene salida." in html
    response = bob_client.post(
        edit_url(definition_a.procedure), {"op": "guardar_json", "json-spec": "{no es json"}
    )
    assert response.status_code == 400 and "No es JSON válido" in response.content.decode()
    assert not ProcedureDefinition.objects.filter(status=ProcedureDefinition.Status.DRAFT).exists()
    good = spec(observation_days=7)
    response = bob_client.post(
        edit_url(definition_a.procedure), {"op": "guardar_json", "json-spec": json.dumps(good)}
    )
    assert response.status_code == 302
    assert ProcedureDefinition.objects.get(status=ProcedureDefinition.Status.DRAFT).spec == good


def test_publish_creates_a_new_version_and_filed_cases_keep_theirs(
    bob_client: Any, definition_a: Any, file_case: Any
) -> None:
    case = file_case()
    assert case.definition == definition_a
    procedure = definition_a.procedure
    data = builder_post(definition_a.spec)
    data["campos-0-label"] = "Razón social"
    assert bob_client.post(edit_url(procedure), data).status_code == 302
    response = bob_client.post(edit_url(procedure), {"op": "publicar"})
    assert response.status_code == 302
    versions = {d.version: d for d in ProcedureDefinition.objects.filter(procedure=procedure)}
    assert versions[1].status == ProcedureDefinition.Status.RETIRED
    assert versions[2].status == ProcedureDefinition.Status.PUBLISHED
    case = Case.objects.get(pk=case.pk)
    assert case.definition_id == versions[1].pk
    assert case.definition.spec["fields"][0]["label"] == "Nombre del local"
    # new applications use version 2
    assert file_case().definition_id == versions[2].pk
    html = bob_client.get(edit_url(procedure)).content.decode()
    assert "versión publicada: 2" in html and "Reemplazada" in html
    # nothing left to publish
    assert bob_client.post(edit_url(procedure), {"op": "publicar"}).status_code == 400


def test_export_import_round_trip(bob_client: Any, definition_a: Any, institution_a: Any) -> None:
    response = bob_client.get(reverse("cases:definition-export", args=[definition_a.procedure_id, 1]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    payload = json.loads(response.content)
    assert payload["format"] == "ventanilla.procedure-definition/1" and payload["version"] == 1
    other = make_procedure(institution_a, "licencia-de-funcionamiento", "Licencia de funcionamiento")
    upload = SimpleUploadedFile("def.json", response.content, content_type="application/json")
    response = bob_client.post(edit_url(other), {"op": "importar", "import-file": upload})
    assert response.status_code == 302
    imported = ProcedureDefinition.objects.get(procedure=other)
    assert imported.status == ProcedureDefinition.Status.DRAFT and imported.version == 1
    assert imported.spec == definition_a.spec
    # a file that is not a definition is refused with a message
    bad = SimpleUploadedFile("def.json", b"[1, 2]", content_type="application/json")
    response = bob_client.post(edit_url(other), {"op": "importar", "import-file": bad})
    assert response.status_code == 400
    assert "no contiene una definición" in response.content.decode()


def test_platform_agency_edits_any_institution(
    agency_client: Any, procedure_b: Any, institution_b: Any
) -> None:
    from ventanilla.core.models import Office

    offices = [(o.code, o.name) for o in Office.objects.filter(institution=institution_b)]
    definition = spec(
        steps=[{"code": "recepcion", "name": "Recepción", "office": "INSTB-SEDE", "sla_days": 2}]
    )
    definition["transitions"] = [
        {"action": "resolve", "from": "recepcion"},
        {"action": "observe", "from": "recepcion"},
    ]
    data = builder_post(definition)
    assert offices
    response = agency_client.post(edit_url(procedure_b), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    # an office of another institution is refused
    definition["steps"][0]["office"] = "INSTA-SEDE"
    response = agency_client.post(
        edit_url(procedure_b), {"op": "guardar_json", "json-spec": json.dumps(definition)}
    )
    assert response.status_code == 400
    assert "no es de esta institución" in response.content.decode()


def test_institution_admin_may_edit(institution_a: Any, definition_a: Any) -> None:
    from conftest import member

    admin = login(member("admin_a", Role.INSTITUTION_ADMIN, institution_a))
    assert admin.get(edit_url(definition_a.procedure)).status_code == 200


def test_create_a_definition_from_scratch_with_the_builder(bob_client: Any, procedure_a: Any) -> None:
    url = edit_url(procedure_a)
    response = bob_client.get(url)
    assert response.status_code == 200
    assert "Guarde una definición válida para ver la vista previa." in response.content.decode()
    data = builder_post({})
    data.update(
        {
            "general-observation_days": "10",
            "general-min_assurance": "basico",
            "general-resolution_title": "Constancia",
            "general-resolution_body": "Se certifica a {{ solicitante.nombre }}: {{ motivo }}.",
            "campos-0-name": "motivo",
            "campos-0-label": "Motivo",
            "campos-0-type": "choice",
            "campos-0-required": "on",
            "campos-0-choices": "viaje|Viaje al exterior\ntrabajo|Trabajo\nestudio",
            "pasos-0-code": "unico",
            "pasos-0-name": "Revisión",
            "pasos-0-office": "INSTA-SEDE",
            "pasos-0-sla_days": "3",
            "transiciones-0-action": "resolve",
            "transiciones-0-source": "unico",
            "transiciones-1-action": "reject",
            "transiciones-1-source": "unico",
        }
    )
    response = bob_client.post(url, data)
    assert response.status_code == 302
    draft = ProcedureDefinition.objects.get(procedure=procedure_a)
    assert draft.version == 1
    assert draft.spec["fields"] == [
        {
            "name": "motivo",
            "label": "Motivo",
            "type": "choice",
            "required": True,
            "choices": [
                {"value": "viaje", "label": "Viaje al exterior"},
                {"value": "trabajo", "label": "Trabajo"},
                {"value": "estudio", "label": "estudio"},
            ],
        }
    ]
    assert draft.spec["fee"] is None
    assert draft.spec["transitions"] == [
        {"action": "resolve", "from": "unico"},
        {"action": "reject", "from": "unico"},
    ]
    html = bob_client.get(url).content.decode()
    assert 'name="f-motivo"' in html  # the preview
    assert bob_client.post(url, {"op": "publicar"}).status_code == 302
    draft.refresh_from_db()
    assert draft.status == ProcedureDefinition.Status.PUBLISHED


def test_builder_keeps_settings_it_does_not_edit(bob_client: Any, definition_a: Any) -> None:
    advanced = spec()
    advanced["fields"][0]["prefill"] = {
        "service": "SEPREC/REGISTRO/empresa",
        "path": "empresas/{document}",
        "key": "razon",
    }
    advanced["documents"][0]["registry"] = {"service": "SEPREC/REGISTRO/matricula", "path": "m/{document}"}
    url = edit_url(definition_a.procedure)
    assert bob_client.post(url, {"op": "guardar_json", "json-spec": json.dumps(advanced)}).status_code == 302
    data = builder_post(ProcedureDefinition.objects.get(status="borrador").spec)
    data["campos-1-help"] = "Elija el rubro principal"
    assert bob_client.post(url, data).status_code == 302
    saved = ProcedureDefinition.objects.get(status="borrador").spec
    assert saved["fields"][0]["prefill"] == advanced["fields"][0]["prefill"]
    assert saved["documents"][0]["registry"] == advanced["documents"][0]["registry"]
    assert saved["fields"][1]["help"] == "Elija el rubro principal"
