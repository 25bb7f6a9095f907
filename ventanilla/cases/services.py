"""Every write of Expedientes: definitions (save, publish, import), drafts, submission, the clerk's
transitions, corrections, assisted filing, housekeeping (abandoned observations, expired drafts) and
webhooks. Each function is one transaction with its audit row; notifications, e-mails and webhooks run on
commit."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.catalog import selectors as catalog_selectors
from ventanilla.catalog import services as catalog_services
from ventanilla.core.calendar import business_days_after
from ventanilla.core.codes import new_tracking_code
from ventanilla.core.errors import DomainError, ErrorItem, Forbidden, InvalidTransition, NotFound
from ventanilla.core.models import Office
from ventanilla.core.net import outbound_url_problem
from ventanilla.core.services import audit_record
from ventanilla.identity import account_selectors
from ventanilla.identity.accounts import PersonData, person_ensure

from . import selectors
from .answers import check_answers, check_upload, upload_items
from .definitions import (
    ACTION_LABELS,
    FORMAT,
    REASON_REQUIRED,
    render_placeholders,
    transitions_from,
    validate,
)
from .models import Case, CaseEvent, CaseFile, ProcedureDefinition, Webhook, WebhookDelivery


class Conflict(DomainError):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message=message
            or _("El expediente cambió mientras lo revisaba. Vuelva a cargarlo e intente de nuevo."),
            code="conflict",
            status=409,
        )


def _invalid(errors: dict[str, str]) -> DomainError:
    items = [ErrorItem("invalid", message, name) for name, message in errors.items()]
    first = items[0]
    return DomainError(message=first.message, code="invalid", field=first.field, extra=items[1:])


# -- definitions ----------------------------------------------------------------------------------------


def _office_codes(institution_id: int) -> set[str]:
    return set(
        Office.objects.filter(institution_id=institution_id, is_active=True).values_list("code", flat=True)
    )


def _require_definition_editor(actor: Any, institution_id: int) -> None:
    allowed = selectors.definition_institution_ids(actor)
    if allowed is not None and institution_id not in allowed:
        raise NotFound()


def definition_problems(*, spec: Any, institution_id: int) -> list[ErrorItem]:
    return [p.as_item() for p in validate(spec, office_codes=_office_codes(institution_id))]


def definition_save(*, actor: Any, procedure_id: int, spec: Any) -> ProcedureDefinition:
    """Create or replace the procedure's draft definition; refused, with every problem listed, if invalid."""
    procedure = catalog_selectors.procedure_by_id(procedure_id)
    if procedure is None:
        raise NotFound()
    _require_definition_editor(actor, procedure.institution_id)
    problems = definition_problems(spec=spec, institution_id=procedure.institution_id)
    if problems:
        raise DomainError(
            message=_("La definición tiene %(n)s problema(s).") % {"n": len(problems)},
            code="invalid_definition",
            extra=problems,
        )
    with transaction.atomic():
        draft = (
            ProcedureDefinition.objects.select_for_update()
            .filter(procedure_id=procedure.pk, status=ProcedureDefinition.Status.DRAFT)
            .first()
        )
        if draft is None:
            last = ProcedureDefinition.objects.filter(procedure_id=procedure.pk).order_by("-version").first()
            draft = ProcedureDefinition(
                procedure_id=procedure.pk,
                institution_id=procedure.institution_id,
                version=(last.version + 1) if last else 1,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
        before = draft.spec if draft.pk else None
        draft.spec = spec
        draft.save()
        audit_record(
            actor=actor,
            action="definition.save",
            target=draft,
            institution=procedure.institution_id,
            before={"spec": before} if before is not None else None,
            after={"spec": spec, "version": draft.version},
        )
    return draft


def definition_publish(*, actor: Any, definition_id: int) -> ProcedureDefinition:
    """Publish a draft: new applications use it; filed cases keep the version they were filed under."""
    with transaction.atomic():
        definition = ProcedureDefinition.objects.select_for_update().filter(pk=definition_id).first()
        if definition is None:
            raise NotFound()
        _require_definition_editor(actor, definition.institution_id)
        if definition.status != ProcedureDefinition.Status.DRAFT:
            raise InvalidTransition(definition.get_status_display(), _("publicar"))
        problems = definition_problems(spec=definition.spec, institution_id=definition.institution_id)
        if problems:
            raise DomainError(message=problems[0].message, code="invalid_definition", extra=problems[1:])
        ProcedureDefinition.objects.filter(
            procedure_id=definition.procedure_id, status=ProcedureDefinition.Status.PUBLISHED
        ).update(status=ProcedureDefinition.Status.RETIRED)
        definition.status = ProcedureDefinition.Status.PUBLISHED
        definition.published_at = timezone.now()
        definition.published_by = actor if getattr(actor, "pk", None) else None
        definition.save(update_fields=["status", "published_at", "published_by", "updated_at"])
        catalog_services.procedure_platform_set(
            actor=actor, procedure_id=definition.procedure_id, on_platform=True
        )
        audit_record(
            actor=actor,
            action="definition.publish",
            target=definition,
            institution=definition.institution_id,
            metadata={"version": definition.version, "procedure": definition.procedure_id},
        )
    return definition


def definition_import(*, actor: Any, procedure_id: int, payload: Any) -> ProcedureDefinition:
    """Import an exported definition (JSON text or object) as the procedure's draft."""
    if isinstance(payload, (bytes, str)):
        try:
            payload = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            raise DomainError(
                message=_("El archivo no es JSON válido."), code="invalid_json", field="file"
            ) from None
    if not isinstance(payload, dict):
        raise DomainError(
            message=_("El archivo no contiene una definición."), code="invalid_json", field="file"
        )
    if payload.get("format") not in (None, FORMAT):
        raise DomainError(
            message=_("Formato de definición desconocido."), code="invalid_format", field="file"
        )
    spec = payload.get("definition", payload if "steps" in payload else None)
    return definition_save(actor=actor, procedure_id=procedure_id, spec=spec)


# -- drafts and submission ------------------------------------------------------------------------------


def _person_values(person: Any) -> dict[str, Any]:
    return {
        "person.full_name": person.full_name,
        "person.first_names": person.first_names,
        "person.surnames": " ".join(p for p in (person.first_surname, person.second_surname) if p),
        "person.document": {"type": person.document_type, "number": person.document_number},
        "person.email": person.email,
        "person.mobile": person.mobile,
        "person.birth_date": person.birth_date.isoformat() if person.birth_date else "",
    }


@dataclass
class RegistryFindings:
    """What public registries already said about the applicant: answers for fields, and the registry's
    own record standing in for a document the citizen would otherwise upload."""

    answers: dict[str, Any]
    documents: dict[str, bytes]


def _registry_lookups(
    definition: ProcedureDefinition, *, document_type: str, number: str, complement: str, actor: Any
) -> RegistryFindings:
    """Ask the registries named in the definition, through the interoperability mediator (rights, consent,
    message log, «¿Quién usó mis datos?»), as the institution's EXPEDIENTES subsystem. A refusal or an
    unavailable registry leaves the field or document for the citizen: never an error here. Called
    before the draft's transaction opens, so no database transaction waits on the HTTP call."""
    spec = definition.spec
    fields = [f for f in spec.get("fields", []) if isinstance(f.get("prefill"), dict)]
    documents = [d for d in spec.get("documents", []) if isinstance(d.get("registry"), dict)]
    findings = RegistryFindings({}, {})
    if not fields and not documents:
        return findings
    from ventanilla.interop.services import registry_query

    full = f"{document_type}-{number}" + (f"-{complement}" if complement else "")
    variables = {
        "document": number,
        "document_type": document_type,
        "complement": complement,
        "documento": full,
    }
    cache: dict[tuple[str, str], Any] = {}

    def ask(source: dict[str, Any]) -> Any:
        try:
            path = str(source.get("path", "")).format(**variables)
        except (KeyError, IndexError, ValueError):
            return None
        key = (str(source["service"]), path)
        if key not in cache:
            try:
                answer = registry_query(
                    actor=actor,
                    client=f"{definition.institution.code}/EXPEDIENTES",
                    service=key[0],
                    path=path,
                    purpose=_("Trámite: %(name)s") % {"name": definition.procedure.name},
                    subject=full,
                    user=getattr(actor, "username", ""),
                )
                cache[key] = answer.data if answer.status == 200 else None
            except DomainError:
                cache[key] = None
        return cache[key]

    for field in fields:
        data = ask(field["prefill"])
        if isinstance(data, dict) and data.get(field["prefill"]["key"]) not in (None, ""):
            findings.answers[field["name"]] = data[field["prefill"]["key"]]
    for document in documents:
        data = ask(document["registry"])
        if isinstance(data, dict) and data:
            findings.documents[document["name"]] = json.dumps(
                data, ensure_ascii=False, sort_keys=True, indent=2
            ).encode()
    return findings


def _prefill(case: Case, person: Any, findings: RegistryFindings) -> None:
    values = _person_values(person)
    data: dict[str, Any] = {}
    prefilled: dict[str, str] = {}
    for field in case.definition.fields:
        source = field.get("prefill")
        if isinstance(source, str) and values.get(source):
            data[field["name"]] = values[source]
            prefilled[field["name"]] = "persona"
    for name, value in findings.answers.items():
        data[name] = value
        prefilled[name] = "registro"
    for name in findings.documents:
        prefilled[name] = "registro"
    case.data = data
    case.prefilled = prefilled


def _registry_sourced(spec: dict[str, Any]) -> set[str]:
    names = {f["name"] for f in spec.get("fields", []) if isinstance(f.get("prefill"), dict)}
    return names | {d["name"] for d in spec.get("documents", []) if isinstance(d.get("registry"), dict)}


def _registry_retry(case: Case, person: Any, actor: Any) -> Case:
    """A resumed draft asks again the registries that did not answer when it was opened."""
    missing = {n for n in _registry_sourced(case.definition.spec) if case.prefilled.get(n) != "registro"}
    if not missing:
        return case
    findings = _registry_lookups(
        case.definition,
        document_type=person.document_type,
        number=person.document_number,
        complement=person.document_complement,
        actor=actor,
    )
    answers = {k: v for k, v in findings.answers.items() if k in missing}
    documents = {k: v for k, v in findings.documents.items() if k in missing}
    if not answers and not documents:
        return case
    with transaction.atomic():
        locked = Case.objects.select_for_update().filter(pk=case.pk, status=Case.Status.DRAFT).first()
        if locked is None:
            return case
        case.data = {**locked.data, **answers}
        case.prefilled = {**locked.prefilled, **dict.fromkeys([*answers, *documents], "registro")}
        case.save(update_fields=["data", "prefilled", "updated_at"])
        case.files.filter(name__in=list(documents), replaced_at__isnull=True).update(
            replaced_at=timezone.now()
        )
        _store_registry_documents(case, RegistryFindings({}, documents))
    return case


def _store_registry_documents(case: Case, findings: RegistryFindings) -> None:
    for name, content in findings.documents.items():
        stored = CaseFile(
            case=case,
            name=name,
            original_name=f"{name}-registro.json",
            content_type="application/json",
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            source=CaseFile.Source.REGISTRY,
        )
        stored.file.save(f"{case.uuid}-{name}.json", ContentFile(content), save=False)
        stored.save()


def draft_start(
    *,
    actor: Any,
    procedure_id: int,
    person: Any = None,
    channel: str = Case.Channel.ONLINE,
    findings: RegistryFindings | None = None,
) -> Case:
    """Open (or resume) the applicant's draft for a procedure. Online, the applicant is the signed-in
    person; at the counter or by phone a clerk passes ``person``."""
    definition = selectors.definition_published(procedure_id=procedure_id)
    if definition is None:
        raise NotFound(_("Este trámite todavía no se puede iniciar en esta plataforma."))
    assisted = person is not None
    if assisted:
        if definition.institution_id not in selectors.staff_institution_ids(actor):
            raise NotFound()
        if channel not in (Case.Channel.COUNTER, Case.Channel.PHONE):
            raise DomainError(message=_("Elija el canal de atención."), field="channel")
    else:
        person = account_selectors.person_for_user(actor)
        if person is None:
            raise DomainError(
                message=_("Su cuenta no tiene datos de persona. Complete su registro en Ciudadanía Digital."),
                code="person_required",
                status=403,
            )
        min_level = definition.spec.get("min_assurance", "basico")
        if not person.meets(min_level):
            raise DomainError(
                message=_("Este trámite requiere una identidad de nivel «%(level)s».") % {"level": min_level},
                code="assurance_required",
                status=403,
            )
        existing = selectors.draft_existing(person_id=person.pk, procedure_id=procedure_id)
        if existing is not None:
            return _registry_retry(existing, person, actor)
    if findings is None:
        findings = _registry_lookups(
            definition,
            document_type=person.document_type,
            number=person.document_number,
            complement=person.document_complement,
            actor=actor,
        )
    try:
        with transaction.atomic():
            case = Case(
                definition=definition,
                procedure_id=definition.procedure_id,
                institution_id=definition.institution_id,
                applicant=person,
                filed_by=actor if assisted else None,
                channel=channel,
                draft_expires_at=timezone.now() + dt.timedelta(days=settings.CASES_DRAFT_TTL_DAYS),
            )
            _prefill(case, person, findings)
            case.save()
            _store_registry_documents(case, findings)
            CaseEvent.objects.create(
                case=case, kind=CaseEvent.Kind.CREATED, actor=actor, to_status=case.status
            )
            audit_record(
                actor=actor,
                action="case.draft_create",
                target=case,
                institution=case.institution_id,
                metadata={
                    "procedure": definition.procedure_id,
                    "version": definition.version,
                    "channel": channel,
                },
            )
    except IntegrityError:
        # The same person opened it twice at once (double click): resume the draft that won.
        existing = selectors.draft_existing(person_id=person.pk, procedure_id=procedure_id)
        if existing is None:
            raise
        return existing
    return case


def _require_drafter(actor: Any, case: Case) -> None:
    uid = getattr(actor, "pk", None)
    if uid is None or (case.applicant.user_id != uid and case.filed_by_id != uid):
        raise NotFound()


def _store_uploads(
    case: Case, uploads: dict[str, UploadedFile], actor: Any, errors: dict[str, str]
) -> list[tuple[str, UploadedFile, str]]:
    """Check every upload first (nothing is stored if any is bad)."""
    items = upload_items(case.definition.spec)
    accepted = []
    for name, upload in uploads.items():
        item = items.get(name)
        if item is None or upload is None:
            continue
        content_type, error = check_upload(item, upload)
        if error:
            errors[name] = error
        else:
            accepted.append((name, upload, content_type or "application/octet-stream"))
    return accepted


def _save_files(case: Case, accepted: list[tuple[str, UploadedFile, str]], actor: Any) -> None:
    now = timezone.now()
    for name, upload, content_type in accepted:
        upload.seek(0)
        content = upload.read()
        case.files.filter(name=name, replaced_at__isnull=True).update(replaced_at=now)
        stored = CaseFile(
            case=case,
            name=name,
            original_name=(upload.name or name)[:255],
            content_type=content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            uploaded_by=actor if getattr(actor, "pk", None) else None,
        )
        stored.file.save(f"{case.uuid}-{name}", ContentFile(content), save=False)
        stored.save()


def _without_registry(
    case: Case, raw: dict[str, Any], uploads: dict[str, UploadedFile]
) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """What a public registry said stays as the registry said it: answers and documents marked
    «registro» are not taken from the applicant's input (the form shows them read-only)."""
    locked = {name for name, source in (case.prefilled or {}).items() if source == "registro"}
    if not locked:
        return raw, uploads
    registry_files = set(
        case.files.filter(source=CaseFile.Source.REGISTRY, replaced_at__isnull=True).values_list(
            "name", flat=True
        )
    )
    answers = {k: v for k, v in raw.items() if k not in locked}
    files = {k: v for k, v in uploads.items() if k not in registry_files}
    return answers, files


def _kept_files(case: Case) -> set[str]:
    return set(case.files.filter(replaced_at__isnull=True).values_list("name", flat=True))


def draft_save(
    *,
    actor: Any,
    case: Case,
    raw: dict[str, Any],
    uploads: dict[str, UploadedFile] | None = None,
    complete: bool = False,
) -> Case:
    """Save answers and uploads of a draft. With ``complete`` every required answer must be there (the
    "Continuar" button). Any error refuses the whole save: nothing is half-written."""
    _require_drafter(actor, case)
    if case.status != Case.Status.DRAFT:
        raise InvalidTransition(case.get_status_display(), _("guardar borrador"))
    raw, uploads = _without_registry(case, raw, uploads or {})
    errors: dict[str, str] = {}
    accepted = _store_uploads(case, uploads, actor, errors)
    have = _kept_files(case) | {name for name, _u, _c in accepted}
    merged = {**case.data, **raw}
    checked = check_answers(case.definition.spec, merged, have_files=have, require_complete=complete)
    errors = {**checked.errors, **errors}  # a refused upload says why, not just "missing"
    if errors:
        raise _invalid(errors)
    with transaction.atomic():
        # Another tab may have submitted it, or the expiry may have run, since the page was loaded.
        current = Case.objects.select_for_update().filter(pk=case.pk).values_list("status", flat=True).first()
        if current != Case.Status.DRAFT:
            raise InvalidTransition(
                str(Case.Status(current).label) if current else "-", _("guardar borrador")
            )
        _save_files(case, accepted, actor)
        case.data = checked.data
        case.draft_expires_at = timezone.now() + dt.timedelta(days=settings.CASES_DRAFT_TTL_DAYS)
        case.draft_reminded_at = None
        case.save(update_fields=["data", "draft_expires_at", "draft_reminded_at", "updated_at"])
    return case


def _start_step(case: Case, step_code: str, now: dt.datetime) -> None:
    step = case.definition.step(step_code) or {}
    case.current_step = step_code
    office_code = step.get("office")
    if office_code:
        case.office = Office.objects.get(institution_id=case.institution_id, code=office_code)
    elif case.office_id is None:
        case.office = (
            Office.objects.filter(institution_id=case.institution_id, is_active=True).order_by("id").first()
        )
    case.step_started_at = now
    case.step_due_date = business_days_after(
        now, int(step.get("sla_days", 0)), institution=case.institution, office=case.office
    )
    # Overall due date: this step's due date plus the SLA of every later step.
    steps = case.definition.steps
    index = next((i for i, s in enumerate(steps) if s["code"] == step_code), 0)
    remaining = sum(int(s.get("sla_days", 0)) for s in steps[index + 1 :])
    case.due_date = (
        business_days_after(case.step_due_date, remaining, institution=case.institution, office=case.office)
        if remaining
        else case.step_due_date
    )


def _fee_text(spec: dict[str, Any]) -> str:
    fee = spec.get("fee") or {}
    if not fee or str(fee.get("amount", "0")) in ("0", "0.00"):
        return _("Gratuito")
    return f"{settings.COUNTRY_PACK.format_money(fee['amount'])} — {fee.get('concept', '')}".strip(" —")


def _answers_for_display(case: Case) -> list[tuple[str, str]]:
    from .display import answer_rows

    return answer_rows(case.definition.spec, case.data)


def application_submit(*, actor: Any, case: Case) -> Case:
    """Submit a complete draft: tracking code, first step with its due date, a signed receipt (PDF); the
    applicant is told by e-mail on commit."""
    _require_drafter(actor, case)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.status != Case.Status.DRAFT:
            raise InvalidTransition(locked.get_status_display(), _("presentar"))
        checked = check_answers(
            case.definition.spec, case.data, have_files=_kept_files(case), require_complete=True
        )
        if checked.errors:
            raise _invalid(checked.errors)
        now = timezone.now()
        case.data = checked.data
        case.status = Case.Status.IN_PROCESS
        case.submitted_at = now
        case.draft_expires_at = None
        _start_step(case, case.definition.steps[0]["code"], now)
        for _attempt in range(5):
            case.tracking_code = new_tracking_code()
            try:
                with transaction.atomic():
                    case.save()
                break
            except IntegrityError:
                continue
        else:  # pragma: no cover - 32^7 codes
            raise DomainError(message=_("No se pudo asignar un código de seguimiento."), status=503)
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.SUBMITTED,
            actor=actor,
            from_status=Case.Status.DRAFT,
            to_status=case.status,
            to_step=case.current_step,
        )
        case.receipt_document = _issue_receipt(case, actor)
        case.save(update_fields=["receipt_document"])
        audit_record(
            actor=actor,
            action="case.submit",
            target=case,
            institution=case.institution_id,
            after={"tracking_code": case.tracking_code, "step": case.current_step, "due": str(case.due_date)},
            metadata={"channel": case.channel},
        )
        _after_change(case, "submitted")
    return case


