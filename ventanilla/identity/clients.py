"""Writes for registered relying-party applications (OAuth2/OIDC clients) and their review by the agency.

An institution admin registers an application for their institution; it starts ``pendiente`` and cannot sign
anyone in until the platform agency approves it. Bad registrations are refused here, with every problem
reported at once (one :class:`DomainError` with ``extra`` items), each on the field it belongs to.

Client secrets are random values of ≥ 256 bits generated here (never chosen by people). The model field
hashes them on save with the fast keyed hasher (``vt_hmac_sha256``); the raw value is returned once to the
caller to show once, and is never stored or audited.

``actor=None`` is the system itself (demo loader, management commands run by the operator).
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from oauth2_provider.models import get_application_model

from ventanilla.core.errors import DomainError, ErrorItem, Forbidden, InvalidTransition
from ventanilla.core.models import Institution, Role
from ventanilla.core.permissions import has_institution_role, is_platform_admin
from ventanilla.core.services import audit_record

from .models import AssuranceLevel, ClientRegistration

Application = get_application_model()
Status = ClientRegistration.Status

CONFIDENTIAL = "confidential"
PUBLIC = "public"
CLIENT_TYPES = (CONFIDENTIAL, PUBLIC)
AUTHORIZATION_CODE = "authorization-code"
CLIENT_CREDENTIALS = "client-credentials"
GRANT_TYPES = (AUTHORIZATION_CODE, CLIENT_CREDENTIALS)

# Scopes a machine-to-machine (client-credentials) client may hold: none yet. The interoperability module
# will add its service scopes here; personal-data scopes never belong to a client that acts for nobody.
# Scopes for institutions' own systems (client credentials): they name platform APIs, not personal data.
MACHINE_SCOPES: frozenset[str] = frozenset(
    {"expedientes", "notificaciones", "aprobacion_documentos", "interoperabilidad"}
)

# http is accepted only on the loopback interface (a developer's machine, RFC 8252 §7.3).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_REDIRECT_URIS = 20
MAX_URL_LENGTH = 200  # URLField default of the registration's logo and privacy-policy fields
MIN_FIXED_SECRET_LENGTH = 32

# Changing these on an approved application sends it back to review: they decide where codes and tokens go
# and what personal data the application may ask for.
# What the person sees on the consent screen or what data is released: changing it needs the agency again.
REVIEWED_FIELDS = (
    "name",
    "redirect_uris",
    "post_logout_redirect_uris",
    "allowed_scopes",
    "claim_shape",
    "logo_url",
    "privacy_policy_url",
)


def known_scopes() -> list[str]:
    """Scopes the provider offers, in their canonical order."""
    return list(settings.OIDC_SCOPES)


def new_client_secret() -> str:
    """A fresh client secret: 48 random bytes (384 bits), URL-safe."""
    return secrets.token_urlsafe(48)


# --------------------------------------------------------------------------------------------------------
# Permissions
# --------------------------------------------------------------------------------------------------------


def _may_manage(actor: Any, institution_id: int) -> bool:
    if actor is None:
        return True
    return is_platform_admin(actor) or has_institution_role(actor, institution_id, {Role.INSTITUTION_ADMIN})


def _require_manager(actor: Any, institution_id: int) -> None:
    if not _may_manage(actor, institution_id):
        raise Forbidden(
            _("Solo los administradores de la institución o la agencia gestionan sus aplicaciones.")
        )


def _require_agency(actor: Any) -> None:
    if actor is not None and not is_platform_admin(actor):
        raise Forbidden(_("La revisión de aplicaciones es tarea de la agencia de gobierno electrónico."))


# --------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------


def _uri_problems(uri: str, field: str) -> list[ErrorItem]:
    """Why ``uri`` cannot be a redirect target (empty list if it can)."""
    problems: list[ErrorItem] = []

    def refuse(code: str, message: str) -> None:
        problems.append(ErrorItem(code, message, field))

    if any(ch.isspace() for ch in uri):
        refuse("redirect_uri_invalid", _("«%(uri)s» contiene espacios.") % {"uri": uri})
        return problems
    if "*" in uri:
        refuse(
            "redirect_uri_wildcard",
            _("«%(uri)s» contiene un comodín (*): registre cada dirección completa.") % {"uri": uri},
        )
    if "#" in uri:
        refuse(
            "redirect_uri_fragment",
            _("«%(uri)s» contiene un fragmento (#): las direcciones de retorno no pueden llevarlo.")
            % {"uri": uri},
        )
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname or ""
        parts.port  # noqa: B018 -- raises ValueError for a port out of range or not a number
    except ValueError:
        refuse("redirect_uri_invalid", _("«%(uri)s» no es una dirección válida.") % {"uri": uri})
        return problems
    if "@" in parts.netloc:
        refuse(
            "redirect_uri_userinfo",
            _("«%(uri)s» incluye usuario o contraseña (…@): no se admiten en la dirección.") % {"uri": uri},
        )
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not hostname:
        refuse(
            "redirect_uri_invalid",
            _("«%(uri)s» no es una dirección absoluta https://… válida.") % {"uri": uri},
        )
    elif scheme == "http" and hostname.lower() not in LOOPBACK_HOSTS:
        refuse(
            "redirect_uri_insecure",
            _(
                "«%(uri)s» usa http: use https. http solo se admite para pruebas en localhost, 127.0.0.1 "
                "o [::1]."
            )
            % {"uri": uri},
        )
    return problems


def _check_uris(uris: list[str], field: str) -> tuple[list[str], list[ErrorItem]]:
    cleaned = list(dict.fromkeys(u.strip() for u in uris if u and u.strip()))
    problems: list[ErrorItem] = []
    if len(cleaned) > MAX_REDIRECT_URIS:
        problems.append(
            ErrorItem(
                "redirect_uri_too_many",
                _("Registre como máximo %(max)s direcciones.") % {"max": MAX_REDIRECT_URIS},
                field,
            )
        )
    for uri in cleaned:
        problems.extend(_uri_problems(uri, field))
    return cleaned, problems


def _check_https_url(value: str, field: str, label: str) -> tuple[str, list[ErrorItem]]:
    value = (value or "").strip()
    if not value:
        return "", []
    bad = ErrorItem(
        "url_invalid",
        _("%(label)s debe ser una dirección https://… completa, sin usuario ni contraseña.")
        % {"label": label},
        field,
    )
    if len(value) > MAX_URL_LENGTH:
        return value, [
            ErrorItem(
                "url_too_long",
                _("%(label)s admite hasta %(max)s caracteres.") % {"label": label, "max": MAX_URL_LENGTH},
                field,
            )
        ]
    try:
        parts = urlsplit(value)
    except ValueError:
        return value, [bad]
    if parts.scheme.lower() != "https" or not parts.hostname or "@" in parts.netloc or " " in value:
        return value, [bad]
    return value, []


def _check_scopes(scopes: list[str], grant_type: str) -> tuple[list[str], list[ErrorItem]]:
    wanted = {s.strip() for s in scopes if s and s.strip()}
    available = known_scopes()
    problems: list[ErrorItem] = []
    unknown = sorted(wanted - set(available))
    if unknown:
        problems.append(
            ErrorItem(
                "scope_unknown",
                _("Alcances desconocidos: %(unknown)s. Los disponibles son: %(available)s.")
                % {"unknown": ", ".join(unknown), "available": ", ".join(available)},
                "allowed_scopes",
            )
        )
    if grant_type == CLIENT_CREDENTIALS:
        personal = sorted((wanted & set(available)) - MACHINE_SCOPES)
        if personal:
            problems.append(
                ErrorItem(
                    "scope_not_allowed",
                    _(
                        "Una aplicación de servidor a servidor (credenciales de cliente) no actúa en "
                        "nombre de una persona y no puede pedir datos personales. Quite: %(scopes)s."
                    )
                    % {"scopes": ", ".join(personal)},
                    "allowed_scopes",
                )
            )
    elif wanted & MACHINE_SCOPES:
        problems.append(
            ErrorItem(
                "scope_not_allowed",
                _(
                    "Estos alcances son solo para sistemas de servidor a servidor "
                    "(credenciales de cliente): %(s)s."
                )
                % {"s": ", ".join(sorted(wanted & MACHINE_SCOPES))},
                "allowed_scopes",
            )
        )
    if grant_type == AUTHORIZATION_CODE and "openid" not in wanted:
        problems.append(
            ErrorItem(
                "scope_openid_required",
                _("Incluya el alcance «openid»: es el que identifica a la persona que inicia sesión."),
                "allowed_scopes",
            )
        )
    ordered = [s for s in available if s in wanted]
    return ordered, problems


def _validate(
    *,
    name: str,
    client_type: str,
    grant_type: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str],
    allowed_scopes: list[str],
    claim_shape: str,
    min_assurance: str,
    logo_url: str,
    privacy_policy_url: str,
    description: str,
) -> dict[str, Any]:
    """Normalised values, or a DomainError listing every problem."""
    problems: list[ErrorItem] = []
    name = (name or "").strip()
    if not name:
        problems.append(ErrorItem("required", _("Indique el nombre de la aplicación."), "name"))
    elif len(name) > 255:
        problems.append(ErrorItem("too_long", _("El nombre admite hasta 255 caracteres."), "name"))
    description = (description or "").strip()
    if len(description) > 300:
        problems.append(
            ErrorItem("too_long", _("La descripción admite hasta 300 caracteres."), "description")
        )
    if client_type not in CLIENT_TYPES:
        problems.append(
            ErrorItem("invalid", _("Elija si la aplicación es confidencial o pública."), "client_type")
        )
    if grant_type not in GRANT_TYPES:
        problems.append(
            ErrorItem(
                "invalid",
                _("Elija el flujo: código de autorización o credenciales de cliente."),
                "grant_type",
            )
        )
    elif client_type == PUBLIC and grant_type != AUTHORIZATION_CODE:
        problems.append(
            ErrorItem(
                "public_client_grant",
                _(
                    "Una aplicación pública (sin secreto, como una aplicación web de una sola página o "
                    "móvil) solo puede usar el código de autorización con PKCE."
                ),
                "grant_type",
            )
        )

    redirects, found = _check_uris(redirect_uris, "redirect_uris")
    problems.extend(found)
    logouts, found = _check_uris(post_logout_redirect_uris, "post_logout_redirect_uris")
    problems.extend(found)
    if grant_type == AUTHORIZATION_CODE and not redirects:
        problems.append(
            ErrorItem(
                "redirect_uri_required",
                _("Registre al menos una dirección de retorno (redirect URI)."),
                "redirect_uris",
            )
        )
    if grant_type == CLIENT_CREDENTIALS:
        if redirects:
            problems.append(
                ErrorItem(
                    "redirect_uri_not_allowed",
                    _("Una aplicación con credenciales de cliente no usa direcciones de retorno: quítelas."),
                    "redirect_uris",
                )
            )
        if logouts:
            problems.append(
                ErrorItem(
                    "redirect_uri_not_allowed",
                    _("Una aplicación con credenciales de cliente no usa direcciones de cierre de sesión."),
                    "post_logout_redirect_uris",
                )
            )

    scopes, found = _check_scopes(allowed_scopes, grant_type)
    problems.extend(found)
    if claim_shape not in ClientRegistration.ClaimShape.values:
        problems.append(ErrorItem("invalid", _("Elija el formato de los datos."), "claim_shape"))
    if min_assurance not in AssuranceLevel.values:
        problems.append(ErrorItem("invalid", _("Elija el nivel de seguridad mínimo."), "min_assurance"))
    logo_url, found = _check_https_url(logo_url, "logo_url", _("El logotipo"))
    problems.extend(found)
    privacy_policy_url, found = _check_https_url(
        privacy_policy_url, "privacy_policy_url", _("La política de privacidad")
    )
    problems.extend(found)

    if problems:
        first, *rest = problems
        raise DomainError(message=first.message, code=first.code, field=first.field, extra=rest)
    return {
        "name": name,
        "client_type": client_type,
        "grant_type": grant_type,
        "redirect_uris": redirects,
        "post_logout_redirect_uris": logouts,
        "allowed_scopes": scopes,
        "claim_shape": claim_shape,
        "min_assurance": min_assurance,
        "logo_url": logo_url,
        "privacy_policy_url": privacy_policy_url,
        "description": description,
    }


def _fixed_value_allowed(actor: Any, value: str | None, field: str) -> None:
    """Fixed client ids and secrets are for the system's own demo data, never for people."""
    if value is None:
        return
    if actor is not None:
        raise Forbidden(_("Los identificadores y secretos los genera la plataforma."))
    if field == "client_secret" and len(value) < MIN_FIXED_SECRET_LENGTH:
        raise DomainError(message=_("El secreto es demasiado corto."), code="secret_too_short", field=field)


