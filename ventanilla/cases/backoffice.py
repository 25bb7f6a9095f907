"""Expedientes back office (/gestion/expedientes/, /gestion/definiciones/).

Who may call what:
- work queue, case view, file and document downloads, claim/assign/note/transitions, assisted filing:
  clerks, supervisors and institution admins (``selectors.staff_institution_ids``); a case of another
  institution is "not found" (404), never "forbidden".
- supervisor dashboard, CSV export and webhooks: supervisors and institution admins of the institution.
- definition editor: institution admins and editors of the procedure's institution, and the platform agency.

Views translate between HTTP and the services/selectors: every write is a service call, and a refused call
(``DomainError``) comes back as Spanish messages on the page, next to the field where there is one.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ventanilla.catalog import selectors as catalog_selectors
from ventanilla.core.errors import DomainError, NotFound
from ventanilla.core.models import Institution, Office
from ventanilla.core.pagination import paginate
from ventanilla.core.permissions import is_back_office_user
from ventanilla.identity.accounts import PersonData

from . import selectors, services
from .backoffice_forms import (
    AssignForm,
    AssistedStartForm,
    DashboardForm,
    DefinitionBuilder,
    ImportForm,
    JsonForm,
    NoteForm,
    PersonForm,
    QueueFilterForm,
    SummaryItem,
    TransitionForm,
    WebhookForm,
    form_summary,
)
from .definitions import ACTION_LABELS, REASON_REQUIRED, export_payload, transitions_from, validate
from .display import answer_rows
from .forms import PREFIX, error_list, field_views, raw_from_post
from .models import Case, ProcedureDefinition, Webhook, WebhookDelivery

PAGE_SIZE = 25
View = Callable[..., HttpResponse]


# --------------------------------------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------------------------------------


def _staff_page(check: Callable[[Any], bool], message: Any) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not is_back_office_user(request.user) or not check(request.user):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return login_required(wrapper)

    return decorator


case_staff = _staff_page(
    lambda u: bool(selectors.staff_institution_ids(u)),
    gettext_lazy("Esta sección es para el personal de atención."),
)
supervisors = _staff_page(
    lambda u: bool(selectors.dashboard_institution_ids(u)),
    gettext_lazy("Esta sección es para supervisores de atención."),
)
definition_editors = _staff_page(
    lambda u: (
        selectors.definition_institution_ids(u) is None or bool(selectors.definition_institution_ids(u))
    ),
    gettext_lazy("Esta sección es para editores de trámites."),
)


def _case_or_404(request: HttpRequest, code: str) -> Case:
    try:
        return selectors.case_for_staff(actor=request.user, tracking_code=code.upper())
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _institution_choices(ids: set[int]) -> list[tuple[int, str]]:
    return [
        (i.pk, i.name) for i in Institution.objects.filter(pk__in=ids).order_by("name").only("pk", "name")
    ]


def _staff_people(institution_id: int) -> list[tuple[int, str]]:
    """Who may be given a case: clerks, supervisors and admins of the institution (one query)."""
    users = (
        get_user_model()
        .objects.filter(
            is_active=True,
            memberships__institution_id=institution_id,
            memberships__role__in=selectors.CASE_ROLES,
        )
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
    return [(u.pk, u.get_full_name() or u.get_username()) for u in users]


# --------------------------------------------------------------------------------------------------------
# Work queue
# --------------------------------------------------------------------------------------------------------

DUE_LABELS = {"vencido": gettext_lazy("Vencido"), "por_vencer": gettext_lazy("Por vencer")}


@case_staff
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    institutions = selectors.staff_institution_ids(request.user)
    offices = [
        (o.pk, o.name)
        for o in Office.objects.filter(institution_id__in=institutions, is_active=True)
        .order_by("name")
        .only("pk", "name")
    ]
    procedures = [
        (p.pk, p.name)
        for p in catalog_selectors.procedures_for_institutions(institutions).filter(
            definitions__status=ProcedureDefinition.Status.PUBLISHED
        )
    ]
    form = QueueFilterForm(request.GET or None, offices=offices, procedures=procedures)
    filters = selectors.QueueFilters()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = selectors.QueueFilters(
            office=data["oficina"],
            procedure=data["tramite"],
            status=data["estado"],
            due=data["plazo"],
            mine=data["mios"],
            q=data["q"].strip(),
            channel=data["canal"],
        )
    today = timezone.localdate()
    items, pager = paginate(
        request, selectors.case_queue(actor=request.user, filters=filters, today=today), PAGE_SIZE
    )
    rows = [
        (
            case,
            selectors.due_flag(case, today),
            (case.definition.step(case.current_step) or {}).get("name", case.current_step),
        )
        for case in items
    ]
    return render(
        request,
        "cases/backoffice/queue.html",
        {"form": form, "rows": rows, "result": pager, "due_labels": DUE_LABELS, "errors": form_summary(form)},
    )


# --------------------------------------------------------------------------------------------------------
# Case view and actions
# --------------------------------------------------------------------------------------------------------


def _action_forms(case: Case, offices: list[tuple[str, str]]) -> list[dict[str, Any]]:
    if case.status != Case.Status.IN_PROCESS:
        return []
    out = []
    for transition in transitions_from(case.definition.spec, case.current_step):
        action = transition["action"]
        target = case.definition.step(transition.get("to") or "") if action == "approve" else None
        out.append(
            {
                "action": action,
                "label": ACTION_LABELS[action],
                "reason_required": action in REASON_REQUIRED,
                "target": target,
                "offices": [o for o in offices if o[0] != (case.office.code if case.office_id else None)]
                if action == "derive"
                else [],
            }
        )
    return out


def _render_case(
    request: HttpRequest,
    case: Case,
    *,
    error: DomainError | None = None,
    failed_action: str = "",
    posted: dict[str, str] | None = None,
    note_form: NoteForm | None = None,
) -> HttpResponse:
    offices = [
        (o.code, o.name)
        for o in Office.objects.filter(institution_id=case.institution_id, is_active=True)
        .order_by("name")
        .only("code", "name")
    ]
    step = case.definition.step(case.current_step) if case.current_step else None
    labels = dict(Case.Status.choices)
    context = {
        "case": case,
        "step": step,
        "due": selectors.due_flag(case),
        "due_labels": DUE_LABELS,
        "answers": answer_rows(case.definition.spec, case.data),
        "files": selectors.case_files(case),
        "timeline": [
            (event, labels.get(event.from_status, ""), labels.get(event.to_status, ""))
            for event in selectors.case_timeline(case, internal=True)
        ],
        "actions": _action_forms(case, offices),
        "people": _staff_people(case.institution_id) if case.is_open else [],
        "note_form": note_form or NoteForm(),
        "error": error,
        "failed_action": failed_action,
        "posted": posted or {},
        "is_mine": case.assigned_to_id == request.user.pk,
    }
    status = (
        error.status if error is not None else (400 if note_form is not None and note_form.errors else 200)
    )
    return render(request, "cases/backoffice/case.html", context, status=status)


@case_staff
@require_GET
def staff_case(request: HttpRequest, code: str) -> HttpResponse:
    return _render_case(request, _case_or_404(request, code))


def _done(request: HttpRequest, case: Case, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("cases:staff-case", code=case.tracking_code)


def _stale_form(request: HttpRequest, case: Case) -> HttpResponse:
    return _render_case(request, case, error=services.Conflict())


@case_staff
@require_POST
def staff_transition(request: HttpRequest, code: str) -> HttpResponse:
    case = _case_or_404(request, code)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        return _render_case(
            request, case, error=DomainError(message=_("Solicitud incompleta: recargue la página."))
        )
    data = form.cleaned_data
    try:
        case = services.case_transition(
            actor=request.user,
            tracking_code=case.tracking_code or "",
            action=data["action"],
            version=data["version"],
            reason=data["reason"],
            office_code=data["office"],
        )
    except DomainError as exc:
        return _render_case(
            request,
            _case_or_404(request, code),
            error=exc,
            failed_action=data["action"],
            posted={"reason": data["reason"], "office": data["office"]},
        )
    return _done(
        request,
        case,
        _("Acción registrada: %(action)s. Estado: %(status)s.")
        % {
            "action": ACTION_LABELS[data["action"]],
            "status": case.get_status_display(),
        },
    )


@case_staff
@require_http_methods(["GET", "POST"])
def staff_correct(request: HttpRequest, code: str) -> HttpResponse:
    """A clerk files the correction of an observed case on the person's behalf (counter or phone)."""
    case = _case_or_404(request, code)
    if case.status != Case.Status.OBSERVED:
        messages.info(request, _("Este expediente no tiene observaciones pendientes."))
        return redirect("cases:staff-case", code=case.tracking_code)
    spec = case.definition.spec
    errors: dict[str, str] = {}
    raw = None
    if request.method == "POST":
        raw, uploads = raw_from_post(spec, request.POST, request.FILES)
        try:
            services.application_correct(actor=request.user, case=case, raw=raw, uploads=uploads)
        except DomainError as exc:
            errors = {item.field or "__all__": item.message for item in exc.items()}
        else:
            return _done(request, case, _("Corrección presentada en nombre de la persona."))
    files = {f.name: f.original_name for f in selectors.case_files(case)}
    fields = field_views(spec, case.data, errors, prefilled=case.prefilled, files=files, raw=raw)
    return render(
        request,
        "cases/case_correct.html",
        {
            "case": case,
            "fields": fields,
            "error_list": error_list(fields, errors),
            "cancel_url": reverse("cases:staff-case", args=[case.tracking_code]),
            "on_behalf": True,
        },
        status=400 if errors else 200,
    )


