"""The definition validator: every problem listed at once, and the demo definitions of both countries are
valid (so `VENTANILLA_COUNTRY=PY make run` publishes them too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ventanilla.cases.definitions import validate
from ventanilla.core.countries import get_pack

from .conftest import spec

DEMO = Path(__file__).resolve().parents[2] / "catalog" / "demo"


def _offices(country: str) -> set[str]:
    data = json.loads((DEMO / country.lower() / "institutions.json").read_text())
    items = data if isinstance(data, list) else data["institutions"]
    return {office["code"] for item in items for office in item.get("offices", [])}


@pytest.mark.parametrize("country", ["BO", "PY"])
def test_demo_definitions_are_valid(country: str, settings: Any) -> None:
    from ventanilla.cases.demo import demo_definitions

    settings.COUNTRY_PACK = get_pack(country)
    definitions = demo_definitions()
    assert len(definitions) == 3
    for slug, definition in definitions:
        assert validate(definition, office_codes=_offices(country)) == [], slug


def test_every_problem_is_listed_at_once() -> None:
    bad = spec(
        fields=[*spec()["fields"], {"name": "rubro", "label": "Otra vez", "type": "text"}],
        steps=[*spec()["steps"], {"code": "archivo", "name": "Archivo", "sla_days": 1}],
        transitions=[*spec()["transitions"], {"action": "approve", "from": "revision", "to": "inexistente"}],
        resolution={"title": "R", "body": "Hola {{ desconocido }}"},
    )
    messages = [p.message for p in validate(bad, office_codes={"INSTA-SEDE"})]
    assert any("«rubro» está repetido" in m for m in messages)
    assert any("inexistente" in m for m in messages)  # transition to nowhere
    assert any("«archivo» es inalcanzable" in m for m in messages)
    assert any("«desconocido»" in m for m in messages)
    assert any("no tiene salida" in m for m in messages)
