"""Writes of the inbox app.

Legal inbox: ``notification_send`` leaves a message in a person's inbox with its evidence (content hash,
made available at, first opened at, takes effect at and why, signed «constancia de notificación»), and
alerts the person through the outbox — the alert never carries the content.

Outbox: ``message_queue`` writes every e-mail/SMS as a row before anything is sent; ``message_deliver``
(run by the ``deliver_message`` task) claims the row with a conditional UPDATE and a lease, records the
attempt, and marks it sent — or schedules a retry with exponential backoff. A message confirmed sent is never
sent again; a message whose worker died mid-send is taken back by ``outbox_sweep`` when its lease expires.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.mail.message import make_msgid
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from ventanilla.core.calendar import business_days_after
from ventanilla.core.countries.base import NOTIFY_ON_DELIVERY
from ventanilla.core.errors import DomainError, Forbidden, NotFound
from ventanilla.core.models import Institution
from ventanilla.core.services import audit_record, snapshot

from . import keys, selectors
from .models import ApiKey, Channel, DeliveryAttempt, MessageTemplate, Notification, OutboxMessage

logger = logging.getLogger(__name__)

SUBJECT_MAX = 200
BODY_MAX = 20000
CASE_REFERENCE_MAX = 100
SMS_MAX = 918  # 6 concatenated SMS of 153 characters
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
PLACEHOLDER = re.compile(r"\(\(\s*([^()]+?)\s*\)\)")


# ======================================================================================================
# Templates and placeholders (GOV.UK Notify style: ((name)))
# ======================================================================================================


class MissingPersonalisation(DomainError):
    """A template placeholder without a value: refused, never sent blank."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            message=_("Faltan datos para la plantilla: %(names)s.") % {"names": ", ".join(missing)},
            code="missing_personalisation",
            field="personalisation",
        )
        self.missing = missing


def template_placeholders(*texts: str) -> list[str]:
    """The placeholder names in ``texts``, in order of appearance, without repeats."""
    names: list[str] = []
    for text in texts:
        for match in PLACEHOLDER.finditer(text or ""):
            name = match.group(1).strip()
            if name not in names:
                names.append(name)
    return names


def template_render(*, subject: str, body: str, personalisation: dict[str, Any] | None) -> tuple[str, str]:
    """Fill every ((placeholder)); a missing (or empty) value raises :class:`MissingPersonalisation`."""
    values = {str(k).strip(): v for k, v in (personalisation or {}).items()}
    missing = [
        name
        for name in template_placeholders(subject, body)
        if values.get(name) is None or str(values.get(name)).strip() == ""
    ]
    if missing:
        raise MissingPersonalisation(missing)

    def fill(text: str) -> str:
        return PLACEHOLDER.sub(lambda m: _value_text(values[m.group(1).strip()]), text or "")

    return fill(subject), fill(body)


def _value_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "\n".join(f"* {item}" for item in value)
    return str(value)


def _require_manager(actor: Any, institution_id: int) -> None:
    """Institution admins/editors of that institution or the platform agency; ``None`` is the system."""
    if actor is None:
        return
    allowed = selectors.manager_institution_ids(actor)
    if allowed is not None and institution_id not in allowed:
        raise Forbidden()


def template_save(
    *,
    actor: Any,
    institution_id: int,
    name: str,
    channel: str,
    body: str,
    subject: str = "",
    template: MessageTemplate | None = None,
) -> MessageTemplate:
    """Create or change an institution's template; a change of text raises its version (as Notify does)."""
    _require_manager(actor, institution_id)
    if template is not None and template.institution_id != institution_id:
        raise NotFound(message=_("Plantilla no encontrada."))
    errors = []
    if channel not in Channel.values:
        errors.append(DomainError(message=_("Elija correo electrónico o SMS."), field="channel"))
    if not name.strip():
        errors.append(DomainError(message=_("Indique el nombre de la plantilla."), field="name"))
    if not body.strip():
        errors.append(DomainError(message=_("Escriba el texto del mensaje."), field="body"))
    if channel == Channel.EMAIL and not subject.strip():
        errors.append(DomainError(message=_("Un correo electrónico necesita asunto."), field="subject"))
    if errors:
        first, *rest = errors
        first.extra = [item for err in rest for item in err.items()]
        raise first
    with transaction.atomic():
        before = snapshot(template, ["name", "channel", "subject", "body", "version"]) if template else None
        current = template or MessageTemplate(institution_id=institution_id)
        text_changed = template is not None and (
            template.subject != subject.strip()
            or template.body != body.strip()
            or template.channel != channel
        )
        current.name = name.strip()
        current.channel = channel
        current.subject = subject.strip() if channel == Channel.EMAIL else ""
        current.body = body.strip()
        if text_changed:
            current.version += 1
        current.save()
        audit_record(
            actor=actor,
            action="inbox.template.create" if template is None else "inbox.template.update",
            target=current,
            institution=institution_id,
            before=before,
            after=snapshot(current, ["name", "channel", "subject", "body", "version"]),
        )
    return current


