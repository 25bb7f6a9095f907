"""Building blocks of a *country pack*.

One Ventanilla installation serves exactly one country. Everything that is
specific to that country (currency, time zone, holidays, territorial
divisions, identity documents, legal rules...) is described by a single
immutable :class:`CountryPack`, so the rest of the code asks the pack instead
of branching on the country code.

This module has no Django dependency on purpose: it is plain data plus small
pure functions, easy to test in isolation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

# Rules that decide when an electronic notification takes legal effect.
#: The notification takes effect as soon as it is delivered to the citizen's
#: electronic mailbox (Bolivia).
NOTIFY_ON_DELIVERY = "on_delivery"
#: The notification takes effect when the citizen opens it or, at the latest,
#: after a fixed number of days since delivery (Paraguay).
NOTIFY_ON_OPEN_OR_DAYS = "on_open_or_days"
NOTIFICATION_EFFECT_RULES: tuple[str, ...] = (NOTIFY_ON_DELIVERY, NOTIFY_ON_OPEN_OR_DAYS)

# Characters people commonly type inside document numbers as visual separators
# ("4.567.890", "E-1234567", "1234 567"). They never carry meaning.
_SEPARATORS = re.compile(r"[\s.\-]+")


def _clean(value: str) -> str:
    """Remove separators (whitespace, dots, hyphens) and upper-case ``value``."""
    return _SEPARATORS.sub("", value or "").upper()


@dataclass(frozen=True)
class Department:
    """First-level territorial division (departamento) of a country.

    ``municipalities`` holds the names of the second-level divisions
    (municipios in Bolivia, distritos in Paraguay). The capital is always one
    of them. ``holiday_subdivision`` is the subdivision code the ``holidays``
    package uses for this department, or ``None`` when the package has no
    regional holidays for the country.
    """

    code: str
    name: str
    capital: str
    municipalities: tuple[str, ...]
    holiday_subdivision: str | None = None


@dataclass(frozen=True)
class DocumentType:
    """A personal identity document accepted by the platform.

    Input normalization (see :meth:`normalize`): spaces, dots and hyphens are
    removed and letters are upper-cased, because citizens write the same
    number as ``4.567.890``, ``4567890`` or ``4 567 890``. If ``prefix`` is
    set (e.g. ``"E"`` for Bolivian foreigners' cards written ``E-1234567``),
    a leading prefix is accepted and removed, so the stored value is always
    the bare number. ``pattern`` is then matched against the *whole*
    normalized number.

    The optional complement (Bolivia: a 2-character suffix such as ``1A``
    that SEGIP adds to tell apart two people who were given the same number)
    is validated separately against ``complement_pattern`` after the same
    normalization.

    ``issuing_department_required`` says whether the department that issued
    the card must be captured together with the number.
    """

    code: str
    name: str
    pattern: str
    has_complement: bool = False
    complement_pattern: str = ""
    issuing_department_required: bool = False
    example: str = ""
    #: Short Spanish description of the expected format, shown in errors.
    format_hint: str = ""
    #: Optional leading letters accepted in input and removed by normalize().
    prefix: str = ""
    #: Free-form notes for developers (not shown to users).
    notes: str = field(default="", compare=False)

    def normalize(self, number: str) -> str:
        """Return ``number`` without separators, upper-cased and unprefixed."""
        cleaned = _clean(number)
        if self.prefix and cleaned.startswith(self.prefix) and len(cleaned) > len(self.prefix):
            rest = cleaned[len(self.prefix) :]
            # Only strip when what follows is the number itself, so that a
            # passport-like value that merely starts with the letter survives.
            if rest[:1].isdigit():
                cleaned = rest
        return cleaned

    def normalize_complement(self, complement: str) -> str:
        """Return ``complement`` without separators and upper-cased."""
        return _clean(complement)

    def validate(self, number: str, complement: str = "") -> list[str]:
        """Validate a document number (and complement) typed by a citizen.

        Returns a list of Spanish error messages; an empty list means valid.
        Separators are ignored as described in the class docstring.
        """
        errors: list[str] = []
        value = self.normalize(number)
        if not value:
            errors.append(f"Ingrese el número de {self.name.lower()}.")
        elif not re.fullmatch(self.pattern, value):
            message = f"El número de {self.name.lower()} no es válido"
            if self.format_hint:
                message += f": debe tener {self.format_hint}"
            message += "."
            if self.example:
                message += f" Ejemplo: {self.example}."
            errors.append(message)
            if self.has_complement and any(ch.isalpha() for ch in value):
                errors.append(
                    "Escriba solo el número, sin letras: el complemento (por ejemplo, 1A) "
                    "va en su propio campo y la sigla del departamento de expedición "
                    "(LP, SC, CB…) no forma parte del número."
                )

        comp = self.normalize_complement(complement)
        if comp:
            if not self.has_complement:
                errors.append("Este documento no lleva complemento.")
            elif self.complement_pattern and not re.fullmatch(self.complement_pattern, comp):
                errors.append(
                    "El complemento no es válido: debe tener 2 caracteres, letras o números "
                    "(por ejemplo, 1A)."
                )
        return errors

    def is_valid(self, number: str, complement: str = "") -> bool:
        """Shortcut for ``not self.validate(number, complement)``."""
        return not self.validate(number, complement)


@dataclass(frozen=True)
class CountryPack:
    """Everything Ventanilla needs to know about the country it serves."""

    code: str
    name: str
    currency: str
    currency_symbol: str
    currency_decimals: int
    time_zone: str
    holidays_country: str
    locale_name: str
    phone_prefix: str
    agency_name: str
    agency_acronym: str
    portal_name: str
    departments: tuple[Department, ...]
    document_types: tuple[DocumentType, ...]
    notification_effect_rule: str
    demo_dir: str
    thousands_separator: str = "."
    decimal_separator: str = ","
    #: With NOTIFY_ON_OPEN_OR_DAYS: business days after delivery when an unopened notification is deemed
    #: notified (0 with NOTIFY_ON_DELIVERY).
    notification_deemed_business_days: int = 0

    def __post_init__(self) -> None:
        """Check the pack's internal consistency (fail fast at import time)."""
        problems: list[str] = []
        dep_codes = [d.code for d in self.departments]
        if len(set(dep_codes)) != len(dep_codes):
            problems.append("duplicate department codes")
        doc_codes = [d.code for d in self.document_types]
        if len(set(doc_codes)) != len(doc_codes):
            problems.append("duplicate document type codes")
        for dep in self.departments:
            if dep.capital not in dep.municipalities:
                problems.append(f"capital {dep.capital!r} not among {dep.code} municipalities")
            if len(set(dep.municipalities)) != len(dep.municipalities):
                problems.append(f"duplicate municipalities in {dep.code}")
        if self.notification_effect_rule not in NOTIFICATION_EFFECT_RULES:
            problems.append(f"unknown notification_effect_rule {self.notification_effect_rule!r}")
        if self.currency_decimals < 0:
            problems.append("currency_decimals must be >= 0")
        if problems:
            raise ValueError(f"Invalid country pack {self.code}: " + "; ".join(problems))

    # -- territory ---------------------------------------------------------

    def department(self, code: str | None) -> Department | None:
        """Return the department with ``code`` (case-insensitive), or None."""
        if not code:
            return None
        wanted = code.strip().upper()
        for dep in self.departments:
            if dep.code == wanted:
                return dep
        return None

    def department_choices(self) -> list[tuple[str, str]]:
        """``(code, name)`` pairs for a form select, in the pack's order."""
        return [(d.code, d.name) for d in self.departments]

    def municipality_choices(self, department_code: str | None) -> list[tuple[str, str]]:
        """``(name, name)`` pairs of the department's municipalities.

        Municipalities have no stable code of their own in this data, so the
        name is used as value. Unknown departments give an empty list.
        """
        dep = self.department(department_code)
        if dep is None:
            return []
        return [(m, m) for m in dep.municipalities]

    def holiday_subdivision(self, department_code: str | None) -> str | None:
        """``holidays`` subdivision code for a department, or None.

        None is returned for unknown departments and for countries whose
        holidays are national only (Paraguay).
        """
        dep = self.department(department_code)
        return dep.holiday_subdivision if dep is not None else None

    # -- documents -------------------------------------------------------

    def document_type(self, code: str | None) -> DocumentType | None:
        """Return the document type with ``code`` (case-insensitive), or None."""
        if not code:
            return None
        wanted = code.strip().upper()
        for doc in self.document_types:
            if doc.code == wanted:
                return doc
        return None

    def document_type_choices(self) -> list[tuple[str, str]]:
        """``(code, name)`` pairs for a form select, in the pack's order."""
        return [(d.code, d.name) for d in self.document_types]

    # -- money -----------------------------------------------------------

    def format_money(self, amount: Decimal | int | str) -> str:
        """Format an amount the way people write it in the country.

        Rounds half-up to ``currency_decimals``, groups thousands with
        ``thousands_separator`` and uses ``decimal_separator`` for decimals:
        ``Bs 1.234,50`` (Bolivia), ``₲ 50.000`` (Paraguay). Negative amounts
        get a leading minus sign: ``-Bs 10,00``.
        """
        value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
        quantum = Decimal(1).scaleb(-self.currency_decimals)
        value = value.quantize(quantum, rounding=ROUND_HALF_UP)
        sign = "-" if value < 0 else ""
        # Fixed-point text with "," grouping and "." decimals, then swap.
        text = f"{abs(value):,.{self.currency_decimals}f}"
        integer, _, decimals = text.partition(".")
        integer = integer.replace(",", self.thousands_separator)
        number = integer + (self.decimal_separator + decimals if decimals else "")
        return f"{sign}{self.currency_symbol} {number}"
