"""Every write to the catalogue goes through here: create/edit, review workflow, ratings, simplifications
and bulk import. The same ``ProcedureData`` shape is used by the back-office forms, the JSON/CSV import,
the demo loader and the version history, so there is one set of rules for all of them."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ventanilla.core.errors import DomainError, ErrorItem, Forbidden, InvalidTransition
from ventanilla.core.models import AssuranceLevel, Institution, Office
from ventanilla.core.permissions import (
    can_edit_institution_content,
    can_review,
    has_institution_role,
    is_platform_admin,
)
from ventanilla.core.services import audit_record
from ventanilla.core.text import fold, stems

from .models import (
    Category,
    Channel,
    Faq,
    LifeEvent,
    Procedure,
    ProcedureVersion,
    Rating,
    Requirement,
    Simplification,
    Step,
    slug_validator,
)
from .reference import CATEGORIES, LIFE_EVENTS

Status = Procedure.Status
_url = URLValidator(schemes=["http", "https"])


# --------------------------------------------------------------------------------------------------------
# Data shapes
# --------------------------------------------------------------------------------------------------------


@dataclass
class RequirementData:
    name: str
    description: str = ""
    issuer: str | None = None
    issuer_name: str = ""
    held_by_state: bool = False


@dataclass
class StepData:
    title: str
    description: str = ""


@dataclass
class ChannelData:
    channel: str
    offices: list[str] = field(default_factory=list)
    hours: str = ""
    url: str = ""
    phone: str = ""
    notes: str = ""


@dataclass
class FaqData:
    question: str
    answer: str


@dataclass
class ProcedureData:
    """A procedure as the outside world describes it (codes and slugs, never database ids)."""

    slug: str
    name: str
    institution: str
    summary: str
    category: str
    office: str | None = None
    description: str = ""
    life_events: list[str] = field(default_factory=list)
    audience: str = Procedure.Audience.PERSON
    keywords: str = ""
    requirements: list[RequirementData] = field(default_factory=list)
    steps: list[StepData] = field(default_factory=list)
    channels: list[ChannelData] = field(default_factory=list)
    faq: list[FaqData] = field(default_factory=list)
    cost_amount: Decimal | None = None
    currency: str = ""
    payment_instructions: str = ""
    legal_basis: str = ""
    max_days: int = 0
    digitisation_level: int = 1
    runs_on_platform: bool = False
    min_assurance: str = ""
    external_start_url: str = ""
    external_tracking_url: str = ""
    status: str | None = None

    @property
    def is_free(self) -> bool:
        return self.cost_amount is None

    def as_dict(self) -> dict[str, Any]:
        """The import/export layout (docs/demo-data.md)."""
        data = asdict(self)
        # Canonical order, so two descriptions of the same content compare equal.
        data["life_events"] = sorted(data["life_events"])
        data["channels"] = sorted(
            ({**c, "offices": sorted(c["offices"])} for c in data["channels"]), key=lambda c: c["channel"]
        )
        cost = data.pop("cost_amount")
        currency = data.pop("currency")
        data["cost"] = None if cost is None else {"amount": str(cost), "currency": currency}
        return data


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return _text(value).lower() in {"1", "true", "si", "sí", "yes", "x", "verdadero"}


def procedure_data_from_dict(raw: dict[str, Any]) -> tuple[ProcedureData | None, list[ErrorItem]]:
    """Parse the import/export layout; type errors are reported per field, nothing is looked up yet."""
    errors: list[ErrorItem] = []
    if not isinstance(raw, dict):
        return None, [ErrorItem("invalid", "Cada registro debe ser un objeto JSON.")]

    def as_list(key: str) -> list[Any]:
        value = raw.get(key) or []
        if not isinstance(value, list):
            errors.append(ErrorItem("invalid", "Debe ser una lista.", key))
            return []
        return value

    cost_amount: Decimal | None = None
    currency = ""
    cost = raw.get("cost")
    if cost not in (None, "", {}):
        if not isinstance(cost, dict):
            errors.append(ErrorItem("invalid", "El costo debe tener «amount» y «currency».", "cost"))
        else:
            try:
                cost_amount = Decimal(str(cost.get("amount")).replace(",", "."))
                if not cost_amount.is_finite() or abs(cost_amount) >= Decimal("1e10"):
                    raise InvalidOperation
                cost_amount = cost_amount.quantize(Decimal("0.01"))
            except (InvalidOperation, ValueError):
                errors.append(ErrorItem("invalid", "El monto del costo no es un número.", "cost.amount"))
                cost_amount = None
            currency = _text(cost.get("currency")).upper()

    def int_field(key: str, default: int) -> int:
        value = raw.get(key, default)
        if value in (None, ""):
            return default
        try:
            return int(str(value).strip())
        except ValueError:
            errors.append(ErrorItem("invalid", "Debe ser un número entero.", key))
            return default

    requirements = []
    for i, item in enumerate(as_list("requirements")):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            errors.append(ErrorItem("invalid", "Requisito inválido.", f"requirements[{i}]"))
            continue
        requirements.append(
            RequirementData(
                name=_text(item.get("name")),
                description=_text(item.get("description")),
                issuer=_text(item.get("issuer")) or None,
                issuer_name=_text(item.get("issuer_name")),
                held_by_state=_bool(item.get("held_by_state")),
            )
        )
    steps = []
    for i, item in enumerate(as_list("steps")):
        if isinstance(item, str):
            item = {"title": item}
        if not isinstance(item, dict):
            errors.append(ErrorItem("invalid", "Paso inválido.", f"steps[{i}]"))
            continue
        steps.append(StepData(title=_text(item.get("title")), description=_text(item.get("description"))))
    channels = []
    for i, item in enumerate(as_list("channels")):
        if not isinstance(item, dict):
            errors.append(ErrorItem("invalid", "Canal inválido.", f"channels[{i}]"))
            continue
        offices = item.get("offices") or []
        channels.append(
            ChannelData(
                channel=_text(item.get("channel")),
                offices=[_text(o).upper() for o in offices] if isinstance(offices, list) else [],
                hours=_text(item.get("hours")),
                url=_text(item.get("url")),
                phone=_text(item.get("phone")),
                notes=_text(item.get("notes")),
            )
        )
    faqs = []
    for i, item in enumerate(as_list("faq")):
        if not isinstance(item, dict):
            errors.append(ErrorItem("invalid", "Pregunta frecuente inválida.", f"faq[{i}]"))
            continue
        faqs.append(FaqData(question=_text(item.get("question")), answer=_text(item.get("answer"))))
    life_events = [_text(x) for x in as_list("life_events")]

    data = ProcedureData(
        slug=_text(raw.get("slug")).lower(),
        name=_text(raw.get("name")),
        institution=_text(raw.get("institution")).upper(),
        office=_text(raw.get("office")).upper() or None,
        summary=_text(raw.get("summary")),
        description=_text(raw.get("description")),
        category=_text(raw.get("category")),
        life_events=life_events,
        audience=_text(raw.get("audience")) or Procedure.Audience.PERSON,
        keywords=_text(raw.get("keywords")),
        requirements=requirements,
        steps=steps,
        channels=channels,
        faq=faqs,
        cost_amount=cost_amount,
        currency=currency,
        payment_instructions=_text(raw.get("payment_instructions")),
        legal_basis=_text(raw.get("legal_basis")),
        max_days=int_field("max_days", 0),
        digitisation_level=int_field("digitisation_level", 1),
        runs_on_platform=_bool(raw.get("runs_on_platform")),
        min_assurance=_text(raw.get("min_assurance")),
        external_start_url=_text(raw.get("external_start_url")),
        external_tracking_url=_text(raw.get("external_tracking_url")),
        status=_text(raw.get("status")) or None,
    )
    return (None if errors else data), errors


# --------------------------------------------------------------------------------------------------------
# Validation against the database (references are loaded once per batch: constant queries)
# --------------------------------------------------------------------------------------------------------


class References:
    """Codes and slugs known to the database, loaded in four queries for a whole batch."""

    def __init__(self) -> None:
        self.institutions = {i.code: i for i in Institution.objects.all()}
        self.offices = {o.code: o for o in Office.objects.all()}
        self.categories = {c.slug: c for c in Category.objects.all()}
        self.life_events = {e.slug: e for e in LifeEvent.objects.all()}


def _check_url(value: str, field_name: str, errors: list[ErrorItem]) -> None:
    if not value:
        return
    try:
        _url(value)
    except ValidationError:
        errors.append(ErrorItem("invalid_url", "No es una dirección web válida (http/https).", field_name))


def validate_procedure_data(data: ProcedureData, refs: References) -> list[ErrorItem]:
    """Every rule a procedure must satisfy, with the field each message belongs to (Spanish messages)."""
    errors: list[ErrorItem] = []

    def need(value: str, field_name: str, label: str, max_len: int) -> None:
        if not value:
            errors.append(ErrorItem("required", f"Falta {label}.", field_name))
        elif len(value) > max_len:
            errors.append(
                ErrorItem("too_long", f"{label.capitalize()} supera {max_len} caracteres.", field_name)
            )

    need(data.slug, "slug", "el identificador (slug)", 120)
    if data.slug:
        try:
            slug_validator(data.slug)
        except ValidationError:
            errors.append(ErrorItem("invalid_slug", "El slug admite minúsculas, números y guiones.", "slug"))
    need(data.name, "name", "el nombre", 200)
    need(data.summary, "summary", "el resumen", 300)
    institution = refs.institutions.get(data.institution)
    if institution is None:
        errors.append(
            ErrorItem("unknown_institution", f"Institución desconocida: «{data.institution}».", "institution")
        )
    if data.office:
        office = refs.offices.get(data.office)
        if office is None:
            errors.append(ErrorItem("unknown_office", f"Oficina desconocida: «{data.office}».", "office"))
        elif institution is not None and office.institution_id != institution.pk:
            errors.append(
                ErrorItem("office_owner", "La oficina responsable es de otra institución.", "office")
            )
    if data.category not in refs.categories:
        errors.append(ErrorItem("unknown_category", f"Categoría desconocida: «{data.category}».", "category"))
    for slug in data.life_events:
        if slug not in refs.life_events:
            errors.append(
                ErrorItem("unknown_life_event", f"Hecho vital desconocido: «{slug}».", "life_events")
            )
    if data.audience not in Procedure.Audience.values:
        errors.append(ErrorItem("invalid_choice", "Público inválido (persona, empresa o ambos).", "audience"))
    if len(data.keywords) > 400:
        errors.append(ErrorItem("too_long", "Las palabras clave superan 400 caracteres.", "keywords"))
    if data.cost_amount is not None:
        if data.cost_amount < 0:
            errors.append(ErrorItem("invalid", "El costo no puede ser negativo.", "cost.amount"))
        if data.cost_amount >= Decimal("1e10"):
            errors.append(ErrorItem("invalid", "El costo es demasiado grande.", "cost.amount"))
        expected = settings.COUNTRY_PACK.currency
        if data.currency != expected:
            errors.append(ErrorItem("invalid_currency", f"La moneda debe ser {expected}.", "cost.currency"))
        elif (
            settings.COUNTRY_PACK.currency_decimals == 0
            and data.cost_amount != data.cost_amount.to_integral()
        ):
            errors.append(ErrorItem("invalid", "Este monto no admite decimales.", "cost.amount"))
    if not 0 <= data.max_days <= 3650:
        errors.append(ErrorItem("invalid", "El plazo debe estar entre 0 y 3650 días hábiles.", "max_days"))
    if data.digitisation_level not in (1, 2, 3, 4):
        errors.append(ErrorItem("invalid", "El nivel de digitalización va de 1 a 4.", "digitisation_level"))
    if data.min_assurance and data.min_assurance not in AssuranceLevel.values:
        errors.append(
            ErrorItem(
                "invalid_choice",
                "Nivel de Ciudadanía Digital inválido (basico o verificado).",
                "min_assurance",
            )
        )
    if data.status is not None and data.status not in Status.values:
        errors.append(ErrorItem("invalid_choice", f"Estado desconocido: «{data.status}».", "status"))
    _check_url(data.external_start_url, "external_start_url", errors)
    _check_url(data.external_tracking_url, "external_tracking_url", errors)
    if data.runs_on_platform and data.external_start_url:
        errors.append(
            ErrorItem(
                "conflict",
                "Un trámite que se inicia en esta plataforma no lleva enlace externo de inicio.",
                "external_start_url",
            )
        )
    for i, req in enumerate(data.requirements):
        if not req.name:
            errors.append(ErrorItem("required", "Falta el nombre del requisito.", f"requirements[{i}].name"))
        elif len(req.name) > 255:
            errors.append(ErrorItem("too_long", "Requisito demasiado largo.", f"requirements[{i}].name"))
        if req.issuer and req.issuer.upper() not in refs.institutions:
            errors.append(
                ErrorItem(
                    "unknown_institution", f"Emisor desconocido: «{req.issuer}».", f"requirements[{i}].issuer"
                )
            )
    for i, step in enumerate(data.steps):
        if not step.title:
            errors.append(ErrorItem("required", "Falta el título del paso.", f"steps[{i}].title"))
        elif len(step.title) > 255:
            errors.append(ErrorItem("too_long", "Título de paso demasiado largo.", f"steps[{i}].title"))
    seen: set[str] = set()
    for i, ch in enumerate(data.channels):
        where = f"channels[{i}]"
        if ch.channel not in Channel.Kind.values:
            errors.append(
                ErrorItem(
                    "invalid_choice", "Canal inválido (presencial, en_linea, telefonico).", f"{where}.channel"
                )
            )
        if ch.channel in seen:
            errors.append(ErrorItem("duplicate", "El canal está repetido.", f"{where}.channel"))
        seen.add(ch.channel)
        _check_url(ch.url, f"{where}.url", errors)
        for code in ch.offices:
            office = refs.offices.get(code.upper())
            if office is None:
                errors.append(
                    ErrorItem("unknown_office", f"Oficina desconocida: «{code}».", f"{where}.offices")
                )
            elif institution is not None and office.institution_id != institution.pk:
                errors.append(
                    ErrorItem(
                        "office_owner", f"La oficina «{code}» es de otra institución.", f"{where}.offices"
                    )
                )
    for i, faq in enumerate(data.faq):
        if not faq.question or not faq.answer:
            errors.append(ErrorItem("required", "Pregunta y respuesta son obligatorias.", f"faq[{i}]"))
    return errors


def bump_generation() -> None:
    """Invalidate cached counts, facets and statistics (selectors.catalog_generation)."""
    from django.core.cache import cache

    from .selectors import GENERATION_KEY

    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 2, timeout=None)


def _invalidate_caches() -> None:
    # Now (so this transaction's own later reads are fresh) and again after commit (so nothing a concurrent
    # reader cached between the two moments, with the old content, outlives the write).
    bump_generation()
    transaction.on_commit(bump_generation)


# --------------------------------------------------------------------------------------------------------
# Writing a procedure
# --------------------------------------------------------------------------------------------------------


def search_fields(procedure: Procedure, data: ProcedureData, refs: References) -> dict[str, str]:
    institution = refs.institutions[data.institution]
    category = refs.categories[data.category]
    parts = [
        data.name,
        data.name,
        data.keywords,
        data.keywords,
        data.summary,
        data.description,
        institution.name,
        institution.acronym,
        institution.code,
        category.name,
        *(refs.life_events[s].name for s in data.life_events),
        *(r.name for r in data.requirements),
        *(s.title for s in data.steps),
    ]
    document = fold(" ".join(p for p in parts if p))
    name_stems = sorted(set(stems(f"{data.name} {data.keywords}")))
    all_stems = sorted(set(stems(document)))
    return {
        "sort_key": fold(data.name)[:200],
        "search_document": document,
        "search_stems": " " + " ".join(all_stems) + " ",
        "name_stems": (" " + " ".join(name_stems) + " ")[:400],
    }


def _apply(procedure: Procedure, data: ProcedureData, refs: References) -> Procedure:
    """Write ``data`` onto ``procedure`` and replace its children. Caller holds the transaction."""
    _invalidate_caches()
    procedure.slug = data.slug
    procedure.name = data.name
    procedure.summary = data.summary
    procedure.description = data.description
    procedure.institution = refs.institutions[data.institution]
    procedure.office = refs.offices[data.office] if data.office else None
    procedure.category = refs.categories[data.category]
    procedure.audience = data.audience
    procedure.keywords = data.keywords
    procedure.is_free = data.cost_amount is None
    procedure.cost_amount = data.cost_amount
    procedure.currency = data.currency if data.cost_amount is not None else ""
    procedure.payment_instructions = data.payment_instructions
    procedure.legal_basis = data.legal_basis
    procedure.max_days = data.max_days
    procedure.digitisation_level = data.digitisation_level
    procedure.runs_on_platform = data.runs_on_platform
    procedure.min_assurance = data.min_assurance
    procedure.external_start_url = data.external_start_url
    procedure.external_tracking_url = data.external_tracking_url
    for key, value in search_fields(procedure, data, refs).items():
        setattr(procedure, key, value)
    procedure.save()
    procedure.life_events.set([refs.life_events[s] for s in data.life_events])
    procedure.requirements.all().delete()
    Requirement.objects.bulk_create(
        [
            Requirement(
                procedure=procedure,
                order=i,
                name=r.name,
                description=r.description,
                issuer=refs.institutions.get((r.issuer or "").upper()),
                issuer_name=r.issuer_name,
                held_by_state=r.held_by_state,
            )
            for i, r in enumerate(data.requirements)
        ]
    )
    procedure.steps.all().delete()
    Step.objects.bulk_create(
        [
            Step(procedure=procedure, order=i, title=s.title, description=s.description)
            for i, s in enumerate(data.steps)
        ]
    )
    procedure.faqs.all().delete()
    Faq.objects.bulk_create(
        [
            Faq(procedure=procedure, order=i, question=f.question, answer=f.answer)
            for i, f in enumerate(data.faq)
        ]
    )
    procedure.channels.all().delete()
    for ch in data.channels:
        channel = Channel.objects.create(
            procedure=procedure, kind=ch.channel, hours=ch.hours, url=ch.url, phone=ch.phone, notes=ch.notes
        )
        if ch.offices:
            channel.offices.set([refs.offices[c.upper()] for c in ch.offices])
    return procedure


def procedure_to_data(procedure: Procedure) -> ProcedureData:
    """The current content of a procedure in the exchange shape (used by export and version history)."""
    return ProcedureData(
        slug=procedure.slug,
        name=procedure.name,
        institution=procedure.institution.code,
        office=procedure.office.code if procedure.office else None,
        summary=procedure.summary,
        description=procedure.description,
        category=procedure.category.slug,
        life_events=[e.slug for e in procedure.life_events.all()],
        audience=procedure.audience,
        keywords=procedure.keywords,
        requirements=[
            RequirementData(
                name=r.name,
                description=r.description,
                issuer=r.issuer.code if r.issuer else None,
                issuer_name=r.issuer_name,
                held_by_state=r.held_by_state,
            )
            for r in procedure.requirements.all()
        ],
        steps=[StepData(title=s.title, description=s.description) for s in procedure.steps.all()],
        channels=[
            ChannelData(
                channel=c.kind,
                offices=[o.code for o in c.offices.all()],
                hours=c.hours,
                url=c.url,
                phone=c.phone,
                notes=c.notes,
            )
            for c in procedure.channels.all()
        ],
        faq=[FaqData(question=f.question, answer=f.answer) for f in procedure.faqs.all()],
        cost_amount=None if procedure.is_free else procedure.cost_amount,
        currency=procedure.currency,
        payment_instructions=procedure.payment_instructions,
        legal_basis=procedure.legal_basis,
        max_days=procedure.max_days,
        digitisation_level=procedure.digitisation_level,
        runs_on_platform=procedure.runs_on_platform,
        min_assurance=procedure.min_assurance,
        external_start_url=procedure.external_start_url,
        external_tracking_url=procedure.external_tracking_url,
        status=procedure.status,
    )


def _record_version(procedure: Procedure, actor: Any, note: str) -> None:
    last = procedure.versions.order_by("-number").values_list("number", flat=True).first() or 0
    procedure.version = last + 1
    procedure.save(update_fields=["version"])
    ProcedureVersion.objects.create(
        procedure=procedure,
        number=last + 1,
        status=procedure.status,
        data=procedure_to_data(procedure).as_dict(),
        note=note[:255],
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def _require_editor(actor: Any, institution_id: int | None) -> None:
    # actor None = the system itself (demo loader, management commands run by the operator).
    if actor is not None and not can_edit_institution_content(actor, institution_id):
        raise Forbidden("No puede editar trámites de esta institución.")


def _raise_if_errors(errors: list[ErrorItem]) -> None:
    if errors:
        first, *rest = errors
        raise DomainError(message=first.message, code=first.code, field=first.field, status=400, extra=rest)


def procedure_save(
    *,
    actor: Any,
    data: ProcedureData,
    procedure: Procedure | None = None,
    refs: References | None = None,
    note: str = "",
) -> Procedure:
    """Create a procedure or change its content.

    New procedures start as drafts (the system loader may set any status). A draft or returned procedure is
    edited in place. Changes to a *published* procedure by an institution are kept as pending changes and
    go live when the agency approves them; the platform agency's own edits apply at once.
    """
    refs = refs or References()
    _raise_if_errors(validate_procedure_data(data, refs))
    institution = refs.institutions[data.institution]
    _require_editor(actor, institution.pk)
    if procedure is None and Procedure.objects.filter(slug=data.slug).exists():
        raise DomainError(message="Ya existe un trámite con ese slug.", code="duplicate", field="slug")
    with transaction.atomic():
        if procedure is None:
            procedure = Procedure(status=Status.DRAFT)
            if actor is None and data.status:
                procedure.status = data.status
                if data.status == Status.PUBLISHED:
                    procedure.published_at = timezone.now()
            _apply(procedure, data, refs)
            audit_record(actor=actor, action="procedure.create", target=procedure, after=data.as_dict())
            _record_version(procedure, actor, note or "Creación")
            return procedure

        procedure = Procedure.objects.select_for_update().get(pk=procedure.pk)
        _require_editor(actor, procedure.institution_id)
        if data.institution != procedure.institution.code and not (actor is None or is_platform_admin(actor)):
            raise Forbidden("Solo la agencia puede cambiar la institución de un trámite.")
        if (
            data.slug != procedure.slug
            and Procedure.objects.filter(slug=data.slug).exclude(pk=procedure.pk).exists()
        ):
            raise DomainError(message="Ya existe un trámite con ese slug.", code="duplicate", field="slug")
        before = procedure_to_data(procedure).as_dict()
        # Only the system actor (loader, import run by the operator) may set a status directly.
        system_status = (
            data.status if actor is None and data.status and data.status != procedure.status else None
        )
        unchanged = before == data.as_dict() | {"status": procedure.status} and system_status is None
        proposing = procedure.status == Status.PUBLISHED and not (actor is None or is_platform_admin(actor))
        if unchanged and proposing and procedure.pending_data is not None:
            # Saving the published content again withdraws the institution's pending proposal.
            procedure.pending_data = None
            procedure.pending_since = None
            procedure.save(update_fields=["pending_data", "pending_since", "updated_at"])
            audit_record(actor=actor, action="procedure.withdraw_changes", target=procedure)
            return procedure
        if unchanged or (proposing and procedure.pending_data == data.as_dict()):
            return procedure  # nothing changed: no version, no audit noise (keeps the demo load idempotent)
        if proposing:
            procedure.pending_data = data.as_dict()
            procedure.pending_since = timezone.now()
            procedure.save(update_fields=["pending_data", "pending_since", "updated_at"])
            audit_record(
                actor=actor,
                action="procedure.propose_changes",
                target=procedure,
                before=before,
                after=procedure.pending_data,
            )
            return procedure
        if procedure.status == Status.IN_REVIEW and not (actor is None or is_platform_admin(actor)):
            raise DomainError(
                message="El trámite está en revisión; espere la decisión de la agencia.",
                code="locked",
                status=409,
            )
        if system_status:
            procedure.status = system_status
            if system_status == Status.PUBLISHED:
                procedure.published_at = timezone.now()
        _apply(procedure, data, refs)
        audit_record(
            actor=actor, action="procedure.update", target=procedure, before=before, after=data.as_dict()
        )
        _record_version(procedure, actor, note or "Edición")
    return procedure


def procedure_submit(*, actor: Any, procedure: Procedure) -> Procedure:
    """Editor asks the agency to review a draft."""
    _require_editor(actor, procedure.institution_id)
    if procedure.status != Status.DRAFT:
        raise InvalidTransition(procedure.get_status_display(), "enviar a revisión")
    return _transition(actor, procedure, Status.IN_REVIEW, "procedure.submit", "Enviado a revisión")


def procedure_publish(*, actor: Any, procedure: Procedure) -> Procedure:
    """Agency approves: a procedure in review is published, or a published one's pending changes go live."""
    if not can_review(actor):
        raise Forbidden("Solo la agencia de gobierno electrónico publica trámites.")
    if procedure.status == Status.PUBLISHED and procedure.pending_data:
        data, errors = procedure_data_from_dict(procedure.pending_data)
        _raise_if_errors(errors)
        assert data is not None
        refs = References()
        _raise_if_errors(validate_procedure_data(data, refs))
        with transaction.atomic():
            before = procedure_to_data(procedure).as_dict()
            _apply(procedure, data, refs)
            procedure.pending_data = None
            procedure.pending_since = None
            procedure.review_comment = ""
            procedure.published_at = timezone.now()
            procedure.save(update_fields=["pending_data", "pending_since", "review_comment", "published_at"])
            audit_record(
                actor=actor,
                action="procedure.approve_changes",
                target=procedure,
                before=before,
                after=data.as_dict(),
            )
            _record_version(procedure, actor, "Cambios aprobados y publicados")
        return procedure
    if procedure.status != Status.IN_REVIEW:
        raise InvalidTransition(procedure.get_status_display(), "publicar")
    return _transition(actor, procedure, Status.PUBLISHED, "procedure.publish", "Publicado")


