"""The work queue: filters, due flags, claim, constant number of queries; other institutions see nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import login
from ventanilla.cases.models import Case
from ventanilla.core.models import AuditEntry, Office

pytestmark = pytest.mark.django_db


def codes(response: Any) -> set[str]:
    return {case.tracking_code for case, _due, _step in response.context["rows"]}


def test_queue_needs_a_case_role(client: Any, bob_client: Any, definition_a: Any) -> None:
    url = reverse("cases:queue")
    assert client.get(url).status_code == 302  # to the login page
    assert bob_client.get(url).status_code == 403  # an editor does not work on cases


def test_queue_lists_open_cases_of_my_institution_only(
    clerk_a_client: Any, clerk_b_client: Any, bulk_cases: Any
) -> None:
    open_case, observed = bulk_cases(2)
    Case.objects.filter(pk=observed.pk).update(status=Case.Status.OBSERVED)
    (resolved,) = bulk_cases(1, status=Case.Status.RESOLVED)
    (draft,) = bulk_cases(1, status=Case.Status.DRAFT, tracking_code=None)
    response = clerk_a_client.get(reverse("cases:queue"))
    assert response.status_code == 200
    assert codes(response) == {open_case.tracking_code, observed.tracking_code}
    assert clerk_b_client.get(reverse("cases:queue")).context["rows"] == []
    # closed cases on demand, drafts never
    response = clerk_a_client.get(reverse("cases:queue"), {"estado": "resuelto"})
    assert codes(response) == {resolved.tracking_code}
    response = clerk_a_client.get(reverse("cases:queue"), {"estado": "borrador"})  # not a choice
    assert draft.pk not in {case.pk for case, _d, _s in response.context["rows"]}
    assert "resumen-errores" in response.content.decode()


def test_queue_filters(clerk_a: Any, clerk_a_client: Any, bulk_cases: Any, second_office_a: Office) -> None:
    today = timezone.localdate()
    late, soon, later = bulk_cases(3)
    Case.objects.filter(pk=late.pk).update(step_due_date=today - dt.timedelta(days=1))
    Case.objects.filter(pk=soon.pk).update(step_due_date=today + dt.timedelta(days=1), assigned_to=clerk_a)
    Case.objects.filter(pk=later.pk).update(office=second_office_a, channel=Case.Channel.COUNTER)
    url = reverse("cases:queue")

    response = clerk_a_client.get(url, {"plazo": "overdue"})
    assert codes(response) == {late.tracking_code}
    assert response.context["rows"][0][1] == "vencido"
    assert "Vencido" in response.content.decode()
    response = clerk_a_client.get(url, {"plazo": "soon"})
    assert codes(response) == {soon.tracking_code}
    assert "Por vencer" in response.content.decode()
    assert codes(clerk_a_client.get(url, {"mios": "on"})) == {soon.tracking_code}
    assert codes(clerk_a_client.get(url, {"oficina": second_office_a.pk})) == {later.tracking_code}
    assert codes(clerk_a_client.get(url, {"canal": "ventanilla"})) == {later.tracking_code}
    assert codes(clerk_a_client.get(url, {"tramite": late.procedure_id})) == {
        late.tracking_code,
        soon.tracking_code,
        later.tracking_code,
    }
    # search by tracking code (any case, with hyphen) or by the applicant's document number
    formatted = late.tracking_code.replace("-", "").lower()
    assert codes(clerk_a_client.get(url, {"q": formatted})) == {late.tracking_code}
    assert len(codes(clerk_a_client.get(url, {"q": "7654321"}))) == 3
    assert codes(clerk_a_client.get(url, {"q": "9999999"})) == set()


def test_queue_rejects_bad_filter_values_without_error(clerk_a_client: Any, bulk_cases: Any) -> None:
    bulk_cases(1)
    response = clerk_a_client.get(reverse("cases:queue"), {"oficina": "abc", "estado": "nada"})
    assert response.status_code == 200
    assert "resumen-errores" in response.content.decode()


def test_queue_uses_a_constant_number_of_queries(
    clerk_a_client: Any, bulk_cases: Any, clerk_a: Any, django_assert_max_num_queries: Any
) -> None:
    bulk_cases(1)
    url = reverse("cases:queue")
    clerk_a_client.get(url)  # warm up (session, content types)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert clerk_a_client.get(url).status_code == 200
    cases = bulk_cases(20, assigned_to=clerk_a)
    with django_assert_max_num_queries(len(one)):
        response = clerk_a_client.get(url)
    assert len(response.context["rows"]) == 21
    assert cases[0].tracking_code in response.content.decode()


def test_claim_from_the_queue_is_audited(clerk_a: Any, clerk_a_client: Any, bulk_cases: Any) -> None:
    (case,) = bulk_cases(1)
    response = clerk_a_client.post(
        reverse("cases:staff-claim", args=[case.tracking_code]), {"version": case.version, "next": "queue"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:queue")
    case.refresh_from_db()
    assert case.assigned_to == clerk_a
    assert case.version == 2
    entry = AuditEntry.objects.get(action="case.assign", target_id=str(case.pk))
    assert entry.actor == clerk_a
    assert entry.after == {"assigned_to": clerk_a.pk}
    # mine now
    response = clerk_a_client.get(reverse("cases:queue"), {"mios": "1"})
    assert codes(response) == {case.tracking_code}


def test_claim_with_stale_version_is_refused(clerk_a: Any, clerk_a2: Any, bulk_cases: Any) -> None:
    (case,) = bulk_cases(1)
    first, second = login(clerk_a), login(clerk_a2)
    url = reverse("cases:staff-claim", args=[case.tracking_code])
    assert first.post(url, {"version": case.version}).status_code == 302
    response = second.post(url, {"version": case.version})
    assert response.status_code == 409
    assert "El expediente cambió" in response.content.decode()
    case.refresh_from_db()
    assert case.assigned_to == clerk_a


def test_back_office_navigation_links_by_role(
    clerk_a_client: Any, supervisor_a_client: Any, bob_client: Any, definition_a: Any
) -> None:
    queue, panel, definitions = (
        reverse("cases:queue"),
        reverse("cases:dashboard"),
        reverse("cases:definition-list"),
    )
    html = clerk_a_client.get(queue).content.decode()
    assert f'href="{queue}"' in html and f'href="{panel}"' not in html and f'href="{definitions}"' not in html
    html = supervisor_a_client.get(queue).content.decode()
    assert f'href="{panel}"' in html
    html = bob_client.get(definitions).content.decode()
    assert f'href="{definitions}"' in html and f'href="{queue}"' not in html


def test_case_page_query_count_does_not_grow_with_history(
    clerk_a_client: Any, clerk_a: Any, bulk_cases: Any, django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ventanilla.cases.services import case_note_add

    (case,) = bulk_cases(1)
    url = reverse("cases:staff-case", args=[case.tracking_code])
    case_note_add(actor=clerk_a, tracking_code=case.tracking_code, text="primera")
    clerk_a_client.get(url)
    with CaptureQueriesContext(connection) as one:
        assert clerk_a_client.get(url).status_code == 200
    for i in range(10):
        case_note_add(actor=clerk_a, tracking_code=case.tracking_code, text=f"nota {i}")
    with django_assert_max_num_queries(len(one)):
        response = clerk_a_client.get(url)
    assert "nota 9" in response.content.decode()
