"""Back-office pages for registered applications (gestion/aplicaciones/).

Institution admins register and maintain their institutions' applications; the platform agency reviews them.
Who sees what is decided by ``client_selectors`` (another institution's application is a 404) and what may be
done by ``clients`` (the services). These views only translate between HTTP and those functions.

A new client secret is shown once: the view that creates it keeps it in the session, and the next page
(the detail) takes it out and shows it, with ``Cache-Control: no-store``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from ventanilla.core.errors import DomainError, Forbidden, NotFound
from ventanilla.core.pagination import paginate
from ventanilla.core.permissions import is_platform_admin

from . import client_selectors as selectors
from .client_forms import ClientCreateForm, ClientEditForm, ReviewForm
from .clients import (
    CONFIDENTIAL,
    client_approve,
    client_register,
    client_reject,
    client_secret_rotate,
    client_suspend,
    client_update,
)
from .models import ClientRegistration

Status = ClientRegistration.Status
PAGE_SIZE = 25
SECRET_SESSION_KEY = "vt_client_secret"  # noqa: S105 (a session key name, not a secret)
View = Callable[..., HttpResponse]


def client_admin(view: View) -> View:
    """Signed in (else the login page), agency or institution admin (else 403), never cached."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not selectors.client_management_allowed(request.user):
            raise PermissionDenied(
                _("Esta sección es para los administradores de las instituciones y la agencia.")
            )
        return view(request, *args, **kwargs)

    return login_required(never_cache(wrapper))


