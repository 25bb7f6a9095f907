"""Supervisor dashboard: numbers on a known set of cases, the CSV export, who may see it."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import login, member
from ventanilla.cases.models import Case
from ventanilla.core.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def known_set(bulk_cases: Any, clerk_a: Any, clerk_a2: Any) -> dict[str, Any]:
    now = timezone.now()
    today = timezone.localdate()
    ago = lambda days: now - dt.timedelta(days=days)  # noqa: E731
    # resolved in 4 days, within its due date
    bulk_cases(
        1,
        status=Case.Status.RESOLVED,
        submitted_at=ago(10),
        closed_at=ago(6),
        due_date=today,
        assigned_to=clerk_a,
    )
    # resolved in 2 days, after its due date
    bulk_cases(
        1,
        status=Case.Status.RESOLVED,
        submitted_at=ago(10),
        closed_at=ago(8),
        due_date=today - dt.timedelta(days=9),
        assigned_to=clerk_a,
        channel=Case.Channel.COUNTER,
    )
    # rejected in 3 days, within
    bulk_cases(
        1,
        status=Case.Status.REJECTED,
        submitted_at=ago(5),
        closed_at=ago(2),
        due_date=today,
        assigned_to=clerk_a2,
    )
    bulk_cases(1, status=Case.Status.ABANDONED, submitted_at=ago(20), closed_at=ago(1))
    # open: one overdue (clerk_a), one on time (unassigned, by phone), one observed (clerk_a)
    bulk_cases(1, submitted_at=ago(3), step_due_date=today - dt.timedelta(days=1), assigned_to=clerk_a)
    bulk_cases(1, submitted_at=ago(3), channel=Case.Channel.PHONE)
    bulk_cases(1, status=Case.Status.OBSERVED, submitted_at=ago(3), assigned_to=clerk_a)
    # not counted: a draft, and a case filed before the period
    bulk_cases(1, status=Case.Status.DRAFT, tracking_code=None, submitted_at=None)
    bulk_cases(1, submitted_at=ago(200))
    return {}


def test_dashboard_numbers(supervisor_a_client: Any, known_set: Any) -> None:
    response = supervisor_a_client.get(reverse("cases:dashboard"))
    assert response.status_code == 200
    board = response.context["board"]
    assert board.by_status == {
        "En trámite": 2,
        "Observado": 1,
        "Resuelto": 2,
        "Rechazado": 1,
        "Cerrado por abandono": 1,
    }
    total = board.total
    assert (total.total, total.open, total.overdue, total.resolved, total.rejected, total.abandoned) == (
        7,
        3,
        1,
        2,
        1,
        1,
    )
    assert total.avg_days == 3.0  # (4 + 2 + 3) / 3
    assert total.sla_percent == 66.7  # 2 of 3 closed within the due date
    clerks = {row.label: row for row in board.by_clerk}
    assert clerks["Ana Choque"].open == 2 and clerks["Ana Choque"].total == 4
    assert clerks["Ana Choque"].sla_percent == 50.0
    assert clerks["clerk_a2"].open == 0 and clerks["clerk_a2"].rejected == 1
    assert clerks["(sin asignar)"].total == 2
    assert board.by_clerk[0].label == "Ana Choque"  # most workload first
    channels = {row.label: row.total for row in board.by_channel}
    assert channels == {"En línea": 5, "Ventanilla (presencial)": 1, "Teléfono": 1}
    html = response.content.decode()
    assert "vt-bar vt-w-100" in html  # the largest bar is full width, drawn with classes (no inline style)
    assert "style=" not in html
    # the period filter
    response = supervisor_a_client.get(
        reverse("cases:dashboard"), {"desde": (timezone.localdate() - dt.timedelta(days=365)).isoformat()}
    )
    assert response.context["board"].total.total == 8


def test_dashboard_csv(supervisor_a_client: Any, known_set: Any) -> None:
    response = supervisor_a_client.get(reverse("cases:dashboard-csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["seccion", "grupo", "total"]
    by_key = {(r[0], r[1]): r for r in rows[1:]}
    assert by_key[("estado", "Resuelto")][2] == "2"
    assert by_key[("total", "Total")][2:] == ["7", "3", "2", "1", "1", "1", "3.0", "66.7"]
    assert by_key[("funcionario", "Ana Choque")][3] == "2"
    assert by_key[("canal", "Teléfono")][2] == "1"


def test_bad_period_is_refused(supervisor_a_client: Any, known_set: Any) -> None:
    response = supervisor_a_client.get(
        reverse("cases:dashboard"), {"desde": "2026-05-01", "hasta": "2026-01-01"}
    )
    assert response.status_code == 400
    assert "posterior a la inicial" in response.content.decode()
    assert supervisor_a_client.get(reverse("cases:dashboard-csv"), {"desde": "nada"}).status_code == 400


def test_dashboard_access(
    clerk_a_client: Any, institution_a: Any, institution_b: Any, known_set: Any
) -> None:
    assert clerk_a_client.get(reverse("cases:dashboard")).status_code == 403
    supervisor_b = login(member("supervisor_b", Role.SUPERVISOR, institution_b))
    response = supervisor_b.get(reverse("cases:dashboard"))
    assert response.status_code == 200 and response.context["board"].total.total == 0
    # asking for institution A is not a valid choice for B's supervisor: no data of A leaks
    response = supervisor_b.get(reverse("cases:dashboard"), {"institucion": institution_a.pk})
    assert response.status_code == 400
    assert response.context["board"] is None


def test_dashboard_query_count_does_not_grow(
    supervisor_a_client: Any, bulk_cases: Any, django_assert_max_num_queries: Any
) -> None:
    bulk_cases(1)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    supervisor_a_client.get(reverse("cases:dashboard"))
    with CaptureQueriesContext(connection) as one:
        supervisor_a_client.get(reverse("cases:dashboard"))
    bulk_cases(15)
    with django_assert_max_num_queries(len(one)):
        assert supervisor_a_client.get(reverse("cases:dashboard")).status_code == 200