# --------------------------------------------------------------------------------------------------------
# Audit picture (never the secret)
# --------------------------------------------------------------------------------------------------------


def registration_snapshot(registration: ClientRegistration) -> dict[str, Any]:
    app = registration.application
    return {
        "client_id": app.client_id,
        "name": app.name,
        "client_type": app.client_type,
        "grant_type": app.authorization_grant_type,
        "redirect_uris": app.redirect_uris.split(),
        "post_logout_redirect_uris": app.post_logout_redirect_uris.split(),
        "institution": registration.institution_id,
        "status": registration.status,
        "allowed_scopes": registration.allowed_scopes.split(),
        "claim_shape": registration.claim_shape,
        "min_assurance": registration.min_assurance,
        "logo_url": registration.logo_url,
        "privacy_policy_url": registration.privacy_policy_url,
        "description": registration.description,
        "review_comment": registration.review_comment,
    }


def _actor_user(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


# --------------------------------------------------------------------------------------------------------
# Register and update
# --------------------------------------------------------------------------------------------------------


def client_register(
    *,
    actor: Any,
    institution: Institution,
    name: str,
    client_type: str,
    grant_type: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str],
    allowed_scopes: list[str],
    claim_shape: str = ClientRegistration.ClaimShape.STANDARD,
    min_assurance: str = AssuranceLevel.BASICO,
    logo_url: str = "",
    privacy_policy_url: str = "",
    description: str = "",
    client_id: str | None = None,
    client_secret: str | None = None,
) -> tuple[ClientRegistration, str | None]:
    """Register an application for ``institution``, pending the agency's approval.

    Returns the registration and the raw client secret (``None`` for public clients, which have none): show
    it once, it cannot be read again. ``client_id``/``client_secret`` may be fixed only by the system.
    """
    _require_manager(actor, institution.pk)
    _fixed_value_allowed(actor, client_id, "client_id")
    _fixed_value_allowed(actor, client_secret, "client_secret")
    values = _validate(
        name=name,
        client_type=client_type,
        grant_type=grant_type,
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout_redirect_uris,
        allowed_scopes=allowed_scopes,
        claim_shape=claim_shape,
        min_assurance=min_assurance,
        logo_url=logo_url,
        privacy_policy_url=privacy_policy_url,
        description=description,
    )
    if not institution.is_active:
        raise DomainError(
            message=_("La institución no está activa."), code="institution_inactive", field="institution"
        )
    if client_id is not None and Application.objects.filter(client_id=client_id).exists():
        raise DomainError(message=_("Ese identificador ya existe."), code="duplicate", field="client_id")

    confidential = values["client_type"] == CONFIDENTIAL
    raw_secret = client_secret or new_client_secret()
    with transaction.atomic():
        application = Application(
            name=values["name"],
            client_type=values["client_type"],
            authorization_grant_type=values["grant_type"],
            redirect_uris=" ".join(values["redirect_uris"]),
            post_logout_redirect_uris=" ".join(values["post_logout_redirect_uris"]),
            algorithm=Application.RS256_ALGORITHM if values["grant_type"] == AUTHORIZATION_CODE else "",
            hash_client_secret=True,
            skip_authorization=False,
            # Public clients get an unusable random secret that nobody ever sees.
            client_secret=raw_secret if confidential else new_client_secret(),
        )
        if client_id is not None:
            application.client_id = client_id
        application.save()
        registration = ClientRegistration.objects.create(
            application=application,
            institution=institution,
            status=Status.PENDING,
            allowed_scopes=" ".join(values["allowed_scopes"]),
            claim_shape=values["claim_shape"],
            min_assurance=values["min_assurance"],
            logo_url=values["logo_url"],
            privacy_policy_url=values["privacy_policy_url"],
            description=values["description"],
            requested_by=_actor_user(actor),
        )
        audit_record(
            actor=actor,
            action="client.register",
            target=registration,
            institution=institution,
            after=registration_snapshot(registration),
        )
    return registration, (raw_secret if confidential else None)