def procedure_return(*, actor: Any, procedure: Procedure, comment: str) -> Procedure:
    """Agency sends a procedure in review back to draft (or rejects pending changes) with a reason."""
    if not can_review(actor):
        raise Forbidden("Solo la agencia de gobierno electrónico revisa trámites.")
    comment = comment.strip()
    if not comment:
        raise DomainError(message="Indique qué debe corregirse.", code="required", field="comment")
    if procedure.status == Status.PUBLISHED and procedure.pending_data:
        with transaction.atomic():
            procedure.pending_data = None
            procedure.pending_since = None
            procedure.review_comment = comment
            procedure.save(update_fields=["pending_data", "pending_since", "review_comment", "updated_at"])
            audit_record(
                actor=actor,
                action="procedure.reject_changes",
                target=procedure,
                metadata={"comment": comment},
            )
        return procedure
    if procedure.status != Status.IN_REVIEW:
        raise InvalidTransition(procedure.get_status_display(), "devolver")
    return _transition(
        actor, procedure, Status.DRAFT, "procedure.return", "Devuelto con observaciones", comment=comment
    )


def procedure_archive(*, actor: Any, procedure: Procedure) -> Procedure:
    from ventanilla.core.models import Role

    if not (
        can_review(actor) or has_institution_role(actor, procedure.institution_id, {Role.INSTITUTION_ADMIN})
    ):
        raise Forbidden("Solo la agencia o el administrador de la institución archivan trámites.")
    if procedure.status == Status.ARCHIVED:
        raise InvalidTransition(procedure.get_status_display(), "archivar")
    return _transition(actor, procedure, Status.ARCHIVED, "procedure.archive", "Archivado")


