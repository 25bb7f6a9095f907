"""Writes of the documents app: issue and revoke verifiable PDFs; citizen approval of documents.

``document_issue`` is called by other apps (cases, inbox) inside their own transaction. It renders and
signs the PDF *before* touching the database, then writes the file to storage and the row. If the caller's
transaction later rolls back, the row disappears but the file stays in storage with no row pointing to it:
an unreachable orphan (its name is a random verification code, nothing links to it). We accept that rather
than deleting files on rollback; ``manage.py documents_orphans --delete`` removes such files.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.core.codes import new_tracking_code
from ventanilla.core.errors import DomainError, Forbidden, NotFound
from ventanilla.core.models import Institution
from ventanilla.core.net import outbound_url_problem
from ventanilla.core.permissions import has_institution_role, is_platform_admin
from ventanilla.core.services import audit_record
from ventanilla.identity import account_selectors

from . import pki
from . import selectors as doc_selectors
from .models import ApprovalRequest, Document

logger = logging.getLogger(__name__)

STAFF_ROLES = frozenset({"institution_admin", "institution_editor", "clerk", "supervisor"})
MAX_TITLE = 255


def _actor_user(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _new_code() -> str:
    code = new_tracking_code()
    while Document.objects.filter(code=code).exists():  # 32^8 codes: a clash is all but impossible
        code = new_tracking_code()
    return code


@dataclass
class PreparedDocument:
    """A rendered and signed PDF with its (unsaved) row: built without touching the database."""

    document: Document
    pdf: bytes


def document_prepare(
    *,
    institution_id: int,
    kind: str,
    title: str,
    template_name: str,
    context: dict[str, Any],
    actor: Any = None,
    person_id: int | None = None,
    reference: str = "",
    sign: bool = True,
    attachments: list[tuple[str, bytes]] | None = None,
) -> PreparedDocument:
    """Render and sign (the slow part) without writing anything; :func:`document_store` saves it. Lets a
    caller keep rendering and signing outside its row locks."""
    if kind not in Document.Kind.values:
        raise DomainError(message="Tipo de documento desconocido.", code="invalid_kind", field="kind")
    title = (title or "").strip()
    if not title:
        raise DomainError(message="Indique el título del documento.", code="required", field="title")
    institution = Institution.objects.filter(pk=institution_id).first()
    if institution is None:
        raise NotFound("Institución no encontrada.")
    if person_id is not None:
        person_model = Document._meta.get_field("person").related_model
        if not person_model._default_manager.filter(pk=person_id).exists():  # type: ignore[union-attr]
            raise NotFound("Persona no encontrada.")
    key = pki.signing_key_for(institution) if sign else None
    if key is not None and key.not_after is not None and key.not_after <= timezone.now():
        raise DomainError(
            message="El certificado de firma de la institución venció; importe uno nuevo antes de emitir.",
            code="signing_key_expired",
            status=409,
        )
    code = _new_code()
    document = Document(
        code=code,
        kind=kind,
        title=title[:MAX_TITLE],
        institution=institution,
        person_id=person_id,
        reference=(reference or "")[:100],
        issued_at=timezone.now(),
        issued_by=_actor_user(actor),
        signed=sign,
    )
    verify_url = document.verify_url
    full_context = {
        **context,
        "title": document.title,
        "institution": institution,
        "document": {
            "code": code,
            "verify_url": verify_url,
            "qr": pki.qr_data_uri(verify_url),
            "issued_at": document.issued_at,
            "kind": document.get_kind_display(),
        },
    }
    pdf = pki.render_pdf(render_to_string(template_name, full_context), attachments=attachments)
    if key is not None:
        pdf = pki.sign_pdf(
            pdf,
            key,
            reason=f"{document.get_kind_display()} {code}",
            location=institution.name,
        )
    document.sha256 = pki.sha256_hex(pdf)
    return PreparedDocument(document=document, pdf=pdf)


def document_store(*, actor: Any, prepared: PreparedDocument) -> Document:
    """Write a prepared document (file and row) and audit ``document.issue``."""
    document = prepared.document
    with transaction.atomic():
        document.file.save(f"{document.code}.pdf", ContentFile(prepared.pdf), save=False)
        document.save()
        audit_record(
            actor=actor,
            action="document.issue",
            target=document,
            institution=document.institution,
            after={
                "code": document.code,
                "kind": document.kind,
                "title": document.title,
                "reference": document.reference,
                "sha256": document.sha256,
                "signed": document.signed,
            },
        )
    return document


def document_issue(
    *,
    actor: Any,
    institution_id: int,
    kind: str,
    title: str,
    template_name: str,
    context: dict[str, Any],
    person_id: int | None = None,
    reference: str = "",
    sign: bool = True,
    attachments: list[tuple[str, bytes]] | None = None,
) -> Document:
    """Render ``template_name`` (which extends documents/pdf_base.html) to PDF with a verification code and
    QR code, sign it (PAdES B-B) with the institution's key, store it and audit ``document.issue``.
    A signing key past its ``not_after`` is refused (409 ``signing_key_expired``).

    The caller decides who may issue (this service trusts it). ``attachments`` are (file name, bytes)
    pairs embedded in the PDF (e.g. the original document an approval refers to)."""
    prepared = document_prepare(
        actor=actor,
        institution_id=institution_id,
        kind=kind,
        title=title,
        template_name=template_name,
        context=context,
        person_id=person_id,
        reference=reference,
        sign=sign,
        attachments=attachments,
    )
    return document_store(actor=actor, prepared=prepared)


def _may_manage_documents(actor: Any, institution_id: int) -> bool:
    return (
        actor is None or is_platform_admin(actor) or has_institution_role(actor, institution_id, STAFF_ROLES)
    )


def document_revoke(*, actor: Any, document_id: int, reason: str) -> Document:
    """Revoke a document: verification shows «revocado» with date and reason from now on.
    Staff of the issuing institution, the platform agency or the system (actor None)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(message="Indique el motivo de la revocación.", code="required", field="reason")
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None or not _may_manage_documents(actor, document.institution_id):
            raise NotFound("Documento no encontrado.")
        if document.status == Document.Status.REVOKED:
            raise DomainError(message="El documento ya está revocado.", code="already_revoked", status=409)
        document.status = Document.Status.REVOKED
        document.revoked_at = timezone.now()
        document.revoke_reason = reason[:500]
        document.save(update_fields=["status", "revoked_at", "revoke_reason"])
        audit_record(
            actor=actor,
            action="document.revoke",
            target=document,
            before={"status": Document.Status.VALID},
            after={"status": document.status, "reason": document.revoke_reason},
        )
    return document


