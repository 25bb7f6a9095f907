"""Reads of the documents app: documents by code, verification of stored and uploaded copies, approval
requests as the person, the institution's staff and the institution's OAuth2 clients see them."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from ventanilla.core.codes import normalize_tracking_code
from ventanilla.core.errors import NotFound
from ventanilla.core.permissions import institutions_with_role, is_platform_admin
from ventanilla.identity.client_selectors import client_token_get

from . import pki
from .models import ApprovalRequest, Document

STAFF_ROLES = frozenset({"institution_admin", "institution_editor", "clerk", "supervisor"})


# -- documents --------------------------------------------------------------------------------------------


def document_get(*, code: str) -> Document:
    """The document with this verification code (any case, with or without hyphens); NotFound otherwise."""
    normalized = normalize_tracking_code(code or "")
    document = (
        Document.objects.select_related("institution").filter(code=normalized).first() if normalized else None
    )
    if document is None:
        raise NotFound("No existe un documento con ese código de verificación.")
    return document


def document_content(document: Document) -> bytes:
    """The stored (signed) PDF bytes."""
    with document.file.open("rb") as handle:
        data: bytes = handle.read()
    return data


def document_list_for_staff(*, actor: Any, status: str = "") -> QuerySet[Document]:
    documents = Document.objects.select_related("institution").order_by("-issued_at")
    if not is_platform_admin(actor):
        documents = documents.filter(institution_id__in=institutions_with_role(actor, STAFF_ROLES))
    if status in Document.Status.values:
        documents = documents.filter(status=status)
    return documents


# -- verification -----------------------------------------------------------------------------------------


class Outcome:
    VALID = "valid"
    REVOKED = "revoked"
    ALTERED = "altered"
    NOT_FOUND = "not_found"


OUTCOME_LABELS = {
    Outcome.VALID: "Documento válido",
    Outcome.REVOKED: "Documento revocado",
    Outcome.ALTERED: "Documento alterado o firma no válida",
    Outcome.NOT_FOUND: "Documento no encontrado",
}


@dataclass(frozen=True)
class Verification:
    """What the public may know about a document: never the person it concerns."""

    outcome: str
    document: Document | None
    signature: pki.SignatureCheck
    checked_copy: bool  # True when an uploaded copy was compared
    hash_matches: bool

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self.outcome]

    def as_dict(self) -> dict[str, Any]:
        doc = self.document
        return {
            "status": self.outcome,
            "status_label": self.label,
            "checked_copy": self.checked_copy,
            "hash_matches": self.hash_matches,
            "document": None
            if doc is None
            else {
                "code": doc.code,
                "kind": doc.kind,
                "kind_label": str(doc.get_kind_display()),
                "title": doc.title,
                "institution": {
                    "code": doc.institution.code,
                    "name": doc.institution.name,
                    "acronym": doc.institution.display_acronym,
                },
                "issued_at": doc.issued_at,
                "sha256": doc.sha256,
                "revoked_at": doc.revoked_at,
                "revoke_reason": doc.revoke_reason or None,
                "verify_url": doc.verify_url,
            },
            "signature": {
                "present": self.signature.present,
                "intact": self.signature.intact,
                "trusted": self.signature.trusted,
                "covers_whole_document": self.signature.entire_file,
                "signer": self.signature.signer or None,
                "signed_at": self.signature.signed_at,
            },
        }


def _outcome(document: Document, signature: pki.SignatureCheck, hash_matches: bool) -> str:
    if not hash_matches or (document.signed and not signature.ok):
        return Outcome.ALTERED
    if document.status == Document.Status.REVOKED:
        return Outcome.REVOKED
    return Outcome.VALID


def document_verify(*, code: str) -> Verification:
    """Check the stored PDF of ``code``: SHA-256 against the recorded hash and the signature against the
    trust roots. NotFound for an unknown code."""
    document = document_get(code=code)
    try:
        content = document_content(document)
    except OSError:  # the stored file is gone: nothing to vouch for
        return Verification(Outcome.ALTERED, document, pki.NO_SIGNATURE, False, False)
    hash_matches = pki.sha256_hex(content) == document.sha256
    # Our own record of when we issued it is trusted: the certificate is checked as of that moment, so the
    # document does not turn «altered» the day the signing certificate expires.
    signature = (
        pki.check_signature(content, moment=document.issued_at) if document.signed else pki.NO_SIGNATURE
    )
    return Verification(_outcome(document, signature, hash_matches), document, signature, False, hash_matches)


def copy_verify(*, content: bytes, code: str = "") -> Verification:
    """Is this uploaded PDF the original? Found by its hash; otherwise by ``code`` (or the code in the PDF's
    metadata), in which case the copy is reported as altered. Unknown files are ``not_found``."""
    digest = hashlib.sha256(content).hexdigest()
    document = Document.objects.select_related("institution").filter(sha256=digest).first()
    if document is not None:
        # Byte-for-byte one of ours: validated at the time we issued it (as the stored original is).
        signature = (
            pki.check_signature(content, moment=document.issued_at) if document.signed else pki.NO_SIGNATURE
        )
        return Verification(_outcome(document, signature, True), document, signature, True, True)
    candidate = normalize_tracking_code(code or "") or normalize_tracking_code(pki.embedded_code(content))
    document = (
        Document.objects.select_related("institution").filter(code=candidate).first() if candidate else None
    )
    signature = pki.check_signature(content)
    if document is None:
        return Verification(Outcome.NOT_FOUND, None, signature, True, False)
    return Verification(Outcome.ALTERED, document, signature, True, False)


# -- approval requests ------------------------------------------------------------------------------------


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def person_may_see_approvals(person: Any) -> bool:
    """Whether a person may see the documents they are asked to approve, and decide: identity verified
    («verificado» or above) or both e-mail and mobile confirmed. An account that claimed, at level
    «básico», a Person an institution had created may not act on what was addressed to that Person."""
    if person is None:
        return False
    return bool(person.meets("verificado") or (person.email_verified and person.mobile_verified))


def approval_for_person(*, person_id: int, public_id: Any) -> ApprovalRequest:
    """A request addressed to this person; NotFound for anyone else's."""
    key = _uuid(public_id)
    approval = (
        ApprovalRequest.objects.select_related("institution", "evidence")
        .filter(public_id=key, person_id=person_id)
        .first()
        if key
        else None
    )
    if approval is None:
        raise NotFound("Solicitud no encontrada.")
    return approval