# ======================================================================================================
# API keys (Notify format)
# ======================================================================================================


def api_key_create(*, actor: Any, institution_id: int, name: str) -> tuple[ApiKey, str]:
    """A new key for ``institution_id``; returns the key row and the full key, shown only this once."""
    _require_manager(actor, institution_id)
    key_name = slugify(name).replace("-", "_")[:60]
    if not key_name:
        raise DomainError(message=_("Indique un nombre para la clave (letras o números)."), field="name")
    institution = Institution.objects.filter(pk=institution_id).first()
    if institution is None:
        raise NotFound(message=_("Institución no encontrada."))
    secret = str(uuid.uuid4())
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            institution=institution,
            name=key_name,
            service_id=keys.service_id_for(institution.code),
            secret_encrypted=keys.secret_encrypt(secret),
            secret_hint=secret[-4:],
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(
            actor=actor,
            action="inbox.api_key.create",
            target=api_key,
            institution=institution_id,
            after={"name": key_name, "service_id": str(api_key.service_id)},
        )
    return api_key, keys.full_key(key_name, api_key.service_id, secret)


def api_key_revoke(*, actor: Any, api_key: ApiKey) -> ApiKey:
    _require_manager(actor, api_key.institution_id)
    if api_key.revoked_at is not None:
        return api_key
    with transaction.atomic():
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor, action="inbox.api_key.revoke", target=api_key, institution=api_key.institution_id
        )
    return api_key


def api_key_touch(*, api_key: ApiKey) -> None:
    """Bookkeeping (not audited): when the key was last used."""
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())


# ======================================================================================================
# Outbox
# ======================================================================================================


def _check_recipient(channel: str, to: str) -> str:
    to = (to or "").strip()
    if channel == Channel.EMAIL:
        try:
            validate_email(to)
        except ValidationError:
            raise DomainError(
                message=_("La dirección de correo electrónico no es válida."),
                code="invalid_recipient",
                field="to",
            ) from None
        return to.lower()
    if channel == Channel.SMS:
        compact = re.sub(r"[\s().\-]+", "", to)
        if not E164.match(compact):
            raise DomainError(
                message=_("El número de celular debe estar en formato internacional (+591…)."),
                code="invalid_recipient",
                field="to",
            )
        return compact
    raise DomainError(
        message=_("Canal desconocido: use email o sms."), code="invalid_channel", field="channel"
    )


def message_queue(
    *,
    institution_id: int | None,
    channel: str,
    to: str,
    subject: str,
    body: str,
    reference: str = "",
    template: MessageTemplate | None = None,
    api_key: ApiKey | None = None,
) -> OutboxMessage:
    """Write one e-mail or SMS to the outbox; it is handed to the delivery task when the transaction
    commits (so a rolled-back request sends nothing, and a committed one is never forgotten)."""
    to = _check_recipient(channel, to)
    if not (body or "").strip():
        raise DomainError(message=_("El mensaje está vacío."), code="empty_body", field="body")
    if channel == Channel.EMAIL and not (subject or "").strip():
        raise DomainError(
            message=_("El correo electrónico necesita asunto."), code="empty_subject", field="subject"
        )
    if channel == Channel.SMS and len(body) > SMS_MAX:
        raise DomainError(message=_("El SMS es demasiado largo."), code="too_long", field="body")
    with transaction.atomic():
        message = OutboxMessage.objects.create(
            institution_id=institution_id,
            channel=channel,
            to=to,
            subject=(subject or "").strip()[:255] if channel == Channel.EMAIL else "",
            body=body,
            reference=(reference or "")[:255],
            template=template,
            template_version=template.version if template else None,
            api_key=api_key,
        )
        audit_record(
            actor=None,
            action="inbox.message.queue",
            target=message,
            institution=institution_id,
            metadata={"channel": channel, "reference": message.reference},
        )
        message_id = str(message.pk)
        transaction.on_commit(lambda: _enqueue_delivery(message_id))
    return message