def procedure_restore(*, actor: Any, procedure: Procedure) -> Procedure:
    _require_editor(actor, procedure.institution_id)
    if procedure.status != Status.ARCHIVED:
        raise InvalidTransition(procedure.get_status_display(), "restaurar")
    return _transition(actor, procedure, Status.DRAFT, "procedure.restore", "Restaurado como borrador")


def _transition(
    actor: Any, procedure: Procedure, new_status: str, action: str, note: str, comment: str = ""
) -> Procedure:
    with transaction.atomic():
        _invalidate_caches()
        locked = Procedure.objects.select_for_update().get(pk=procedure.pk)
        old = locked.status
        locked.status = new_status
        locked.review_comment = comment
        fields = ["status", "review_comment", "updated_at"]
        if new_status == Status.PUBLISHED:
            locked.published_at = timezone.now()
            fields.append("published_at")
        locked.save(update_fields=fields)
        audit_record(
            actor=actor,
            action=action,
            target=locked,
            before={"status": old},
            after={"status": new_status},
            metadata={"comment": comment} if comment else None,
        )
        _record_version(locked, actor, note)
    procedure.refresh_from_db()
    return procedure


# --------------------------------------------------------------------------------------------------------
# Citizens' feedback
# --------------------------------------------------------------------------------------------------------


