"""Data of the two demo registries (a civil registry and a company registry) served by ``providers.py``.

Demo data only. Persons include the demo citizens of Ciudadanía Digital (identity/demo_people.py), so a
form can be prefilled for them; companies are invented, with plausible tax ids.
"""

from __future__ import annotations

from typing import Any

from ventanilla.identity.demo_people import PEOPLE

EXTRA_PEOPLE: dict[str, list[dict[str, Any]]] = {
    "BO": [
        {
            "document": ("CI", "3344556", ""),
            "names": ("Rosa", "Flores", "Apaza"),
            "birth": "1979-08-30",
        },
        {
            "document": ("CI", "7788990", ""),
            "names": ("Luis Alberto", "Choque", "Condori"),
            "birth": "1995-02-11",
        },
    ],
    "PY": [
        {
            "document": ("CI", "2233445", ""),
            "names": ("Rosa", "Ferreira", "Aquino"),
            "birth": "1980-04-12",
        },
    ],
}

COMPANIES: dict[str, list[dict[str, Any]]] = {
    "BO": [
        {
            "nit": "1020304050",
            "razon_social": "Textiles Illimani S.R.L.",
            "tipo_societario": "Sociedad de Responsabilidad Limitada",
            "matricula": "00123456",
            "estado": "activa",
            "fecha_inscripcion": "2015-06-01",
            "domicilio": "Av. 6 de Agosto 2170, La Paz",
            "actividad": "Fabricación de productos textiles",
            "representante_legal": {"documento": "CI-4567891", "nombre": "Juan Carlos Quispe Mamani"},
        },
        {
            "nit": "2030405060",
            "razon_social": "Agroexportadora Chiquitana S.A.",
            "tipo_societario": "Sociedad Anónima",
            "matricula": "00234567",
            "estado": "activa",
            "fecha_inscripcion": "2009-10-20",
            "domicilio": "Calle Sucre 45, Santa Cruz de la Sierra",
            "actividad": "Cultivo y exportación de granos",
            "representante_legal": {"documento": "CI-5123987-1B", "nombre": "María Fernanda Rojas Choque"},
        },
        {
            "nit": "3040506070",
            "razon_social": "Café del Valle Unipersonal",
            "tipo_societario": "Empresa Unipersonal",
            "matricula": "00345678",
            "estado": "cancelada",
            "fecha_inscripcion": "2012-03-15",
            "domicilio": "Calle Jordán 310, Cochabamba",
            "actividad": "Expendio de alimentos y bebidas",
            "representante_legal": {"documento": "CI-7788990", "nombre": "Luis Alberto Choque Condori"},
        },
    ],
    "PY": [
        {
            "nit": "80012345-6",
            "razon_social": "Yerbatera del Guairá S.A.",
            "tipo_societario": "Sociedad Anónima",
            "matricula": "12345",
            "estado": "activa",
            "fecha_inscripcion": "2011-05-02",
            "domicilio": "Avda. Mariscal López 1234, Asunción",
            "actividad": "Elaboración de yerba mate",
            "representante_legal": {"documento": "CI-3456789", "nombre": "Juan Carlos Benítez Ortiz"},
        },
        {
            "nit": "80023456-7",
            "razon_social": "Soluciones Informáticas Chaco S.R.L.",
            "tipo_societario": "Sociedad de Responsabilidad Limitada",
            "matricula": "23456",
            "estado": "activa",
            "fecha_inscripcion": "2018-09-14",
            "domicilio": "Calle Palma 550, Asunción",
            "actividad": "Desarrollo de programas informáticos",
            "representante_legal": {"documento": "CI-4987654", "nombre": "María José Giménez Duarte"},
        },
    ],
}


def _person_record(item: dict[str, Any]) -> dict[str, Any]:
    doc_type, number, complement = item["document"]
    first_names, first_surname, second_surname = item["names"]
    birth = item.get("birth")
    return {
        "documento": {"tipo": doc_type, "numero": number, "complemento": complement},
        "nombres": first_names,
        "primer_apellido": first_surname,
        "segundo_apellido": second_surname,
        "fecha_nacimiento": birth if isinstance(birth, str) else (birth.isoformat() if birth else None),
        "estado": "vigente",
    }


def person_records() -> dict[str, dict[str, Any]]:
    """Every demo person of both countries, keyed by ``TYPE-NUMBER[-COMPLEMENT]``."""
    records = {}
    for country in ("BO", "PY"):
        for item in [*PEOPLE.get(country, []), *EXTRA_PEOPLE.get(country, [])]:
            doc_type, number, complement = item["document"]
            key = f"{doc_type}-{number}" + (f"-{complement}" if complement else "")
            records[key] = _person_record(item)
    return records


def company_records() -> dict[str, dict[str, Any]]:
    """Companies by tax id; a Paraguayan RUC is found with or without its check digit."""
    records = {}
    for country in ("BO", "PY"):
        for company in COMPANIES[country]:
            records[company["nit"]] = company
            records.setdefault(company["nit"].split("-")[0], company)
    return records