# -- citizen approval of documents -------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalData:
    """What an institution sends to ask a person to approve a document."""

    institution_id: int
    person_id: int
    title: str
    content_type: str  # "PDF" or "JSON"
    content: bytes
    description: str = ""
    reference: str = ""
    declared_sha256: str = ""  # when given, must match the content
    client_id: str = ""
    callback_url: str = ""


MAX_CONTENT_BYTES_DEFAULT = 10 * 1024 * 1024


def content_decode(value: str, field: str = "documento") -> bytes:
    """Strict base64 (standard alphabet, padding optional) → bytes, or a 400 naming ``field``."""
    cleaned = "".join((value or "").split())
    if not cleaned:
        raise DomainError(message="El documento está vacío.", code="required", field=field)
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DomainError(
            message="El documento no está en Base64 válido.", code="invalid_base64", field=field
        ) from exc


def callback_url_problem(url: str) -> str | None:
    """Why the platform may not POST to ``url`` (SSRF guard: HTTPS to public addresses only, unless
    DOCUMENTS_CALLBACK_ALLOW_PRIVATE in development and tests), or None."""
    return outbound_url_problem(url, allow_private=settings.DOCUMENTS_CALLBACK_ALLOW_PRIVATE)


def _check_callback_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        return ""
    problem = callback_url_problem(url)
    if problem:
        raise DomainError(message=problem, code="invalid_callback_url", field="callbackUrl")
    return url