def _issue_receipt(case: Case, actor: Any) -> Any:
    from ventanilla.documents.services import document_issue

    return document_issue(
        actor=actor,
        institution_id=case.institution_id,
        kind="recibo",
        title=_("Constancia de presentación — %(name)s") % {"name": case.procedure.name},
        template_name="cases/pdf/receipt.html",
        context={
            "case": case,
            "answers": _answers_for_display(case),
            "files": selectors.case_files(case),
            "fee": _fee_text(case.definition.spec),
            "step": case.definition.step(case.current_step),
        },
        person_id=case.applicant_id,
        reference=case.tracking_code or "",
    )


# -- notifications, e-mail and webhooks (on commit) -------------------------------------------------------


def _notify(
    case: Case, *, actor: Any, subject: str, body: str, legal: bool, document_ids: list[int] | None = None
) -> None:
    """Tell the applicant through the legal inbox (which alerts by e-mail/SMS without the content)."""
    from ventanilla.inbox.services import notification_send

    notification_send(
        actor=actor,
        institution_id=case.institution_id,
        person_id=case.applicant_id,
        subject=subject,
        body=body,
        legal=legal,
        case_reference=case.tracking_code or "",
        document_ids=document_ids or [],
        link_path=reverse("cases:my-case", args=[case.tracking_code]),
    )