def procedure_rate(*, procedure: Procedure, useful: bool, comment: str, session_key: str) -> bool:
    """Record '¿Le fue útil?' once per browser session; returns False when this session already answered."""
    if procedure.status != Status.PUBLISHED:
        raise DomainError(message="Solo se califican trámites publicados.", code="not_published", status=404)
    session_hash = hashlib.sha256(f"{settings.SECRET_KEY}:{session_key}".encode()).hexdigest()
    with transaction.atomic():
        _, created = Rating.objects.get_or_create(
            procedure=procedure,
            session_hash=session_hash,
            defaults={"useful": useful, "comment": comment.strip()[:500]},
        )
        if created:
            counter = "helpful_yes" if useful else "helpful_no"
            Procedure.objects.filter(pk=procedure.pk).update(**{counter: F(counter) + 1})
    return created


# --------------------------------------------------------------------------------------------------------
# Simplification register
# --------------------------------------------------------------------------------------------------------


@dataclass
class SimplificationData:
    procedure: str
    date: date
    legal_act: str
    description: str
    requirements_before: int
    requirements_after: int
    steps_before: int
    steps_after: int
    days_before: int
    days_after: int
    cost_before: Decimal
    cost_after: Decimal
    channels_before: list[str]
    channels_after: list[str]
    annual_volume: int


