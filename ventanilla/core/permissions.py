"""Platform roles and object-level permission helpers.

A user's memberships are read once per request (one query) and cached on the user object.
Rules read like sentences: ``can_edit_institution_content(user, institution_id)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .models import Membership, Role

EDITOR_ROLES = frozenset({Role.INSTITUTION_ADMIN, Role.INSTITUTION_EDITOR})
STAFF_ROLES = frozenset({Role.INSTITUTION_ADMIN, Role.INSTITUTION_EDITOR, Role.CLERK})

_CACHE_ATTR = "_vt_roles"


def user_roles(user: Any) -> frozenset[tuple[str, int | None]]:
    """The (role, institution_id) pairs held by ``user``; empty for anonymous users and citizens."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = frozenset(Membership.objects.filter(user_id=user.pk).values_list("role", "institution_id"))
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_roles(user: Any) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def is_platform_admin(user: Any) -> bool:
    return any(role == Role.PLATFORM_ADMIN for role, _ in user_roles(user))


def institutions_with_role(user: Any, roles: Iterable[str]) -> set[int]:
    wanted = set(roles)
    return {inst for role, inst in user_roles(user) if role in wanted and inst is not None}


def has_institution_role(user: Any, institution_id: int | None, roles: Iterable[str]) -> bool:
    if institution_id is None:
        return False
    return institution_id in institutions_with_role(user, roles)


def can_edit_institution_content(user: Any, institution_id: int | None) -> bool:
    """Institution admins and editors edit their own institution's content; the platform agency edits all."""
    return is_platform_admin(user) or has_institution_role(user, institution_id, EDITOR_ROLES)


def editable_institution_ids(user: Any) -> set[int] | None:
    """Institution ids the user may edit; ``None`` means every institution (platform admin)."""
    if is_platform_admin(user):
        return None
    return institutions_with_role(user, EDITOR_ROLES)


def can_review(user: Any) -> bool:
    """Reviewing and publishing catalogue content is the platform agency's job."""
    return is_platform_admin(user)


def is_back_office_user(user: Any) -> bool:
    return bool(user_roles(user))