def message_from_template(
    *,
    institution_id: int,
    template_id: Any,
    to: str,
    personalisation: dict[str, Any],
    reference: str = "",
    api_key: ApiKey | None = None,
) -> OutboxMessage:
    """Render the institution's template with ``personalisation`` and queue it. A placeholder without a
    value raises :class:`MissingPersonalisation` (a DomainError); another institution's template is 404."""
    template = selectors.template_get(institution_ids={institution_id}, template_id=template_id)
    if not template.is_active:
        raise DomainError(
            message=_("La plantilla está desactivada."), code="template_inactive", field="template_id"
        )
    subject, body = template_render(
        subject=template.subject, body=template.body, personalisation=personalisation
    )
    return message_queue(
        institution_id=institution_id,
        channel=template.channel,
        to=to,
        subject=subject,
        body=body,
        reference=reference,
        template=template,
        api_key=api_key,
    )


def _enqueue_delivery(message_id: str, run_after: dt.datetime | None = None) -> None:
    from .tasks import deliver_message

    try:
        if run_after is not None:
            if not deliver_message.get_backend().supports_defer:
                return  # the sweeper (outbox_sweep) picks it up when it is due
            deliver_message.using(run_after=run_after).enqueue(message_id)
        else:
            deliver_message.enqueue(message_id)
    except Exception:
        logger.exception("No se pudo encolar el envío del mensaje %s; lo retomará outbox_sweep.", message_id)


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff: base, 2×base, 4×base… capped."""
    base = int(getattr(settings, "OUTBOX_RETRY_BASE_SECONDS", 60))
    cap = int(getattr(settings, "OUTBOX_RETRY_MAX_SECONDS", 6 * 3600))
    return dt.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def _send_now(message: OutboxMessage) -> str:
    """Hand the message to the mail backend or SMS provider; returns the provider's reference."""
    if message.channel == Channel.EMAIL:
        message_id = make_msgid(domain=settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or None)
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers={"Message-ID": message_id, "X-Ventanilla-Message": str(message.pk)},
        )
        email.send(fail_silently=False)
        return message_id
    from ventanilla.identity.sms import send_sms

    send_sms(message.to, message.body)
    return ""


