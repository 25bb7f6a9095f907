"""HTML pages of Ciudadanía Digital: sign-in, registration, Mi cuenta and the registrar's desk.

Views translate HTTP to ``accounts`` (writes) and ``account_selectors`` (reads); no rule is decided here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from ventanilla.core.errors import DomainError
from ventanilla.core.middleware import client_ip
from ventanilla.core.permissions import is_back_office_user
from ventanilla.core.ratelimit import rate_limit

from . import account_selectors as selectors
from . import accounts
from .forms import (
    AuditedSetPasswordForm,
    CivilRegistryForm,
    CodeForm,
    LoginForm,
    PasswordChangeForm,
    PasswordConfirmForm,
    RegistrarSearchForm,
    RegistrarVerifyForm,
    RegistrationForm,
    SpanishPasswordResetForm,
)
from .models import AssuranceLevel, VerificationCode

PENDING_MFA = "identity_mfa_pending"
PENDING_MFA_SECONDS = 300


# -- helpers ----------------------------------------------------------------------------------------------


def _safe_next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _home_for(user: Any) -> str:
    if is_back_office_user(user):
        return resolve_url(settings.LOGIN_REDIRECT_URL)
    return reverse("identity:account")


def _login_finish(
    request: HttpRequest, user: Any, amr: list[str], next_url: str, backend: str | None = None
) -> HttpResponse:
    login(request, user, backend=backend)
    accounts.login_complete(
        user=user,
        session_key=request.session.session_key or "",
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        amr=amr,
        device_cookie=_device_cookie(request),
    )
    response = redirect(next_url or _home_for(user))
    # A fresh device cookie on every sign-in: this browser may keep trying while the account is locked.
    response.set_cookie(
        accounts.DEVICE_COOKIE_NAME,
        accounts.device_cookie_value(user=user),
        max_age=accounts.DEVICE_COOKIE_MAX_AGE,
        path=accounts.DEVICE_COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _device_cookie(request: HttpRequest) -> str | None:
    return request.COOKIES.get(accounts.DEVICE_COOKIE_NAME)


def account_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mi cuenta pages: signed in, never cached, and they refresh the session's «last seen»."""

    @wraps(view)
    @login_required
    @never_cache
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        accounts.account_session_touch(session_key=request.session.session_key)
        return view(request, *args, **kwargs)

    return wrapper


def _errors(form: Any) -> list[dict[str, str]]:
    return form.error_summary() if form.is_bound and form.errors else []


