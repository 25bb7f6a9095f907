"""`manage.py load_demo` loads every module's demo data and can be repeated without duplicating anything."""

from __future__ import annotations

from io import StringIO
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from oauth2_provider.models import Application

from ventanilla.catalog.models import Procedure
from ventanilla.core.models import AuditEntry, Membership
from ventanilla.identity.models import AssuranceLevel, ClientRegistration, Person


def _counts() -> dict[str, int]:
    return {
        "users": get_user_model().objects.count(),
        "people": Person.objects.count(),
        "memberships": Membership.objects.count(),
        "applications": Application.objects.count(),
        "procedures": Procedure.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def test_load_demo_is_complete_and_idempotent(db: Any) -> None:
    out = StringIO()
    call_command("load_demo", stdout=out)
    first = _counts()
    assert "Datos de demostración listos." in out.getvalue()
    assert Person.objects.filter(assurance_level=AssuranceLevel.BASICO).exists()
    assert Person.objects.filter(assurance_level=AssuranceLevel.VERIFICADO).exists()
    # Three demo OIDC clients plus one client-credentials client per interoperability consumer subsystem.
    assert (
        ClientRegistration.objects.filter(
            status=ClientRegistration.Status.APPROVED, application__client_id__startswith="demo-"
        ).count()
        == 3
    )
    assert Membership.objects.filter(role="clerk").values("institution").distinct().count() >= 2
    assert first["procedures"] >= 150
    # Expedientes: three procedures defined end to end, cases in every status and on every channel.
    from ventanilla.cases.models import Case, ProcedureDefinition

    assert ProcedureDefinition.objects.filter(status="publicada").count() == 3
    assert set(Case.objects.values_list("status", flat=True)) >= {
        "borrador",
        "en_tramite",
        "observado",
        "resuelto",
        "rechazado",
        "abandonado",
    }
    assert set(Case.objects.values_list("channel", flat=True)) == {"en_linea", "ventanilla", "telefono"}
    first["cases"] = Case.objects.count()

    call_command("load_demo", stdout=StringIO())
    again = _counts()
    again["cases"] = Case.objects.count()
    assert again == first
