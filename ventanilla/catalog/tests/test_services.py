"""Catalogue write services: validation (each error on its field), the review workflow and its permissions
(bob edits A, charlie edits B, the agency reviews), versions and audit rows, and ratings."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings

from conftest import _user, make_procedure
from ventanilla.catalog.models import Procedure, ProcedureVersion, Rating
from ventanilla.catalog.services import (
    ChannelData,
    ProcedureData,
    RequirementData,
    StepData,
    procedure_archive,
    procedure_publish,
    procedure_rate,
    procedure_restore,
    procedure_return,
    procedure_save,
    procedure_submit,
    procedure_to_data,
)
from ventanilla.core.countries import get_pack
from ventanilla.core.errors import DomainError, Forbidden, InvalidTransition
from ventanilla.core.models import AuditEntry, Institution, Membership, Role

Status = Procedure.Status


def data(**overrides: Any) -> ProcedureData:
    values: dict[str, Any] = {
        "slug": "licencia-de-conducir",
        "name": "Licencia de conducir",
        "institution": "INSTA",
        "office": "INSTA-SEDE",
        "summary": "Obtenga su licencia para conducir.",
        "category": "vehiculos-y-transporte",
        "life_events": ["vehiculo"],
        "requirements": [
            RequirementData(name="Cédula de identidad vigente", issuer="INSTA", held_by_state=True)
        ],
        "steps": [StepData(title="Pagar el arancel")],
        "channels": [ChannelData(channel="presencial", offices=["INSTA-SEDE"])],
        "cost_amount": Decimal("17.00"),
        "currency": "BOB",
        "max_days": 3,
    }
    values.update(overrides)
    return ProcedureData(**values)


def error_fields(exc: DomainError) -> dict[str | None, str]:
    return {item.field: item.code for item in exc.items()}


def save_error(**overrides: Any) -> DomainError:
    with pytest.raises(DomainError) as excinfo:
        procedure_save(actor=None, data=data(**overrides))
    assert excinfo.value.status == 400
    return excinfo.value


def audit_actions(procedure: Procedure) -> list[str]:
    return list(
        AuditEntry.objects.filter(target_type="catalog.procedure", target_id=str(procedure.pk))
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )


@pytest.fixture
def both(institution_a: Institution, institution_b: Institution) -> None:
    return None


@pytest.fixture
def admin_a(institution_a: Institution) -> Any:
    user = _user("ana")
    Membership.objects.create(user=user, institution=institution_a, role=Role.INSTITUTION_ADMIN)
    return user


# ----------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"name": ""}, "name", "required"),
        ({"summary": ""}, "summary", "required"),
        ({"name": "x" * 201}, "name", "too_long"),
        ({"slug": ""}, "slug", "required"),
        ({"slug": "Licencia De Conducir"}, "slug", "invalid_slug"),
        ({"institution": "NOEXISTE"}, "institution", "unknown_institution"),
        ({"office": "NOEXISTE-SEDE"}, "office", "unknown_office"),
        ({"office": "INSTB-SEDE"}, "office", "office_owner"),
        ({"category": "astronautica"}, "category", "unknown_category"),
        ({"life_events": ["vehiculo", "abduccion"]}, "life_events", "unknown_life_event"),
        ({"audience": "marcianos"}, "audience", "invalid_choice"),
        ({"cost_amount": Decimal("-1.00")}, "cost.amount", "invalid"),
        ({"cost_amount": Decimal("17.00"), "currency": "USD"}, "cost.currency", "invalid_currency"),
        ({"cost_amount": Decimal("17.00"), "currency": ""}, "cost.currency", "invalid_currency"),
        ({"max_days": 4000}, "max_days", "invalid"),
        ({"digitisation_level": 5}, "digitisation_level", "invalid"),
        ({"status": "perdido"}, "status", "invalid_choice"),
        ({"external_start_url": "javascript:alert(1)"}, "external_start_url", "invalid_url"),
        ({"external_start_url": "licencias.example.bo"}, "external_start_url", "invalid_url"),
        ({"external_tracking_url": "ftp://licencias.example.bo"}, "external_tracking_url", "invalid_url"),
        (
            {"channels": [ChannelData(channel="en_linea", url="no es una url")]},
            "channels[0].url",
            "invalid_url",
        ),
        (
            {"runs_on_platform": True, "external_start_url": "https://licencias.example.bo"},
            "external_start_url",
            "conflict",
        ),
        (
            {
                "channels": [
                    ChannelData(channel="presencial", offices=["INSTA-SEDE"]),
                    ChannelData(channel="presencial", offices=["INSTA-SEDE"]),
                ]
            },
            "channels[1].channel",
            "duplicate",
        ),
        ({"channels": [ChannelData(channel="fax")]}, "channels[0].channel", "invalid_choice"),
        (
            {"channels": [ChannelData(channel="presencial", offices=["INSTB-SEDE"])]},
            "channels[0].offices",
            "office_owner",
        ),
        (
            {"channels": [ChannelData(channel="presencial", offices=["NADA"])]},
            "channels[0].offices",
            "unknown_office",
        ),
        ({"requirements": [RequirementData(name="")]}, "requirements[0].name", "required"),
        (
            {"requirements": [RequirementData(name="Carnet", issuer="NADIE")]},
            "requirements[0].issuer",
            "unknown_institution",
        ),
        ({"steps": [StepData(title="Uno"), StepData(title="")]}, "steps[1].title", "required"),
    ],
)
def test_invalid_data_is_rejected_on_its_field(
    both: None, overrides: dict[str, Any], field: str, code: str
) -> None:
    exc = save_error(**overrides)
    assert error_fields(exc) == {field: code}
    assert Procedure.objects.count() == 0
    assert AuditEntry.objects.filter(action="procedure.create").count() == 0


def test_every_error_is_reported_at_once(both: None) -> None:
    exc = save_error(name="", category="nada", cost_amount=Decimal("-3"), external_start_url="x")
    assert set(error_fields(exc)) == {"name", "category", "cost.amount", "external_start_url"}
    assert exc.field == "name"  # the first error is the main one


@override_settings(COUNTRY_PACK=get_pack("PY"))
def test_currency_must_be_the_installations(both: None) -> None:
    exc = save_error(cost_amount=Decimal("17.00"), currency="BOB")
    assert error_fields(exc) == {"cost.currency": "invalid_currency"}
    assert "PYG" in exc.message


@override_settings(COUNTRY_PACK=get_pack("PY"))
def test_guaranies_have_no_decimals(both: None) -> None:
    exc = save_error(cost_amount=Decimal("50000.50"), currency="PYG")
    assert error_fields(exc) == {"cost.amount": "invalid"}
    procedure = procedure_save(actor=None, data=data(cost_amount=Decimal("50000.00"), currency="PYG"))
    assert procedure.cost_amount == Decimal("50000") and procedure.currency == "PYG"
    assert procedure.cost_display == "₲ 50.000"


def test_a_valid_procedure_is_stored_with_its_children(both: None) -> None:
    procedure = procedure_save(actor=None, data=data(status="publicado"))
    assert procedure.status == Status.PUBLISHED and procedure.published_at is not None
    assert procedure.version == 1
    assert procedure_to_data(procedure).as_dict() == data(status="publicado").as_dict()
    assert audit_actions(procedure) == ["procedure.create"]


def test_free_procedure_has_no_currency(both: None) -> None:
    procedure = procedure_save(actor=None, data=data(cost_amount=None, currency="BOB"))
    assert (procedure.is_free, procedure.cost_amount, procedure.currency) == (True, None, "")


# ------------------------------------------------------------------------------------------------- workflow


def test_full_review_workflow(bob: Any, agency: Any, both: None) -> None:
    procedure = procedure_save(actor=bob, data=data(status="publicado"))
    assert procedure.status == Status.DRAFT  # an editor cannot self-publish through the data
    assert procedure.published_at is None

    procedure_submit(actor=bob, procedure=procedure)
    assert procedure.status == Status.IN_REVIEW

    with pytest.raises(Forbidden):
        procedure_publish(actor=bob, procedure=procedure)
    procedure.refresh_from_db()
    assert procedure.status == Status.IN_REVIEW

    procedure_publish(actor=agency, procedure=procedure)
    procedure.refresh_from_db()
    assert procedure.status == Status.PUBLISHED
    assert procedure.published_at is not None
    versions = list(procedure.versions.order_by("number").values_list("number", "status", "created_by"))
    assert versions == [(1, "borrador", bob.pk), (2, "en_revision", bob.pk), (3, "publicado", agency.pk)]
    assert procedure.version == 3
    assert audit_actions(procedure) == ["procedure.create", "procedure.submit", "procedure.publish"]
    publish_entry = AuditEntry.objects.get(action="procedure.publish", target_id=str(procedure.pk))
    assert publish_entry.actor_id == agency.pk
    assert publish_entry.institution_id == procedure.institution_id
    assert (publish_entry.before, publish_entry.after) == ({"status": "en_revision"}, {"status": "publicado"})


def test_editing_a_published_procedure_waits_for_approval(bob: Any, agency: Any, both: None) -> None:
    procedure = procedure_save(actor=None, data=data(status="publicado"))
    versions = ProcedureVersion.objects.count()

    procedure_save(actor=bob, procedure=procedure, data=data(name="Licencia de conducir (nueva)", max_days=1))
    procedure.refresh_from_db()
    assert procedure.name == "Licencia de conducir"  # the public page is unchanged
    assert procedure.max_days == 3
    assert procedure.status == Status.PUBLISHED
    assert procedure.pending_data is not None
    assert procedure.pending_data["name"] == "Licencia de conducir (nueva)"
    assert procedure.pending_since is not None
    assert ProcedureVersion.objects.count() == versions
    assert audit_actions(procedure)[-1] == "procedure.propose_changes"

    procedure_publish(actor=agency, procedure=procedure)
    procedure.refresh_from_db()
    assert (procedure.name, procedure.max_days) == ("Licencia de conducir (nueva)", 1)
    assert procedure.pending_data is None and procedure.pending_since is None
    assert procedure.status == Status.PUBLISHED
    assert procedure.versions.first().note == "Cambios aprobados y publicados"
    assert audit_actions(procedure)[-1] == "procedure.approve_changes"


def test_agency_rejects_pending_changes_with_a_comment(bob: Any, agency: Any, both: None) -> None:
    procedure = procedure_save(actor=None, data=data(status="publicado"))
    procedure_save(actor=bob, procedure=procedure, data=data(max_days=1))
    procedure.refresh_from_db()
    with pytest.raises(DomainError) as excinfo:
        procedure_return(actor=agency, procedure=procedure, comment="   ")
    assert (excinfo.value.field, excinfo.value.code) == ("comment", "required")
    procedure_return(actor=agency, procedure=procedure, comment="El plazo legal es de 3 días.")
    procedure.refresh_from_db()
    assert procedure.pending_data is None
    assert procedure.max_days == 3 and procedure.status == Status.PUBLISHED
    assert procedure.review_comment == "El plazo legal es de 3 días."


def test_agency_edits_to_a_published_procedure_apply_at_once(agency: Any, both: None) -> None:
    procedure = procedure_save(actor=None, data=data(status="publicado"))
    procedure_save(actor=agency, procedure=procedure, data=data(max_days=10))
    procedure.refresh_from_db()
    assert procedure.max_days == 10 and procedure.pending_data is None
    assert procedure.version == 2


def test_return_requires_a_comment_and_goes_back_to_draft(bob: Any, agency: Any, both: None) -> None:
    procedure = procedure_save(actor=bob, data=data())
    procedure_submit(actor=bob, procedure=procedure)
    with pytest.raises(DomainError) as excinfo:
        procedure_return(actor=agency, procedure=procedure, comment="")
    assert (excinfo.value.field, excinfo.value.code) == ("comment", "required")
    procedure.refresh_from_db()
    assert procedure.status == Status.IN_REVIEW

    with pytest.raises(Forbidden):
        procedure_return(actor=bob, procedure=procedure, comment="Me lo devuelvo")

    procedure_return(actor=agency, procedure=procedure, comment="Falta la base legal.")
    assert procedure.status == Status.DRAFT
    assert procedure.review_comment == "Falta la base legal."
    entry = AuditEntry.objects.get(action="procedure.return", target_id=str(procedure.pk))
    assert entry.metadata == {"comment": "Falta la base legal."}
    # Editing and resubmitting clears the previous comment.
    procedure_save(actor=bob, procedure=procedure, data=data(legal_basis="Ley N° 3988"))
    procedure_submit(actor=bob, procedure=procedure)
    assert procedure.review_comment == ""


def test_procedure_in_review_is_locked_for_the_institution(bob: Any, agency: Any, both: None) -> None:
    procedure = procedure_save(actor=bob, data=data())
    procedure_submit(actor=bob, procedure=procedure)
    with pytest.raises(DomainError) as excinfo:
        procedure_save(actor=bob, procedure=procedure, data=data(max_days=9))
    assert (excinfo.value.code, excinfo.value.status) == ("locked", 409)
    procedure.refresh_from_db()
    assert procedure.max_days == 3


def test_charlie_cannot_touch_institution_a(bob: Any, charlie: Any, both: None) -> None:
    procedure = procedure_save(actor=bob, data=data())
    before = (ProcedureVersion.objects.count(), AuditEntry.objects.count())
    with pytest.raises(Forbidden):
        procedure_save(actor=charlie, procedure=procedure, data=data(max_days=9))
    with pytest.raises(Forbidden):
        # Claiming the procedure for B does not help either.
        procedure_save(
            actor=charlie,
            procedure=procedure,
            data=data(
                institution="INSTB",
                office="INSTB-SEDE",
                channels=[ChannelData(channel="presencial", offices=["INSTB-SEDE"])],
            ),
        )
    with pytest.raises(Forbidden):
        procedure_submit(actor=charlie, procedure=procedure)
    with pytest.raises(Forbidden):
        procedure_save(actor=charlie, data=data(slug="otra-licencia"))  # creating for A
    with pytest.raises(Forbidden):
        procedure_archive(actor=charlie, procedure=procedure)
    procedure.refresh_from_db()
    assert (procedure.status, procedure.max_days, procedure.institution.code) == (Status.DRAFT, 3, "INSTA")
    assert (ProcedureVersion.objects.count(), AuditEntry.objects.count()) == before


def test_only_the_agency_moves_a_procedure_to_another_institution(bob: Any, agency: Any, both: None) -> None:
    Membership.objects.create(
        user=bob, institution=Institution.objects.get(code="INSTB"), role=Role.INSTITUTION_EDITOR
    )
    procedure = procedure_save(actor=None, data=data())
    moved = data(
        institution="INSTB",
        office="INSTB-SEDE",
        channels=[ChannelData(channel="presencial", offices=["INSTB-SEDE"])],
    )
    with pytest.raises(Forbidden):
        procedure_save(actor=bob, procedure=procedure, data=moved)
    procedure_save(actor=agency, procedure=procedure, data=moved)
    procedure.refresh_from_db()
    assert procedure.institution.code == "INSTB"


def test_citizen_cannot_write(alice: Any, both: None) -> None:
    with pytest.raises(Forbidden):
        procedure_save(actor=alice, data=data())
    assert Procedure.objects.count() == 0


def test_archive_and_restore(bob: Any, admin_a: Any, agency: Any, both: None) -> None:
    procedure = procedure_save(actor=None, data=data(status="publicado"))
    with pytest.raises(Forbidden):
        procedure_archive(actor=bob, procedure=procedure)  # editors do not archive
    procedure_archive(actor=admin_a, procedure=procedure)
    assert procedure.status == Status.ARCHIVED
    with pytest.raises(InvalidTransition):
        procedure_archive(actor=agency, procedure=procedure)

    procedure_restore(actor=bob, procedure=procedure)
    assert procedure.status == Status.DRAFT
    assert audit_actions(procedure)[-2:] == ["procedure.archive", "procedure.restore"]
    assert list(procedure.versions.values_list("status", flat=True)[:2]) == ["borrador", "archivado"]

    procedure_archive(actor=agency, procedure=procedure)  # the agency archives any institution's procedure
    assert procedure.status == Status.ARCHIVED


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("publicado", "submit"),
        ("en_revision", "submit"),
        ("archivado", "submit"),
        ("borrador", "publish"),
        ("archivado", "publish"),
        ("publicado", "publish"),
        ("borrador", "return"),
        ("publicado", "return"),
        ("borrador", "restore"),
        ("publicado", "restore"),
        ("en_revision", "restore"),
    ],
)
def test_invalid_transitions(bob: Any, agency: Any, both: None, status: str, action: str) -> None:
    procedure = procedure_save(actor=None, data=data(status=status))
    calls = {
        "submit": lambda: procedure_submit(actor=bob, procedure=procedure),
        "publish": lambda: procedure_publish(actor=agency, procedure=procedure),
        "return": lambda: procedure_return(actor=agency, procedure=procedure, comment="Corregir."),
        "restore": lambda: procedure_restore(actor=bob, procedure=procedure),
    }
    audit_before = AuditEntry.objects.count()
    with pytest.raises(InvalidTransition) as excinfo:
        calls[action]()
    assert (excinfo.value.code, excinfo.value.status) == ("invalid_transition", 409)
    procedure.refresh_from_db()
    assert procedure.status == status
    assert AuditEntry.objects.count() == audit_before


def test_a_failed_transition_leaves_no_partial_write(agency: Any, both: None) -> None:
    """A pending proposal that no longer validates is refused as a whole."""
    procedure = procedure_save(actor=None, data=data(status="publicado"))
    proposal = dataclasses.replace(data(), max_days=1).as_dict()
    proposal["category"] = "categoria-eliminada"
    Procedure.objects.filter(pk=procedure.pk).update(pending_data=proposal)
    procedure.refresh_from_db()
    with pytest.raises(DomainError) as excinfo:
        procedure_publish(actor=agency, procedure=procedure)
    assert excinfo.value.field == "category"
    procedure.refresh_from_db()
    assert procedure.max_days == 3 and procedure.pending_data is not None


# --------------------------------------------------------------------------------------------------- rating


def test_rating_counts_once_per_session(both: None) -> None:
    procedure = make_procedure(Institution.objects.get(code="INSTA"), "cedula", "Cédula de identidad")
    assert procedure_rate(procedure=procedure, useful=True, comment=" Clara ", session_key="sesion-1") is True
    assert procedure_rate(procedure=procedure, useful=False, comment="", session_key="sesion-1") is False
    assert procedure_rate(procedure=procedure, useful=False, comment="", session_key="sesion-2") is True
    procedure.refresh_from_db()
    assert (procedure.helpful_yes, procedure.helpful_no) == (1, 1)
    assert Rating.objects.filter(procedure=procedure).count() == 2
    assert Rating.objects.get(useful=True).comment == "Clara"
    assert not Rating.objects.filter(session_hash__in=["sesion-1", "sesion-2"]).exists()


@pytest.mark.parametrize("status", ["borrador", "en_revision", "archivado"])
def test_only_published_procedures_can_be_rated(both: None, status: str) -> None:
    procedure = make_procedure(Institution.objects.get(code="INSTA"), "cedula", "Cédula", status=status)
    with pytest.raises(DomainError) as excinfo:
        procedure_rate(procedure=procedure, useful=True, comment="", session_key="s")
    assert excinfo.value.status == 404
    assert Rating.objects.count() == 0


def test_system_save_can_publish_an_existing_draft_with_new_content(both: None) -> None:
    procedure = procedure_save(actor=None, data=data(status="borrador"))
    procedure_save(actor=None, procedure=procedure, data=data(status="publicado", max_days=5))
    procedure.refresh_from_db()
    assert (procedure.status, procedure.max_days) == (Status.PUBLISHED, 5)


# Regression: the system actor's status change to 'publicado' left published_at empty.
def test_system_publishing_an_existing_draft_sets_published_at(both: None) -> None:
    procedure = procedure_save(actor=None, data=data(status="borrador"))
    procedure_save(actor=None, procedure=procedure, data=data(status="publicado", max_days=5))
    procedure.refresh_from_db()
    assert procedure.status == Status.PUBLISHED
    assert procedure.published_at is not None


# Regression: a status-only change by the system actor was treated as 'unchanged' and dropped.
def test_system_save_applies_a_status_only_change(both: None) -> None:
    procedure = procedure_save(actor=None, data=data(status="borrador"))
    procedure_save(actor=None, procedure=procedure, data=data(status="publicado"))
    procedure.refresh_from_db()
    assert procedure.status == Status.PUBLISHED


def test_creating_a_procedure_with_a_taken_slug_is_refused(bob: Any, charlie: Any, both: None) -> None:
    procedure_save(actor=bob, data=data())
    for actor, overrides in (
        (bob, {}),
        (charlie, {"institution": "INSTB", "office": "INSTB-SEDE", "channels": []}),
    ):
        with pytest.raises(DomainError) as excinfo:
            procedure_save(actor=actor, data=data(name="Otra licencia", **overrides))
        assert (excinfo.value.field, excinfo.value.code) == ("slug", "duplicate")
    assert Procedure.objects.get().name == "Licencia de conducir"


def test_renaming_a_slug_onto_another_procedure_is_refused(bob: Any, both: None) -> None:
    first = procedure_save(actor=bob, data=data())
    second = procedure_save(actor=bob, data=data(slug="renovacion", name="Renovación"))
    with pytest.raises(DomainError) as excinfo:
        procedure_save(actor=bob, procedure=second, data=data(slug=first.slug, name="Renovación"))
    assert (excinfo.value.field, excinfo.value.code) == ("slug", "duplicate")


def test_saving_the_published_content_withdraws_a_pending_proposal(bob: Any, both: None) -> None:
    procedure = procedure_save(actor=None, data=data(status="publicado"))
    procedure_save(actor=bob, procedure=procedure, data=data(max_days=1))
    procedure.refresh_from_db()
    assert procedure.pending_data is not None
    audit_before = AuditEntry.objects.count()
    procedure_save(actor=bob, procedure=procedure, data=data(max_days=1))  # same proposal again: no-op
    assert AuditEntry.objects.count() == audit_before
    procedure_save(actor=bob, procedure=procedure, data=data())  # back to the published content
    procedure.refresh_from_db()
    assert procedure.pending_data is None and procedure.pending_since is None
    assert audit_actions(procedure)[-1] == "procedure.withdraw_changes"
