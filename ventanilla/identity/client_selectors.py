"""Reads of registered applications, scoped to who is asking.

The platform agency sees every registration; an institution admin sees their institutions' registrations;
everyone else sees none. Another institution's registration is "not found", never "forbidden".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from ventanilla.core.errors import NotFound
from ventanilla.core.models import Institution, Role
from ventanilla.core.permissions import institutions_with_role, is_platform_admin

from .models import ClientRegistration

ADMIN_ROLES = frozenset({Role.INSTITUTION_ADMIN})


def client_managed_institution_ids(actor: Any) -> set[int] | None:
    """Institutions whose applications ``actor`` manages; ``None`` means all of them (the agency)."""
    if is_platform_admin(actor):
        return None
    return institutions_with_role(actor, ADMIN_ROLES)


def client_management_allowed(actor: Any) -> bool:
    """Whether the applications pages are for ``actor`` at all (agency or an institution admin)."""
    ids = client_managed_institution_ids(actor)
    return ids is None or bool(ids)


def client_registration_list(*, actor: Any, status: str = "") -> QuerySet[ClientRegistration]:
    """Registrations visible to ``actor``, newest first, with their application and institution joined."""
    queryset = ClientRegistration.objects.select_related("application", "institution").order_by(
        "-created_at", "-pk"
    )
    ids = client_managed_institution_ids(actor)
    if ids is not None:
        queryset = queryset.filter(institution_id__in=ids) if ids else queryset.none()
    if status:
        queryset = (
            queryset.filter(status=status) if status in ClientRegistration.Status.values else queryset.none()
        )
    return queryset


def client_registration_get(*, actor: Any, client_id: str) -> ClientRegistration:
    """One registration by its public client id, if ``actor`` may see it (else :class:`NotFound`)."""
    registration = (
        client_registration_list(actor=actor)
        .select_related("requested_by", "reviewed_by")
        .filter(application__client_id=client_id)
        .first()
    )
    if registration is None:
        raise NotFound("No se encontró la aplicación.")
    return registration


def client_institution_choices(*, actor: Any) -> QuerySet[Institution]:
    """Active institutions ``actor`` may register applications for."""
    queryset = Institution.objects.filter(is_active=True).order_by("name")
    ids = client_managed_institution_ids(actor)
    if ids is not None:
        queryset = queryset.filter(pk__in=ids)
    return queryset.only("pk", "code", "name", "acronym")


# -- bearer tokens of institutions' systems (APIs of other apps) ------------------------------------------


@dataclass(frozen=True)
class ClientToken:
    """What a valid access token says about its caller: an approved client of one institution."""

    institution_id: int
    client_id: str
    application_id: int
    application_name: str
    scopes: frozenset[str]
    user_id: int | None  # None for client credentials


def client_token_get(token: str) -> ClientToken | None:
    """The caller behind ``Authorization: Bearer <token>``: a live, unrevoked access token of an *approved*
    client registration; None otherwise. Other apps check the scope they need."""
    if not token or len(token) > 512:
        return None
    from oauth2_provider.models import get_access_token_model

    access = (
        get_access_token_model()
        .objects.select_related("application")
        .filter(token_checksum=hashlib.sha256(token.encode()).hexdigest())
        .first()
    )
    if access is None or access.application is None or access.is_expired():
        return None
    registration = (
        ClientRegistration.objects.filter(
            application_id=access.application_id, status=ClientRegistration.Status.APPROVED
        )
        .only("institution_id")
        .first()
    )
    if registration is None:
        return None
    return ClientToken(
        institution_id=registration.institution_id,
        client_id=access.application.client_id,
        application_id=access.application_id,
        application_name=access.application.name,
        scopes=frozenset(access.scope.split()),
        user_id=access.user_id,
    )


def bearer_token(request: Any) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""