def message_deliver(*, message_id: Any, now: dt.datetime | None = None) -> str:
    """One delivery attempt. Returns "sent", "retry", "failed", "superseded" (this worker's lease expired and
    another worker claimed the message meanwhile: nothing changed on the message) or "skipped" (not due,
    already sent, or held by another worker whose lease has not expired)."""
    now = now or timezone.now()
    lease = dt.timedelta(seconds=int(getattr(settings, "OUTBOX_LEASE_SECONDS", 300)))
    S = OutboxMessage.Status
    claimable = (Q(status=S.QUEUED) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))) | (
        Q(status=S.SENDING) & (Q(locked_until__isnull=True) | Q(locked_until__lt=now))
    )
    try:
        pk = uuid.UUID(str(message_id))
    except ValueError:
        return "skipped"
    with transaction.atomic():
        claimed = (
            OutboxMessage.objects.filter(pk=pk)
            .filter(claimable)
            .update(status=S.SENDING, locked_until=now + lease, attempts=F("attempts") + 1)
        )
        if not claimed:
            return "skipped"
        message = OutboxMessage.objects.get(pk=pk)
        attempt = DeliveryAttempt.objects.create(message=message, number=message.attempts, started_at=now)
    # Every final update is conditional on this claim: still «sending» with the attempt count it set. If the
    # lease expired and another worker claimed the message, this one only records its attempt as superseded.
    mine = OutboxMessage.objects.filter(pk=pk, status=S.SENDING, attempts=message.attempts)
    try:
        reference = _send_now(message)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        finished = timezone.now()
        max_attempts = int(getattr(settings, "OUTBOX_MAX_ATTEMPTS", 6))
        with transaction.atomic():
            if message.attempts >= max_attempts:
                updated = mine.update(
                    status=S.FAILED, last_error=error, locked_until=None, next_attempt_at=None
                )
                outcome = "failed"
            else:
                next_at = now + retry_delay(message.attempts)
                updated = mine.update(
                    status=S.QUEUED, last_error=error, locked_until=None, next_attempt_at=next_at
                )
                outcome = "retry"
            DeliveryAttempt.objects.filter(pk=attempt.pk).update(
                outcome=DeliveryAttempt.Outcome.FAILED if updated else DeliveryAttempt.Outcome.SUPERSEDED,
                finished_at=finished,
                error=error,
            )
            if not updated:
                logger.warning("Intento %s del mensaje %s reemplazado por otro.", message.attempts, pk)
                return "superseded"
            if outcome == "failed":
                audit_record(
                    actor=None,
                    action="inbox.message.failed",
                    target=message,
                    institution=message.institution_id,
                    metadata={"attempts": message.attempts, "error": error[:300]},
                )
                return "failed"
            transaction.on_commit(lambda: _enqueue_delivery(str(pk), run_after=next_at))
        return "retry"
    finished = timezone.now()
    with transaction.atomic():
        updated = mine.update(
            status=S.SENT,
            sent_at=finished,
            provider_reference=reference,
            locked_until=None,
            next_attempt_at=None,
            last_error="",
        )
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            outcome=DeliveryAttempt.Outcome.SENT if updated else DeliveryAttempt.Outcome.SUPERSEDED,
            finished_at=finished,
            provider_reference=reference,
        )
        if not updated:
            logger.warning("Intento %s del mensaje %s reemplazado por otro.", message.attempts, pk)
            return "superseded"
        audit_record(
            actor=None,
            action="inbox.message.sent",
            target=message,
            institution=message.institution_id,
            metadata={"attempts": message.attempts},
        )
    return "sent"


def outbox_sweep(*, now: dt.datetime | None = None, inline: bool = False) -> int:
    """Hand every due message (queued and due, or stuck in «sending» past its lease) back to the delivery
    task — or deliver it here with ``inline=True``. Returns how many were handed over."""
    ids = selectors.outbox_due_ids(now=now)
    for message_id in ids:
        if inline:
            message_deliver(message_id=message_id, now=now)
        else:
            _enqueue_delivery(str(message_id))
    return len(ids)


# ======================================================================================================
# Legal inbox
# ======================================================================================================


def content_hash(*, subject: str, body: str, attachment_hashes: Sequence[str]) -> str:
    """Evidence hash v1 (notifications sent before v2): subject, body and the attachments' SHA-256 only.
    New notifications use v2 (selectors.evidence_hash)."""
    return selectors.evidence_hash(version=1, subject=subject, body=body, attachment_hashes=attachment_hashes)


def recipient_resolve(
    *,
    actor: Any,
    document_type: str,
    document_number: str,
    document_complement: str = "",
    first_names: str = "",
    first_surname: str = "",
    second_surname: str = "",
    email: str = "",
    mobile: str = "",
) -> int:
    """The id of the person with this document. Unknown people are registered (identity ``person_ensure``)
    only when their names are given; otherwise NotFound (404)."""
    from ventanilla.identity.account_selectors import document_parse, person_find_by_document
    from ventanilla.identity.accounts import PersonData, person_ensure

    document, errors = document_parse(document_type, document_number, document_complement)
    if document is None:
        raise DomainError(message=errors[0], code="invalid_document_number", field="document_number")
    person = person_find_by_document(document=document)
    if person is None and not first_names.strip():
        raise DomainError(
            message=_(
                "La persona no está registrada. Para notificarla, envíe también sus nombres y apellidos."
            ),
            code="person_not_found",
            field="document_number",
            status=404,
        )
    if person is None:
        person = person_ensure(
            actor=actor,
            data=PersonData(
                document_type=document.type,
                document_number=document.number,
                document_complement=document.complement,
                first_names=first_names,
                first_surname=first_surname,
                second_surname=second_surname,
                email=email,
                mobile=mobile,
            ),
        )
    return int(person.pk)


def document_ids_for_codes(codes: Sequence[str]) -> list[int]:
    """Ids of the issued documents with these verification codes (DomainError naming the first unknown)."""
    if not codes:
        return []
    from ventanilla.documents.selectors import document_get

    ids: list[int] = []
    for code in codes:
        try:
            document = document_get(code=code)
        except Exception:
            document = None
        if document is None:
            raise DomainError(
                message=_("No existe un documento con el código %(code)s.") % {"code": code},
                code="invalid_document",
                field="document_codes",
            )
        ids.append(int(document.pk))
    return ids


