from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .models import Role
from .permissions import user_roles


def platform(request: HttpRequest) -> dict[str, Any]:
    pack = settings.COUNTRY_PACK
    user = getattr(request, "user", None)
    roles = user_roles(user) if user is not None and user.is_authenticated else frozenset()
    return {
        "country": pack,
        "portal_name": pack.portal_name,
        "agency_name": pack.agency_name,
        "agency_acronym": pack.agency_acronym,
        "is_staff_user": bool(roles),
        "backoffice": {
            "catalog": any(
                r in (Role.PLATFORM_ADMIN, Role.INSTITUTION_ADMIN, Role.INSTITUTION_EDITOR) for r, _ in roles
            ),
            "clients": any(r in (Role.PLATFORM_ADMIN, Role.INSTITUTION_ADMIN) for r, _ in roles),
            "registrar": any(r == Role.CLERK for r, _ in roles),
            "cases": any(r in (Role.CLERK, Role.SUPERVISOR, Role.INSTITUTION_ADMIN) for r, _ in roles),
            "cases_dashboard": any(r in (Role.SUPERVISOR, Role.INSTITUTION_ADMIN) for r, _ in roles),
            "definitions": any(
                r in (Role.PLATFORM_ADMIN, Role.INSTITUTION_ADMIN, Role.INSTITUTION_EDITOR) for r, _ in roles
            ),
            "interop": any(
                r in (Role.PLATFORM_ADMIN, Role.INSTITUTION_ADMIN, Role.INSTITUTION_EDITOR) for r, _ in roles
            ),
            "inbox": any(r != Role.PLATFORM_ADMIN for r, _ in roles),
            "documents": bool(roles),
        },
    }
