from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

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
    }