def _email_receipt(case: Case) -> None:
    from ventanilla.inbox.services import message_queue

    email = case.applicant.email
    if not email:
        return
    body = _(
        "Su solicitud de «%(procedure)s» fue presentada.\n\nCódigo de seguimiento: %(code)s\n"
        "Plazo estimado: %(due)s\n\nSiga su trámite en Mis trámites o en %(url)s con el código y su número "
        "de documento."
    ) % {
        "procedure": case.procedure.name,
        "code": case.tracking_code,
        "due": case.due_date.strftime("%d/%m/%Y") if case.due_date else "-",
        "url": settings.VENTANILLA_PUBLIC_URL.rstrip("/") + reverse("cases:status-check"),
    }
    message_queue(
        institution_id=case.institution_id,
        channel="email",
        to=email,
        subject=_("Solicitud presentada: %(code)s") % {"code": case.tracking_code},
        body=body,
        reference=case.tracking_code or "",
    )


def case_payload(case: Case, event: str) -> dict[str, Any]:
    return {
        "event": event,
        "tracking_code": case.tracking_code,
        "procedure": case.procedure.slug,
        "status": case.status,
        "step": case.current_step,
        "office": case.office.code if case.office is not None else None,
        "version": case.version,
        "due_date": case.due_date.isoformat() if case.due_date else None,
        "occurred_at": timezone.now().isoformat(),
    }


