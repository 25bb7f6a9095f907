"""Fixtures of the documents tests: a sample caller template (tests/templates) and an issued document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

TEMPLATES_DIR = Path(__file__).parent / "templates"
SAMPLE_TEMPLATE = "documents_tests/sample.html"


@pytest.fixture(autouse=True)
def _sample_templates(settings: Any) -> None:
    """Make the caller-side sample template (which extends documents/pdf_base.html) loadable."""
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], TEMPLATES_DIR]},
        *settings.TEMPLATES[1:],
    ]


def issue(institution: Any, *, actor: Any = None, person_id: int | None = None, **overrides: Any) -> Any:
    from ventanilla.documents.services import document_issue

    values: dict[str, Any] = {
        "actor": actor,
        "institution_id": institution.pk,
        "kind": "recibo",
        "title": "Recibo de pago de la tasa",
        "template_name": SAMPLE_TEMPLATE,
        "context": {"amount": "17,00", "person_name": "Juana Quispe"},
        "person_id": person_id,
        "reference": "EXP-1",
    }
    values.update(overrides)
    return document_issue(**values)


@pytest.fixture
def receipt(institution_a: Any) -> Any:
    return issue(institution_a)


from ventanilla.identity.tests.conftest import check_page, sign_in  # noqa: E402,F401 — shared fixtures


def tamper(pdf: bytes) -> bytes:
    """Change one visible byte of the signed content (inside the first signed range)."""
    index = pdf.index(b"/Title")
    return pdf[:index] + b"/Titlf" + pdf[index + 6 :]