def _person_model() -> Any:
    return Notification._meta.get_field("person").related_model


def _document_model() -> Any:
    return Notification._meta.get_field("documents").related_model


def notification_send(
    *,
    actor: Any,
    institution_id: int,
    person_id: int,
    subject: str,
    body: str,
    legal: bool = False,
    case_reference: str = "",
    document_ids: Sequence[int] = (),
    link_path: str = "",
    now: dt.datetime | None = None,
) -> Notification:
    """Leave a notification in a person's inbox, record its evidence and alert them (e-mail and/or SMS
    with no content). With legal effect, the installation's rule decides when it takes effect
    (selectors.effect_rule): on delivery, or when opened / after N business days unopened."""
    now = now or timezone.now()
    subject, body, case_reference = (
        (subject or "").strip(),
        (body or "").strip(),
        (case_reference or "").strip(),
    )
    problems: list[DomainError] = []
    if not subject:
        problems.append(DomainError(message=_("Indique el asunto."), code="required", field="subject"))
    elif len(subject) > SUBJECT_MAX:
        problems.append(
            DomainError(message=_("El asunto es demasiado largo."), code="too_long", field="subject")
        )
    if not body:
        problems.append(DomainError(message=_("Escriba el contenido."), code="required", field="body"))
    elif len(body) > BODY_MAX:
        problems.append(
            DomainError(message=_("El contenido es demasiado largo."), code="too_long", field="body")
        )
    if len(case_reference) > CASE_REFERENCE_MAX:
        problems.append(
            DomainError(
                message=_("La referencia es demasiado larga."), code="too_long", field="case_reference"
            )
        )
    if link_path and not selectors.link_path_is_safe(link_path):
        problems.append(DomainError(message=_("El enlace debe ser una ruta del portal."), field="link_path"))
    if problems:
        first, *rest = problems
        first.extra = [item for err in rest for item in err.items()]
        raise first
    institution = Institution.objects.filter(pk=institution_id, is_active=True).first()
    if institution is None:
        raise NotFound(message=_("Institución no encontrada."))
    person = _person_model().objects.filter(pk=person_id).first()
    if person is None:
        raise NotFound(message=_("Persona no encontrada."))
    wanted_ids = sorted({int(i) for i in document_ids})
    documents = list(_document_model().objects.filter(pk__in=wanted_ids)) if wanted_ids else []
    if len(documents) != len(wanted_ids) or any(
        d.institution_id != institution_id or (d.person_id not in (None, person_id)) for d in documents
    ):
        raise DomainError(
            message=_("Algún documento adjunto no existe o no es de esta institución."),
            code="invalid_document",
            field="document_ids",
        )
    rule = selectors.effect_rule()
    with transaction.atomic():
        notification = Notification(
            institution=institution,
            person=person,
            subject=subject,
            body=body,
            legal=bool(legal),
            case_reference=case_reference,
            link_path=link_path,
            sender_label=(
                actor.get_username() if getattr(actor, "is_authenticated", False) else str(actor or "sistema")
            )[:150],
            available_at=now,
            content_hash_version=selectors.EVIDENCE_HASH_VERSION,
        )
        notification.content_hash = selectors.evidence_hash(
            version=selectors.EVIDENCE_HASH_VERSION,
            subject=subject,
            body=body,
            attachment_hashes=[d.sha256 for d in documents],
            uuid_value=notification.uuid,
            institution_code=institution.code,
            recipient=(person.document_type, person.document_number, person.document_complement),
            case_reference=case_reference,
            legal=notification.legal,
            available_at=now,
        )
        if notification.legal:
            notification.effect_rule = rule.rule
            if rule.rule == NOTIFY_ON_DELIVERY:
                notification.effective_at = now
                notification.effect_reason = Notification.EffectReason.DELIVERY
            else:
                notification.deemed_on = business_days_after(
                    now, rule.deemed_business_days, institution=institution
                )
        notification.save()
        if documents:
            notification.documents.set(documents)
        audit_record(
            actor=actor,
            action="inbox.notification.send",
            target=notification,
            institution=institution_id,
            after={
                "uuid": str(notification.uuid),
                "person": person_id,
                "legal": notification.legal,
                "case_reference": case_reference,
                "content_hash": notification.content_hash,
                "content_hash_version": notification.content_hash_version,
                "documents": [d.pk for d in documents],
                "effect_rule": notification.effect_rule,
                "deemed_on": notification.deemed_on,
                "effective_at": notification.effective_at,
            },
        )
        _alert_person(notification, person, institution)
        if notification.effective_at is not None:
            _schedule_constancia(notification)
    return notification