def client_update(
    *,
    actor: Any,
    registration: ClientRegistration,
    name: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str],
    allowed_scopes: list[str],
    claim_shape: str,
    min_assurance: str,
    logo_url: str = "",
    privacy_policy_url: str = "",
    description: str = "",
) -> ClientRegistration:
    """Change an application's settings (its type and flow are fixed at registration).

    A rejected application goes back to review. An approved one goes back to review when an institution admin
    changes where codes are sent or which data it may ask for (``REVIEWED_FIELDS``); the agency's own edits
    keep it approved. A suspended application stays suspended until the agency approves it again.
    """
    _require_manager(actor, registration.institution_id)
    with transaction.atomic():
        registration = (
            ClientRegistration.objects.select_for_update()
            .select_related("application")
            .get(pk=registration.pk)
        )
        application = registration.application
        values = _validate(
            name=name,
            client_type=application.client_type,
            grant_type=application.authorization_grant_type,
            redirect_uris=redirect_uris,
            post_logout_redirect_uris=post_logout_redirect_uris,
            allowed_scopes=allowed_scopes,
            claim_shape=claim_shape,
            min_assurance=min_assurance,
            logo_url=logo_url,
            privacy_policy_url=privacy_policy_url,
            description=description,
        )
        before = registration_snapshot(registration)
        application.name = values["name"]
        application.redirect_uris = " ".join(values["redirect_uris"])
        application.post_logout_redirect_uris = " ".join(values["post_logout_redirect_uris"])
        registration.allowed_scopes = " ".join(values["allowed_scopes"])
        registration.claim_shape = values["claim_shape"]
        registration.min_assurance = values["min_assurance"]
        registration.logo_url = values["logo_url"]
        registration.privacy_policy_url = values["privacy_policy_url"]
        registration.description = values["description"]
        after = registration_snapshot(registration)
        if after == before:
            return registration
        agency = actor is None or is_platform_admin(actor)
        reviewed_change = any(before[key] != after[key] for key in REVIEWED_FIELDS)
        if registration.status == Status.REJECTED or (
            registration.status == Status.APPROVED and reviewed_change and not agency
        ):
            registration.status = Status.PENDING
            after["status"] = registration.status
        application.save(update_fields=["name", "redirect_uris", "post_logout_redirect_uris", "updated"])
        registration.save(
            update_fields=[
                "allowed_scopes",
                "claim_shape",
                "min_assurance",
                "logo_url",
                "privacy_policy_url",
                "description",
                "status",
            ]
        )
        audit_record(
            actor=actor,
            action="client.update",
            target=registration,
            institution=registration.institution_id,
            before=before,
            after=after,
        )
    return registration


