"""Demo relying-party applications (demo data only — never load them in a real installation).

``load_demo_clients()`` is idempotent: it registers and approves what is missing, through the same services as
the back office (system actor), and leaves existing registrations as they are except that a confidential
demo client's secret is reset to the documented value if it no longer matches.

- ``demo-licencias``: confidential, code flow (PKCE), Bolivian claim shape, every scope. Secret: env
  ``VENTANILLA_DEMO_CLIENT_SECRET``, default ``DEFAULT_DEMO_CLIENT_SECRET``.
- ``demo-spa``: public (no secret), code flow with PKCE.
- ``demo-interop``: confidential, client credentials (machine to machine). Secret: env
  ``VENTANILLA_DEMO_INTEROP_CLIENT_SECRET``, default ``DEFAULT_DEMO_INTEROP_SECRET``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import check_password

from ventanilla.core.models import Institution

from .clients import (
    AUTHORIZATION_CODE,
    CLIENT_CREDENTIALS,
    CONFIDENTIAL,
    PUBLIC,
    client_approve,
    client_register,
    client_secret_rotate,
)
from .models import ClientRegistration

DEMO_INSTITUTION_CODE = "SEGIP"
DEFAULT_DEMO_CLIENT_SECRET = "demo-licencias-secreto-solo-para-pruebas-0123456789"  # noqa: S105 (documented demo)
DEFAULT_DEMO_INTEROP_SECRET = "demo-interop-secreto-solo-para-pruebas-0123456789"  # noqa: S105 (documented demo)


@dataclass(frozen=True)
class DemoClient:
    client_id: str
    name: str
    client_type: str
    grant_type: str
    redirect_uris: list[str] = field(default_factory=list)
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    allowed_scopes: list[str] = field(default_factory=list)
    claim_shape: str = ClientRegistration.ClaimShape.STANDARD
    description: str = ""
    secret_env: str = ""
    secret_default: str = ""

    def secret(self) -> str | None:
        if self.client_type != CONFIDENTIAL:
            return None
        return os.environ.get(self.secret_env) or self.secret_default


DEMO_CLIENTS = (
    DemoClient(
        client_id="demo-licencias",
        name="Sistema de Licencias (demo)",
        client_type=CONFIDENTIAL,
        grant_type=AUTHORIZATION_CODE,
        redirect_uris=["http://127.0.0.1:8080/callback", "http://localhost:8080/callback"],
        post_logout_redirect_uris=["http://127.0.0.1:8080/", "http://localhost:8080/"],
        allowed_scopes=[
            "openid",
            "profile",
            "email",
            "phone",
            "documento_identidad",
            "fecha_nacimiento",
            "celular",
            "offline_access",
        ],
        claim_shape=ClientRegistration.ClaimShape.BOLIVIA,
        description="Sistema de ejemplo de una institución, compatible con Ciudadanía Digital de Bolivia.",
        secret_env="VENTANILLA_DEMO_CLIENT_SECRET",  # noqa: S106 (an env var name)
        secret_default=DEFAULT_DEMO_CLIENT_SECRET,
    ),
    DemoClient(
        client_id="demo-spa",
        name="Aplicación web de ejemplo (demo)",
        client_type=PUBLIC,
        grant_type=AUTHORIZATION_CODE,
        redirect_uris=["http://127.0.0.1:5173/callback"],
        post_logout_redirect_uris=["http://127.0.0.1:5173/"],
        allowed_scopes=["openid", "profile", "email"],
        description="Aplicación de una sola página (sin secreto) que usa PKCE.",
    ),
    DemoClient(
        client_id="demo-interop",
        name="Interoperabilidad de ejemplo (demo)",
        client_type=CONFIDENTIAL,
        grant_type=CLIENT_CREDENTIALS,
        allowed_scopes=["expedientes", "notificaciones", "aprobacion_documentos", "interoperabilidad"],
        description="Cliente de servidor a servidor para la plataforma de interoperabilidad.",
        secret_env="VENTANILLA_DEMO_INTEROP_CLIENT_SECRET",  # noqa: S106 (an env var name)
        secret_default=DEFAULT_DEMO_INTEROP_SECRET,
    ),
)


def _demo_institution() -> Institution | None:
    return (
        Institution.objects.filter(code=DEMO_INSTITUTION_CODE).first()
        or Institution.objects.order_by("pk").first()
    )


def load_demo_clients() -> list[ClientRegistration]:
    """Register (approved) the demo clients that are missing; return all of them. Safe to run again."""
    institution = _demo_institution()
    if institution is None:
        return []
    loaded = []
    for demo in DEMO_CLIENTS:
        secret = demo.secret()
        registration = (
            ClientRegistration.objects.select_related("application")
            .filter(application__client_id=demo.client_id)
            .first()
        )
        if registration is None:
            registration, _ = client_register(
                actor=None,
                institution=institution,
                name=demo.name,
                client_type=demo.client_type,
                grant_type=demo.grant_type,
                redirect_uris=demo.redirect_uris,
                post_logout_redirect_uris=demo.post_logout_redirect_uris,
                allowed_scopes=demo.allowed_scopes,
                claim_shape=demo.claim_shape,
                description=demo.description,
                client_id=demo.client_id,
                client_secret=secret,
            )
            registration = client_approve(
                actor=None, registration=registration, comment="Aplicación de demostración."
            )
        elif secret is not None and not check_password(secret, registration.application.client_secret):
            client_secret_rotate(actor=None, registration=registration, client_secret=secret)
        loaded.append(registration)
    return loaded


def demo_client_credentials() -> list[dict[str, Any]]:
    """The demo clients' ids and secrets, for the README and the demo loader's summary."""
    return [{"client_id": d.client_id, "name": d.name, "client_secret": d.secret()} for d in DEMO_CLIENTS]