def _check_content(content_type: str, content: bytes) -> None:
    limit = getattr(settings, "DOCUMENTS_UPLOAD_MAX_BYTES", MAX_CONTENT_BYTES_DEFAULT)
    if len(content) > limit:
        raise DomainError(message="El documento es demasiado grande.", code="too_large", field="documento")
    if content_type == ApprovalRequest.ContentType.PDF:
        if not content.startswith(b"%PDF-"):
            raise DomainError(message="El contenido no es un PDF.", code="not_pdf", field="documento")
    elif content_type == ApprovalRequest.ContentType.JSON:
        try:
            json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise DomainError(
                message="El contenido no es JSON válido.", code="not_json", field="documento"
            ) from exc
    else:
        raise DomainError(
            message="tipoDocumento debe ser PDF o JSON.", code="invalid_type", field="tipoDocumento"
        )


def approval_request_create(*, actor: Any, data: ApprovalData) -> ApprovalRequest:
    """An institution asks a person to approve a document. Staff of that institution (or, through the API,
    an approved client of that institution: ``actor`` is then the client's label and the API checked it)."""
    user = _actor_user(actor)
    if user is not None and not (
        is_platform_admin(user) or has_institution_role(user, data.institution_id, STAFF_ROLES)
    ):
        raise Forbidden()
    title = (data.title or "").strip()
    if not title:
        raise DomainError(
            message="Indique un título para el documento.", code="required", field="descripcion"
        )
    _check_content(data.content_type, data.content)
    digest = hashlib.sha256(data.content).hexdigest()
    declared = (data.declared_sha256 or "").strip().lower()
    if declared and declared != digest:
        raise DomainError(
            message="hashDocumento no coincide con el SHA-256 del documento enviado.",
            code="hash_mismatch",
            field="hashDocumento",
        )
    callback_url = _check_callback_url(data.callback_url)
    extension = "pdf" if data.content_type == ApprovalRequest.ContentType.PDF else "json"
    with transaction.atomic():
        approval = ApprovalRequest(
            institution_id=data.institution_id,
            person_id=data.person_id,
            title=title[:MAX_TITLE],
            description=(data.description or "").strip(),
            content_type=data.content_type,
            sha256=digest,
            reference=(data.reference or "")[:100],
            client_id=data.client_id[:100],
            callback_url=callback_url,
            requested_by=user,
        )
        approval.content.save(f"{approval.public_id}.{extension}", ContentFile(data.content), save=False)
        approval.save()
        audit_record(
            actor=actor,
            action="document_approval.request",
            target=approval,
            institution=data.institution_id,
            after={
                "title": approval.title,
                "sha256": digest,
                "reference": approval.reference,
                "client_id": approval.client_id,
                "person": data.person_id,
            },
        )
    return approval


def _fresh_authentication(user: Any, password: str, code: str, ip_address: str | None) -> list[str]:
    """Re-authenticate the person now: password, plus TOTP/recovery code when MFA is enrolled."""
    from ventanilla.core.ratelimit import hit, limit_for
    from ventanilla.identity import accounts

    # Guessing the password here is throttled per account (the sign-in lockout does not see this form).
    limit, window = limit_for("approval_password", 10, 900)
    if not hit("approval_password", f"user:{user.pk}", limit=limit, window=window).allowed:
        raise DomainError(
            message=_("Demasiados intentos. Espere unos minutos e intente de nuevo."),
            code="locked",
            status=429,
        )
    if not password or not user.check_password(password):
        raise DomainError(message=_("La contraseña no es correcta."), code="wrong_password", field="password")
    if account_selectors.has_active_totp(user):
        if not (code or "").strip():
            raise DomainError(
                message=_("Escriba el código de su aplicación de autenticación."),
                code="required",
                field="code",
            )
        return list(accounts.mfa_verify(user=user, code=code, ip_address=ip_address))
    return ["pwd"]