# --------------------------------------------------------------------------------------------------------
# Review by the agency
# --------------------------------------------------------------------------------------------------------


ACTION_LABELS = {
    "approve": gettext_lazy("aprobar"),
    "reject": gettext_lazy("rechazar"),
    "suspend": gettext_lazy("suspender"),
}


def _review(
    *,
    actor: Any,
    registration: ClientRegistration,
    action: str,
    allowed_from: set[str],
    to: str,
    comment: str,
) -> ClientRegistration:
    _require_agency(actor)
    with transaction.atomic():
        registration = (
            ClientRegistration.objects.select_for_update()
            .select_related("application")
            .get(pk=registration.pk)
        )
        if registration.status not in allowed_from:
            raise InvalidTransition(str(registration.get_status_display()), str(ACTION_LABELS[action]))
        before = registration_snapshot(registration)
        registration.status = to
        registration.review_comment = comment
        registration.reviewed_by = _actor_user(actor)
        registration.reviewed_at = timezone.now()
        registration.save(update_fields=["status", "review_comment", "reviewed_by", "reviewed_at"])
        audit_record(
            actor=actor,
            action=f"client.{action}",
            target=registration,
            institution=registration.institution_id,
            before=before,
            after=registration_snapshot(registration),
        )
    return registration


def _required_comment(comment: str, message: str) -> str:
    comment = (comment or "").strip()
    if not comment:
        raise DomainError(message=message, code="required", field="comment")
    return comment


