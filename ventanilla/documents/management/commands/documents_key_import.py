"""Production: import an institution's signing certificate and key from a PKCS#12 (.p12/.pfx) file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ventanilla.core.errors import DomainError
from ventanilla.core.models import Institution
from ventanilla.documents import services


class Command(BaseCommand):
    help = (
        "Importa la clave de firma de una institución desde un archivo PKCS#12. La contraseña se lee de la "
        "variable de entorno indicada con --password-env (nunca en la línea de órdenes). Opcionalmente "
        "registra la raíz de confianza con --trust-root archivo.pem."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--institution", required=True, help="Código de la institución.")
        parser.add_argument("--pkcs12", required=True, type=Path)
        parser.add_argument("--password-env", default="DOCUMENTS_PKCS12_PASSWORD")
        parser.add_argument(
            "--trust-root", type=Path, help="Certificado raíz (PEM) a registrar como confiable."
        )
        parser.add_argument("--trust-root-name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        institution = Institution.objects.filter(code=options["institution"]).first()
        if institution is None:
            raise CommandError("No existe una institución con ese código.")
        password = os.environ.get(options["password_env"])
        try:
            services.signing_key_import(
                actor=None,
                institution_id=institution.pk,
                pkcs12=options["pkcs12"].read_bytes(),
                password=password.encode() if password else None,
            )
            if options["trust_root"]:
                pem = options["trust_root"].read_text()
                name = options["trust_root_name"] or options["trust_root"].stem
                services.trust_root_add(actor=None, name=name, certificate_pem=pem)
        except (DomainError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Clave de firma importada para {institution.code}.")
