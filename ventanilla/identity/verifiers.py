"""Identity checks against the civil registry, behind an interface the interoperability module implements.

``settings.CIVIL_REGISTRY_VERIFIER`` is a dotted path to a class with a ``lookup`` method; the default is
:class:`DemoCivilRegistry`, which answers from a small fixed table (demo and tests only).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_VERIFIER = "ventanilla.identity.verifiers.DemoCivilRegistry"


@dataclass(frozen=True)
class CivilRecord:
    """What the civil registry holds about a document."""

    first_names: str
    first_surname: str
    second_surname: str
    birth_date: dt.date | None
    deceased: bool = False


class CivilRegistryVerifier(Protocol):
    def lookup(self, document_type: str, number: str, complement: str) -> CivilRecord | None:
        """The record for this document, or ``None`` when the registry does not know it.
        Raise :class:`CivilRegistryUnavailable` when the registry cannot be reached."""


class CivilRegistryUnavailable(Exception):
    """The registry could not answer (network, timeout, maintenance)."""


# Demo records: (document type, number, complement) → record. Documented in docs/demo-data.md by the demo.
DEMO_RECORDS: dict[tuple[str, str, str], CivilRecord] = {
    ("CI", "4567891", ""): CivilRecord("Juana", "Quispe", "Mamani", dt.date(1990, 5, 17)),
    ("CI", "1234567", "1A"): CivilRecord("José Luis", "Fernández", "Choque", dt.date(1985, 11, 2)),
    ("CI", "7654321", ""): CivilRecord("María Inés", "Gutiérrez", "", dt.date(1978, 1, 30)),
    ("CI", "4567890", ""): CivilRecord("Ramón", "Benítez", "Ortiz", dt.date(1982, 7, 9)),
    ("CI", "3333333", ""): CivilRecord("Pedro", "Rojas", "Vargas", dt.date(1940, 3, 3), deceased=True),
}


class DemoCivilRegistry:
    """Deterministic demo registry: the records in :data:`DEMO_RECORDS`; besides, by rule, any document
    number ending in ``00`` belongs to a deceased person. Every other document is unknown."""

    def lookup(self, document_type: str, number: str, complement: str) -> CivilRecord | None:
        key = (document_type.upper(), number.upper(), (complement or "").upper())
        record = DEMO_RECORDS.get(key)
        if record is not None:
            return record
        if number.endswith("00"):
            return CivilRecord("Persona", "Fallecida", "", None, deceased=True)
        return None


def get_verifier() -> CivilRegistryVerifier:
    path = getattr(settings, "CIVIL_REGISTRY_VERIFIER", DEFAULT_VERIFIER) or DEFAULT_VERIFIER
    verifier: CivilRegistryVerifier = import_string(path)()
    return verifier


def comparable(text: str) -> str:
    """Accent-, case- and spacing-insensitive form of a name: «  JOSÉ  luis » → «jose luis»."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())
