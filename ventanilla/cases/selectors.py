"""Reads for Expedientes: work queues, a case as each kind of user may see it, "Mis trámites", the public
status check and the supervisor dashboard. Every list uses a constant number of queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from ventanilla.core.calendar import business_days_after
from ventanilla.core.codes import normalize_tracking_code
from ventanilla.core.errors import NotFound
from ventanilla.core.models import Role
from ventanilla.core.permissions import institutions_with_role, is_platform_admin

from .models import Case, CaseEvent, CaseFile, ProcedureDefinition, Webhook

CASE_ROLES = (Role.CLERK, Role.SUPERVISOR, Role.INSTITUTION_ADMIN)
DASHBOARD_ROLES = (Role.SUPERVISOR, Role.INSTITUTION_ADMIN)
DEFINITION_ROLES = (Role.INSTITUTION_ADMIN, Role.INSTITUTION_EDITOR)
DUE_SOON_DAYS = 2


def staff_institution_ids(user: Any) -> set[int]:
    """Institutions whose cases ``user`` works on (clerks, supervisors, institution admins)."""
    return institutions_with_role(user, CASE_ROLES)


def dashboard_institution_ids(user: Any) -> set[int]:
    return institutions_with_role(user, DASHBOARD_ROLES)


def definition_institution_ids(user: Any) -> set[int] | None:
    """Institutions whose procedure definitions ``user`` edits; None = all (the platform agency)."""
    if is_platform_admin(user):
        return None
    return institutions_with_role(user, DEFINITION_ROLES)


# -- definitions ----------------------------------------------------------------------------------------


def definition_published(*, procedure_id: int) -> ProcedureDefinition | None:
    return (
        ProcedureDefinition.objects.select_related("procedure", "institution")
        .filter(procedure_id=procedure_id, status=ProcedureDefinition.Status.PUBLISHED)
        .first()
    )


def definition_for_editor(*, actor: Any, definition_id: int) -> ProcedureDefinition:
    definition = (
        ProcedureDefinition.objects.select_related("procedure", "institution")
        .filter(pk=definition_id)
        .first()
    )
    allowed = definition_institution_ids(actor)
    if definition is None or (allowed is not None and definition.institution_id not in allowed):
        raise NotFound()
    return definition


def definition_versions(*, procedure_id: int) -> QuerySet[ProcedureDefinition]:
    return ProcedureDefinition.objects.filter(procedure_id=procedure_id).order_by("-version")


def published_procedure_ids(procedure_ids: list[int]) -> set[int]:
    return set(
        ProcedureDefinition.objects.filter(
            procedure_id__in=procedure_ids, status=ProcedureDefinition.Status.PUBLISHED
        ).values_list("procedure_id", flat=True)
    )


# -- cases ----------------------------------------------------------------------------------------------


def _case_base() -> QuerySet[Case]:
    return Case.objects.select_related(
        "procedure", "institution", "office", "applicant", "assigned_to", "definition"
    )


def case_for_staff(*, actor: Any, tracking_code: str) -> Case:
    """The case if it belongs to one of ``actor``'s institutions; 404 otherwise (no enumeration)."""
    case = (
        _case_base()
        .filter(tracking_code=tracking_code, institution_id__in=staff_institution_ids(actor))
        .exclude(status__in=(Case.Status.DRAFT, Case.Status.EXPIRED))
        .first()
    )
    if case is None:
        raise NotFound()
    return case


def case_lock(*, institution_ids: set[int], tracking_code: str) -> Case:
    """``SELECT … FOR UPDATE`` of a filed case of one of ``institution_ids`` (no joins: PostgreSQL refuses
    FOR UPDATE on the nullable side of an outer join)."""
    case = (
        Case.objects.select_for_update()
        .filter(tracking_code=tracking_code, institution_id__in=institution_ids)
        .exclude(status__in=(Case.Status.DRAFT, Case.Status.EXPIRED))
        .first()
    )
    if case is None:
        raise NotFound()
    return case


def case_with_related(*, pk: int) -> Case:
    return _case_base().get(pk=pk)


def case_for_applicant(*, actor: Any, tracking_code: str) -> Case:
    case = (
        _case_base()
        .filter(tracking_code=tracking_code, applicant__user_id=getattr(actor, "pk", None) or 0)
        .first()
    )
    if case is None:
        raise NotFound()
    return case


def draft_for_applicant(*, actor: Any, uuid: Any) -> Case:
    case = (
        _case_base()
        .filter(uuid=uuid, status=Case.Status.DRAFT)
        .filter(
            Q(applicant__user_id=getattr(actor, "pk", None) or 0)
            | Q(filed_by_id=getattr(actor, "pk", None) or 0)
        )
        .first()
    )
    if case is None:
        raise NotFound()
    return case


