"""Demo data for Expedientes: three procedures fully defined end to end per country, with cases in every
status filed through the real services (online, at the counter and by phone), so `make run` shows a
living back office. Idempotent: definitions are saved only when they differ; cases only once."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from ventanilla.catalog import selectors as catalog_selectors
from ventanilla.identity import account_selectors
from ventanilla.identity.accounts import PersonData

from . import selectors, services
from .models import Case, ProcedureDefinition

DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _choices(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"value": v, "label": label} for v, label in pairs]


def _antecedentes(institution: str, office: str, authority: str, civil_registry: str) -> dict[str, Any]:
    return {
        "fields": [
            {
                "name": "solicitante",
                "label": "Nombre completo",
                "type": "text",
                "required": True,
                "prefill": "person.full_name",
                "help": "Tal como figura en su documento de identidad.",
            },
            {
                "name": "fecha_nacimiento",
                "label": "Fecha de nacimiento",
                "type": "date",
                "required": True,
                "prefill": "person.birth_date",
            },
            {
                "name": "motivo",
                "label": "¿Para qué necesita el certificado?",
                "type": "choice",
                "required": True,
                "choices": _choices(
                    ("trabajo", "Postulación a un empleo"),
                    ("viaje", "Viaje o residencia en el exterior"),
                    ("tramite", "Otro trámite público"),
                    ("otro", "Otro motivo"),
                ),
            },
            {
                "name": "motivo_detalle",
                "label": "Describa el motivo",
                "type": "textarea",
                "required": True,
                "max_length": 300,
                "show_if": {"field": "motivo", "equals": "otro"},
            },
            {
                "name": "apostilla",
                "label": "¿Necesita apostilla para usarlo en el exterior?",
                "type": "yesno",
                "required": True,
                "show_if": {"field": "motivo", "equals": "viaje"},
            },
            {
                "name": "correo",
                "label": "Correo para avisos",
                "type": "email",
                "required": True,
                "prefill": "person.email",
            },
        ],
        # The State already has it: fetched from the civil registry through the mediator when it answers.
        "documents": [
            {
                "name": "cedula",
                "label": "Cédula de identidad (anverso y reverso)",
                "required": True,
                "accept": ["pdf", "jpg", "png"],
                "max_size_mb": 5,
                "registry": {"service": civil_registry, "path": "personas/{documento}"},
            }
        ],
        "fee": {"amount": "50.00", "concept": "Valor del certificado"},
        "min_assurance": "verificado",
        "observation_days": 5,
        "steps": [
            {"code": "verificacion", "name": "Verificación en el registro", "office": office, "sla_days": 1},
            {"code": "emision", "name": "Emisión y firma del certificado", "office": office, "sla_days": 1},
        ],
        "transitions": [
            {"action": "approve", "from": "verificacion", "to": "emision"},
            {"action": "observe", "from": "verificacion"},
            {"action": "reject", "from": "verificacion"},
            {"action": "derive", "from": "verificacion"},
            {"action": "resolve", "from": "emision"},
            {"action": "reject", "from": "emision"},
        ],
        "resolution": {
            "title": "Certificado de antecedentes — {{ codigo }}",
            "body": (
                f"{authority} certifica que, revisados sus registros a la fecha {{{{ fecha }}}}, "
                "{{ solicitante.nombre }}, con {{ solicitante.documento }}, NO registra antecedentes.\n"
                "Este certificado se emite para: {{ motivo }}. Tiene validez de noventa (90) días calendario."
            ),
        },
    }


def _licencia(office: str, department: str, municipality: str, currency_amount: str) -> dict[str, Any]:
    return {
        "fields": [
            {
                "name": "nombre_comercial",
                "label": "Nombre comercial del local",
                "type": "text",
                "required": True,
                "min_length": 3,
                "max_length": 120,
            },
            {
                "name": "titular",
                "label": "Titular de la actividad",
                "type": "text",
                "required": True,
                "prefill": "person.full_name",
            },
            {
                "name": "rubro",
                "label": "Rubro",
                "type": "choice",
                "required": True,
                "choices": _choices(
                    ("comercio", "Comercio minorista"),
                    ("alimentos", "Venta de alimentos y bebidas"),
                    ("servicios", "Servicios profesionales"),
                    ("otro", "Otro"),
                ),
            },
            {
                "name": "rubro_detalle",
                "label": "Describa la actividad",
                "type": "textarea",
                "required": True,
                "max_length": 400,
                "show_if": {"field": "rubro", "equals": "otro"},
            },
            {
                "name": "superficie",
                "label": "Superficie del local (m²)",
                "type": "number",
                "required": True,
                "min": 1,
                "max": 20000,
            },
            {
                "name": "direccion",
                "label": "Dirección del local",
                "type": "address",
                "required": True,
                "help": f"El local debe estar en {municipality}.",
            },
            {
                "name": "horario",
                "label": "Horario de atención",
                "type": "text",
                "required": False,
                "max_length": 120,
            },
            {
                "name": "telefono",
                "label": "Teléfono de contacto",
                "type": "phone",
                "required": True,
                "prefill": "person.mobile",
            },
        ],
        "documents": [
            {
                "name": "croquis",
                "label": "Croquis de ubicación del local",
                "required": True,
                "accept": ["pdf", "jpg", "png"],
                "max_size_mb": 5,
            },
            {
                "name": "contrato",
                "label": "Contrato de alquiler o título de propiedad",
                "required": True,
                "accept": ["pdf"],
                "max_size_mb": 10,
            },
        ],
        "fee": {"amount": currency_amount, "concept": "Tasa de licencia de funcionamiento"},
        "min_assurance": "basico",
        "observation_days": 10,
        "steps": [
            {"code": "recepcion", "name": "Revisión de requisitos", "office": office, "sla_days": 1},
            {"code": "inspeccion", "name": "Inspección técnica del local", "office": office, "sla_days": 3},
            {
                "code": "aprobacion",
                "name": "Aprobación y emisión de la licencia",
                "office": office,
                "sla_days": 1,
            },
        ],
        "transitions": [
            {"action": "approve", "from": "recepcion", "to": "inspeccion"},
            {"action": "observe", "from": "recepcion"},
            {"action": "reject", "from": "recepcion"},
            {"action": "approve", "from": "inspeccion", "to": "aprobacion"},
            {"action": "observe", "from": "inspeccion"},
            {"action": "reject", "from": "inspeccion"},
            {"action": "resolve", "from": "aprobacion"},
        ],
        "resolution": {
            "title": "Licencia de funcionamiento — {{ codigo }}",
            "body": (
                "{{ institucion }} otorga licencia de funcionamiento a {{ solicitante.nombre }} "
                "({{ solicitante.documento }}) para el local «{{ nombre_comercial }}», rubro {{ rubro }}, "
                "ubicado en {{ direccion }}, con una superficie de {{ superficie }} m².\n"
                "La licencia debe exhibirse en un lugar visible del local."
            ),
        },
    }


def _empresa(office: str, tax_label: str, tax_pattern: str) -> dict[str, Any]:
    return {
        "fields": [
            {
                "name": "razon_social",
                "label": "Razón social",
                "type": "text",
                "required": True,
                "min_length": 3,
                "max_length": 160,
            },
            {
                "name": "titular",
                "label": "Propietario",
                "type": "text",
                "required": True,
                "prefill": "person.full_name",
            },
            {
                "name": "documento_titular",
                "label": "Documento del propietario",
                "type": "document",
                "required": True,
                "prefill": "person.document",
            },
            {
                "name": "nit",
                "label": tax_label,
                "type": "text",
                "required": False,
                "pattern": tax_pattern,
                "pattern_message": "Escriba solo números (entre 5 y 12 dígitos).",
                "help": "Si ya lo tiene. Si no, lo obtendrá después de la inscripción.",
            },
            {
                "name": "actividad",
                "label": "Actividad principal",
                "type": "textarea",
                "required": True,
                "min_length": 10,
                "max_length": 500,
            },
            {"name": "capital", "label": "Capital declarado", "type": "number", "required": True, "min": 1},
            {"name": "domicilio", "label": "Domicilio comercial", "type": "address", "required": True},
            {"name": "sucursales", "label": "¿Tendrá sucursales?", "type": "yesno", "required": True},
            {
                "name": "canales",
                "label": "Canales de venta",
                "type": "multichoice",
                "required": False,
                "choices": _choices(
                    ("local", "Local propio"), ("internet", "Internet"), ("mayorista", "Venta mayorista")
                ),
            },
        ],
        "documents": [
            {
                "name": "balance_apertura",
                "label": "Balance de apertura firmado",
                "required": True,
                "accept": ["pdf"],
                "max_size_mb": 10,
            },
        ],
        "fee": {"amount": "455.00", "concept": "Arancel de inscripción"},
        "min_assurance": "basico",
        "observation_days": 15,
        "steps": [
            {"code": "recepcion", "name": "Recepción y control de nombre", "office": office, "sla_days": 1},
            {"code": "analisis", "name": "Análisis legal", "office": office, "sla_days": 2},
        ],
        "transitions": [
            {"action": "approve", "from": "recepcion", "to": "analisis"},
            {"action": "observe", "from": "recepcion"},
            {"action": "reject", "from": "recepcion"},
            {"action": "derive", "from": "analisis"},
            {"action": "observe", "from": "analisis"},
            {"action": "reject", "from": "analisis"},
            {"action": "resolve", "from": "analisis"},
        ],
        "resolution": {
            "title": "Inscripción de empresa unipersonal — {{ codigo }}",
            "body": (
                "{{ institucion }} inscribe la empresa unipersonal «{{ razon_social }}», de propiedad de "
                "{{ solicitante.nombre }} ({{ solicitante.documento }}), con domicilio en {{ domicilio }} y "
                "capital declarado de {{ capital }}.\nActividad: {{ actividad }}"
            ),
        },
    }


def demo_definitions() -> list[tuple[str, dict[str, Any]]]:
    """(procedure slug, definition) for the installation's country."""
    if settings.COUNTRY_PACK.code == "PY":
        return [
            (
                "certificado-de-antecedentes-judiciales",
                _antecedentes(
                    "ANTECEDENTES",
                    "ANTECEDENTES-SEDE",
                    "La Sección de Antecedentes Penales del Poder Judicial",
                    "IDENTIFICACIONES/REGISTRO-CIVIL/personas",
                ),
            ),
            ("habilitacion-comercial", _licencia("MCA-SEDE", "ASU", "Asunción", "350000")),
            (
                "apertura-de-empresa-suace",
                _empresa("SUACE-SEDE", "RUC (sin dígito verificador)", r"\d{5,12}"),
            ),
        ]
    return [
        (
            "certificado-de-antecedentes-penales",
            _antecedentes(
                "REJAP",
                "REJAP-SEDE",
                "El Registro Judicial de Antecedentes Penales (REJAP)",
                "SEGIP/REGISTRO-CIVIL/personas",
            ),
        ),
        ("licencia-de-funcionamiento", _licencia("GAMLP-SEDE", "L", "La Paz", "150.00")),
        ("inscripcion-empresa-unipersonal", _empresa("SEPREC-SEDE", "NIT", r"\d{5,12}")),
    ]


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, DEMO_PDF, content_type="application/pdf")