def _alert_person(notification: Notification, person: Any, institution: Institution) -> None:
    """«Tiene una nueva notificación de <institución>» and a link: never the subject or the content."""
    url = settings.VENTANILLA_PUBLIC_URL.rstrip("/") + reverse(
        "inbox:account-notification-detail", args=[notification.uuid]
    )
    text = _("Tiene una nueva notificación de %(institution)s.") % {"institution": institution.name}
    reference = f"notification:{notification.uuid}"
    if person.email:
        try:
            message_queue(
                institution_id=institution.pk,
                channel=Channel.EMAIL,
                to=person.email,
                subject=text,
                body=_(
                    "%(text)s\n\nPara leerla, ingrese a su cuenta: %(url)s\n\n"
                    "Por su seguridad, este correo no incluye el contenido de la notificación."
                )
                % {"text": text, "url": url},
                reference=reference,
            )
        except DomainError:
            logger.warning("Correo no válido para la persona %s; no se le avisa por correo.", person.pk)
    if person.mobile:
        try:
            message_queue(
                institution_id=institution.pk,
                channel=Channel.SMS,
                to=person.mobile,
                subject="",
                body=f"{text} {url}",
                reference=reference,
            )
        except DomainError:
            logger.warning("Celular no válido para la persona %s; solo se avisa por correo.", person.pk)


def _schedule_constancia(notification: Notification) -> None:
    notification_id = notification.pk

    def enqueue() -> None:
        from .tasks import issue_constancia

        try:
            issue_constancia.enqueue(notification_id)
        except Exception:
            logger.exception("No se pudo encolar la constancia de la notificación %s.", notification_id)

    transaction.on_commit(enqueue)


def _take_effect(notification: Notification, *, at: dt.datetime, reason: str, actor: Any) -> None:
    notification.effective_at = at
    notification.effect_reason = reason
    notification.save(update_fields=["effective_at", "effect_reason"])
    audit_record(
        actor=actor,
        action="inbox.notification.effective",
        target=notification,
        institution=notification.institution_id,
        after={"effective_at": at, "effect_reason": reason},
    )
    _schedule_constancia(notification)


def _deemed_at(notification: Notification) -> dt.datetime | None:
    """When an unopened notification takes effect: at the END of the Nth business day (``deemed_on``), i.e.
    00:00 of the following day. An opening at any time during ``deemed_on`` still counts as «opened»."""
    if notification.deemed_on is None:
        return None
    midnight = dt.datetime.combine(notification.deemed_on + dt.timedelta(days=1), dt.time.min)
    return timezone.make_aware(midnight, timezone.get_default_timezone())


def notification_open(
    *, actor: Any, notification: Notification, now: dt.datetime | None = None
) -> Notification:
    """The person opens it in Mi cuenta: the first opening is recorded once (and audited); with the
    «opened or N business days» rule it takes effect now — unless the deadline already passed. Refused
    (403 DomainError) unless the person may read notifications (selectors.person_can_read_notifications)."""
    now = now or timezone.now()
    if notification.first_opened_at is not None:
        return notification
    if not selectors.person_can_read_notifications(notification.person):
        raise DomainError(
            message=_(
                "Para leer sus notificaciones, verifique su identidad o confirme su correo y su celular."
            ),
            code="identity_not_verified",
            status=403,
        )
    with transaction.atomic():
        locked = Notification.objects.select_for_update().get(pk=notification.pk)
        if locked.first_opened_at is not None:
            notification.first_opened_at = locked.first_opened_at
            return notification
        locked.first_opened_at = now
        locked.save(update_fields=["first_opened_at"])
        audit_record(
            actor=actor,
            action="inbox.notification.open",
            target=locked,
            institution=locked.institution_id,
            after={"first_opened_at": now},
        )
        if locked.legal and locked.effective_at is None:
            deemed = _deemed_at(locked)
            if deemed is not None and deemed <= now:
                _take_effect(locked, at=deemed, reason=Notification.EffectReason.DEEMED, actor=None)
            else:
                _take_effect(locked, at=now, reason=Notification.EffectReason.OPENED, actor=actor)
    notification.first_opened_at = locked.first_opened_at
    notification.effective_at = locked.effective_at
    notification.effect_reason = locked.effect_reason
    return notification