@case_staff
@require_POST
def staff_claim(request: HttpRequest, code: str) -> HttpResponse:
    case = _case_or_404(request, code)
    form = AssignForm(request.POST, people=[])
    version = form.cleaned_data["version"] if form.is_valid() else None
    if version is None:
        return _stale_form(request, case)
    try:
        case = services.case_claim(
            actor=request.user, tracking_code=case.tracking_code or "", version=version
        )
    except DomainError as exc:
        return _render_case(request, _case_or_404(request, code), error=exc)
    if request.POST.get("next") == "queue":
        messages.success(request, _("Tomó el expediente %(code)s.") % {"code": case.tracking_code})
        return redirect("cases:queue")
    return _done(request, case, _("Tomó el expediente."))


@case_staff
@require_POST
def staff_assign(request: HttpRequest, code: str) -> HttpResponse:
    case = _case_or_404(request, code)
    form = AssignForm(request.POST, people=_staff_people(case.institution_id))
    if not form.is_valid():
        if "version" in form.errors:
            return _stale_form(request, case)
        return _render_case(
            request, case, error=DomainError(message=_("Elija una persona de la lista."), field="user")
        )
    user_id = form.cleaned_data["user"]
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    try:
        case = services.case_assign(
            actor=request.user,
            tracking_code=case.tracking_code or "",
            version=form.cleaned_data["version"],
            user=user,
        )
    except DomainError as exc:
        return _render_case(request, _case_or_404(request, code), error=exc)
    who = (user.get_full_name() or user.get_username()) if user else _("nadie")
    return _done(request, case, _("Expediente asignado a %(who)s.") % {"who": who})


