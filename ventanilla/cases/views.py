"""Citizen pages of Expedientes: start an application, fill and save the draft, review and submit, "Mis
trámites", correct an observation, download receipt and resolution, and the public status check."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ventanilla.catalog import selectors as catalog_selectors
from ventanilla.core.codes import normalize_tracking_code
from ventanilla.core.errors import DomainError, NotFound
from ventanilla.core.pagination import paginate
from ventanilla.core.ratelimit import rate_limit

from . import selectors, services
from .display import answer_rows
from .forms import StatusCheckForm, error_list, field_views, raw_from_post
from .models import Case, CaseFile


def _errors(exc: DomainError) -> dict[str, str]:
    return {item.field or "__all__": item.message for item in exc.items()}


def _files_by_name(case: Case) -> dict[str, str]:
    return {f.name: f.original_name for f in selectors.case_files(case)}


@login_required
@require_http_methods(["GET", "POST"])
def apply_start(request: HttpRequest, slug: str) -> HttpResponse:
    """ "Iniciar trámite": signs the citizen in (login_required → Ciudadanía Digital), checks the level of
    assurance, and opens or resumes the draft."""
    try:
        procedure = catalog_selectors.procedure_get_public(slug)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    try:
        case = services.draft_start(actor=request.user, procedure_id=procedure.pk)
    except DomainError as exc:
        if exc.status == 404:
            messages.warning(request, exc.message)
            return redirect(procedure.get_absolute_url())
        return render(
            request,
            "cases/apply_refused.html",
            {"procedure": procedure, "message": exc.message, "code": exc.code},
            status=exc.status,
        )
    return redirect("cases:draft-edit", case.uuid)


def _draft(request: HttpRequest, uuid: Any) -> Case:
    try:
        return selectors.draft_for_applicant(actor=request.user, uuid=uuid)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@login_required
@require_http_methods(["GET", "POST"])
def draft_edit(request: HttpRequest, uuid: Any) -> HttpResponse:
    case = _draft(request, uuid)
    spec = case.definition.spec
    errors: dict[str, str] = {}
    raw: dict[str, Any] | None = None
    if request.method == "POST":
        raw, uploads = raw_from_post(spec, request.POST, request.FILES)
        complete = "continuar" in request.POST
        try:
            services.draft_save(actor=request.user, case=case, raw=raw, uploads=uploads, complete=complete)
        except DomainError as exc:
            errors = _errors(exc)
        else:
            if complete:
                return redirect("cases:draft-review", case.uuid)
            messages.success(request, _("Borrador guardado. Puede continuar más tarde desde Mis trámites."))
            return redirect("cases:draft-edit", case.uuid)
    fields = field_views(
        spec, case.data, errors, prefilled=case.prefilled, files=_files_by_name(case), raw=raw
    )
    return render(
        request,
        "cases/draft_edit.html",
        {
            "case": case,
            "procedure": case.procedure,
            "fields": fields,
            "error_list": error_list(fields, errors),
            "fee": services._fee_text(spec),
        },
        status=400 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def draft_review(request: HttpRequest, uuid: Any) -> HttpResponse:
    """Every answer and document, to confirm before submitting."""
    case = _draft(request, uuid)
    error = ""
    if request.method == "POST":
        if request.POST.get("confirmo") != "1":
            error = _("Marque la casilla para confirmar que los datos son correctos.")
        else:
            try:
                services.application_submit(actor=request.user, case=case)
            except DomainError as exc:
                messages.error(request, _("Revise los datos marcados antes de presentar."))
                if exc.field and exc.field != "__all__":
                    return redirect("cases:draft-edit", case.uuid)
                error = exc.message
            else:
                messages.success(
                    request,
                    _("Solicitud presentada. Su código de seguimiento es %(code)s.")
                    % {"code": case.tracking_code},
                )
                return redirect("cases:my-case", case.tracking_code)
    return render(
        request,
        "cases/draft_review.html",
        {
            "case": case,
            "procedure": case.procedure,
            "answers": answer_rows(case.definition.spec, case.data),
            "files": selectors.case_files(case),
            "fee": services._fee_text(case.definition.spec),
            "steps": case.definition.steps,
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@require_GET
def my_cases(request: HttpRequest) -> HttpResponse:
    cases, pager = paginate(request, selectors.my_cases(actor=request.user), 20)
    return render(request, "cases/my_cases.html", {"cases": cases, "pager": pager, "active": "tramites"})


def _my_case(request: HttpRequest, code: str) -> Case:
    normalized = normalize_tracking_code(code) or ""
    try:
        return selectors.case_for_applicant(actor=request.user, tracking_code=normalized)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@login_required
@require_GET
def my_case(request: HttpRequest, code: str) -> HttpResponse:
    case = _my_case(request, code)
    step = case.definition.step(case.current_step) if case.current_step else None
    return render(
        request,
        "cases/my_case.html",
        {
            "case": case,
            "step": step,
            "answers": answer_rows(case.definition.spec, case.data),
            "files": selectors.case_files(case),
            "events": selectors.case_timeline(case, internal=False),
            "active": "tramites",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_correct(request: HttpRequest, code: str) -> HttpResponse:
    case = _my_case(request, code)
    if case.status != Case.Status.OBSERVED:
        messages.info(request, _("Este trámite no tiene observaciones pendientes."))
        return redirect("cases:my-case", case.tracking_code)
    spec = case.definition.spec
    errors: dict[str, str] = {}
    raw: dict[str, Any] | None = None
    if request.method == "POST":
        raw, uploads = raw_from_post(spec, request.POST, request.FILES)
        try:
            services.application_correct(actor=request.user, case=case, raw=raw, uploads=uploads)
        except DomainError as exc:
            errors = _errors(exc)
        else:
            messages.success(request, _("Corrección presentada. La institución continuará con su trámite."))
            return redirect("cases:my-case", case.tracking_code)
    fields = field_views(
        spec, case.data, errors, prefilled=case.prefilled, files=_files_by_name(case), raw=raw
    )
    return render(
        request,
        "cases/case_correct.html",
        {
            "case": case,
            "fields": fields,
            "error_list": error_list(fields, errors),
        },
        status=400 if errors else 200,
    )


@login_required
@require_GET
def case_document(request: HttpRequest, code: str, which: str) -> FileResponse:
    """The applicant's receipt (constancia) or resolution, as the signed PDF."""
    case = _my_case(request, code)
    document = {"constancia": case.receipt_document, "resolucion": case.resolution_document}.get(which)
    if document is None:
        raise Http404(_("Documento no disponible."))
    return pdf_response(document, f"{which}-{case.tracking_code}.pdf")