def client_approve(*, actor: Any, registration: ClientRegistration, comment: str = "") -> ClientRegistration:
    """The agency lets the application sign citizens in (also lifts a suspension)."""
    return _review(
        actor=actor,
        registration=registration,
        action="approve",
        allowed_from={Status.PENDING, Status.SUSPENDED},
        to=Status.APPROVED,
        comment=(comment or "").strip(),
    )


def client_reject(*, actor: Any, registration: ClientRegistration, comment: str) -> ClientRegistration:
    """The agency refuses a pending registration and tells the institution what to fix."""
    _require_agency(actor)
    text = _required_comment(comment, _("Indique a la institución qué debe corregir."))
    return _review(
        actor=actor,
        registration=registration,
        action="reject",
        allowed_from={Status.PENDING},
        to=Status.REJECTED,
        comment=text,
    )


def client_suspend(*, actor: Any, registration: ClientRegistration, comment: str) -> ClientRegistration:
    """The agency stops an approved application from signing anyone in, with the reason."""
    _require_agency(actor)
    text = _required_comment(comment, _("Indique el motivo de la suspensión."))
    return _review(
        actor=actor,
        registration=registration,
        action="suspend",
        allowed_from={Status.APPROVED},
        to=Status.SUSPENDED,
        comment=text,
    )


# --------------------------------------------------------------------------------------------------------
# Secret rotation
# --------------------------------------------------------------------------------------------------------


def client_secret_rotate(
    *, actor: Any, registration: ClientRegistration, client_secret: str | None = None
) -> str:
    """Replace a confidential application's secret; the old one stops working at once. Returns the new raw
    secret (show it once). ``client_secret`` may be fixed only by the system (demo data)."""
    _require_manager(actor, registration.institution_id)
    _fixed_value_allowed(actor, client_secret, "client_secret")
    raw_secret = client_secret or new_client_secret()
    with transaction.atomic():
        registration = (
            ClientRegistration.objects.select_for_update()
            .select_related("application")
            .get(pk=registration.pk)
        )
        application = registration.application
        if application.client_type != CONFIDENTIAL:
            raise DomainError(
                message=_("Las aplicaciones públicas no tienen secreto."),
                code="public_client_secret",
                field="client_type",
            )
        application.client_secret = raw_secret
        application.hash_client_secret = True
        application.save(update_fields=["client_secret", "hash_client_secret", "updated"])
        audit_record(
            actor=actor,
            action="client.secret_rotate",
            target=registration,
            institution=registration.institution_id,
            metadata={"client_id": application.client_id},
        )
    return raw_secret