def _answers(slug: str, variant: int) -> dict[str, Any]:
    pack = settings.COUNTRY_PACK
    department = pack.departments[0] if pack.code == "PY" else pack.department("L")
    assert department is not None
    municipality = department.municipalities[0] if pack.code == "PY" else "La Paz"
    if "antecedentes" in slug:
        return {"motivo": ["trabajo", "viaje", "tramite"][variant % 3], "apostilla": "no"}
    if "licencia" in slug or "habilitacion" in slug:
        names = [
            "Tienda Illimani",
            "Café del Prado",
            "Estudio Jurídico Andino",
            "Farmacia San Pedro",
            "Librería Sopocachi",
        ]
        return {
            "nombre_comercial": names[variant % len(names)],
            "rubro": ["comercio", "alimentos", "servicios"][variant % 3],
            "superficie": str(30 + 15 * variant),
            "direccion": {
                "department": department.code,
                "municipality": municipality,
                "street": f"Calle {12 + variant} N° {100 + variant * 7}",
            },
            "horario": "Lunes a sábado, 9:00 a 19:00",
        }
    names = [
        "Comercial Tunupa",
        "Servicios Informáticos Kantuta",
        "Textiles Altiplano",
        "Importadora Mburucuyá",
    ]
    return {
        "razon_social": names[variant % len(names)],
        "actividad": "Comercialización al por menor de productos de consumo masivo.",
        "capital": str(10000 * (variant + 1)),
        "domicilio": {
            "department": department.code,
            "municipality": municipality,
            "street": f"Avenida {variant + 1} de Mayo N° {200 + variant}",
        },
        "sucursales": "no",
        "canales": ["local", "internet"],
    }


