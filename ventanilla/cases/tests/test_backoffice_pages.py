"""Every back-office page: one h1, labelled inputs, nothing the strict CSP would block."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_clerk_pages(clerk_a_client: Any, file_case: Any, check_page: Any) -> None:
    case = file_case()
    check_page(clerk_a_client.get(reverse("cases:queue")))
    check_page(clerk_a_client.get(reverse("cases:staff-case", args=[case.tracking_code])))
    check_page(clerk_a_client.get(reverse("cases:assisted-new")))
    check_page(
        clerk_a_client.get(
            reverse("cases:assisted-new"), {"tramite": case.procedure_id, "canal": "ventanilla"}
        )
    )
    check_page(clerk_a_client.get(reverse("cases:assisted-done", args=[case.tracking_code])))


def test_supervisor_pages(supervisor_a_client: Any, file_case: Any, check_page: Any) -> None:
    file_case()
    check_page(supervisor_a_client.get(reverse("cases:dashboard")))
    check_page(supervisor_a_client.get(reverse("cases:webhooks")))


def test_editor_pages(bob_client: Any, definition_a: Any, check_page: Any) -> None:
    check_page(bob_client.get(reverse("cases:definition-list")))
    check_page(bob_client.get(reverse("cases:definition-edit", args=[definition_a.procedure_id])))