def approval_decide(
    *,
    actor: Any,
    public_id: Any,
    approve: bool,
    password: str,
    code: str = "",
    comment: str = "",
    ip_address: str | None = None,
) -> ApprovalRequest:
    """The person approves (or rejects) a request addressed to them, after authenticating again. The
    decision records time, amr and the document hash; an approval gets a signed evidence PDF (kind
    «aprobacion») embedding the original. The institution is told by callback (on commit)."""
    person = account_selectors.person_for_user(actor)
    if person is None:
        raise NotFound("Solicitud no encontrada.")
    approval = doc_selectors.approval_for_person(person_id=person.pk, public_id=public_id)
    if not doc_selectors.person_may_see_approvals(person):
        raise DomainError(
            message=_(
                "Para responder solicitudes de aprobación, verifique su identidad o confirme su correo "
                "y su celular en Mi cuenta."
            ),
            code="identity_not_verified",
            status=403,
        )
    if approval.status != ApprovalRequest.Status.PENDING:
        raise DomainError(message=_("Esta solicitud ya fue respondida."), code="already_decided", status=409)
    amr = _fresh_authentication(actor, password, code, ip_address)
    content = doc_selectors.approval_content(approval)
    digest = hashlib.sha256(content).hexdigest()
    if digest != approval.sha256:
        raise DomainError(
            message=_("El documento almacenado no coincide con su huella."), code="integrity", status=409
        )
    decided_at = timezone.now()
    status = ApprovalRequest.Status.APPROVED if approve else ApprovalRequest.Status.REJECTED
    prepared: PreparedDocument | None = None
    if approve:
        # Render and sign the evidence before taking the row lock (seconds of work); stored under the lock
        # only if the request is still pending then.
        draft = ApprovalRequest.objects.get(pk=approval.pk)
        draft.status, draft.decided_at, draft.decision_sha256 = status, decided_at, digest
        extension = "pdf" if draft.content_type == ApprovalRequest.ContentType.PDF else "json"
        prepared = document_prepare(
            actor=actor,
            institution_id=draft.institution_id,
            kind=Document.Kind.APROBACION,
            title=_("Constancia de aprobación: %(title)s") % {"title": draft.title},
            template_name="documents/pdf/approval.html",
            context={"approval": draft, "person": person, "amr": amr},
            person_id=person.pk,
            reference=draft.reference or str(draft.public_id),
            attachments=[(f"original.{extension}", content)],
        )
    with transaction.atomic():
        locked = ApprovalRequest.objects.select_for_update().get(pk=approval.pk)
        if locked.status != ApprovalRequest.Status.PENDING:
            raise DomainError(
                message=_("Esta solicitud ya fue respondida."), code="already_decided", status=409
            )
        locked.status = status
        locked.decided_at = decided_at
        locked.decision_amr = amr
        locked.decision_sha256 = digest
        locked.decision_comment = (comment or "").strip()[:500]
        if locked.callback_url:
            locked.callback_status = ApprovalRequest.CallbackStatus.PENDING
            locked.callback_locked_until = None
            locked.callback_next_attempt_at = None
        if prepared is not None:
            locked.evidence = document_store(actor=actor, prepared=prepared)
        locked.save()
        audit_record(
            actor=actor,
            action="document_approval.approve" if approve else "document_approval.reject",
            target=locked,
            institution=locked.institution_id,
            after={
                "status": locked.status,
                "amr": amr,
                "sha256": digest,
                "evidence": locked.evidence.code if locked.evidence else None,
            },
        )
        if locked.callback_url:
            approval_id = locked.pk
            # robust: a failing enqueue never breaks the commit; approval_callbacks_sweep retakes it.
            transaction.on_commit(lambda: _enqueue_callback(approval_id), robust=True)
    return locked


def _enqueue_callback(approval_id: int, run_after: dt.datetime | None = None) -> None:
    from .tasks import deliver_approval_callback

    try:
        if run_after is not None:
            if not deliver_approval_callback.get_backend().supports_defer:
                deliver_approval_callback.enqueue(approval_id)  # immediate backends: retry at once
                return
            deliver_approval_callback.using(run_after=run_after).enqueue(approval_id)
        else:
            deliver_approval_callback.enqueue(approval_id)
    except Exception:
        logger.exception(
            "No se pudo encolar el aviso de la aprobación %s; lo retomará approval_callbacks_sweep.",
            approval_id,
        )