def draft_existing(*, person_id: int, procedure_id: int) -> Case | None:
    return Case.objects.filter(
        applicant_id=person_id, procedure_id=procedure_id, status=Case.Status.DRAFT
    ).first()


def case_files(case: Case) -> list[CaseFile]:
    return list(case.files.filter(replaced_at__isnull=True).order_by("name"))


def case_timeline(case: Case, *, internal: bool) -> list[CaseEvent]:
    events = case.events.select_related("actor").order_by("created_at", "id")
    if not internal:
        events = events.filter(internal=False).exclude(kind__in=(CaseEvent.Kind.CLAIM, CaseEvent.Kind.ASSIGN))
    return list(events)


def my_cases(*, actor: Any) -> QuerySet[Case]:
    return (
        Case.objects.select_related("procedure", "institution")
        .filter(applicant__user_id=getattr(actor, "pk", None) or 0)
        .exclude(status=Case.Status.EXPIRED)
        .order_by("-updated_at", "-id")
    )


def public_status(*, tracking_code: str, document_number: str) -> Case | None:
    """The case matching both the tracking code and the applicant's document number, or None."""
    number = "".join(ch for ch in document_number.upper() if ch.isalnum())
    case = (
        Case.objects.select_related("procedure", "institution", "applicant")
        .filter(tracking_code=tracking_code)
        .exclude(status__in=(Case.Status.DRAFT, Case.Status.EXPIRED))
        .first()
    )
    if case is None:
        return None
    applicant = case.applicant
    candidates = {
        applicant.document_number.upper(),
        f"{applicant.document_number}{applicant.document_complement}".upper(),
    }
    return case if number in candidates else None


@dataclass
class QueueFilters:
    institution: int | None = None
    office: int | None = None
    procedure: int | None = None
    status: str = ""
    due: str = ""  # "soon" | "overdue"
    mine: bool = False
    q: str = ""
    channel: str = ""


def case_queue(*, actor: Any, filters: QueueFilters, today: dt.date | None = None) -> QuerySet[Case]:
    today = today or timezone.localdate()
    institutions = staff_institution_ids(actor)
    if filters.institution:
        institutions &= {filters.institution}
    qs = (
        _case_base()
        .filter(institution_id__in=institutions)
        .exclude(status__in=(Case.Status.DRAFT, Case.Status.EXPIRED))
    )
    qs = qs.filter(status=filters.status) if filters.status else qs.filter(status__in=Case.OPEN_STATUSES)
    if filters.office:
        qs = qs.filter(office_id=filters.office)
    if filters.procedure:
        qs = qs.filter(procedure_id=filters.procedure)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.mine:
        qs = qs.filter(assigned_to_id=actor.pk)
    if filters.due == "overdue":
        qs = qs.filter(status=Case.Status.IN_PROCESS, step_due_date__lt=today)
    elif filters.due == "soon":
        qs = qs.filter(
            status=Case.Status.IN_PROCESS,
            step_due_date__gte=today,
            step_due_date__lte=due_soon_limit(today),
        )
    if filters.q:
        code = normalize_tracking_code(filters.q)
        number = filters.q.strip().upper()
        qs = (
            qs.filter(Q(tracking_code=code) | Q(applicant__document_number=number))
            if code
            else qs.filter(applicant__document_number=number)
        )
    return qs.order_by("step_due_date", "submitted_at", "id")


def due_soon_limit(today: dt.date) -> dt.date:
    """«Por vencer» = due within the next DUE_SOON_DAYS business days (national calendar), so a case due on
    Monday is flagged on Thursday, not only on Saturday."""
    return business_days_after(today, DUE_SOON_DAYS, institution=None)


def due_flag(case: Case, today: dt.date | None = None) -> str:
    """ "vencido", "por_vencer" or "" for a case in process."""
    today = today or timezone.localdate()
    if case.status != Case.Status.IN_PROCESS or case.step_due_date is None:
        return ""
    if case.step_due_date < today:
        return "vencido"
    if case.step_due_date <= due_soon_limit(today):
        return "por_vencer"
    return ""


def case_api_list(
    *, institution_id: int, status: str = "", procedure: str = "", updated_since: Any = None
) -> QuerySet[Case]:
    qs = (
        Case.objects.select_related("procedure", "office", "applicant")
        .filter(institution_id=institution_id)
        .exclude(status__in=(Case.Status.DRAFT, Case.Status.EXPIRED))
    )
    if status:
        qs = qs.filter(status=status)
    if procedure:
        qs = qs.filter(procedure__slug=procedure)
    if updated_since:
        qs = qs.filter(updated_at__gte=updated_since)
    return qs.order_by("-updated_at", "-id")


