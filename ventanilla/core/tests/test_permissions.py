"""Roles and object-level permission helpers, read as sentences about alice, bob, charlie and the agency."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction

from ventanilla.core.errors import DomainError, Forbidden
from ventanilla.core.models import AuditEntry, Institution, Membership, Role
from ventanilla.core.permissions import (
    can_edit_institution_content,
    editable_institution_ids,
    forget_roles,
    is_platform_admin,
    user_roles,
)
from ventanilla.core.services import membership_grant


def _reload(user: Any) -> Any:
    """A fresh user object, as a new request would have (no cached roles)."""
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def dora(institution_a: Institution) -> Any:
    """Institution admin of A."""
    user = get_user_model().objects.create_user(username="dora", password="clave-de-prueba-123")
    Membership.objects.create(user=user, institution=institution_a, role=Role.INSTITUTION_ADMIN)
    return user


@pytest.fixture
def ernesto(institution_a: Institution) -> Any:
    """Clerk of A: staff, but not an editor."""
    user = get_user_model().objects.create_user(username="ernesto", password="clave-de-prueba-123")
    Membership.objects.create(user=user, institution=institution_a, role=Role.CLERK)
    return user


# -- user_roles -------------------------------------------------------------------------------------------


def test_user_roles_reads_once_then_uses_the_cache(
    bob: Any, institution_a: Institution, django_assert_num_queries: Any
) -> None:
    user = _reload(bob)
    with django_assert_num_queries(1):
        first = user_roles(user)
        second = user_roles(user)
        assert can_edit_institution_content(user, institution_a.pk)
        assert not is_platform_admin(user)
        assert editable_institution_ids(user) == {institution_a.pk}
    assert first == second == frozenset({(Role.INSTITUTION_EDITOR, institution_a.pk)})

    # After forgetting, the next call reads the table again and sees new roles.
    Membership.objects.create(user=user, institution=institution_a, role=Role.CLERK)
    assert user_roles(user) == first  # still cached
    forget_roles(user)
    with django_assert_num_queries(1):
        assert user_roles(user) == first | {(Role.CLERK, institution_a.pk)}


def test_user_roles_of_citizens_and_anonymous_users(alice: Any, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert user_roles(AnonymousUser()) == frozenset()
        assert user_roles(None) == frozenset()
    user = _reload(alice)
    with django_assert_num_queries(1):
        assert user_roles(user) == frozenset()
        assert user_roles(user) == frozenset()


def test_agency_roles(agency: Any) -> None:
    assert user_roles(_reload(agency)) == frozenset({(Role.PLATFORM_ADMIN, None)})


@pytest.mark.parametrize(
    ("who", "expected"),
    [("agency", True), ("bob", False), ("charlie", False), ("alice", False), ("dora", False)],
)
def test_is_platform_admin(request: pytest.FixtureRequest, who: str, expected: bool) -> None:
    assert is_platform_admin(_reload(request.getfixturevalue(who))) is expected


def test_anonymous_and_missing_users_are_not_platform_admins(db: Any) -> None:
    assert not is_platform_admin(AnonymousUser())
    assert not is_platform_admin(None)


# -- can_edit_institution_content / editable_institution_ids ----------------------------------------------


@pytest.mark.parametrize(
    ("who", "can_edit_a", "can_edit_b"),
    [
        ("bob", True, False),
        ("charlie", False, True),
        ("dora", True, False),  # institution admin of A
        ("ernesto", False, False),  # clerk of A: serves the public, does not edit content
        ("agency", True, True),
        ("alice", False, False),
    ],
)
def test_can_edit_institution_content(
    request: pytest.FixtureRequest,
    institution_a: Institution,
    institution_b: Institution,
    who: str,
    can_edit_a: bool,
    can_edit_b: bool,
) -> None:
    user = _reload(request.getfixturevalue(who))
    assert can_edit_institution_content(user, institution_a.pk) is can_edit_a
    assert can_edit_institution_content(user, institution_b.pk) is can_edit_b


def test_nobody_but_the_agency_edits_content_without_an_institution(bob: Any, agency: Any) -> None:
    assert not can_edit_institution_content(_reload(bob), None)
    assert can_edit_institution_content(_reload(agency), None)


def test_anonymous_users_edit_nothing(institution_a: Institution) -> None:
    assert not can_edit_institution_content(AnonymousUser(), institution_a.pk)
    assert editable_institution_ids(AnonymousUser()) == set()


def test_inactive_users_lose_every_role(bob: Any, agency: Any, institution_a: Institution) -> None:
    for user in (bob, agency):
        user.is_active = False
        user.save(update_fields=["is_active"])
        user = _reload(user)
        assert user_roles(user) == frozenset()
        assert not can_edit_institution_content(user, institution_a.pk)
        assert not is_platform_admin(user)
        assert editable_institution_ids(user) == set()


def test_editable_institution_ids(
    bob: Any,
    charlie: Any,
    agency: Any,
    alice: Any,
    ernesto: Any,
    institution_a: Institution,
    institution_b: Institution,
) -> None:
    assert editable_institution_ids(_reload(agency)) is None  # every institution
    assert editable_institution_ids(_reload(bob)) == {institution_a.pk}
    assert editable_institution_ids(_reload(charlie)) == {institution_b.pk}
    assert editable_institution_ids(_reload(alice)) == set()
    assert editable_institution_ids(_reload(ernesto)) == set()


# -- membership_grant -------------------------------------------------------------------------------------


def test_agency_grants_any_role(agency: Any, alice: Any, institution_b: Institution) -> None:
    membership = membership_grant(actor=agency, user=alice, role=Role.CLERK, institution=institution_b)
    assert Membership.objects.filter(user=alice, role=Role.CLERK, institution=institution_b).count() == 1
    assert user_roles(_reload(alice)) == frozenset({(Role.CLERK, institution_b.pk)})
    entry = AuditEntry.objects.get(action="membership.grant")
    assert entry.actor == agency
    assert entry.institution == institution_b
    assert entry.target_id == str(membership.pk)
    assert entry.after == {"user": alice.pk, "role": "clerk"}

    membership_grant(actor=agency, user=alice, role=Role.PLATFORM_ADMIN, institution=None)
    assert is_platform_admin(_reload(alice))


def test_granting_the_same_role_twice_writes_one_row_and_one_audit_entry(
    agency: Any, alice: Any, institution_a: Institution
) -> None:
    first = membership_grant(actor=agency, user=alice, role=Role.CLERK, institution=institution_a)
    second = membership_grant(actor=agency, user=alice, role=Role.CLERK, institution=institution_a)
    assert first.pk == second.pk
    assert Membership.objects.filter(user=alice).count() == 1
    assert AuditEntry.objects.filter(action="membership.grant").count() == 1


def test_institution_admin_grants_staff_roles_in_own_institution(
    dora: Any, alice: Any, institution_a: Institution
) -> None:
    membership_grant(actor=_reload(dora), user=alice, role=Role.CLERK, institution=institution_a)
    assert Membership.objects.filter(user=alice, role=Role.CLERK, institution=institution_a).exists()
    assert AuditEntry.objects.get(action="membership.grant").actor == dora


def test_institution_admin_cannot_grant_in_another_institution(
    dora: Any, alice: Any, institution_b: Institution
) -> None:
    with pytest.raises(Forbidden):
        membership_grant(actor=_reload(dora), user=alice, role=Role.CLERK, institution=institution_b)
    assert not Membership.objects.filter(user=alice).exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("scope", ["none", "own"])
def test_institution_admin_cannot_grant_platform_admin(
    dora: Any, alice: Any, institution_a: Institution, scope: str
) -> None:
    institution = institution_a if scope == "own" else None
    with pytest.raises(Forbidden):
        membership_grant(actor=_reload(dora), user=alice, role=Role.PLATFORM_ADMIN, institution=institution)
    assert not Membership.objects.filter(user=alice).exists()
    assert not is_platform_admin(_reload(alice))


@pytest.mark.parametrize("who", ["bob", "ernesto", "alice", "charlie"])
def test_editors_clerks_and_citizens_cannot_grant(
    request: pytest.FixtureRequest, institution_a: Institution, who: str
) -> None:
    actor = _reload(request.getfixturevalue(who))
    newcomer = get_user_model().objects.create_user(username="nuevo", password="clave-de-prueba-123")
    with pytest.raises(Forbidden):
        membership_grant(actor=actor, user=newcomer, role=Role.CLERK, institution=institution_a)
    assert not Membership.objects.filter(user=newcomer).exists()


def test_anonymous_cannot_grant(alice: Any, institution_a: Institution) -> None:
    with pytest.raises(Forbidden):
        membership_grant(actor=AnonymousUser(), user=alice, role=Role.CLERK, institution=institution_a)
    assert not Membership.objects.exists()


def test_unknown_role_is_refused(agency: Any, alice: Any, institution_a: Institution) -> None:
    with pytest.raises(DomainError) as excinfo:
        membership_grant(actor=agency, user=alice, role="emperador", institution=institution_a)
    assert excinfo.value.code == "invalid_role"
    assert excinfo.value.field == "role"
    assert not Membership.objects.filter(user=alice).exists()


# -- database constraint ----------------------------------------------------------------------------------


def test_platform_admin_with_an_institution_is_refused_by_the_database(
    alice: Any, institution_a: Institution
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=alice, role=Role.PLATFORM_ADMIN, institution=institution_a)
    assert not Membership.objects.filter(user=alice).exists()


@pytest.mark.parametrize("role", [Role.CLERK, Role.INSTITUTION_EDITOR, Role.INSTITUTION_ADMIN])
def test_institution_roles_without_an_institution_are_refused_by_the_database(alice: Any, role: str) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=alice, role=role, institution=None)
    assert not Membership.objects.filter(user=alice).exists()


def test_agency_granting_a_scoped_platform_admin_is_refused(
    agency: Any, alice: Any, institution_a: Institution
) -> None:
    # Refused either by the service (DomainError) or, at the latest, by the database constraint.
    with pytest.raises((DomainError, IntegrityError)), transaction.atomic():
        membership_grant(actor=agency, user=alice, role=Role.PLATFORM_ADMIN, institution=institution_a)
    assert not Membership.objects.filter(user=alice).exists()
    assert not AuditEntry.objects.filter(action="membership.grant").exists()