def approval_cancel(*, actor: Any, public_id: Any) -> ApprovalRequest:
    """Staff of the institution withdraw a pending request."""
    approval = doc_selectors.approval_for_staff(actor=actor, public_id=public_id)
    with transaction.atomic():
        locked = ApprovalRequest.objects.select_for_update().get(pk=approval.pk)
        if locked.status != ApprovalRequest.Status.PENDING:
            raise DomainError(
                message=_("Esta solicitud ya fue respondida."), code="already_decided", status=409
            )
        locked.status = ApprovalRequest.Status.CANCELLED
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_at"])
        audit_record(
            actor=actor, action="document_approval.cancel", target=locked, after={"status": locked.status}
        )
    return locked


def enqueue_callback_retry(approval_id: int, run_after: dt.datetime) -> None:
    """Schedule the next attempt (deferred when the queue supports it; at once on immediate backends)."""
    _enqueue_callback(approval_id, run_after=run_after)


def callback_lease() -> dt.timedelta:
    """How long a worker holds a callback it is posting: well past the HTTP timeout."""
    return dt.timedelta(seconds=int(3 * float(settings.DOCUMENTS_CALLBACK_TIMEOUT)) + 30)


def callback_retry_delay(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(6 * 3600, 30 * 2 ** max(0, attempts - 1)))


def callback_claim(*, approval_id: int, now: dt.datetime | None = None) -> int | None:
    """Claim a pending callback for one delivery attempt: a conditional UPDATE (still pending, not held by
    a live worker, attempts unchanged since read) takes a lease and counts the attempt. Returns the number
    of this attempt, or None when there is nothing to post or another worker holds it."""
    now = now or timezone.now()
    row = (
        ApprovalRequest.objects.filter(pk=approval_id, callback_status=ApprovalRequest.CallbackStatus.PENDING)
        .values("callback_attempts")
        .first()
    )
    if row is None:
        return None
    attempts = int(row["callback_attempts"])
    claimed = (
        ApprovalRequest.objects.filter(
            pk=approval_id,
            callback_status=ApprovalRequest.CallbackStatus.PENDING,
            callback_attempts=attempts,
        )
        .filter(Q(callback_locked_until__isnull=True) | Q(callback_locked_until__lt=now))
        .update(callback_attempts=attempts + 1, callback_locked_until=now + callback_lease())
    )
    return attempts + 1 if claimed else None


def callback_attempt_record(
    *, approval_id: int, attempt: int, delivered: bool, error: str = "", final: bool = False
) -> str:
    """Record the outcome of the claimed attempt number ``attempt`` (called by the task). The update is
    conditional on that claim: a worker whose lease expired and whose callback was taken over records
    nothing on the row. Returns "delivered", "retry", "failed" or "superseded"."""
    now = timezone.now()
    S = ApprovalRequest.CallbackStatus
    claim = ApprovalRequest.objects.filter(
        pk=approval_id, callback_status=S.PENDING, callback_attempts=attempt
    )
    with transaction.atomic():
        if delivered:
            outcome = "delivered"
            updated = claim.update(
                callback_status=S.DELIVERED,
                callback_delivered_at=now,
                callback_last_error="",
                callback_locked_until=None,
                callback_next_attempt_at=None,
            )
        elif final:
            outcome = "failed"
            updated = claim.update(
                callback_status=S.FAILED,
                callback_last_error=error[:300],
                callback_locked_until=None,
                callback_next_attempt_at=None,
            )
        else:
            outcome = "retry"
            updated = claim.update(
                callback_last_error=error[:300],
                callback_locked_until=None,
                callback_next_attempt_at=now + callback_retry_delay(attempt),
            )
        if not updated:
            logger.warning("documents: callback attempt %s of approval %s superseded", attempt, approval_id)
            outcome = "superseded"
        approval = ApprovalRequest.objects.filter(pk=approval_id).first()
        audit_record(
            actor=None,
            action="document_approval.callback",
            target=approval,
            metadata={"delivered": delivered, "attempt": attempt, "error": error[:300], "outcome": outcome},
        )
    return outcome