def pdf_response(document: Any, filename: str) -> FileResponse:
    import io

    from ventanilla.documents.selectors import document_content

    response = FileResponse(
        io.BytesIO(document_content(document)),
        content_type="application/pdf",
        as_attachment=True,
        filename=filename,
    )
    response["Cache-Control"] = "private, no-store"
    return response


def file_response(stored: CaseFile) -> FileResponse:
    response = FileResponse(
        stored.file.open("rb"),
        content_type=stored.content_type,
        as_attachment=True,
        filename=stored.original_name,
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@rate_limit("status_check", 30, 60, methods=["POST"])
@require_http_methods(["GET", "POST"])
def status_check(request: HttpRequest) -> HttpResponse:
    """Anyone may check a case's status with its tracking code and the applicant's document number; the
    page shows the status and dates only, never the applicant's data or answers."""
    form = StatusCheckForm(request.POST or None)
    case = None
    not_found = False
    if request.method == "POST" and form.is_valid():
        code = normalize_tracking_code(form.cleaned_data["code"])
        case = (
            selectors.public_status(tracking_code=code, document_number=form.cleaned_data["document_number"])
            if code
            else None
        )
        not_found = case is None
    return render(
        request,
        "cases/status_check.html",
        {
            "form": form,
            "case": case,
            "step": case.definition.step(case.current_step) if case and case.current_step else None,
            "not_found": not_found,
            "start_url": reverse("catalog:procedure-search"),
        },
        status=404 if not_found else 200,
    )