def approval_list_for_person(*, person_id: int) -> QuerySet[ApprovalRequest]:
    return (
        ApprovalRequest.objects.select_related("institution", "evidence")
        .filter(person_id=person_id)
        .exclude(status=ApprovalRequest.Status.CANCELLED)
        .order_by("-created_at")
    )


def approval_staff_institution_ids(actor: Any) -> set[int] | None:
    """Institutions whose approval requests ``actor`` manages; None = all (platform agency)."""
    if is_platform_admin(actor):
        return None
    return institutions_with_role(actor, STAFF_ROLES)


def approval_list_for_staff(*, actor: Any, status: str = "") -> QuerySet[ApprovalRequest]:
    approvals = ApprovalRequest.objects.select_related("institution", "person", "evidence").order_by(
        "-created_at"
    )
    allowed = approval_staff_institution_ids(actor)
    if allowed is not None:
        approvals = approvals.filter(institution_id__in=allowed)
    if status in ApprovalRequest.Status.values:
        approvals = approvals.filter(status=status)
    return approvals


def approval_for_staff(*, actor: Any, public_id: Any) -> ApprovalRequest:
    """A request of one of the actor's institutions; NotFound for another institution's."""
    key = _uuid(public_id)
    approval = approval_list_for_staff(actor=actor).filter(public_id=key).first() if key else None
    if approval is None:
        raise NotFound("Solicitud no encontrada.")
    return approval


