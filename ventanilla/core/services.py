"""Writes of the shared kernel. Every service of every app records its state changes with ``audit_record``."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.forms.models import model_to_dict

from .middleware import current_request_context
from .models import AuditEntry, Closure, Institution, Membership, Office, Role


def jsonable(value: Any) -> Any:
    """Make a value safe for a JSONField (dates, decimals, UUIDs, model instances, nested containers)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if hasattr(value, "name") and hasattr(value, "url"):  # FieldFile
        return value.name or None
    return value


def normalize_decimals(instance: models.Model) -> None:
    """Quantize DecimalField values as the database will store them, so snapshots compare equal."""
    for model_field in instance._meta.concrete_fields:
        if isinstance(model_field, models.DecimalField):
            value = getattr(instance, model_field.attname)
            if value is not None:
                quantum = Decimal(1).scaleb(-model_field.decimal_places)
                setattr(instance, model_field.attname, Decimal(str(value)).quantize(quantum))


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """The audit 'before/after' picture of a row: its concrete fields, JSON-safe."""
    return jsonable(model_to_dict(instance, fields=fields))


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    institution: Institution | int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit row. Call it inside the service's transaction so both commit or neither does."""
    context = current_request_context()
    actor_obj = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    if isinstance(institution, Institution):
        institution_id: int | None = institution.pk
    else:
        institution_id = institution
    if institution_id is None and target is not None:
        institution_id = getattr(target, "institution_id", None)
    return AuditEntry.objects.create(
        actor=actor_obj,
        actor_label=(actor_obj.get_username() if actor_obj else (str(actor) if actor else "sistema"))[:150],
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:255] if target is not None else "",
        institution_id=institution_id,
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
        metadata=jsonable(metadata or {}),
        ip_address=context.ip_address if context else None,
        request_id=context.request_id if context else "",
    )


INSTITUTION_FIELDS = [
    "code",
    "name",
    "acronym",
    "level",
    "parent",
    "department",
    "website",
    "email",
    "phone",
    "description",
    "is_active",
]
OFFICE_FIELDS = [
    "institution",
    "code",
    "name",
    "address",
    "department",
    "municipality",
    "opening_hours",
    "phone",
    "latitude",
    "longitude",
    "is_active",
]


def _write_if_changed(
    *,
    actor: Any,
    instance: models.Model,
    created: bool,
    fields: list[str],
    values: dict[str, Any],
    action: str,
    institution: Institution,
) -> None:
    """Apply ``values``, validate, and save + audit only when the row is new or something changed."""
    before = None if created else snapshot(instance, fields)
    for key, value in values.items():
        setattr(instance, key, value)
    normalize_decimals(instance)
    instance.full_clean()
    after = snapshot(instance, fields)
    if created or before != after:
        instance.save()
        audit_record(
            actor=actor,
            action=f"{action}.{'create' if created else 'update'}",
            target=instance,
            institution=institution,
            before=before,
            after=after,
        )


def institution_upsert(*, actor: Any, code: str, **values: Any) -> tuple[Institution, bool]:
    """Create or update an institution by code; audited only when something changed."""
    with transaction.atomic():
        existing = Institution.objects.select_for_update().filter(code=code).first()
        institution = existing or Institution(code=code)
        _write_if_changed(
            actor=actor,
            instance=institution,
            created=existing is None,
            fields=INSTITUTION_FIELDS,
            values=values,
            action="institution",
            institution=institution,
        )
    return institution, existing is None


def office_upsert(*, actor: Any, institution: Institution, code: str, **values: Any) -> tuple[Office, bool]:
    """Create or update an office of ``institution`` by code; an office of another institution is refused."""
    from .errors import DomainError

    with transaction.atomic():
        existing = Office.objects.select_for_update().filter(code=code).first()
        if existing is not None and existing.institution_id != institution.pk:
            raise DomainError(
                message=f"La oficina {code} pertenece a otra institución.", code="office_owner", field="code"
            )
        office = existing or Office(code=code, institution=institution)
        _write_if_changed(
            actor=actor,
            instance=office,
            created=existing is None,
            fields=OFFICE_FIELDS,
            values=values,
            action="office",
            institution=institution,
        )
    return office, existing is None


def closure_declare(
    *, actor: Any, institution: Institution, date: dt.date, reason: str, office: Office | None = None
) -> Closure:
    """Declare a non-working day for an institution (or one office); deadlines skip it from now on."""
    from .errors import DomainError, Forbidden
    from .permissions import can_edit_institution_content

    if not can_edit_institution_content(actor, institution.pk):
        raise Forbidden()
    if office is not None and office.institution_id != institution.pk:
        raise DomainError(
            message="La oficina no pertenece a la institución.", code="office_owner", field="office"
        )
    if not reason.strip():
        raise DomainError(message="Indique el motivo.", code="required", field="reason")
    with transaction.atomic():
        closure, _ = Closure.objects.get_or_create(
            institution=institution, office=office, date=date, defaults={"reason": reason.strip()}
        )
        audit_record(
            actor=actor,
            action="closure.declare",
            target=closure,
            institution=institution,
            after=snapshot(closure),
        )
    return closure


def membership_grant(*, actor: Any, user: Any, role: str, institution: Institution | None) -> Membership:
    """Give a user a role. Platform admins grant any role; institution admins grant roles in their own."""
    from .errors import DomainError, Forbidden
    from .permissions import has_institution_role, is_platform_admin

    if role not in Role.values:
        raise DomainError(message="Rol desconocido.", code="invalid_role", field="role")
    allowed = (
        actor is None
        or is_platform_admin(actor)
        or (
            role != Role.PLATFORM_ADMIN
            and institution is not None
            and has_institution_role(actor, institution.pk, {Role.INSTITUTION_ADMIN})
        )
    )
    if not allowed:
        raise Forbidden()
    if (role == Role.PLATFORM_ADMIN) != (institution is None):
        raise DomainError(
            message="El rol de la agencia no lleva institución; los demás roles sí.",
            code="invalid_scope",
            field="institution",
        )
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(user=user, role=role, institution=institution)
        if created:
            audit_record(
                actor=actor,
                action="membership.grant",
                target=membership,
                institution=institution,
                after={"user": user.pk, "role": role},
            )
    return membership