def _after_change(case: Case, event: str) -> None:
    """Queue webhook deliveries (rows now, in this transaction; sent on commit)."""
    payload = case_payload(case, event)
    deliveries = [
        WebhookDelivery.objects.create(
            webhook=hook, case=case, payload=payload, next_attempt_at=timezone.now()
        )
        for hook in selectors.webhooks_for(institution_id=case.institution_id)
    ]
    if event == "submitted":
        transaction.on_commit(lambda: _email_receipt(case), robust=True)
    if deliveries:
        from .tasks import deliver_webhook

        ids = [d.pk for d in deliveries]
        # robust: a queue that is down must not turn a committed change into an error page; the row is
        # due now, so `cases_housekeeping` sends it anyway.
        transaction.on_commit(lambda: [deliver_webhook.enqueue(i) for i in ids], robust=True)


# -- transitions ------------------------------------------------------------------------------------------


def _require_staff(actor: Any, case: Case) -> None:
    if case.institution_id not in selectors.staff_institution_ids(actor):
        raise NotFound()


def _lock(
    actor: Any, tracking_code: str, version: int | None, institution_ids: set[int] | None = None
) -> Case:
    """Lock the case row (404 outside ``institution_ids``, default: the actor's); 409 on a stale version."""
    ids = selectors.staff_institution_ids(actor) if institution_ids is None else institution_ids
    case = selectors.case_lock(institution_ids=ids, tracking_code=tracking_code)
    if version is not None and case.version != version:
        raise Conflict()
    return case


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) and getattr(actor, "is_authenticated", False) else None