def case_for_institution(*, institution_id: int, tracking_code: str) -> Case:
    case = (
        _case_base()
        .prefetch_related(
            Prefetch("events", queryset=CaseEvent.objects.filter(internal=False).order_by("created_at", "id"))
        )
        .filter(institution_id=institution_id, tracking_code=tracking_code)
        .exclude(status__in=(Case.Status.DRAFT, Case.Status.EXPIRED))
        .first()
    )
    if case is None:
        raise NotFound()
    return case


def webhooks_for(*, institution_id: int) -> list[Webhook]:
    return list(Webhook.objects.filter(institution_id=institution_id, is_active=True))


# -- supervisor dashboard --------------------------------------------------------------------------------


@dataclass
class DashboardRow:
    label: str
    total: int = 0
    open: int = 0
    resolved: int = 0
    rejected: int = 0
    abandoned: int = 0
    within_sla: int = 0
    overdue: int = 0
    days_sum: float = 0.0

    @property
    def closed(self) -> int:
        return self.resolved + self.rejected

    @property
    def avg_days(self) -> float | None:
        return round(self.days_sum / self.closed, 1) if self.closed else None

    @property
    def sla_percent(self) -> float | None:
        return round(100 * self.within_sla / self.closed, 1) if self.closed else None


@dataclass
class Dashboard:
    by_status: dict[str, int] = field(default_factory=dict)
    by_procedure: list[DashboardRow] = field(default_factory=list)
    by_channel: list[DashboardRow] = field(default_factory=list)
    by_clerk: list[DashboardRow] = field(default_factory=list)
    total: DashboardRow = field(default_factory=lambda: DashboardRow("Total"))


def dashboard(
    *,
    institution_id: int,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    today: dt.date | None = None,
) -> Dashboard:
    """Workload and results of one institution's cases filed in the period (2 queries, any volume: the
    aggregation runs over narrow value rows)."""
    today = today or timezone.localdate()
    qs = Case.objects.filter(institution_id=institution_id).exclude(
        status__in=(Case.Status.DRAFT, Case.Status.EXPIRED)
    )
    if date_from:
        qs = qs.filter(submitted_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(submitted_at__date__lte=date_to)
    rows = qs.values_list(
        "status",
        "procedure__name",
        "channel",
        "assigned_to__username",
        "assigned_to__first_name",
        "assigned_to__last_name",
        "submitted_at",
        "closed_at",
        "due_date",
        "step_due_date",
    )
    out = Dashboard()
    procedures: dict[str, DashboardRow] = {}
    channels: dict[str, DashboardRow] = {}
    clerks: dict[str, DashboardRow] = {}
    channel_labels = dict(Case.Channel.choices)
    counts: dict[str, int] = defaultdict(int)
    for status, proc, channel, username, first, last, submitted, closed, due, step_due in rows:
        counts[status] += 1
        clerk_label = (f"{first} {last}".strip() or username) if username else "(sin asignar)"
        targets = [
            out.total,
            procedures.setdefault(proc, DashboardRow(proc)),
            channels.setdefault(channel, DashboardRow(str(channel_labels.get(channel, channel)))),
            clerks.setdefault(clerk_label, DashboardRow(clerk_label)),
        ]
        for row in targets:
            row.total += 1
            if status in Case.OPEN_STATUSES:
                row.open += 1
                if status == Case.Status.IN_PROCESS and step_due and step_due < today:
                    row.overdue += 1
            elif status == Case.Status.RESOLVED:
                row.resolved += 1
            elif status == Case.Status.REJECTED:
                row.rejected += 1
            elif status == Case.Status.ABANDONED:
                row.abandoned += 1
            if status in (Case.Status.RESOLVED, Case.Status.REJECTED) and submitted and closed:
                row.days_sum += (closed - submitted).total_seconds() / 86400
                if due and timezone.localdate(closed) <= due:
                    row.within_sla += 1
    labels = dict(Case.Status.choices)
    out.by_status = {
        str(labels[s]): counts.get(s, 0) for s in labels if s not in (Case.Status.DRAFT, Case.Status.EXPIRED)
    }
    out.by_procedure = sorted(procedures.values(), key=lambda r: (-r.total, r.label))
    out.by_channel = sorted(channels.values(), key=lambda r: (-r.total, r.label))
    out.by_clerk = sorted(clerks.values(), key=lambda r: (-r.open, r.label))
    return out
