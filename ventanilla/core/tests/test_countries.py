"""Tests for the country packs (plain pytest, no Django needed)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import holidays
import pytest

from ventanilla.core.countries import AVAILABLE, CountryPack, DocumentType, get_pack
from ventanilla.core.countries.base import NOTIFICATION_EFFECT_RULES, Department

BO = get_pack("BO")
PY = get_pack("PY")
LA_PAZ_DAY = datetime.date(2026, 7, 16)


# -- loading -------------------------------------------------------------------


@pytest.mark.parametrize("code", AVAILABLE)
def test_every_pack_loads_and_is_consistent(code: str) -> None:
    pack = get_pack(code)
    assert isinstance(pack, CountryPack)
    assert pack.code == code
    assert pack.demo_dir == code.lower()
    assert pack.notification_effect_rule in NOTIFICATION_EFFECT_RULES
    assert pack.phone_prefix.startswith("+")
    assert {"CI", "CIE", "PAS"} == {d.code for d in pack.document_types}
    for dep in pack.departments:
        assert dep.capital in dep.municipalities
        assert len(set(dep.municipalities)) == len(dep.municipalities)
    # The time zone must be one the standard library knows.
    from zoneinfo import ZoneInfo

    ZoneInfo(pack.time_zone)


def test_bolivia_basics() -> None:
    assert (BO.currency, BO.currency_symbol, BO.currency_decimals) == ("BOB", "Bs", 2)
    assert BO.time_zone == "America/La_Paz"
    assert BO.agency_acronym == "AGETIC"
    assert BO.notification_effect_rule == "on_delivery"
    assert len(BO.departments) == 9
    assert BO.department("L") == BO.department("l")
    dep = BO.department("S")
    assert dep is not None and dep.capital == "Santa Cruz de la Sierra"
    la_paz = BO.department("L")
    assert la_paz is not None
    for name in ("El Alto", "Viacha", "Achocalla"):
        assert name in la_paz.municipalities
    for dep in BO.departments:
        # Tarija has only 11 municipalities, all listed.
        assert len(dep.municipalities) >= (11 if dep.code == "T" else 12), dep.code


def test_paraguay_basics() -> None:
    assert (PY.currency, PY.currency_symbol, PY.currency_decimals) == ("PYG", "₲", 0)
    assert PY.time_zone == "America/Asuncion"
    assert PY.agency_acronym == "MITIC"
    assert PY.notification_effect_rule == "on_open_or_days"
    expected = {"ASU", *(str(n) for n in range(1, 17)), "19"}
    assert {d.code for d in PY.departments} == expected
    assert PY.municipality_choices("ASU") == [("Asunción", "Asunción")]
    central = PY.department("11")
    assert central is not None and "San Lorenzo" in central.municipalities
    # Departments with fewer than 8 districts list them all.
    small = {"ASU": 1, "13": 5, "16": 4, "19": 3}
    for dep in PY.departments:
        assert len(dep.municipalities) >= small.get(dep.code, 8), dep.code


def test_choices_and_lookups() -> None:
    assert ("L", "La Paz") in BO.department_choices()
    assert ("11", "Central") in PY.department_choices()
    assert ("CI", "Cédula de identidad") in BO.document_type_choices()
    assert BO.document_type("ci") is BO.document_type("CI")
    assert BO.document_type("NIT") is None
    assert BO.department("X") is None
    assert BO.department(None) is None
    assert BO.municipality_choices("X") == []
    assert ("El Alto", "El Alto") in BO.municipality_choices("L")


# -- holidays ------------------------------------------------------------------


def test_bolivian_departments_are_holidays_subdivisions() -> None:
    assert {d.code for d in BO.departments} == set(holidays.country_holidays("BO").subdivisions)
    for dep in BO.departments:
        assert BO.holiday_subdivision(dep.code) == dep.code


def test_paraguay_has_no_holiday_subdivisions() -> None:
    assert set(holidays.country_holidays("PY").subdivisions) == set()
    for dep in PY.departments:
        assert PY.holiday_subdivision(dep.code) is None
    assert PY.holiday_subdivision(None) is None


def test_la_paz_day_only_in_la_paz() -> None:
    la_paz = holidays.country_holidays(BO.holidays_country, subdiv=BO.holiday_subdivision("L"), years=2026)
    assert LA_PAZ_DAY in la_paz
    for dep in BO.departments:
        if dep.code == "L":
            continue
        other = holidays.country_holidays(
            BO.holidays_country, subdiv=BO.holiday_subdivision(dep.code), years=2026
        )
        assert LA_PAZ_DAY not in other, dep.code
    national = holidays.country_holidays(BO.holidays_country, subdiv=None, years=2026)
    assert LA_PAZ_DAY not in national


# -- documents -----------------------------------------------------------------


def _doc(pack: CountryPack, code: str) -> DocumentType:
    doc = pack.document_type(code)
    assert doc is not None
    return doc


@pytest.mark.parametrize(
    ("number", "complement"),
    [("4567891", ""), ("4.567.891", ""), (" 4567891 ", "1A"), ("12345", "1a"), ("1234567890", "")],
)
def test_bolivian_ci_accepts(number: str, complement: str) -> None:
    assert _doc(BO, "CI").validate(number, complement) == []


def test_bolivian_ci_rejects() -> None:
    ci = _doc(BO, "CI")
    assert ci.validate("") == ["Ingrese el número de cédula de identidad."]
    errors = ci.validate("1234")
    assert errors and "entre 5 y 10 dígitos" in errors[0]
    assert ci.validate("12345678901")
    # Issuing department written inside the number: explained in Spanish.
    errors = ci.validate("4567891 LP")
    assert len(errors) == 2 and "complemento" in errors[1]
    errors = ci.validate("4567891", "1AB")
    assert errors == [
        "El complemento no es válido: debe tener 2 caracteres, letras o números (por ejemplo, 1A)."
    ]
    assert not ci.issuing_department_required and ci.has_complement


def test_bolivian_cie_prefix_is_optional() -> None:
    cie = _doc(BO, "CIE")
    assert cie.validate("E-1234567") == []
    assert cie.validate("e 1234567") == []
    assert cie.validate("1234567") == []
    assert cie.normalize("E-1234567") == "1234567"
    assert cie.validate("X-1234567")
    assert cie.validate("1234567", "1A") == ["Este documento no lleva complemento."]


def test_passport() -> None:
    for pack in (BO, PY):
        pas = _doc(pack, "PAS")
        assert pas.validate("a1234567") == []
        assert pas.normalize("ab-123 456") == "AB123456"
        assert pas.validate("AB12")
        assert pas.validate("AB12345678901")
        assert pas.validate("AB12345#")


def test_paraguayan_ci() -> None:
    ci = _doc(PY, "CI")
    assert ci.validate("4.567.890") == []
    assert ci.normalize("4.567.890") == "4567890"
    assert ci.validate("123456789") == [
        (
            "El número de cédula de identidad civil no es válido: debe tener entre 5 y 8 "
            "dígitos. Ejemplo: 4.567.890."
        )
    ]
    assert ci.validate("45A7890")
    assert ci.validate("4567890", "1A") == ["Este documento no lleva complemento."]
    assert _doc(PY, "CIE").validate("8123456") == []


# -- money ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("1234.5"), "Bs 1.234,50"),
        (Decimal(0), "Bs 0,00"),
        (Decimal(17), "Bs 17,00"),
        (Decimal("1234567.891"), "Bs 1.234.567,89"),
        (Decimal("0.005"), "Bs 0,01"),
        (Decimal(-10), "-Bs 10,00"),
    ],
)
def test_format_money_bolivia(amount: Decimal, expected: str) -> None:
    assert BO.format_money(amount) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal(50000), "₲ 50.000"),
        (Decimal(1500000), "₲ 1.500.000"),
        (Decimal(999), "₲ 999"),
        (Decimal("2500.5"), "₲ 2.501"),
        (Decimal(0), "₲ 0"),
    ],
)
def test_format_money_paraguay(amount: Decimal, expected: str) -> None:
    assert PY.format_money(amount) == expected


# -- get_pack ------------------------------------------------------------------


def test_get_pack_is_case_insensitive() -> None:
    assert get_pack("bo") is BO
    assert get_pack(" Py ") is PY


def test_get_pack_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VENTANILLA_COUNTRY", raising=False)
    assert get_pack() is BO
    monkeypatch.setenv("VENTANILLA_COUNTRY", "py")
    assert get_pack() is PY
    monkeypatch.setenv("VENTANILLA_COUNTRY", "")
    assert get_pack() is BO


def test_get_pack_unknown_code(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="BO, PY") as info:
        get_pack("AR")
    assert "'AR'" in str(info.value)
    monkeypatch.setenv("VENTANILLA_COUNTRY", "CL")
    with pytest.raises(ValueError, match="VENTANILLA_COUNTRY"):
        get_pack()


def test_invalid_pack_is_rejected() -> None:
    with pytest.raises(ValueError, match="capital"):
        CountryPack(
            code="XX",
            name="Prueba",
            currency="XXX",
            currency_symbol="$",
            currency_decimals=2,
            time_zone="UTC",
            holidays_country="XX",
            locale_name="es",
            phone_prefix="+0",
            agency_name="Agencia",
            agency_acronym="AG",
            portal_name="Portal",
            departments=(Department("A", "Uno", "Capital", ("Otra",)),),
            document_types=(),
            notification_effect_rule="on_delivery",
            demo_dir="xx",
        )