def _bump(case: Case, fields: list[str]) -> None:
    case.version = F("version") + 1
    case.save(update_fields=[*fields, "version", "updated_at"])
    case.refresh_from_db()


@dataclass
class TransitionResult:
    case: Case
    event: CaseEvent


def case_transition_by_system(
    *,
    institution_id: int,
    actor: Any,
    tracking_code: str,
    action: str,
    version: int,
    reason: str = "",
    office_code: str = "",
) -> Case:
    """The same transition, asked by an institution's own system through the API (no user)."""
    return case_transition(
        actor=actor,
        tracking_code=tracking_code,
        action=action,
        version=version,
        reason=reason,
        office_code=office_code,
        institution_ids={institution_id},
    )


def case_transition(
    *,
    actor: Any,
    tracking_code: str,
    action: str,
    version: int | None,
    reason: str = "",
    office_code: str = "",
    institution_ids: set[int] | None = None,
) -> Case:
    """Apply a clerk's action to a case in process: approve (next step), observe (ask the citizen to
    correct, with a deadline in business days), reject, derive to another office or resolve (signed
    resolution). ``version`` is the version the clerk saw: a stale one gets 409, so of two concurrent
    actions exactly one wins."""
    reason = (reason or "").strip()
    if action not in ACTION_LABELS:
        raise DomainError(message=_("Acción desconocida."), code="invalid_action", field="action")
    if action in REASON_REQUIRED and not reason:
        raise DomainError(message=_("Indique el motivo."), code="required", field="reason")
    with transaction.atomic():
        locked = _lock(actor, tracking_code, version, institution_ids)
        case = selectors.case_with_related(pk=locked.pk)
        if case.status != Case.Status.IN_PROCESS:
            raise InvalidTransition(case.get_status_display(), str(ACTION_LABELS[action]))
        allowed = {t["action"]: t for t in transitions_from(case.definition.spec, case.current_step)}
        if action not in allowed:
            raise InvalidTransition(
                (case.definition.step(case.current_step) or {}).get("name", case.current_step),
                str(ACTION_LABELS[action]),
            )
        now = timezone.now()
        before = {"status": case.status, "step": case.current_step, "office": case.office_id}
        from_step, from_status = case.current_step, case.status
        kind = {
            "approve": CaseEvent.Kind.APPROVE,
            "observe": CaseEvent.Kind.OBSERVE,
            "reject": CaseEvent.Kind.REJECT,
            "derive": CaseEvent.Kind.DERIVE,
            "resolve": CaseEvent.Kind.RESOLVE,
        }[action]
        fields = ["status", "current_step", "office", "step_started_at", "step_due_date", "due_date"]
        notice: tuple[str, str, bool, list[int]] | None = None
        if action == "approve":
            _start_step(case, allowed[action]["to"], now)
            case.assigned_to = None
            fields.append("assigned_to")
        elif action == "observe":
            days = int(case.definition.spec.get("observation_days", 10))
            case.status = Case.Status.OBSERVED
            case.observation = reason
            case.observation_due_date = business_days_after(
                now, days, institution=case.institution, office=case.office
            )
            fields += ["observation", "observation_due_date"]
            notice = (
                _("Su trámite %(code)s fue observado") % {"code": case.tracking_code},
                _(
                    "La institución observó su solicitud de «%(procedure)s»:\n\n%(reason)s\n\n"
                    "Corrija lo indicado "
                    "en Mis trámites hasta el %(due)s. Si no lo hace, el trámite se cerrará por abandono."
                )
                % {
                    "procedure": case.procedure.name,
                    "reason": reason,
                    "due": case.observation_due_date.strftime("%d/%m/%Y"),
                },
                True,
                [],
            )
        elif action == "reject":
            case.status = Case.Status.REJECTED
            case.closed_at = now
            case.outcome_reason = reason
            fields += ["closed_at", "outcome_reason"]
            notice = (
                _("Su trámite %(code)s fue rechazado") % {"code": case.tracking_code},
                _("La institución rechazó su solicitud de «%(procedure)s».\n\nMotivo: %(reason)s")
                % {"procedure": case.procedure.name, "reason": reason},
                True,
                [],
            )
        elif action == "derive":
            target = Office.objects.filter(
                institution_id=case.institution_id, code=office_code, is_active=True
            ).first()
            if target is None or target.pk == case.office_id:
                raise DomainError(message=_("Elija otra oficina de la institución."), field="office")
            case.office = target
            case.assigned_to = None
            fields.append("assigned_to")
        elif action == "resolve":
            case.status = Case.Status.RESOLVED
            case.closed_at = now
            case.outcome_reason = reason
            case.resolution_document = _issue_resolution(case, actor, now)
            fields += ["closed_at", "outcome_reason", "resolution_document"]
            notice = (
                _("Su trámite %(code)s fue resuelto") % {"code": case.tracking_code},
                _("Su solicitud de «%(procedure)s» fue resuelta. Descargue la resolución en Mis trámites.")
                % {"procedure": case.procedure.name},
                True,
                [case.resolution_document.pk],
            )
        _bump(case, fields)
        CaseEvent.objects.create(
            case=case,
            kind=kind,
            actor=_user(actor),
            from_status=from_status,
            to_status=case.status,
            from_step=from_step,
            to_step=case.current_step,
            comment=reason if action != "derive" or case.office is None else f"{reason} ({case.office.name})",
        )
        audit_record(
            actor=actor,
            action=f"case.{action}",
            target=case,
            institution=case.institution_id,
            before=before,
            after={"status": case.status, "step": case.current_step, "office": case.office_id},
            metadata={"reason": reason} if reason else None,
        )
        if notice:
            subject, body, legal, docs = notice
            _notify(case, actor=actor, subject=subject, body=body, legal=legal, document_ids=docs)
        _after_change(case, action)
    return case