def notification_archive(*, actor: Any, notification: Notification, archived: bool = True) -> Notification:
    """Move it out of (or back into) the person's main list; evidence is untouched."""
    if (notification.archived_at is not None) == archived:
        return notification
    with transaction.atomic():
        notification.archived_at = timezone.now() if archived else None
        notification.save(update_fields=["archived_at"])
        audit_record(
            actor=actor,
            action="inbox.notification.archive" if archived else "inbox.notification.unarchive",
            target=notification,
            institution=notification.institution_id,
        )
    return notification


def notifications_deem(*, now: dt.datetime | None = None) -> int:
    """Mark as effective every legal notification left unopened past its deadline (``inbox_deem``).
    Also re-schedules constancias that are missing for notifications already in effect."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    count = 0
    for candidate in selectors.notifications_due_for_deeming(today=today):
        with transaction.atomic():
            locked = Notification.objects.select_for_update().get(pk=candidate.pk)
            if locked.effective_at is not None or locked.first_opened_at is not None:
                continue
            _take_effect(
                locked, at=_deemed_at(locked) or now, reason=Notification.EffectReason.DEEMED, actor=None
            )
            count += 1
    for missing in Notification.objects.filter(
        legal=True, effective_at__lt=now - dt.timedelta(minutes=10), constancia__isnull=True
    ).filter(Q(constancia_claimed_until__isnull=True) | Q(constancia_claimed_until__lt=now))[:200]:
        _schedule_constancia(missing)
    return count


CONSTANCIA_CLAIM = dt.timedelta(minutes=10)


def notification_constancia_issue(*, notification_id: int) -> Any:
    """Issue the signed «constancia de notificación» through the documents app (idempotent).

    The notification is claimed first with a conditional UPDATE (no constancia yet, no live claim), so a
    second run of the task — duplicate enqueue, the deeming sweep, a retry — issues nothing while the first
    renders and signs. A claim left by a worker that died expires after CONSTANCIA_CLAIM and
    ``notifications_deem`` schedules the constancia again."""
    from ventanilla.documents.services import document_issue

    notification = (
        Notification.objects.select_related("institution", "person", "constancia")
        .prefetch_related("documents")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or not notification.legal or notification.effective_at is None:
        return None
    if notification.constancia_id is not None:
        return notification.constancia
    now = timezone.now()
    claimed = (
        Notification.objects.filter(pk=notification.pk, constancia__isnull=True)
        .filter(Q(constancia_claimed_until__isnull=True) | Q(constancia_claimed_until__lt=now))
        .update(constancia_claimed_until=now + CONSTANCIA_CLAIM)
    )
    if not claimed:
        return None  # issued meanwhile, or another worker is issuing it
    context = {
        "notification": notification,
        "institution": notification.institution,
        "person": notification.person,
        "attachments": list(notification.documents.all()),
        "effect_label": Notification.EffectReason(notification.effect_reason).label,
    }
    try:
        document = document_issue(
            actor=None,
            institution_id=notification.institution_id,
            kind="constancia_notificacion",
            title=_("Constancia de notificación — %(subject)s") % {"subject": notification.subject[:150]},
            template_name="inbox/constancia.html",
            context=context,
            person_id=notification.person_id,
            reference=str(notification.uuid),
            sign=True,
        )
    except Exception:
        Notification.objects.filter(pk=notification.pk, constancia__isnull=True).update(
            constancia_claimed_until=None
        )
        raise
    with transaction.atomic():
        updated = Notification.objects.filter(pk=notification.pk, constancia__isnull=True).update(
            constancia=document, constancia_claimed_until=None
        )
        if updated:
            audit_record(
                actor=None,
                action="inbox.notification.constancia",
                target=notification,
                institution=notification.institution_id,
                after={"document": document.code, "sha256": document.sha256},
            )
    return document