def simplification_data_from_dict(raw: dict[str, Any]) -> tuple[SimplificationData | None, list[ErrorItem]]:
    errors: list[ErrorItem] = []
    before = raw.get("before") or {}
    after = raw.get("after") or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return None, [ErrorItem("invalid", "«before» y «after» deben ser objetos.")]

    sources = {"before": before, "after": after, "": raw}

    def number(part: str, key: str, label: str, kind: type = int) -> Any:
        try:
            value = kind(str(sources[part].get(key, 0) or 0))
            if value < 0:
                raise ValueError
            return value
        except (ValueError, InvalidOperation):
            where = f"{part}.{key}" if part else key
            errors.append(ErrorItem("invalid", f"{label} debe ser un número no negativo.", where))
            return kind(0)

    try:
        when = date.fromisoformat(_text(raw.get("date")))
    except ValueError:
        errors.append(ErrorItem("invalid_date", "Fecha inválida (AAAA-MM-DD).", "date"))
        when = date.today()
    data = SimplificationData(
        procedure=_text(raw.get("procedure")),
        date=when,
        legal_act=_text(raw.get("legal_act")),
        description=_text(raw.get("description")),
        requirements_before=number("before", "requirements", "Requisitos antes"),
        requirements_after=number("after", "requirements", "Requisitos después"),
        steps_before=number("before", "steps", "Pasos antes"),
        steps_after=number("after", "steps", "Pasos después"),
        days_before=number("before", "days", "Días antes"),
        days_after=number("after", "days", "Días después"),
        cost_before=number("before", "cost", "Costo antes", Decimal),
        cost_after=number("after", "cost", "Costo después", Decimal),
        channels_before=[_text(c) for c in before.get("channels") or []],
        channels_after=[_text(c) for c in after.get("channels") or []],
        annual_volume=number("", "annual_volume", "Volumen anual"),
    )
    if not data.legal_act:
        errors.append(ErrorItem("required", "Falta el acto normativo.", "legal_act"))
    if not data.description:
        errors.append(ErrorItem("required", "Falta la descripción.", "description"))
    for value, key in ((data.channels_before, "before.channels"), (data.channels_after, "after.channels")):
        if any(c not in Channel.Kind.values for c in value):
            errors.append(ErrorItem("invalid_choice", "Canal inválido.", key))
    return (None if errors else data), errors