@case_staff
@require_POST
def staff_note(request: HttpRequest, code: str) -> HttpResponse:
    case = _case_or_404(request, code)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _render_case(request, case, note_form=form)
    try:
        services.case_note_add(
            actor=request.user, tracking_code=case.tracking_code or "", text=form.cleaned_data["text"]
        )
    except DomainError as exc:
        form.add_error_safely("text", exc.message)
        return _render_case(request, case, note_form=form)
    return _done(request, case, _("Nota interna guardada."))


@case_staff
@require_GET
def staff_file(request: HttpRequest, code: str, file_id: int) -> FileResponse:
    case = _case_or_404(request, code)
    stored = case.files.filter(pk=file_id).first()
    if stored is None:
        raise Http404(_("Archivo no encontrado."))
    response = FileResponse(
        stored.file.open("rb"),
        content_type=stored.content_type,
        as_attachment=True,
        filename=stored.original_name,
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@case_staff
@require_GET
def staff_document(request: HttpRequest, code: str, which: str) -> FileResponse:
    from ventanilla.documents.selectors import document_content

    case = _case_or_404(request, code)
    document = {"constancia": case.receipt_document, "resolucion": case.resolution_document}.get(which)
    if document is None:
        raise Http404(_("Documento no disponible."))
    response = FileResponse(
        io.BytesIO(document_content(document)),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"{which}-{case.tracking_code}.pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------------------------------------
# Assisted channels (counter, phone)
# --------------------------------------------------------------------------------------------------------


def _assisted_procedures(user: Any) -> list[tuple[int, str]]:
    institutions = selectors.staff_institution_ids(user)
    return [
        (p.pk, p.name)
        for p in catalog_selectors.procedures_for_institutions(institutions).filter(
            definitions__status=ProcedureDefinition.Status.PUBLISHED
        )
    ]


def _input_suffix(spec: dict[str, Any], name: str) -> str:
    """Where the first input of a multi-input answer is (see cases/_answer_fields.html)."""
    field = next((f for f in spec.get("fields", []) if f.get("name") == name), {})
    kind = field.get("type")
    if kind == "choice" and len(field.get("choices") or []) <= 4:
        return "-1"
    return {"address": "-department", "document": "-type", "multichoice": "-1", "yesno": "-1"}.get(kind, "")


PERSON_FIELDS = {"document_type", "document_number", "document_complement", "first_names", "first_surname"}


@case_staff
@require_http_methods(["GET", "POST"])
def assisted_new(request: HttpRequest) -> HttpResponse:
    procedures = _assisted_procedures(request.user)
    source = request.POST if request.method == "POST" else request.GET
    start = AssistedStartForm(source if "tramite" in source else None, procedures=procedures)
    if not start.is_bound or not start.is_valid():
        return render(
            request,
            "cases/backoffice/assisted_start.html",
            {
                "start": start,
                "errors": form_summary(start) if start.is_bound else [],
                "has_procedures": bool(procedures),
            },
            status=400 if start.is_bound else 200,
        )
    definition = selectors.definition_published(procedure_id=start.cleaned_data["tramite"])
    if definition is None:
        raise Http404(_("El trámite no tiene una definición publicada."))
    spec = definition.spec
    person_form = PersonForm(request.POST or None)
    answer_errors: dict[str, str] = {}
    raw: dict[str, Any] = {}
    summary: list[SummaryItem] = []
    if request.method == "POST":
        raw, uploads = raw_from_post(spec, request.POST, request.FILES)
        if person_form.is_valid():
            data = person_form.cleaned_data
            person = PersonData(
                document_type=data["document_type"],
                document_number=data["document_number"],
                document_complement=data["document_complement"],
                first_names=data["first_names"],
                first_surname=data["first_surname"],
                second_surname=data["second_surname"],
                email=data["email"],
                mobile=data["mobile"],
            )
            try:
                case = services.assisted_application_file(
                    actor=request.user,
                    procedure_id=definition.procedure_id,
                    channel=start.cleaned_data["canal"],
                    person=person,
                    raw=raw,
                    uploads=uploads,
                )
            except DomainError as exc:
                for item in exc.items():
                    if item.field in PERSON_FIELDS or item.field in ("email", "mobile", "second_surname"):
                        person_form.add_error_safely(item.field, item.message)
                    elif item.field:
                        answer_errors[item.field] = item.message
                    else:
                        person_form.add_error(None, item.message)
            else:
                return redirect("cases:assisted-done", code=case.tracking_code)
        summary = form_summary(person_form)
        names = {
            f["name"]: f.get("label", f["name"]) for f in spec.get("fields", []) + spec.get("documents", [])
        }
        summary += [
            SummaryItem(str(names.get(name, name)), message, f"#id_{PREFIX}{name}{_input_suffix(spec, name)}")
            for name, message in answer_errors.items()
        ]
    return render(
        request,
        "cases/backoffice/assisted_form.html",
        {
            "start": start,
            "definition": definition,
            "procedure_name": dict(procedures).get(definition.procedure_id, ""),
            "channel_label": dict(Case.Channel.choices)[start.cleaned_data["canal"]],
            "person_form": person_form,
            "fields": field_views(spec, {}, answer_errors, raw=raw),
            "errors": summary,
        },
        status=400 if summary else 200,
    )


@case_staff
@require_GET
def assisted_done(request: HttpRequest, code: str) -> HttpResponse:
    case = _case_or_404(request, code)
    return render(request, "cases/backoffice/assisted_done.html", {"case": case})


# --------------------------------------------------------------------------------------------------------
# Supervisor dashboard
# --------------------------------------------------------------------------------------------------------


def _dashboard_data(request: HttpRequest) -> tuple[DashboardForm, selectors.Dashboard | None, int | None]:
    ids = selectors.dashboard_institution_ids(request.user)
    choices = _institution_choices(ids)
    form = DashboardForm(request.GET or None, institutions=choices)
    valid = form.is_valid() if form.is_bound else False
    institution_id = (form.cleaned_data.get("institucion") if valid else None) or (
        choices[0][0] if choices else None
    )
    if institution_id not in ids:
        raise Http404()
    date_from, date_to = form.period()
    if form.is_bound and not valid:
        return form, None, institution_id
    board = selectors.dashboard(institution_id=institution_id, date_from=date_from, date_to=date_to)
    if not form.is_bound:
        form = DashboardForm(
            initial={"institucion": institution_id, "desde": date_from, "hasta": date_to},
            institutions=choices,
        )
    return form, board, institution_id


@supervisors
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    form, board, _institution = _dashboard_data(request)
    context: dict[str, Any] = {
        "form": form,
        "board": board,
        "errors": form_summary(form) if form.is_bound else [],
    }
    if board is not None:
        context["status_max"] = max(board.by_status.values(), default=0)
        context["clerk_max"] = max((r.open for r in board.by_clerk), default=0)
        context["procedure_max"] = max((r.total for r in board.by_procedure), default=0)
        context["channel_max"] = max((r.total for r in board.by_channel), default=0)
        context["query"] = request.GET.urlencode()
        context["total_rows"] = [board.total]
    return render(
        request, "cases/backoffice/dashboard.html", context, status=200 if board is not None else 400
    )


CSV_HEADER = [
    "seccion",
    "grupo",
    "total",
    "abiertos",
    "resueltos",
    "rechazados",
    "abandonados",
    "vencidos",
    "dias_promedio_resolucion",
    "porcentaje_en_plazo",
]


@supervisors
@require_GET
def dashboard_csv(request: HttpRequest) -> HttpResponse:
    _form, board, _institution = _dashboard_data(request)
    if board is None:
        return HttpResponse(_("Período inválido."), status=400, content_type="text/plain; charset=utf-8")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for label, count in board.by_status.items():
        writer.writerow(["estado", label, count, "", "", "", "", "", "", ""])
    sections = [("total", [board.total]), ("tramite", board.by_procedure), ("canal", board.by_channel)]
    sections.append(("funcionario", board.by_clerk))
    for section, rows in sections:
        for row in rows:
            writer.writerow(
                [
                    section,
                    row.label,
                    row.total,
                    row.open,
                    row.resolved,
                    row.rejected,
                    row.abandoned,
                    row.overdue,
                    "" if row.avg_days is None else row.avg_days,
                    "" if row.sla_percent is None else row.sla_percent,
                ]
            )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="panel-expedientes.csv"'
    return response


# --------------------------------------------------------------------------------------------------------
# Webhooks
# --------------------------------------------------------------------------------------------------------


@supervisors
@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest) -> HttpResponse:
    ids = selectors.dashboard_institution_ids(request.user)
    choices = _institution_choices(ids)
    form = WebhookForm(
        request.POST or None,
        institutions=choices,
        initial={"institution": choices[0][0] if choices else None},
    )
    secret = ""
    created: Webhook | None = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created, secret = services.webhook_register(
                    actor=request.user,
                    institution_id=form.cleaned_data["institution"],
                    url=form.cleaned_data["url"],
                )
                form = WebhookForm(institutions=choices, initial={"institution": created.institution_id})
                status = 201
            except DomainError as exc:
                form.add_error_safely(exc.field, exc.message)
        if not secret:
            status = 400
    hooks = list(
        Webhook.objects.filter(institution_id__in=ids)
        .select_related("institution")
        .order_by("-is_active", "-created_at")
    )
    deliveries = list(
        WebhookDelivery.objects.filter(webhook__institution_id__in=ids)
        .select_related("webhook", "case")
        .order_by("-created_at")[:30]
    )
    return render(
        request,
        "cases/backoffice/webhooks.html",
        {
            "form": form,
            "hooks": hooks,
            "deliveries": deliveries,
            "secret": secret,
            "created": created,
            "errors": form_summary(form) if form.is_bound else [],
        },
        status=status,
    )


@supervisors
@require_POST
def webhook_disable(request: HttpRequest, webhook_id: int) -> HttpResponse:
    try:
        services.webhook_disable(actor=request.user, webhook_id=webhook_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, _("Webhook desactivado."))
    return redirect("cases:webhooks")


# --------------------------------------------------------------------------------------------------------
# Definition editor
# --------------------------------------------------------------------------------------------------------


@definition_editors
@require_GET
def definition_list(request: HttpRequest) -> HttpResponse:
    allowed = selectors.definition_institution_ids(request.user)
    procedures = catalog_selectors.procedures_for_institutions(allowed).prefetch_related(
        Prefetch(
            "definitions",
            queryset=ProcedureDefinition.objects.only(
                "pk", "procedure_id", "version", "status", "updated_at"
            ).order_by("-version"),
            to_attr="case_definitions",
        )
    )
    items, pager = paginate(request, procedures, PAGE_SIZE)
    rows = []
    for procedure in items:
        versions = procedure.case_definitions  # type: ignore[attr-defined]
        published = next((d for d in versions if d.status == ProcedureDefinition.Status.PUBLISHED), None)
        draft = next((d for d in versions if d.status == ProcedureDefinition.Status.DRAFT), None)
        rows.append({"procedure": procedure, "published": published, "draft": draft})
    return render(request, "cases/backoffice/definition_list.html", {"rows": rows, "result": pager})


def _procedure_for_editor(request: HttpRequest, procedure_id: int) -> Any:
    procedure = catalog_selectors.procedure_by_id(procedure_id)
    allowed = selectors.definition_institution_ids(request.user)
    if procedure is None or (allowed is not None and procedure.institution_id not in allowed):
        raise Http404(_("Trámite no encontrado."))
    return procedure


def _editor_context(procedure: Any) -> dict[str, Any]:
    versions = list(
        selectors.definition_versions(procedure_id=procedure.pk).select_related("created_by", "published_by")
    )
    draft = next((v for v in versions if v.status == ProcedureDefinition.Status.DRAFT), None)
    published = next((v for v in versions if v.status == ProcedureDefinition.Status.PUBLISHED), None)
    offices = [
        (o.code, f"{o.name} ({o.code})")
        for o in Office.objects.filter(institution_id=procedure.institution_id, is_active=True).order_by(
            "name"
        )
    ]
    return {
        "procedure": procedure,
        "versions": versions,
        "draft": draft,
        "published": published,
        "offices": offices,
    }


def _render_editor(
    request: HttpRequest,
    procedure: Any,
    *,
    builder: DefinitionBuilder | None = None,
    json_form: JsonForm | None = None,
    import_form: ImportForm | None = None,
    problems: list[SummaryItem] | None = None,
    tab: str = "constructor",
    status: int = 200,
) -> HttpResponse:
    context = _editor_context(procedure)
    current = context["draft"] or context["published"]
    spec = current.spec if current else {}
    builder = builder or DefinitionBuilder(spec=spec, offices=context["offices"])
    json_form = json_form or JsonForm(initial={"spec": json.dumps(spec or {}, ensure_ascii=False, indent=2)})
    preview_problems = validate(spec, office_codes={c for c, _n in context["offices"]}) if spec else []
    context.update(
        {
            "builder": builder,
            "json_form": json_form,
            "import_form": import_form or ImportForm(),
            "problems": problems or [],
            "current": current,
            "preview": field_views(spec, {}) if spec and not preview_problems else [],
            "tab": tab,
            "step_codes": [s.get("code") for s in (spec.get("steps") or []) if isinstance(s, dict)],
        }
    )
    return render(request, "cases/backoffice/definition_edit.html", context, status=status)


def _problem_summary(items: list[Any]) -> list[SummaryItem]:
    return [SummaryItem(str(i.field or _("Definición")), i.message, "#id_json-spec") for i in items]


@definition_editors
@require_http_methods(["GET", "POST"])
def definition_edit(request: HttpRequest, procedure_id: int) -> HttpResponse:
    procedure = _procedure_for_editor(request, procedure_id)
    if request.method == "GET":
        return _render_editor(request, procedure)
    op = request.POST.get("op", "")
    if op == "guardar":
        offices = _editor_context(procedure)["offices"]
        builder = DefinitionBuilder(spec=None, offices=offices, data=request.POST)
        if not builder.is_valid():
            return _render_editor(
                request, procedure, builder=builder, problems=builder.form_errors(), status=400
            )
        spec = builder.to_spec()
        try:
            saved = services.definition_save(actor=request.user, procedure_id=procedure.pk, spec=spec)
        except DomainError as exc:
            problems = builder.place(exc.extra if exc.code == "invalid_definition" else exc.items())
            return _render_editor(request, procedure, builder=builder, problems=problems, status=400)
        messages.success(request, _("Borrador guardado (versión %(v)s).") % {"v": saved.version})
        return redirect("cases:definition-edit", procedure_id=procedure.pk)
    if op == "guardar_json":
        json_form = JsonForm(request.POST)
        if not json_form.is_valid():
            return _render_editor(
                request,
                procedure,
                json_form=json_form,
                problems=form_summary(json_form),
                tab="json",
                status=400,
            )
        try:
            saved = services.definition_save(
                actor=request.user, procedure_id=procedure.pk, spec=json_form.cleaned_data["spec"]
            )
        except DomainError as exc:
            items = exc.extra if exc.code == "invalid_definition" else exc.items()
            return _render_editor(
                request,
                procedure,
                json_form=json_form,
                problems=_problem_summary(items),
                tab="json",
                status=400,
            )
        messages.success(request, _("Borrador guardado (versión %(v)s).") % {"v": saved.version})
        return redirect("cases:definition-edit", procedure_id=procedure.pk)
    if op == "publicar":
        draft = _editor_context(procedure)["draft"]
        if draft is None:
            return _render_editor(
                request,
                procedure,
                problems=[SummaryItem(_("Publicar"), _("No hay un borrador para publicar."), "#acciones")],
                status=400,
            )
        try:
            published = services.definition_publish(actor=request.user, definition_id=draft.pk)
        except DomainError as exc:
            return _render_editor(
                request, procedure, problems=_problem_summary(exc.items()), status=exc.status
            )
        messages.success(
            request,
            _(
                "Se publicó la versión %(v)s. Las solicitudes ya presentadas siguen con la versión "
                "con que se presentaron."
            )
            % {"v": published.version},
        )
        return redirect("cases:definition-edit", procedure_id=procedure.pk)
    if op == "importar":
        import_form = ImportForm(request.POST, request.FILES)
        if not import_form.is_valid():
            return _render_editor(
                request,
                procedure,
                import_form=import_form,
                problems=form_summary(import_form),
                tab="json",
                status=400,
            )
        try:
            saved = services.definition_import(
                actor=request.user, procedure_id=procedure.pk, payload=import_form.cleaned_data["file"]
            )
        except DomainError as exc:
            items = exc.extra if exc.code == "invalid_definition" else exc.items()
            return _render_editor(
                request,
                procedure,
                import_form=import_form,
                problems=_problem_summary(items),
                tab="json",
                status=400,
            )
        messages.success(
            request, _("Definición importada como borrador (versión %(v)s).") % {"v": saved.version}
        )
        return redirect("cases:definition-edit", procedure_id=procedure.pk)
    return _render_editor(
        request,
        procedure,
        problems=[SummaryItem(_("Acción"), _("Acción desconocida."), "#acciones")],
        status=400,
    )


@definition_editors
@require_GET
def definition_export(request: HttpRequest, procedure_id: int, version: int) -> HttpResponse:
    procedure = _procedure_for_editor(request, procedure_id)
    definition = selectors.definition_versions(procedure_id=procedure.pk).filter(version=version).first()
    if definition is None:
        raise Http404(_("Versión no encontrada."))
    payload = export_payload(procedure_slug=procedure.slug, version=definition.version, spec=definition.spec)
    response = HttpResponse(
        json.dumps(payload, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{procedure.slug}-v{definition.version}.json"'
    return response


# --------------------------------------------------------------------------------------------------------
# URLs (included from cases/urls.py)
# --------------------------------------------------------------------------------------------------------

urlpatterns = [
    path("gestion/expedientes/", queue, name="queue"),
    path("gestion/expedientes/nuevo/", assisted_new, name="assisted-new"),
    path("gestion/expedientes/nuevo/listo/<str:code>/", assisted_done, name="assisted-done"),
    path("gestion/expedientes/panel/", dashboard, name="dashboard"),
    path("gestion/expedientes/panel.csv", dashboard_csv, name="dashboard-csv"),
    path("gestion/expedientes/webhooks/", webhooks, name="webhooks"),
    path(
        "gestion/expedientes/webhooks/<int:webhook_id>/desactivar/", webhook_disable, name="webhook-disable"
    ),
    path("gestion/expedientes/<str:code>/", staff_case, name="staff-case"),
    path("gestion/expedientes/<str:code>/accion/", staff_transition, name="staff-transition"),
    path("gestion/expedientes/<str:code>/tomar/", staff_claim, name="staff-claim"),
    path("gestion/expedientes/<str:code>/corregir/", staff_correct, name="staff-correct"),
    path("gestion/expedientes/<str:code>/asignar/", staff_assign, name="staff-assign"),
    path("gestion/expedientes/<str:code>/nota/", staff_note, name="staff-note"),
    path("gestion/expedientes/<str:code>/archivos/<int:file_id>/", staff_file, name="staff-file"),
    path("gestion/expedientes/<str:code>/documentos/<str:which>.pdf", staff_document, name="staff-document"),
    path("gestion/definiciones/", definition_list, name="definition-list"),
    path("gestion/definiciones/<int:procedure_id>/", definition_edit, name="definition-edit"),
    path(
        "gestion/definiciones/<int:procedure_id>/v<int:version>.json",
        definition_export,
        name="definition-export",
    ),
]