def _issue_resolution(case: Case, actor: Any, now: dt.datetime) -> Any:
    from ventanilla.documents.services import document_issue

    spec = case.definition.spec["resolution"]
    values: dict[str, Any] = {
        "codigo": case.tracking_code,
        "fecha": timezone.localdate(now).strftime("%d/%m/%Y"),
        "tramite": case.procedure.name,
        "institucion": case.institution.name,
        "solicitante.nombre": case.applicant.full_name,
        "solicitante.documento": case.applicant.document_display,
    }
    for name, row in dict(_answer_values(case)).items():
        values[name] = row
    return document_issue(
        actor=actor,
        institution_id=case.institution_id,
        kind="resolucion",
        title=render_placeholders(spec["title"], values),
        template_name="cases/pdf/resolution.html",
        context={
            "case": case,
            "paragraphs": [p for p in render_placeholders(spec["body"], values).split("\n") if p.strip()],
            "signer": actor.get_full_name() or actor.get_username(),
        },
        person_id=case.applicant_id,
        reference=case.tracking_code or "",
    )


def _answer_values(case: Case) -> list[tuple[str, str]]:
    from .display import answer_value

    return [(f["name"], answer_value(f, case.data.get(f["name"]))) for f in case.definition.fields]


def application_correct(
    *, actor: Any, case: Case, raw: dict[str, Any], uploads: dict[str, UploadedFile] | None = None
) -> Case:
    """The applicant answers an observation: corrected answers and documents, checked in full; the case
    returns to the step it was in, with a fresh due date. A clerk of the institution may file the
    correction on the person's behalf (at the counter or by phone: people filed for there may have no
    account). Refused once the correction deadline has passed."""
    uid = getattr(actor, "pk", None)
    on_behalf = uid is not None and case.applicant.user_id != uid
    if on_behalf and case.institution_id not in selectors.staff_institution_ids(actor):
        raise NotFound()
    if uid is None:
        raise NotFound()
    raw, uploads = _without_registry(case, raw, uploads or {})
    errors: dict[str, str] = {}
    accepted = _store_uploads(case, uploads, actor, errors)
    have = _kept_files(case) | {name for name, _u, _c in accepted}
    checked = check_answers(
        case.definition.spec, {**case.data, **raw}, have_files=have, require_complete=True
    )
    errors = {**checked.errors, **errors}  # a refused upload says why, not just "missing"
    if errors:
        raise _invalid(errors)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.status != Case.Status.OBSERVED:
            raise InvalidTransition(locked.get_status_display(), _("corregir"))
        if locked.observation_due_date and locked.observation_due_date < timezone.localdate():
            raise DomainError(
                message=_("El plazo para corregir venció el %(date)s.")
                % {"date": locked.observation_due_date.strftime("%d/%m/%Y")},
                code="deadline_passed",
                status=409,
            )
        _save_files(case, accepted, actor)
        now = timezone.now()
        case.data = checked.data
        case.status = Case.Status.IN_PROCESS
        _start_step(case, case.current_step, now)
        _bump(case, ["data", "status", "office", "step_started_at", "step_due_date", "due_date"])
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.CORRECT,
            actor=actor,
            from_status=Case.Status.OBSERVED,
            to_status=case.status,
            from_step=case.current_step,
            to_step=case.current_step,
            comment=_("Presentada en la institución en nombre de la persona.") if on_behalf else "",
        )
        audit_record(
            actor=actor,
            action="case.correct",
            target=case,
            institution=case.institution_id,
            metadata={"on_behalf": on_behalf},
        )
        _after_change(case, "corrected")
    return case