def _uploads(spec: dict[str, Any]) -> dict[str, SimpleUploadedFile]:
    return {d["name"]: _pdf(f"{d['name']}.pdf") for d in spec.get("documents", [])}


def _file_online(user: Any, definition: ProcedureDefinition, variant: int) -> Case:
    case = services.draft_start(actor=user, procedure_id=definition.procedure_id)
    services.draft_save(
        actor=user,
        case=case,
        raw=_answers(definition.procedure.slug, variant),
        uploads=_uploads(definition.spec),
        complete=True,
    )
    return services.application_submit(actor=user, case=case)


ASSISTED_PEOPLE = {
    "BO": [("7788990", "Wilma", "Huanca", "Poma"), ("8899001", "Elías", "Torrez", "Limachi")],
    "PY": [("5566001", "Wilma", "Acosta", "Benítez"), ("6677002", "Elías", "Ramírez", "Ortiz")],
}


def _file_assisted(clerk: Any, definition: ProcedureDefinition, variant: int, channel: str) -> Case:
    pack = settings.COUNTRY_PACK
    number, first, surname1, surname2 = ASSISTED_PEOPLE[pack.code][variant % 2]
    return services.assisted_application_file(
        actor=clerk,
        procedure_id=definition.procedure_id,
        channel=channel,
        person=PersonData(
            document_type="CI",
            document_number=number,
            first_names=first,
            first_surname=surname1,
            second_surname=surname2,
            email=f"persona.{number}@example.org",
        ),
        raw={
            **_answers(definition.procedure.slug, variant + 2),
            "solicitante": f"{first} {surname1} {surname2}",
            "fecha_nacimiento": "1979-04-12",
            "correo": f"persona.{number}@example.org",
            "titular": f"{first} {surname1} {surname2}",
            "telefono": "+59172000000",
            "documento_titular": {"type": "CI", "number": number},
        },
        uploads=_uploads(definition.spec),
    )


