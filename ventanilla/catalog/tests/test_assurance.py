"""A procedure can require a Ciudadanía Digital level; the page, the API and the CSV say which."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from conftest import make_procedure
from ventanilla.catalog.imports import catalog_import_file, export_csv
from ventanilla.catalog.selectors import export_queryset
from ventanilla.core.errors import DomainError


def test_required_level_is_shown_and_exchanged(institution_a: Any) -> None:
    make_procedure(
        institution_a,
        "saneamiento",
        "Saneamiento de tierras",
        min_assurance="verificado",
        runs_on_platform=True,
    )
    page = Client().get("/tramites/saneamiento/").content.decode()
    assert "Cuenta de Ciudadanía Digital" in page
    assert "Nivel Verificado o superior" in page
    assert Client().get("/api/v1/procedures/saneamiento").json()["min_assurance"] == "verificado"

    csv_text = export_csv(export_queryset())
    assert "nivel_ciudadania" in csv_text.splitlines()[0]
    report = catalog_import_file(actor=None, filename="x.csv", content=csv_text.encode())
    assert report.unchanged == 1


def test_unknown_level_is_refused(institution_a: Any) -> None:
    with pytest.raises(DomainError) as error:
        make_procedure(institution_a, "raro", "Trámite raro", min_assurance="maximo")
    assert error.value.field == "min_assurance"
