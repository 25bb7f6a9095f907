"""The append-only audit log: what a row records, request context, immutability, audited upserts."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from ventanilla.core.errors import DomainError
from ventanilla.core.middleware import RequestContextMiddleware
from ventanilla.core.models import AuditEntry, Institution, Office
from ventanilla.core.services import audit_record, institution_upsert, office_upsert


def _fresh(entry: AuditEntry) -> AuditEntry:
    return AuditEntry.objects.get(pk=entry.pk)


# -- what a row records -----------------------------------------------------------------------------------


def test_audit_record_writes_every_field(bob: Any, institution_a: Institution) -> None:
    office = Office.objects.get(code="INSTA-SEDE")
    marker = uuid.UUID("12345678-1234-5678-1234-567812345678")
    entry = audit_record(
        actor=bob,
        action="office.test",
        target=office,
        before={"cost": Decimal("17.50"), "day": dt.date(2026, 3, 2), "tags": ("a", "b")},
        after={"cost": Decimal("20.00"), "at": dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC), "id": marker},
        metadata={"source": "prueba", "limit": Decimal("1.5")},
    )

    row = _fresh(entry)
    assert row.actor == bob
    assert row.actor_label == "bob"
    assert row.action == "office.test"
    assert row.target_type == "core.office"
    assert row.target_id == str(office.pk)
    assert row.target_repr == "Oficina central A"
    assert row.institution == institution_a  # taken from the target's institution
    assert row.before == {"cost": "17.50", "day": "2026-03-02", "tags": ["a", "b"]}
    assert row.after == {
        "cost": "20.00",
        "at": "2026-03-02T14:30:00+00:00",
        "id": "12345678-1234-5678-1234-567812345678",
    }
    assert row.metadata == {"source": "prueba", "limit": "1.5"}
    assert row.ip_address is None  # no request around this call
    assert row.request_id == ""
    assert row.created_at is not None


def test_explicit_institution_wins_and_system_actor_is_labelled(
    institution_a: Institution, institution_b: Institution
) -> None:
    entry = _fresh(audit_record(actor=None, action="import.run", institution=institution_b.pk))
    assert entry.actor is None
    assert entry.actor_label == "sistema"
    assert entry.institution == institution_b
    assert entry.target_type == entry.target_id == entry.target_repr == ""
    assert entry.before is None
    assert entry.after is None

    anonymous = _fresh(audit_record(actor=AnonymousUser(), action="x.y", target=institution_a))
    assert anonymous.actor is None
    assert anonymous.target_type == "core.institution"
    assert anonymous.target_id == str(institution_a.pk)


def test_audit_record_inside_a_request_keeps_ip_and_request_id(bob: Any) -> None:
    written: list[AuditEntry] = []

    def view(request: HttpRequest) -> HttpResponse:
        written.append(audit_record(actor=bob, action="request.test"))
        return HttpResponse("ok")

    middleware = RequestContextMiddleware(view)
    request = RequestFactory().post(
        "/",
        REMOTE_ADDR="203.0.113.7",
        HTTP_X_REQUEST_ID="req-abc-123",
        HTTP_X_FORWARDED_FOR="198.51.100.9",  # never trusted
    )
    response = middleware(request)

    assert response["X-Request-Id"] == "req-abc-123"
    row = _fresh(written[0])
    assert row.ip_address == "203.0.113.7"
    assert row.request_id == "req-abc-123"

    # Without a client id, one is generated, sent back and recorded.
    response = middleware(RequestFactory().get("/", REMOTE_ADDR="2001:db8::1"))
    row = _fresh(written[1])
    assert len(row.request_id) == 32
    assert response["X-Request-Id"] == row.request_id
    assert row.ip_address == "2001:db8::1"

    # An over-long client id is cut to what the column holds.
    response = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID="r" * 200))
    assert _fresh(written[2]).request_id == "r" * 64
    assert response["X-Request-Id"] == "r" * 64

    # After the request the context is gone: a background write carries none.
    after = _fresh(audit_record(actor=None, action="background.test"))
    assert after.ip_address is None
    assert after.request_id == ""


# -- append-only ------------------------------------------------------------------------------------------


@pytest.fixture
def entry(bob: Any, institution_a: Institution) -> AuditEntry:
    return audit_record(actor=bob, action="original.action", target=institution_a)


def _unchanged(entry: AuditEntry) -> None:
    assert AuditEntry.objects.filter(pk=entry.pk, action="original.action").count() == 1


def test_saving_an_existing_entry_is_refused(entry: AuditEntry) -> None:
    entry.action = "tampered"
    with pytest.raises(PermissionError):
        entry.save()
    _unchanged(entry)


def test_deleting_an_entry_is_refused(entry: AuditEntry) -> None:
    with pytest.raises(PermissionError):
        entry.delete()
    _unchanged(entry)


def test_queryset_update_and_delete_are_refused(entry: AuditEntry) -> None:
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="tampered")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().update(action="tampered")
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    _unchanged(entry)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_auditentry SET action = 'x'",
        "DELETE FROM core_auditentry",
    ],
)
def test_raw_sql_cannot_change_the_log(entry: AuditEntry, statement: str, audit_triggers: None) -> None:
    """Database triggers guard the table even from code that bypasses the ORM (SQLite and PostgreSQL)."""
    assert AuditEntry._meta.db_table == "core_auditentry"
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    _unchanged(entry)
    assert AuditEntry.objects.count() == 1


def test_new_entries_can_still_be_appended_after_a_refused_change(entry: AuditEntry) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET action = 'x'")
    audit_record(actor=None, action="second.action")
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "original.action",
        "second.action",
    ]


# -- audited upserts --------------------------------------------------------------------------------------


INSTITUTION_VALUES = {
    "name": "Agencia de Gobierno Electrónico de Prueba",
    "acronym": "AGEP",
    "level": "central",
    "website": "https://agep.example.bo",
}


def test_institution_upsert_audits_create_then_only_real_changes(agency: Any) -> None:
    institution, created = institution_upsert(actor=agency, code="AGEP", **INSTITUTION_VALUES)
    assert created
    assert Institution.objects.get(code="AGEP").name == INSTITUTION_VALUES["name"]
    create = AuditEntry.objects.get()
    assert create.action == "institution.create"
    assert create.actor == agency
    assert create.institution == institution
    assert create.target_id == str(institution.pk)
    assert create.before is None
    assert create.after is not None
    assert create.after["code"] == "AGEP"
    assert create.after["acronym"] == "AGEP"

    # The same data again: nothing changed, nothing written.
    again, created = institution_upsert(actor=agency, code="AGEP", **INSTITUTION_VALUES)
    assert not created
    assert again.pk == institution.pk
    assert AuditEntry.objects.count() == 1

    # A real change is recorded with before and after.
    institution_upsert(actor=agency, code="AGEP", **{**INSTITUTION_VALUES, "acronym": "AGETIC"})
    assert Institution.objects.get(code="AGEP").acronym == "AGETIC"
    update = AuditEntry.objects.exclude(pk=create.pk).get()
    assert update.action == "institution.update"
    assert update.before is not None
    assert update.after is not None
    assert update.before["acronym"] == "AGEP"
    assert update.after["acronym"] == "AGETIC"
    assert update.before["name"] == update.after["name"]
    assert Institution.objects.filter(code="AGEP").count() == 1


def test_institution_upsert_with_parent_is_idempotent(agency: Any, institution_a: Institution) -> None:
    institution_upsert(actor=None, code="CHILD", **INSTITUTION_VALUES)
    institution_upsert(actor=None, code="CHILD", parent=institution_a)
    count = AuditEntry.objects.count()
    child, _ = institution_upsert(actor=None, code="CHILD", parent=institution_a)
    assert AuditEntry.objects.count() == count
    assert child.parent == institution_a
    assert AuditEntry.objects.filter(action="institution.update").get().after["parent"] == institution_a.pk


def test_invalid_institution_is_refused_and_not_audited(agency: Any) -> None:
    with pytest.raises(ValidationError):
        institution_upsert(actor=agency, code="bad code", **INSTITUTION_VALUES)
    with pytest.raises(ValidationError):
        institution_upsert(actor=agency, code="GOOD", **{**INSTITUTION_VALUES, "level": "galactico"})
    assert not Institution.objects.exists()
    assert not AuditEntry.objects.exists()


OFFICE_VALUES = {
    "name": "Oficina Regional Cochabamba",
    "address": "Av. Ayacucho 123",
    "department": "C",
    "municipality": "Cochabamba",
    "opening_hours": "08:30 a 16:30",
}


def test_office_upsert_audits_create_then_only_real_changes(agency: Any, institution_a: Institution) -> None:
    office, created = office_upsert(
        actor=agency, institution=institution_a, code="INSTA-CBBA", **OFFICE_VALUES
    )
    assert created
    assert office.institution == institution_a
    create = AuditEntry.objects.get(action="office.create")
    assert create.institution == institution_a
    assert create.target_type == "core.office"
    assert create.after is not None
    assert create.after["municipality"] == "Cochabamba"

    office_upsert(actor=agency, institution=institution_a, code="INSTA-CBBA", **OFFICE_VALUES)
    assert AuditEntry.objects.count() == 1

    office_upsert(
        actor=agency,
        institution=institution_a,
        code="INSTA-CBBA",
        **{**OFFICE_VALUES, "opening_hours": "08:00 a 16:00"},
    )
    update = AuditEntry.objects.get(action="office.update")
    assert update.before is not None
    assert update.after is not None
    assert update.before["opening_hours"] == "08:30 a 16:30"
    assert update.after["opening_hours"] == "08:00 a 16:00"
    assert Office.objects.get(code="INSTA-CBBA").opening_hours == "08:00 a 16:00"


def test_office_upsert_with_coordinates_is_idempotent(agency: Any, institution_a: Institution) -> None:
    values = {**OFFICE_VALUES, "latitude": Decimal("-17.3895"), "longitude": Decimal("-66.1568")}
    office_upsert(actor=agency, institution=institution_a, code="INSTA-CBBA", **values)
    office_upsert(actor=agency, institution=institution_a, code="INSTA-CBBA", **values)
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == ["office.create"]


def test_office_upsert_refuses_an_office_of_another_institution(
    agency: Any, institution_a: Institution, institution_b: Institution
) -> None:
    with pytest.raises(DomainError) as excinfo:
        office_upsert(actor=agency, institution=institution_a, code="INSTB-SEDE", name="Robada")
    assert excinfo.value.code == "office_owner"
    assert excinfo.value.field == "code"
    office = Office.objects.get(code="INSTB-SEDE")
    assert office.institution == institution_b
    assert office.name == "Oficina central B"
    assert not AuditEntry.objects.exists()