def case_claim(*, actor: Any, tracking_code: str, version: int | None) -> Case:
    return case_assign(actor=actor, tracking_code=tracking_code, version=version, user=actor)


def case_assign(*, actor: Any, tracking_code: str, version: int | None, user: Any) -> Case:
    """Give an open case to a clerk of its institution (``user`` = ``actor`` is "tomar")."""
    with transaction.atomic():
        case = _lock(actor, tracking_code, version)
        if not case.is_open:
            raise InvalidTransition(case.get_status_display(), _("asignar"))
        if user is not None and case.institution_id not in selectors.staff_institution_ids(user):
            raise DomainError(message=_("Esa persona no atiende trámites de esta institución."), field="user")
        before = case.assigned_to_id
        case.assigned_to = user
        _bump(case, ["assigned_to"])
        mine = user is not None and user.pk == getattr(actor, "pk", None)
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.CLAIM if mine else CaseEvent.Kind.ASSIGN,
            actor=actor,
            comment=(user.get_full_name() or user.get_username()) if user is not None else _("Sin asignar"),
            internal=True,
        )
        audit_record(
            actor=actor,
            action="case.assign",
            target=case,
            institution=case.institution_id,
            before={"assigned_to": before},
            after={"assigned_to": case.assigned_to_id},
        )
    return case


def case_note_add(*, actor: Any, tracking_code: str, text: str) -> CaseEvent:
    text = (text or "").strip()
    if not text:
        raise DomainError(message=_("Escriba la nota."), code="required", field="text")
    if len(text) > 4000:
        raise DomainError(message=_("La nota es demasiado larga (máximo 4000 caracteres)."), field="text")
    with transaction.atomic():
        case = _lock(actor, tracking_code, None)
        event = CaseEvent.objects.create(
            case=case, kind=CaseEvent.Kind.NOTE, actor=actor, comment=text, internal=True
        )
        audit_record(actor=actor, action="case.note", target=case, institution=case.institution_id)
    return event


def assisted_application_file(
    *,
    actor: Any,
    procedure_id: int,
    channel: str,
    person: PersonData,
    raw: dict[str, Any],
    uploads: dict[str, UploadedFile] | None = None,
) -> Case:
    """A clerk files an application at the counter or by phone on behalf of a person identified by
    document number (created with level «básico» if the State does not know them yet). One transaction:
    either the case is filed or nothing is written."""
    definition = selectors.definition_published(procedure_id=procedure_id)
    if definition is None or definition.institution_id not in selectors.staff_institution_ids(actor):
        raise NotFound()
    document, doc_errors = account_selectors.document_parse(
        person.document_type, person.document_number, person.document_complement
    )
    if document is None:
        raise DomainError(message=doc_errors[0], field="document_number")
    # Registries first, outside the transaction: no lock waits on an HTTP call, and a consultation that
    # really happened stays in the log and in «¿Quién usó mis datos?» even if the filing is refused.
    findings = _registry_lookups(
        definition,
        document_type=document.type,
        number=document.number,
        complement=document.complement,
        actor=actor,
    )
    with transaction.atomic():
        applicant = person_ensure(actor=actor, data=person)
        case = draft_start(
            actor=actor, procedure_id=procedure_id, person=applicant, channel=channel, findings=findings
        )
        draft_save(actor=actor, case=case, raw=raw, uploads=uploads, complete=True)
        return application_submit(actor=actor, case=case)


# -- housekeeping -------------------------------------------------------------------------------------------


