"""The platform's clock (`manage.py run_periodic --once`) closes an observation whose deadline passed and
expires old drafts, with the citizen told; running it again changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from ventanilla.cases.models import Case, CaseEvent
from ventanilla.cases.services import case_transition, draft_start

pytestmark = pytest.mark.django_db


def test_periodic_commands_close_abandoned_observations_and_expire_drafts(
    file_case: Any, clerk_a: Any, applicant: Any, definition_a: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = file_case()
    case_transition(
        actor=clerk_a, tracking_code=case.tracking_code, action="observe", version=case.version, reason="x"
    )
    Case.objects.filter(pk=case.pk).update(observation_due_date=timezone.localdate() - dt.timedelta(days=1))
    draft = draft_start(actor=applicant, procedure_id=definition_a.procedure_id)
    Case.objects.filter(pk=draft.pk).update(draft_expires_at=timezone.now() - dt.timedelta(minutes=1))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_periodic", "--once")
    case.refresh_from_db()
    draft.refresh_from_db()
    assert case.status == Case.Status.ABANDONED and case.closed_at
    assert draft.status == Case.Status.EXPIRED and draft.data == {}
    assert mail.outbox, "the applicant is alerted (legal inbox → e-mail alert)"
    events = CaseEvent.objects.count()
    call_command("run_periodic", "--once")
    assert CaseEvent.objects.count() == events
