"""Demo citizens (one per level of assurance), a registrar and clerks — demo data only.

Idempotent (by username / document). Passwords: env VENTANILLA_DEMO_PASSWORD or "ventanilla-demo".
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from ventanilla.core.models import Institution, Role
from ventanilla.core.services import audit_record, membership_grant

from .models import AssuranceLevel, DataSource, Person

DEFAULT_PASSWORD = "ventanilla-demo"  # noqa: S105 - documented demo credential

PEOPLE: dict[str, list[dict[str, Any]]] = {
    "BO": [
        {
            "document": ("CI", "4567891", ""),
            "names": ("Juan Carlos", "Quispe", "Mamani"),
            "birth": date(1988, 3, 14),
            "email": "juan.quispe@example.bo",
            "mobile": "+59171234567",
            "level": AssuranceLevel.BASICO,
        },
        {
            "document": ("CI", "5123987", "1B"),
            "names": ("María Fernanda", "Rojas", "Choque"),
            "birth": date(1992, 11, 2),
            "email": "maria.rojas@example.bo",
            "mobile": "+59176543210",
            "level": AssuranceLevel.VERIFICADO,
        },
    ],
    "PY": [
        {
            "document": ("CI", "3456789", ""),
            "names": ("Juan Carlos", "Benítez", "Ortiz"),
            "birth": date(1987, 6, 21),
            "email": "juan.benitez@example.com.py",
            "mobile": "+595981123456",
            "level": AssuranceLevel.BASICO,
        },
        {
            "document": ("CI", "4987654", ""),
            "names": ("María José", "Giménez", "Duarte"),
            "birth": date(1993, 1, 9),
            "email": "maria.gimenez@example.com.py",
            "mobile": "+595971654321",
            "level": AssuranceLevel.VERIFICADO,
        },
    ],
}
# (username, role, institution code, names, CI number) — public servants are persons with roles.
STAFF: dict[str, list[tuple[str, str, str, str, str]]] = {
    "BO": [
        ("registrador.segip", Role.CLERK, "SEGIP", "Rosa Flores Apaza", "3344556"),
        ("funcionario.sin", Role.CLERK, "SIN", "Pedro Gutiérrez Vaca", "6677889"),
        ("funcionario.rejap", Role.CLERK, "REJAP", "Lidia Mamani Cruz", "4455667"),
        ("funcionario.gamlp", Role.CLERK, "GAMLP", "Marco Aruquipa Laura", "5566778"),
        ("supervisor.gamlp", Role.SUPERVISOR, "GAMLP", "Silvia Ticona Ramos", "6677880"),
        ("funcionario.seprec", Role.CLERK, "SEPREC", "Javier Copa Nina", "7788991"),
    ],
    "PY": [
        ("registrador.identificaciones", Role.CLERK, "IDENTIFICACIONES", "Rosa Ferreira Aquino", "2233445"),
        ("funcionario.dnit", Role.CLERK, "DNIT", "Pedro Sanabria Rolón", "5566778"),
        ("funcionario.antecedentes", Role.CLERK, "ANTECEDENTES", "Lidia Ortiz Cabral", "4455667"),
        ("funcionario.mca", Role.CLERK, "MCA", "Marco Villalba Sosa", "6677881"),
        ("supervisor.mca", Role.SUPERVISOR, "MCA", "Silvia Duarte Rojas", "6677880"),
        ("funcionario.suace", Role.CLERK, "SUACE", "Javier Núñez Báez", "7788991"),
    ],
}


def username_for(document_type: str, number: str, complement: str = "") -> str:
    return f"{document_type}-{number}" + (f"-{complement}" if complement else "")


def load_demo_people() -> int:
    pack = settings.COUNTRY_PACK
    password = os.environ.get("VENTANILLA_DEMO_PASSWORD", DEFAULT_PASSWORD)
    user_model = get_user_model()
    count = 0
    with transaction.atomic():
        for staff_username, role, code, full_name, number in STAFF.get(pack.code, []):
            institution = Institution.objects.filter(code=code).first()
            if institution is None:
                continue
            first, _, last = full_name.partition(" ")
            user, created = user_model.objects.get_or_create(
                username=staff_username, defaults={"first_name": first, "last_name": last}
            )
            if created:
                user.set_password(password)
                user.save()
            membership_grant(actor=None, user=user, role=role, institution=institution)
            first_surname, _, second_surname = last.partition(" ")
            Person.objects.get_or_create(
                document_type="CI",
                document_number=number,
                document_complement="",
                defaults={
                    "user": user,
                    "first_names": first,
                    "first_surname": first_surname,
                    "second_surname": second_surname,
                    "assurance_level": AssuranceLevel.VERIFICADO,
                    "names_source": DataSource.REGISTRAR,
                    "verification_method": "registrador",
                    "verified_at": timezone.now(),
                },
            )
            count += 1
        for item in PEOPLE.get(pack.code, []):
            doc_type, number, complement = item["document"]
            first_names, first_surname, second_surname = item["names"]
            username = username_for(doc_type, number, complement)
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first_names,
                    "last_name": f"{first_surname} {second_surname}",
                    "email": item["email"],
                },
            )
            if created:
                user.set_password(password)
                user.save()
            verified = item["level"] == AssuranceLevel.VERIFICADO
            person, person_created = Person.objects.get_or_create(
                document_type=doc_type,
                document_number=number,
                document_complement=complement,
                defaults={
                    "user": user,
                    "first_names": first_names,
                    "first_surname": first_surname,
                    "second_surname": second_surname,
                    "birth_date": item["birth"],
                    "email": item["email"],
                    "email_verified": True,
                    "email_source": DataSource.CODE,
                    "mobile": item["mobile"],
                    "mobile_verified": True,
                    "mobile_source": DataSource.CODE,
                    "assurance_level": item["level"],
                    "names_source": DataSource.REGISTRAR if verified else DataSource.DECLARED,
                    "verified_at": timezone.now() if verified else None,
                    "verification_method": "registrador" if verified else "",
                },
            )
            if person_created:
                audit_record(
                    actor=None,
                    action="person.create",
                    target=person,
                    metadata={"source": "demo", "level": item["level"]},
                )
            count += 1
    return count