def approval_callbacks_sweep(*, now: dt.datetime | None = None) -> int:
    """Hand back to the delivery task every pending callback that is due and not held by a live worker
    (lost enqueue, dead worker, retry whose deferred run never came). Run by ``outbox_sweep``."""
    ids = doc_selectors.approval_callbacks_due_ids(now=now or timezone.now())
    for approval_id in ids:
        _enqueue_callback(approval_id)
    return len(ids)


def signing_key_import(*, actor: Any, institution_id: int, pkcs12: bytes, password: bytes | None) -> Any:
    """Production: replace the institution's active signing key with the one in a PKCS#12 file."""
    from .models import SigningKey

    certificate_pem, chain_pem, key_pem = pki.pkcs12_load(pkcs12, password)
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(certificate_pem.encode())
    with transaction.atomic():
        SigningKey.objects.filter(institution_id=institution_id, is_active=True).update(is_active=False)
        try:
            key = SigningKey.objects.create(
                institution_id=institution_id,
                certificate_pem=certificate_pem,
                chain_pem=chain_pem,
                private_key_encrypted=pki.encrypt_key(key_pem),
                is_development=False,
                not_after=cert.not_valid_after_utc,
            )
        except IntegrityError as exc:  # pragma: no cover — concurrent import
            raise DomainError(
                message="Importación concurrente; intente de nuevo.", code="conflict", status=409
            ) from exc
        audit_record(
            actor=actor,
            action="document.signing_key_import",
            target=key,
            institution=institution_id,
            after={"subject": cert.subject.rfc4514_string(), "not_after": cert.not_valid_after_utc},
        )
    return key


def trust_root_add(*, actor: Any, name: str, certificate_pem: str) -> Any:
    """Trust a (production) root certificate for verification."""
    from cryptography import x509

    from .models import CertificateAuthority

    x509.load_pem_x509_certificate(certificate_pem.encode())
    with transaction.atomic():
        ca, _created = CertificateAuthority.objects.update_or_create(
            name=name, defaults={"certificate_pem": certificate_pem, "is_development": False}
        )
        audit_record(actor=actor, action="document.trust_root_add", target=ca, after={"name": name})
    return ca


def dev_keys_ensure(*, actor: Any, institution_ids: list[int] | None = None) -> int:
    """Development/demo: make sure the development CA exists and each institution has a signing key.
    Refused unless DOCUMENTS_DEV_CA is on. Returns how many institutions have a key."""
    if not settings.DOCUMENTS_DEV_CA:
        raise DomainError(message="DOCUMENTS_DEV_CA está desactivado.", code="dev_ca_disabled", status=409)
    institutions = Institution.objects.filter(is_active=True)
    if institution_ids is not None:
        institutions = institutions.filter(pk__in=institution_ids)
    count = 0
    for institution in institutions:
        with transaction.atomic():
            pki.signing_key_for(institution)
        count += 1
    return count


def orphan_files(*, delete: bool = False) -> list[str]:
    """Stored PDFs under documents/ that no row points to (left by a rolled-back caller transaction)."""
    from django.core.files.storage import default_storage

    from .models import ApprovalRequest as Approval

    known = set(Document.objects.values_list("file", flat=True)) | set(
        Approval.objects.values_list("content", flat=True)
    )
    found: list[str] = []

    def walk(prefix: str) -> None:
        try:
            directories, files = default_storage.listdir(prefix)
        except (FileNotFoundError, NotImplementedError):
            return
        for name in files:
            path = f"{prefix}/{name}"
            if path not in known:
                found.append(path)
        for directory in directories:
            walk(f"{prefix}/{directory}")

    walk("documents")
    if delete:
        for path in found:
            default_storage.delete(path)
        if found:
            audit_record(
                actor=None,
                action="document.orphans_delete",
                metadata={"files": found[:100], "count": len(found)},
            )
    return found