def observations_expire(*, today: dt.date | None = None) -> int:
    """Close as abandoned every observed case whose correction deadline has passed."""
    today = today or timezone.localdate()
    closed = 0
    ids = list(
        Case.objects.filter(status=Case.Status.OBSERVED, observation_due_date__lt=today).values_list(
            "pk", flat=True
        )
    )
    for pk in ids:
        with transaction.atomic():
            case = (
                Case.objects.select_for_update(of=("self",))
                .select_related("procedure", "institution", "office")
                .get(pk=pk)
            )
            if (
                case.status != Case.Status.OBSERVED
                or not case.observation_due_date
                or case.observation_due_date >= today
            ):
                continue
            case.status = Case.Status.ABANDONED
            case.closed_at = timezone.now()
            case.outcome_reason = _("No se corrigió la observación hasta el %(due)s.") % {
                "due": case.observation_due_date.strftime("%d/%m/%Y")
            }
            _bump(case, ["status", "closed_at", "outcome_reason"])
            CaseEvent.objects.create(
                case=case,
                kind=CaseEvent.Kind.ABANDON,
                from_status=Case.Status.OBSERVED,
                to_status=case.status,
                comment=case.outcome_reason,
            )
            audit_record(actor=None, action="case.abandon", target=case, institution=case.institution_id)
            _notify(
                case,
                actor=None,
                subject=_("Su trámite %(code)s se cerró por abandono") % {"code": case.tracking_code},
                body=case.outcome_reason,
                legal=True,
            )
            _after_change(case, "abandoned")
            closed += 1
    return closed


def drafts_housekeep(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Remind applicants of drafts about to expire, and expire (and empty) the ones past their date.
    Returns ``(reminded, expired)``."""
    from ventanilla.inbox.services import message_queue

    now = now or timezone.now()
    soon = now + dt.timedelta(days=settings.CASES_DRAFT_REMINDER_DAYS)
    reminded = 0
    for case in Case.objects.select_related("procedure", "applicant").filter(
        status=Case.Status.DRAFT,
        draft_expires_at__gt=now,
        draft_expires_at__lte=soon,
        draft_reminded_at__isnull=True,
    ):
        with transaction.atomic():
            if not Case.objects.filter(pk=case.pk, draft_reminded_at__isnull=True).update(
                draft_reminded_at=now
            ):
                continue
            if case.applicant.email:
                message_queue(
                    institution_id=case.institution_id,
                    channel="email",
                    to=case.applicant.email,
                    subject=_("Su borrador de «%(name)s» vence pronto") % {"name": case.procedure.name},
                    body=_(
                        "Tiene un borrador sin presentar de «%(name)s». "
                        "Si no lo presenta antes del %(date)s, "
                        "se eliminará. Continúe en Mis trámites."
                    )
                    % {
                        "name": case.procedure.name,
                        "date": timezone.localtime(case.draft_expires_at).strftime("%d/%m/%Y"),
                    },
                    reference=str(case.uuid),
                )
            reminded += 1
    expired = 0
    candidates = list(
        Case.objects.filter(status=Case.Status.DRAFT, draft_expires_at__lte=now).values_list("pk", flat=True)
    )
    for pk in candidates:
        with transaction.atomic():
            # Re-read under the lock: the applicant may have saved or submitted it a moment ago.
            draft = (
                Case.objects.select_for_update()
                .filter(pk=pk, status=Case.Status.DRAFT, draft_expires_at__lte=now)
                .first()
            )
            if draft is None:
                continue
            case = draft
            for stored in case.files.all():
                transaction.on_commit(partial(stored.file.storage.delete, stored.file.name))
            case.files.all().delete()
            case.status = Case.Status.EXPIRED
            case.data = {}
            case.save(update_fields=["status", "data", "updated_at"])
            CaseEvent.objects.create(
                case=case,
                kind=CaseEvent.Kind.EXPIRE,
                from_status=Case.Status.DRAFT,
                to_status=Case.Status.EXPIRED,
            )
            audit_record(actor=None, action="case.draft_expire", target=case, institution=case.institution_id)
            expired += 1
    return reminded, expired


# -- webhooks ---------------------------------------------------------------------------------------------


def webhook_register(*, actor: Any, institution_id: int, url: str) -> tuple[Webhook, str]:
    """Register an endpoint for status changes; the signing secret is shown once."""
    if institution_id not in selectors.dashboard_institution_ids(actor):
        raise Forbidden()
    problem = webhook_url_problem(url)
    if problem:
        raise DomainError(message=problem, field="url")
    secret = secrets.token_hex(32)
    with transaction.atomic():
        hook = Webhook.objects.create(institution_id=institution_id, url=url, secret=secret, created_by=actor)
        audit_record(
            actor=actor, action="webhook.create", target=hook, institution=institution_id, after={"url": url}
        )
    return hook, secret


def webhook_disable(*, actor: Any, webhook_id: int) -> None:
    with transaction.atomic():
        hook = Webhook.objects.select_for_update().filter(pk=webhook_id).first()
        if hook is None or hook.institution_id not in selectors.dashboard_institution_ids(actor):
            raise NotFound()
        hook.is_active = False
        hook.save(update_fields=["is_active"])
        audit_record(actor=actor, action="webhook.disable", target=hook, institution=hook.institution_id)


def webhook_url_problem(url: str) -> str | None:
    """Why a webhook URL is refused, or None (``core.net``: HTTPS, public addresses only unless
    ``CASES_WEBHOOK_ALLOW_PRIVATE``). Checked at registration and again before every delivery."""
    return outbound_url_problem(url, allow_private=settings.CASES_WEBHOOK_ALLOW_PRIVATE)


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    import hmac

    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
