"""Pages of the documents app.

- Public: /verificar/ (enter a code, or upload a copy) and /verificar/<code>/ — anyone, rate limited;
  they show what the document states about itself (kind, title, institution, date, status), never the
  person it concerns.
- Mi cuenta: /cuenta/aprobaciones/… — the signed-in person, only requests addressed to them.
- Back office: /gestion/documentos/… — institution staff (admin, editor, clerk, supervisor) of the
  requesting institution, and the platform agency; another institution's rows answer 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from ventanilla.core.errors import DomainError, NotFound
from ventanilla.core.middleware import client_ip
from ventanilla.core.models import Institution
from ventanilla.core.pagination import paginate
from ventanilla.core.ratelimit import rate_limit
from ventanilla.identity import account_selectors

from . import selectors, services
from .forms import ApprovalCreateForm, DecisionForm, RevokeForm, VerifyCodeForm, VerifyCopyForm
from .models import ApprovalRequest

# -- public verification ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@rate_limit("verify_lookup", 120, 60, methods=["GET"])
@rate_limit("verify", 60, 60, methods=["POST"])
def verify_form(request: HttpRequest) -> HttpResponse:
    """Enter a code (GET ?codigo=…) or upload a copy (POST) to check it."""
    code_form = VerifyCodeForm(request.GET if "codigo" in request.GET else None)
    copy_form = VerifyCopyForm(request.POST or None, request.FILES or None)
    verification = None
    if code_form.is_bound and code_form.is_valid():
        try:
            document = selectors.document_get(code=code_form.cleaned_data["codigo"])
        except NotFound as exc:
            code_form.add_error("codigo", exc.message)
        else:
            return redirect("documents:verify", code=document.code)
    if request.method == "POST" and copy_form.is_valid():
        verification = selectors.copy_verify(content=copy_form.cleaned_data["archivo"])
    errors = code_form.error_summary() if code_form.is_bound else []
    errors += copy_form.error_summary() if copy_form.is_bound else []
    status = 400 if errors else 200
    return render(
        request,
        "documents/verify_form.html",
        {"code_form": code_form, "copy_form": copy_form, "verification": verification, "errors": errors},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@rate_limit("verify_lookup", 120, 60, methods=["GET"])
@rate_limit("verify", 60, 60, methods=["POST"])
def verify(request: HttpRequest, code: str) -> HttpResponse:
    try:
        verification = selectors.document_verify(code=code)
    except NotFound as exc:
        return render(
            request,
            "documents/verify_not_found.html",
            {"code": code[:40], "message": exc.message, "code_form": VerifyCodeForm()},
            status=404,
        )
    document = verification.document
    assert document is not None
    if document.code != code:
        return redirect("documents:verify", code=document.code)
    copy_form = VerifyCopyForm(request.POST or None, request.FILES or None)
    copy_result = None
    if request.method == "POST" and copy_form.is_valid():
        copy_result = selectors.copy_verify(content=copy_form.cleaned_data["archivo"], code=document.code)
        if copy_result.document is not None and copy_result.document.pk != document.pk:
            copy_result = selectors.Verification(
                selectors.Outcome.ALTERED, document, copy_result.signature, True, False
            )
    errors = copy_form.error_summary() if copy_form.is_bound else []
    return render(
        request,
        "documents/verify.html",
        {"verification": verification, "copy_form": copy_form, "copy_result": copy_result, "errors": errors},
        status=400 if errors else 200,
    )


# -- Mi cuenta: approvals ---------------------------------------------------------------------------------


def _person_or_404(request: HttpRequest) -> Any:
    person = account_selectors.person_for_user(request.user)
    if person is None:
        raise Http404
    return person


def _verify_first(request: HttpRequest) -> HttpResponse:
    """What an account that has not proved its identity sees instead of a request addressed to it."""
    return render(request, "documents/my_approval_verify_first.html", {"active": "aprobaciones"}, status=403)


@login_required
def my_approvals(request: HttpRequest) -> HttpResponse:
    person = account_selectors.person_for_user(request.user)
    items: list[Any] = []
    pager = None
    if person is not None:
        items, pager = paginate(
            request, selectors.approval_list_for_person(person_id=person.pk), settings.VENTANILLA_PAGE_SIZE
        )
    return render(
        request,
        "documents/my_approvals.html",
        {
            "items": items,
            "pager": pager,
            "has_person": person is not None,
            "may_see": selectors.person_may_see_approvals(person),
            "active": "aprobaciones",
        },
    )


@sensitive_post_parameters("password", "code")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@rate_limit("approval_decide", 20, 300, methods=["POST"])
def my_approval(request: HttpRequest, public_id: str) -> HttpResponse:
    person = _person_or_404(request)
    try:
        approval = selectors.approval_for_person(person_id=person.pk, public_id=public_id)
    except NotFound as exc:
        raise Http404 from exc
    if not selectors.person_may_see_approvals(person):
        return _verify_first(request)
    with_code = account_selectors.has_active_totp(request.user)
    form = DecisionForm(request.POST or None, with_code=with_code)
    status = 200
    if request.method == "POST" and approval.status == ApprovalRequest.Status.PENDING and form.is_valid():
        try:
            decided = services.approval_decide(
                actor=request.user,
                public_id=approval.public_id,
                approve=form.cleaned_data["decision"] == "aprobar",
                password=form.cleaned_data["password"],
                code=form.cleaned_data.get("code", ""),
                comment=form.cleaned_data.get("comment", ""),
                ip_address=client_ip(request),
            )
        except DomainError as exc:
            if exc.code == "locked":
                messages.error(request, exc.message)
                status = 429
            else:
                form.add_domain_error(exc)
        else:
            if decided.status == ApprovalRequest.Status.APPROVED:
                messages.success(
                    request, _("Usted aprobó el documento. Su constancia está disponible abajo.")
                )
            else:
                messages.info(request, _("Usted rechazó el documento. La institución será informada."))
            return redirect("documents:my-approval", public_id=approval.public_id)
    preview = ""
    if approval.content_type == ApprovalRequest.ContentType.JSON:
        preview = selectors.approval_content(approval).decode("utf-8", errors="replace")
    errors = form.error_summary() if form.is_bound else []
    if errors and status == 200:
        status = 400
    return render(
        request,
        "documents/my_approval.html",
        {"approval": approval, "form": form, "errors": errors, "preview": preview, "active": "aprobaciones"},
        status=status,
    )


def _content_response(data: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(
        data, content_type="application/pdf" if content_type == "PDF" else "application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def my_approval_content(request: HttpRequest, public_id: str) -> HttpResponse:
    person = _person_or_404(request)
    try:
        approval = selectors.approval_for_person(person_id=person.pk, public_id=public_id)
    except NotFound as exc:
        raise Http404 from exc
    if not selectors.person_may_see_approvals(person):
        return _verify_first(request)
    extension = "pdf" if approval.content_type == "PDF" else "json"
    return _content_response(
        selectors.approval_content(approval), approval.content_type, f"documento.{extension}"
    )


@login_required
def my_approval_evidence(request: HttpRequest, public_id: str) -> HttpResponse:
    person = _person_or_404(request)
    try:
        approval = selectors.approval_for_person(person_id=person.pk, public_id=public_id)
    except NotFound as exc:
        raise Http404 from exc
    if not selectors.person_may_see_approvals(person):
        return _verify_first(request)
    if approval.evidence is None:
        raise Http404
    return _content_response(
        selectors.document_content(approval.evidence), "PDF", f"constancia-{approval.evidence.code}.pdf"
    )


# -- back office ------------------------------------------------------------------------------------------


def _staff_or_404(request: HttpRequest) -> None:
    if not request.user.is_authenticated:
        raise Http404
    allowed = selectors.approval_staff_institution_ids(request.user)
    if allowed is not None and not allowed:
        raise Http404


def _staff_institutions(user: Any) -> list[tuple[int, str]]:
    allowed = selectors.approval_staff_institution_ids(user)
    institutions = Institution.objects.filter(is_active=True).order_by("name")
    if allowed is not None:
        institutions = institutions.filter(pk__in=allowed)
    return [(inst.pk, inst.name) for inst in institutions]


@login_required
def manage_approvals(request: HttpRequest) -> HttpResponse:
    _staff_or_404(request)
    status = request.GET.get("estado", "")
    items, pager = paginate(
        request,
        selectors.approval_list_for_staff(actor=request.user, status=status),
        settings.VENTANILLA_PAGE_SIZE,
    )
    return render(
        request,
        "documents/manage_approvals.html",
        {"items": items, "pager": pager, "status": status, "statuses": ApprovalRequest.Status.choices},
    )


@login_required
@require_http_methods(["GET", "POST"])
def manage_approval_new(request: HttpRequest) -> HttpResponse:
    _staff_or_404(request)
    form = ApprovalCreateForm(
        request.POST or None, request.FILES or None, institutions=_staff_institutions(request.user)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        document, problems = account_selectors.document_parse(
            data["document_type"], data["document_number"], data.get("document_complement", "")
        )
        person = account_selectors.person_find_by_document(document=document) if document else None
        if document is None:
            for problem in problems:
                form.add_error("document_number", problem)
        elif person is None:
            form.add_error(
                "document_number",
                _(
                    "No hay una cuenta de Ciudadanía Digital con ese documento. "
                    "La persona debe registrarse primero."
                ),
            )
        else:
            try:
                approval = services.approval_request_create(
                    actor=request.user,
                    data=services.ApprovalData(
                        institution_id=data["institution"],
                        person_id=person.pk,
                        title=data["title"],
                        description=data["description"],
                        content_type="PDF",
                        content=data["file"],
                        reference=data["reference"],
                    ),
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("Solicitud enviada. La persona la verá en Mi cuenta."))
                return redirect("documents:manage-approval", public_id=approval.public_id)
    errors = form.error_summary() if form.is_bound else []
    return render(
        request,
        "documents/manage_approval_new.html",
        {"form": form, "errors": errors},
        status=400 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def manage_approval(request: HttpRequest, public_id: str) -> HttpResponse:
    _staff_or_404(request)
    try:
        approval = selectors.approval_for_staff(actor=request.user, public_id=public_id)
    except NotFound as exc:
        raise Http404 from exc
    if request.method == "POST" and request.POST.get("accion") == "cancelar":
        try:
            services.approval_cancel(actor=request.user, public_id=approval.public_id)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("La solicitud fue cancelada."))
        return redirect("documents:manage-approval", public_id=approval.public_id)
    return render(request, "documents/manage_approval.html", {"approval": approval})


@login_required
def manage_approval_content(request: HttpRequest, public_id: str) -> HttpResponse:
    _staff_or_404(request)
    try:
        approval = selectors.approval_for_staff(actor=request.user, public_id=public_id)
    except NotFound as exc:
        raise Http404 from exc
    extension = "pdf" if approval.content_type == "PDF" else "json"
    return _content_response(
        selectors.approval_content(approval), approval.content_type, f"documento.{extension}"
    )


@login_required
def manage_documents(request: HttpRequest) -> HttpResponse:
    _staff_or_404(request)
    status = request.GET.get("estado", "")
    items, pager = paginate(
        request,
        selectors.document_list_for_staff(actor=request.user, status=status),
        settings.VENTANILLA_PAGE_SIZE,
    )
    return render(
        request, "documents/manage_documents.html", {"items": items, "pager": pager, "status": status}
    )


@login_required
@require_http_methods(["GET", "POST"])
def manage_document_revoke(request: HttpRequest, code: str) -> HttpResponse:
    _staff_or_404(request)
    document = selectors.document_list_for_staff(actor=request.user).filter(code=code).first()
    if document is None:
        raise Http404
    form = RevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.document_revoke(
                actor=request.user, document_id=document.pk, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("El documento fue revocado."))
            return redirect(reverse("documents:manage-documents"))
    errors = form.error_summary() if form.is_bound else []
    return render(
        request,
        "documents/manage_document_revoke.html",
        {"document": document, "form": form, "errors": errors},
        status=400 if errors else 200,
    )
