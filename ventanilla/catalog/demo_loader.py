"""Load the country's demo data set (institutions, offices, procedures, simplifications, demo accounts).

Idempotent: institutions and offices are upserted by code, procedures by slug (unchanged content writes
nothing), simplifications by (procedure, date, act), accounts by username. Uses the same services as the
back office and the import, so demo data obeys every rule real data does.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from ventanilla.core.errors import DomainError
from ventanilla.core.models import Institution
from ventanilla.core.services import institution_upsert, membership_grant, office_upsert

from .imports import ImportFailed, catalog_import
from .services import References, simplification_data_from_dict, simplification_record

DEMO_ROOT = Path(__file__).resolve().parent / "demo"
DEMO_PASSWORD_ENV = "VENTANILLA_DEMO_PASSWORD"  # noqa: S105 - the variable name
DEFAULT_DEMO_PASSWORD = "ventanilla-demo"  # noqa: S105 - documented demo credential, dev installs only


@dataclass
class DemoReport:
    institutions: int = 0
    offices: int = 0
    procedures_created: int = 0
    procedures_updated: int = 0
    procedures_unchanged: int = 0
    simplifications: int = 0
    users: int = 0


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def load_demo(*, country_dir: str | None = None) -> DemoReport:
    folder = DEMO_ROOT / (country_dir or settings.COUNTRY_PACK.demo_dir)
    report = DemoReport()
    with transaction.atomic():
        institutions = _read(folder / "institutions.json")
        # Parents first: create every institution without parent, then set parents.
        for item in institutions:
            values = {
                k: item.get(k) or ""
                for k in (
                    "name",
                    "acronym",
                    "level",
                    "website",
                    "email",
                    "phone",
                    "description",
                    "department",
                )
            }
            institution, _ = institution_upsert(actor=None, code=item["code"], **values)
            report.institutions += 1
            for office in item.get("offices", []):
                office_values = {
                    k: office.get(k) or ""
                    for k in ("name", "address", "department", "municipality", "opening_hours", "phone")
                }
                for coordinate in ("latitude", "longitude"):
                    value = office.get(coordinate)
                    office_values[coordinate] = (
                        Decimal(str(value)).quantize(Decimal("0.000001")) if value else None
                    )
                office_upsert(actor=None, institution=institution, code=office["code"], **office_values)
                report.offices += 1
        by_code = {i.code: i for i in Institution.objects.all()}
        for item in institutions:
            parent = by_code.get(item.get("parent") or "")
            if parent is not None:
                institution_upsert(actor=None, code=item["code"], parent=parent)

        records = []
        for path in sorted(folder.glob("procedures*.json")):
            for index, raw in enumerate(_read(path), start=1):
                records.append((f"{path.name} registro {index}", raw))
        try:
            result = catalog_import(actor=None, records=records, refs=References())
        except ImportFailed as exc:
            lines = "\n".join(f"{e.location}: {e.message} [{e.field}]" for e in exc.report.errors[:50])
            raise DomainError(
                message=f"Datos de demostración inválidos:\n{lines}", code="demo_invalid"
            ) from exc
        report.procedures_created = result.created
        report.procedures_updated = result.updated
        report.procedures_unchanged = result.unchanged

        for path in sorted(folder.glob("simplifications*.json")):
            for raw in _read(path):
                data, errors = simplification_data_from_dict(raw)
                if errors or data is None:
                    raise DomainError(message=f"{path.name}: {errors[0].message}", code="demo_invalid")
                simplification_record(actor=None, data=data)
                report.simplifications += 1

        users_file = folder / "users.json"
        if users_file.exists():
            report.users = _load_users(_read(users_file), by_code)
    return report


def _load_users(users: list[dict[str, Any]], institutions: dict[str, Institution]) -> int:
    user_model = get_user_model()
    password = os.environ.get(DEMO_PASSWORD_ENV, DEFAULT_DEMO_PASSWORD)
    for item in users:
        user, created = user_model.objects.get_or_create(
            username=item["username"],
            defaults={
                "first_name": item.get("first_name", ""),
                "last_name": item.get("last_name", ""),
                "email": item.get("email", ""),
            },
        )
        if created:
            user.set_password(password)
            user.is_staff = bool(item.get("is_staff"))
            user.is_superuser = bool(item.get("is_superuser"))
            user.save()
        for role in item.get("roles", []):
            institution = institutions.get(role.get("institution") or "")
            membership_grant(actor=None, user=user, role=role["role"], institution=institution)
    return len(users)