def simplification_record(*, actor: Any, data: SimplificationData) -> Simplification:
    procedure = Procedure.objects.filter(slug=data.procedure).first()
    if procedure is None:
        raise DomainError(
            message=f"Trámite desconocido: «{data.procedure}».", code="unknown_procedure", field="procedure"
        )
    _require_editor(actor, procedure.institution_id)
    values = asdict(data)
    values.pop("procedure")
    with transaction.atomic():
        item, created = Simplification.objects.update_or_create(
            procedure=procedure, date=data.date, legal_act=data.legal_act, defaults=values
        )
        if created:
            audit_record(
                actor=actor,
                action="simplification.record",
                target=item,
                institution=procedure.institution_id,
                after=values,
            )
    return item


# --------------------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------------------


def reference_data_sync() -> None:
    """Make sure the shared categories and life events exist (idempotent; runs after every migrate)."""
    for order, (slug, name, description) in enumerate(CATEGORIES):
        Category.objects.update_or_create(
            slug=slug, defaults={"name": name, "description": description, "order": order}
        )
    for order, (slug, name, description) in enumerate(LIFE_EVENTS):
        LifeEvent.objects.update_or_create(
            slug=slug, defaults={"name": name, "description": description, "order": order}
        )


def procedure_platform_set(*, actor: Any, procedure_id: int, on_platform: bool) -> None:
    """Mark a procedure as run on this platform (Expedientes published a working definition for it), so
    its page offers «Iniciar trámite». The digitisation level rises to at least 3 (fully online)."""
    with transaction.atomic():
        procedure = Procedure.objects.select_for_update().filter(pk=procedure_id).first()
        if procedure is None or procedure.runs_on_platform == on_platform:
            return
        procedure.runs_on_platform = on_platform
        fields = ["runs_on_platform", "updated_at"]
        if on_platform and (procedure.digitisation_level or 0) < 3:
            procedure.digitisation_level = 3
            fields.append("digitisation_level")
        procedure.save(update_fields=fields)
        audit_record(
            actor=actor,
            action="procedure.platform",
            target=procedure,
            institution=procedure.institution_id,
            after={"runs_on_platform": on_platform},
        )
        _invalidate_caches()