def _registration_or_404(request: HttpRequest, client_id: str) -> ClientRegistration:
    try:
        return selectors.client_registration_get(actor=request.user, client_id=client_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _detail_url(registration: ClientRegistration) -> str:
    return reverse("identity:client-detail", kwargs={"client_id": registration.application.client_id})


def _keep_secret_for_next_page(request: HttpRequest, registration: ClientRegistration, secret: str) -> None:
    request.session[SECRET_SESSION_KEY] = {"client_id": registration.application.client_id, "secret": secret}


def _take_secret(request: HttpRequest, registration: ClientRegistration) -> str | None:
    kept = request.session.get(SECRET_SESSION_KEY)
    if not kept or kept.get("client_id") != registration.application.client_id:
        return None
    del request.session[SECRET_SESSION_KEY]
    return str(kept.get("secret") or "") or None


# --------------------------------------------------------------------------------------------------------
# List, create, detail
# --------------------------------------------------------------------------------------------------------


@client_admin
@require_GET
def client_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("estado", "")
    status = status if status in Status.values else ""
    items, pager = paginate(
        request, selectors.client_registration_list(actor=request.user, status=status), PAGE_SIZE
    )
    return render(
        request,
        "identity/clients/list.html",
        {
            "items": items,
            "result": pager,
            "status": status,
            "status_choices": Status.choices,
            "is_agency": is_platform_admin(request.user),
        },
    )


@client_admin
@require_http_methods(["GET", "POST"])
def client_create(request: HttpRequest) -> HttpResponse:
    institutions = {i.code: i for i in selectors.client_institution_choices(actor=request.user)}
    choices = [(code, f"{i.acronym or i.code} — {i.name}") for code, i in institutions.items()]
    form = ClientCreateForm(request.POST if request.method == "POST" else None, institutions=choices)
    if request.method == "POST" and form.is_valid():
        try:
            registration, secret = client_register(
                actor=request.user,
                institution=institutions[form.cleaned_data["institution"]],
                **form.service_kwargs(),
            )
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            if secret:
                _keep_secret_for_next_page(request, registration, secret)
            messages.success(
                request,
                _("Se registró «%(name)s». La agencia debe aprobarla antes de que pueda usarse.")
                % {"name": registration.application.name},
            )
            return redirect(_detail_url(registration))
    return render(
        request,
        "identity/clients/form.html",
        {"form": form, "registration": None, "errors": form.error_summary() if form.is_bound else []},
    )


@client_admin
@require_GET
def client_detail(request: HttpRequest, client_id: str) -> HttpResponse:
    registration = _registration_or_404(request, client_id)
    app = registration.application
    return render(
        request,
        "identity/clients/detail.html",
        {
            "registration": registration,
            "app": app,
            "secret": _take_secret(request, registration),
            "redirect_uris": app.redirect_uris.split(),
            "post_logout_redirect_uris": app.post_logout_redirect_uris.split(),
            "scopes": registration.allowed_scopes.split(),
            "is_confidential": app.client_type == CONFIDENTIAL,
            "is_agency": is_platform_admin(request.user),
        },
    )


# --------------------------------------------------------------------------------------------------------
# Edit, review, rotate
# --------------------------------------------------------------------------------------------------------


@client_admin
@require_http_methods(["GET", "POST"])
def client_edit(request: HttpRequest, client_id: str) -> HttpResponse:
    registration = _registration_or_404(request, client_id)
    if request.method == "POST":
        form = ClientEditForm(request.POST)
        if form.is_valid():
            was = registration.status
            try:
                saved = client_update(actor=request.user, registration=registration, **form.service_kwargs())
            except Forbidden as exc:
                raise PermissionDenied(exc.message) from exc
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                if saved.status == Status.PENDING and was != Status.PENDING:
                    messages.warning(
                        request,
                        _("Se guardaron los cambios. La aplicación vuelve a revisión de la agencia."),
                    )
                else:
                    messages.success(request, _("Se guardaron los cambios."))
                return redirect(_detail_url(saved))
    else:
        form = ClientEditForm(initial=ClientEditForm.initial_for(registration))
    return render(
        request,
        "identity/clients/form.html",
        {
            "form": form,
            "registration": registration,
            "errors": form.error_summary() if form.is_bound else [],
            "goes_pending": registration.status in (Status.APPROVED, Status.REJECTED)
            and not is_platform_admin(request.user),
        },
    )


REVIEW_ACTIONS: dict[str, Callable[..., ClientRegistration]] = {
    "aprobar": client_approve,
    "rechazar": client_reject,
    "suspender": client_suspend,
}


@client_admin
@require_http_methods(["GET", "POST"])
def client_review(request: HttpRequest, client_id: str) -> HttpResponse:
    registration = _registration_or_404(request, client_id)
    if not is_platform_admin(request.user):
        raise PermissionDenied(
            _("La revisión de aplicaciones es tarea de la agencia de gobierno electrónico.")
        )
    form = ReviewForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        action = request.POST.get("accion", "")
        if action not in REVIEW_ACTIONS:
            form.add_error(None, _("Elija una acción."))
        else:
            try:
                REVIEW_ACTIONS[action](
                    actor=request.user, registration=registration, comment=form.cleaned_data["comment"]
                )
            except Forbidden as exc:
                raise PermissionDenied(exc.message) from exc
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                registration.refresh_from_db(fields=["status"])
                messages.success(
                    request,
                    _("La aplicación quedó «%(status)s».") % {"status": registration.get_status_display()},
                )
                return redirect(_detail_url(registration))
    return render(
        request,
        "identity/clients/review.html",
        {
            "registration": registration,
            "app": registration.application,
            "form": form,
            "errors": form.error_summary() if form.is_bound else [],
            "can_approve": registration.status in (Status.PENDING, Status.SUSPENDED),
            "can_reject": registration.status == Status.PENDING,
            "can_suspend": registration.status == Status.APPROVED,
        },
    )


@client_admin
@require_http_methods(["GET", "POST"])
def client_secret_rotate_view(request: HttpRequest, client_id: str) -> HttpResponse:
    registration = _registration_or_404(request, client_id)
    if registration.application.client_type != CONFIDENTIAL:
        raise Http404(_("Las aplicaciones públicas no tienen secreto."))
    if request.method == "POST":
        try:
            secret = client_secret_rotate(actor=request.user, registration=registration)
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            _keep_secret_for_next_page(request, registration, secret)
            messages.success(request, _("Se generó un nuevo secreto. El anterior ya no funciona."))
        return redirect(_detail_url(registration))
    return render(
        request,
        "identity/clients/rotate.html",
        {"registration": registration, "app": registration.application},
    )


urlpatterns = [
    path("gestion/aplicaciones/", client_list, name="client-list"),
    path("gestion/aplicaciones/nueva/", client_create, name="client-create"),
    path("gestion/aplicaciones/<str:client_id>/", client_detail, name="client-detail"),
    path("gestion/aplicaciones/<str:client_id>/editar/", client_edit, name="client-edit"),
    path("gestion/aplicaciones/<str:client_id>/revisar/", client_review, name="client-review"),
    path(
        "gestion/aplicaciones/<str:client_id>/secreto/",
        client_secret_rotate_view,
        name="client-secret-rotate",
    ),
]