def _clerk_for(institution_id: int) -> Any:
    user_model = get_user_model()
    return (
        user_model.objects.filter(memberships__institution_id=institution_id, memberships__role="clerk")
        .order_by("username")
        .first()
    )


def _advance(case: Case, clerk: Any, actions: list[tuple[str, str]]) -> Case:
    for action, reason in actions:
        case = services.case_transition(
            actor=clerk,
            tracking_code=case.tracking_code or "",
            action=action,
            version=case.version,
            reason=reason,
        )
    return case


def _demo_cases(definition: ProcedureDefinition, citizens: list[Any]) -> int:
    clerk = _clerk_for(definition.institution_id)
    if clerk is None or not citizens:
        return 0
    steps = [s["code"] for s in definition.steps]
    spec = definition.spec
    first_approvals = (
        [("approve", "")]
        if any(t["action"] == "approve" and t["from"] == steps[0] for t in spec["transitions"])
        else []
    )
    to_last = [("approve", "")] * (len(steps) - 1)
    eligible = [
        u for u in citizens if account_selectors.person_for_user(u).meets(spec.get("min_assurance", "basico"))
    ]
    if not eligible:
        return 0
    made = 0
    # In process (one overdue), observed, resolved, rejected, abandoned; a draft; counter and phone filings.
    for variant, user in enumerate(eligible * 2):
        if variant > 2:
            break
        _file_online(user, definition, variant)
        made += 1
    cases = list(Case.objects.filter(definition=definition).exclude(status=Case.Status.DRAFT).order_by("id"))
    if len(cases) >= 3:
        _advance(cases[0], clerk, first_approvals)
        _advance(
            cases[1], clerk, [("observe", "Adjunte el documento legible: la copia enviada está cortada.")]
        )
        _advance(cases[2], clerk, [*to_last, ("resolve", "")])
    counter = _file_assisted(clerk, definition, 0, Case.Channel.COUNTER)
    _advance(counter, clerk, [("reject", "El solicitante desistió del trámite en ventanilla.")])
    phone = _file_assisted(clerk, definition, 1, Case.Channel.PHONE)
    _advance(phone, clerk, [("observe", "Falta confirmar la dirección exacta del domicilio.")])
    made += 2
    # History: the phone case's correction deadline passed (closed as abandoned); one case is overdue.
    past = timezone.localdate() - dt.timedelta(days=1)
    Case.objects.filter(pk=phone.pk).update(observation_due_date=past)
    services.observations_expire()
    Case.objects.filter(pk=cases[0].pk).update(step_due_date=past)
    # A draft that the citizen has not finished.
    services.draft_start(actor=eligible[0], procedure_id=definition.procedure_id)
    return made


def load_demo_cases() -> list[str]:
    """Publish the demo definitions and file demo cases; return report lines."""
    user_model = get_user_model()
    agency = user_model.objects.filter(memberships__role="platform_admin").order_by("pk").first()
    pack = settings.COUNTRY_PACK
    citizens = [
        u
        for u in user_model.objects.filter(person__isnull=False, memberships__isnull=True).order_by("pk")
        if u.username.startswith("CI-")
    ][:2]
    lines = []
    for slug, spec in demo_definitions():
        procedure = catalog_selectors.procedure_by_slug(slug)
        if procedure is None:
            continue
        published = selectors.definition_published(procedure_id=procedure.pk)
        if published is None or published.spec != spec:
            draft = services.definition_save(
                actor=agency, procedure_id=procedure.pk, spec=copy.deepcopy(spec)
            )
            published = services.definition_publish(actor=agency, definition_id=draft.pk)
        made = 0
        if not Case.objects.filter(procedure_id=procedure.pk).exists():
            made = _demo_cases(published, citizens)
        lines.append(
            f"  {procedure.name} ({pack.code}): definición v{published.version}, {made} expedientes nuevos"
        )
    return ["Expedientes:", *lines]