# -- sign-in and sign-out ---------------------------------------------------------------------------------


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
@rate_limit("login", 20, 60, methods=["POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url or _home_for(request.user))
    form = LoginForm(request.POST or None)
    lock_message = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        outcome = accounts.login_attempt(
            identifier=form.cleaned_data["identifier"],
            password=form.cleaned_data["password"],
            ip_address=client_ip(request),
            request=request,
            device_cookie=_device_cookie(request),
        )
        if outcome.user is not None and outcome.needs_mfa:
            request.session[PENDING_MFA] = {
                "user": outcome.user.pk,
                "backend": getattr(outcome.user, "backend", settings.AUTHENTICATION_BACKENDS[0]),
                "next": next_url,
                "at": int(time.time()),
            }
            return redirect("identity:login-mfa")
        if outcome.user is not None:
            return _login_finish(request, outcome.user, ["pwd"], next_url)
        if outcome.locked:
            lock_message, status = outcome.error, 429
        else:
            form.add_error(None, outcome.error)
    return render(
        request,
        "identity/login.html",
        {"form": form, "next": next_url, "lock_message": lock_message, "errors": _errors(form)},
        status=status,
    )


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_mfa(request: HttpRequest) -> HttpResponse:
    pending: dict[str, Any] = request.session.get(PENDING_MFA) or {}
    user = None
    if pending.get("user") and time.time() - pending.get("at", 0) <= PENDING_MFA_SECONDS:
        user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        request.session.pop(PENDING_MFA, None)
        messages.warning(request, _("Su ingreso venció. Escriba de nuevo su documento y contraseña."))
        return redirect("identity:login")
    form = CodeForm(
        request.POST or None,
        label=_("Código de verificación"),
        help_text=_("Los 6 dígitos de su aplicación de autenticación, o uno de sus códigos de recuperación."),
    )
    lock_message = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            amr = accounts.mfa_verify(
                user=user,
                code=form.cleaned_data["code"],
                ip_address=client_ip(request),
                device_cookie=_device_cookie(request),
            )
        except DomainError as exc:
            if exc.code == "locked":
                request.session.pop(PENDING_MFA, None)
                lock_message, status = exc.message, 429
            else:
                form.add_domain_error(exc)
        else:
            request.session.pop(PENDING_MFA, None)
            return _login_finish(request, user, amr, pending.get("next", ""), backend=pending.get("backend"))
    return render(
        request,
        "identity/login_mfa.html",
        {"form": form, "lock_message": lock_message, "errors": _errors(form)},
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        if not request.user.is_authenticated:
            return redirect(settings.LOGOUT_REDIRECT_URL)
        return render(request, "identity/logout.html")
    if request.user.is_authenticated:
        accounts.account_logout(actor=request.user, session_key=request.session.session_key)
    logout(request)
    return redirect(_safe_next(request) or resolve_url(settings.LOGOUT_REDIRECT_URL))


# -- registration and contact verification ----------------------------------------------------------------


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
@rate_limit("register", 10, 3600, methods=["POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("identity:account")
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        document = data["document"]
        try:
            user = accounts.account_register(
                data=accounts.RegistrationData(
                    document_type=document.type,
                    document_number=document.number,
                    document_complement=document.complement,
                    document_department=data.get("document_department", ""),
                    first_names=data["first_names"],
                    first_surname=data["first_surname"],
                    second_surname=data["second_surname"],
                    birth_date=data["birth_date"],
                    email=data["email"],
                    mobile=data["mobile"],
                    password=data["password1"],
                )
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(
                request,
                _(
                    "Su cuenta fue creada. Le enviamos un código a su correo y otro a su celular "
                    "para confirmarlos."
                ),
            )
            return _login_finish(
                request,
                user,
                ["pwd"],
                reverse("identity:contact-verify"),
                backend=settings.AUTHENTICATION_BACKENDS[0],
            )
    return render(request, "identity/register.html", {"form": form, "errors": _errors(form)})


CODE_ACTIONS = {
    "correo": VerificationCode.Purpose.VERIFY_EMAIL,
    "celular": VerificationCode.Purpose.VERIFY_MOBILE,
}


@sensitive_post_parameters("correo-code", "celular-code")
@account_page
@require_http_methods(["GET", "POST"])
def contact_verify(request: HttpRequest) -> HttpResponse:
    person = selectors.person_for_user(request.user)
    forms = {
        "correo": CodeForm(prefix="correo", label=_("Código recibido por correo")),
        "celular": CodeForm(prefix="celular", label=_("Código recibido por SMS")),
    }
    if request.method == "POST" and person is not None:
        action, _sep, kind = request.POST.get("accion", "").partition("-")
        purpose = CODE_ACTIONS.get(kind)
        if purpose is None or action not in {"verificar", "reenviar"}:
            return redirect("identity:contact-verify")
        if action == "reenviar":
            try:
                accounts.verification_code_resend(actor=request.user, purpose=purpose)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Le enviamos un código nuevo."))
            return redirect("identity:contact-verify")
        form = CodeForm(request.POST, prefix=kind, label=forms[kind].fields["code"].label)
        forms[kind] = form
        if form.is_valid():
            try:
                accounts.verification_code_check(
                    actor=request.user, purpose=purpose, code=form.cleaned_data["code"]
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                done = (
                    _("Su correo quedó verificado.")
                    if kind == "correo"
                    else _("Su celular quedó verificado.")
                )
                messages.success(request, done)
                return redirect("identity:contact-verify")
    errors = [item for form in forms.values() for item in _errors(form)]
    return render(
        request,
        "identity/contact_verify.html",
        {"person": person, "email_form": forms["correo"], "mobile_form": forms["celular"], "errors": errors},
    )


# -- Mi cuenta --------------------------------------------------------------------------------------------


@account_page
def account(request: HttpRequest) -> HttpResponse:
    person = selectors.person_for_user(request.user)
    device = selectors.totp_device_get(actor=request.user)
    return render(
        request,
        "identity/account.html",
        {
            "person": person,
            "verified": person is not None and person.assurance_level == AssuranceLevel.VERIFICADO,
            "mfa_active": device is not None and device.is_active,
            "active": "perfil",
        },
    )


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@account_page
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        old_key = request.session.session_key
        try:
            accounts.password_change(
                actor=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
                current_session_key=old_key,
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            user: Any = request.user
            update_session_auth_hash(request, user)
            accounts.account_session_rekey(
                actor=request.user, old_key=old_key, new_key=request.session.session_key
            )
            messages.success(
                request,
                _("Su contraseña fue cambiada. Cerramos las sesiones abiertas en otros dispositivos."),
            )
            return redirect("identity:account")
    return render(
        request,
        "identity/password_change.html",
        {"form": form, "errors": _errors(form), "active": "seguridad"},
    )


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "identity/password_reset_form.html"
    email_template_name = "identity/password_reset_email.txt"
    subject_template_name = "identity/password_reset_subject.txt"
    form_class = SpanishPasswordResetForm
    success_url = reverse_lazy("identity:password-reset-done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "identity/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "identity/password_reset_confirm.html"
    form_class = AuditedSetPasswordForm
    success_url = reverse_lazy("identity:password-reset-complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "identity/password_reset_complete.html"


# -- multi-factor authentication --------------------------------------------------------------------------


def _recovery_codes_page(request: HttpRequest, codes: list[str], title: str) -> HttpResponse:
    response = render(
        request, "identity/mfa_recovery_codes.html", {"codes": codes, "title": title, "active": "seguridad"}
    )
    response["Cache-Control"] = "no-store"
    return response


@sensitive_post_parameters("password")
@account_page
@require_http_methods(["GET", "POST"])
def mfa(request: HttpRequest) -> HttpResponse:
    """Status of the authenticator, and the password-protected actions: disable, new recovery codes."""
    disable_form = PasswordConfirmForm(prefix="desactivar")
    regenerate_form = PasswordConfirmForm(prefix="regenerar")
    if request.method == "POST":
        action = request.POST.get("accion")
        if action == "desactivar":
            disable_form = PasswordConfirmForm(request.POST, prefix="desactivar")
            if disable_form.is_valid():
                try:
                    accounts.totp_disable(actor=request.user, password=disable_form.cleaned_data["password"])
                except DomainError as exc:
                    disable_form.add_domain_error(exc)
                else:
                    messages.success(request, _("Desactivamos la verificación en dos pasos."))
                    return redirect("identity:mfa")
        elif action == "regenerar":
            regenerate_form = PasswordConfirmForm(request.POST, prefix="regenerar")
            if regenerate_form.is_valid():
                try:
                    codes = accounts.recovery_codes_regenerate(
                        actor=request.user, password=regenerate_form.cleaned_data["password"]
                    )
                except DomainError as exc:
                    regenerate_form.add_domain_error(exc)
                else:
                    return _recovery_codes_page(request, codes, _("Sus nuevos códigos de recuperación"))
    device = selectors.totp_device_get(actor=request.user)
    return render(
        request,
        "identity/mfa.html",
        {
            "active_device": device is not None and device.is_active,
            "codes_left": selectors.recovery_codes_left(actor=request.user),
            "disable_form": disable_form,
            "regenerate_form": regenerate_form,
            "errors": _errors(disable_form) + _errors(regenerate_form),
            "active": "seguridad",
        },
    )


@sensitive_post_parameters("code")
@account_page
@require_http_methods(["GET", "POST"])
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    """Start (POST accion=iniciar), show the secret and QR code, and confirm with a first code."""
    form = CodeForm(label=_("Código de 6 dígitos que muestra su aplicación"))
    if request.method == "POST":
        if request.POST.get("accion") == "iniciar":
            try:
                accounts.totp_enrol_start(actor=request.user)
            except DomainError as exc:
                messages.info(request, exc.message)
                return redirect("identity:mfa")
            return redirect("identity:mfa-enrol")
        form = CodeForm(request.POST, label=form.fields["code"].label)
        if form.is_valid():
            try:
                codes = accounts.totp_confirm(actor=request.user, code=form.cleaned_data["code"])
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                return _recovery_codes_page(request, codes, _("La verificación en dos pasos está activa"))
    enrolment = accounts.totp_enrolment_get(actor=request.user)
    if enrolment is None:
        return redirect("identity:mfa")
    qr_svg = segno.make(enrolment.uri, error="m").svg_inline(
        scale=4, border=2, title=_("Código QR para su aplicación de autenticación")
    )
    grouped_secret = " ".join(enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4))
    response = render(
        request,
        "identity/mfa_enrol.html",
        {
            "form": form,
            "qr_svg": mark_safe(qr_svg),  # nosec B308 B703 # noqa: S308 - generated by segno from our own URI
            "secret": grouped_secret,
            "errors": _errors(form),
            "active": "seguridad",
        },
    )
    response["Cache-Control"] = "no-store"
    return response


# -- sessions ---------------------------------------------------------------------------------------------


@account_page
def session_list(request: HttpRequest) -> HttpResponse:
    sessions = selectors.account_session_list(
        actor=request.user, current_session_key=request.session.session_key
    )
    return render(
        request,
        "identity/sessions.html",
        {
            "sessions": sessions,
            "has_others": any(not s.is_current for s in sessions),  # type: ignore[attr-defined]
            "active": "sesiones",
        },
    )


@account_page
@require_POST
def session_end(request: HttpRequest) -> HttpResponse:
    try:
        session_id = int(request.POST.get("sesion", ""))
    except ValueError as exc:
        raise Http404 from exc
    try:
        accounts.account_session_end(
            actor=request.user, session_id=session_id, current_session_key=request.session.session_key
        )
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Cerramos la sesión en ese dispositivo."))
    return redirect("identity:session-list")


@account_page
@require_POST
def session_end_others(request: HttpRequest) -> HttpResponse:
    count = accounts.account_sessions_end_others(
        actor=request.user, current_session_key=request.session.session_key
    )
    if count:
        messages.success(request, _("Cerramos las sesiones de los demás dispositivos."))
    else:
        messages.info(request, _("No había otras sesiones abiertas."))
    return redirect("identity:session-list")


# -- connected applications and data use -----------------------------------------------------------------


@account_page
def consent_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "identity/applications.html",
        {"applications": selectors.connected_application_list(actor=request.user), "active": "aplicaciones"},
    )


@account_page
@require_POST
def consent_withdraw(request: HttpRequest) -> HttpResponse:
    try:
        application_id = int(request.POST.get("aplicacion", ""))
        accounts.consent_withdraw(actor=request.user, application_id=application_id)
    except (ValueError, DomainError) as exc:
        raise Http404 from exc
    messages.success(
        request,
        _(
            "Revocamos el acceso. La aplicación ya no recibe sus datos; "
            "si vuelve a usarla, le pedirá permiso."
        ),
    )
    return redirect("identity:consent-list")


@account_page
def data_use_list(request: HttpRequest) -> HttpResponse:
    page = selectors.data_use_page(actor=request.user, page=request.GET.get("pagina"))
    return render(request, "identity/data_use.html", {"page": page, "active": "datos"})


# -- identity proofing ------------------------------------------------------------------------------------


@account_page
@require_http_methods(["GET", "POST"])
def civil_registry_verify(request: HttpRequest) -> HttpResponse:
    person = selectors.person_for_user(request.user)
    if person is None:
        raise Http404
    initial = {
        "first_names": person.first_names,
        "first_surname": person.first_surname,
        "second_surname": person.second_surname,
        "birth_date": person.birth_date,
    }
    form = CivilRegistryForm(request.POST or None, initial=initial)
    problems: list[str] = []
    status = 200
    already = person.assurance_level == AssuranceLevel.VERIFICADO
    contacts_confirmed = person.email_verified and person.mobile_verified
    if request.method == "POST" and not already and not contacts_confirmed:
        status = 403  # the page explains it; the service refuses it too
    elif request.method == "POST" and not already and form.is_valid():
        try:
            result = accounts.person_verify_with_civil_registry(
                actor=request.user, data=accounts.ProofingData(**form.cleaned_data)
            )
        except DomainError as exc:
            if exc.code == "contact_unverified":
                contacts_confirmed, status = False, exc.status
            else:
                problems, status = [exc.message], exc.status
        else:
            if result.ok:
                messages.success(request, _("¡Listo! Su identidad quedó verificada con el registro civil."))
                return redirect("identity:account")
            problems = result.problems
    return render(
        request,
        "identity/civil_registry.html",
        {
            "person": person,
            "form": form,
            "problems": problems,
            "already": already,
            "contacts_confirmed": contacts_confirmed,
            "contacts_message": accounts.contacts_first_message(),
            "errors": _errors(form),
            "active": "perfil",
        },
        status=status,
    )


@account_page
@require_http_methods(["GET", "POST"])
def in_person_code(request: HttpRequest) -> HttpResponse:
    """Mi cuenta: the one-time code the citizen tells the registrar at the desk (POST makes a new one; it is
    shown once, never cached)."""
    person = selectors.person_for_user(request.user)
    if person is None:
        raise Http404
    issued = None
    status = 200
    error = ""
    if request.method == "POST":
        try:
            issued = accounts.in_person_code_issue(actor=request.user)
        except DomainError as exc:
            error, status = exc.message, exc.status
    response = render(
        request,
        "identity/in_person_code.html",
        {"person": person, "issued": issued, "error": error, "active": "perfil"},
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def registrar(request: HttpRequest) -> HttpResponse:
    """Registrar's desk: find a person by document, check their document in person, mark them verified."""
    if not selectors.registrar_institution_ids(request.user):
        raise PermissionDenied
    offices = selectors.registrar_office_list(actor=request.user)
    search = RegistrarSearchForm(request.GET if "document_number" in request.GET else None)
    person = None
    verify_form = None
    searched = search.is_bound and search.is_valid()
    if searched:
        person = selectors.person_find_by_document(document=search.cleaned_data["document"])
    if person is not None:
        initial = {
            "person": person.uuid,
            "first_names": person.first_names,
            "first_surname": person.first_surname,
            "second_surname": person.second_surname,
            "birth_date": person.birth_date,
        }
        if offices.count() == 1:
            initial["office"] = offices.first()
        verify_form = RegistrarVerifyForm(
            request.POST if request.method == "POST" else None, initial=initial, offices=offices
        )
        if request.method == "POST" and verify_form.is_valid():
            data = verify_form.cleaned_data
            if data["person"] != person.uuid:
                raise Http404
            try:
                accounts.person_verify_by_registrar(
                    actor=request.user,
                    person=person,
                    office=data["office"],
                    data=accounts.ProofingData(
                        first_names=data["first_names"],
                        first_surname=data["first_surname"],
                        second_surname=data["second_surname"],
                        birth_date=data["birth_date"],
                    ),
                    document_checked=data["document_checked"],
                    code=data["code"],
                )
            except DomainError as exc:
                if exc.status == 403:
                    raise PermissionDenied(exc.message) from exc
                verify_form.add_domain_error(exc)
            else:
                messages.success(
                    request,
                    _("%(name)s quedó con identidad verificada.") % {"name": person.full_name},
                )
                return redirect(request.get_full_path())
    elif request.method == "POST":
        raise Http404
    errors = (_errors(search) if searched is False and search.is_bound else []) + (
        _errors(verify_form) if verify_form is not None else []
    )
    return render(
        request,
        "identity/registrar.html",
        {
            "search": search,
            "searched": searched,
            "person": person,
            "verify_form": verify_form,
            "errors": errors,
        },
    )