def approval_for_institution(*, institution_id: int, public_id: Any) -> ApprovalRequest:
    """A request made by this institution (API clients poll only their institution's requests)."""
    key = _uuid(public_id)
    approval = (
        ApprovalRequest.objects.select_related("evidence")
        .filter(public_id=key, institution_id=institution_id)
        .first()
        if key
        else None
    )
    if approval is None:
        raise NotFound("Solicitud no encontrada.")
    return approval


def approval_callbacks_due_ids(*, now: Any, limit: int = 200) -> list[int]:
    """Pending callbacks a worker should (re)try: not held by a live worker, and either due for a retry or
    decided a while ago and never attempted (their enqueue was lost)."""
    grace = now - dt.timedelta(minutes=2)
    return list(
        ApprovalRequest.objects.filter(callback_status=ApprovalRequest.CallbackStatus.PENDING)
        .filter(Q(callback_locked_until__isnull=True) | Q(callback_locked_until__lt=now))
        .filter(
            Q(callback_next_attempt_at__lte=now)
            | Q(callback_next_attempt_at__isnull=True, decided_at__lt=grace)
        )
        .order_by("decided_at")
        .values_list("pk", flat=True)[:limit]
    )


def approval_content(approval: ApprovalRequest) -> bytes:
    with approval.content.open("rb") as handle:
        data: bytes = handle.read()
    return data


# -- OAuth2 bearer tokens (Bolivia-compatible approval API) --------------------------------------------------
# Read straight from django-oauth-toolkit's token model; the lead may move this to an identity selector.


@dataclass(frozen=True)
class ClientIdentity:
    client_id: str
    name: str
    institution_id: int


def _access_token(raw: str) -> Any:
    from oauth2_provider.models import get_access_token_model

    raw = (raw or "").strip()
    if not raw:
        return None
    checksum = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    token = (
        get_access_token_model()
        .objects.select_related("application", "user")
        .filter(token_checksum=checksum)
        .first()
    )
    if token is None or token.expires <= timezone.now():
        return None
    return token


def _approved_registration(application: Any) -> Any:
    registration = getattr(application, "registration", None) if application is not None else None
    if registration is None or registration.status != "aprobada":
        return None
    return registration


#: The OAuth2 scope an institution's system needs to ask for approvals (settings.OIDC_SCOPES).
APPROVALS_SCOPE = "aprobacion_documentos"


def client_from_bearer(raw: str) -> ClientIdentity | None:
    """The approved institution client behind a client-credentials access token granted the
    ``aprobacion_documentos`` scope, or None (a citizen's token, or a client without the scope)."""
    caller = client_token_get((raw or "").strip())
    if caller is None or caller.user_id is not None or APPROVALS_SCOPE not in caller.scopes:
        return None
    return ClientIdentity(
        client_id=caller.client_id,
        name=caller.application_name,
        institution_id=caller.institution_id,
    )


def citizen_person_id_from_token(raw: str, *, institution_id: int) -> int | None:
    """The person behind a citizen's access token issued to a client of the same institution, or None."""
    from ventanilla.identity.account_selectors import person_for_user

    token = _access_token(raw)
    if token is None or token.user_id is None:
        return None
    registration = _approved_registration(token.application)
    if registration is None or registration.institution_id != institution_id:
        return None
    person = person_for_user(token.user)
    return person.pk if person is not None else None


def approval_public_dict(approval: ApprovalRequest) -> dict[str, Any]:
    """The Bolivia-compatible view of a request (polling answer and callback body): no personal data
    beyond what the institution already sent."""
    evidence = approval.evidence
    return {
        "id": str(approval.public_id),
        "idTramite": approval.reference,
        "estado": approval.status,
        "aprobado": approval.status == ApprovalRequest.Status.APPROVED,
        "tipoDocumento": approval.content_type,
        "hashDocumento": approval.sha256,
        "fechaSolicitud": approval.created_at.isoformat(),
        "fechaRespuesta": approval.decided_at.isoformat() if approval.decided_at else None,
        "metodoAutenticacion": list(approval.decision_amr or []),
        "hashAprobado": approval.decision_sha256 or None,
        "codigoVerificacion": evidence.code if evidence else None,
        "urlVerificacion": evidence.verify_url if evidence else None,
    }
