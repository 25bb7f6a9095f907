"""Pages and HTTP endpoints of the interop app.

Who may call what:
- ``/interop/r1/...`` (mediator and metaservices): information systems, with an OAuth2 client-credentials
  bearer token of a registered subsystem. No session, no CSRF (csrf_exempt): the token is the credential.
- ``/interoperabilidad/...`` (public catalogue): anyone; no base URLs, no secrets.
- ``/cuenta/consentimientos/``: the signed-in citizen (a person), about their own consents.
- ``/gestion/interoperabilidad/...``: institution admins/editors for their own institutions' subsystems
  and services (another institution's object is "not found"), and the platform agency for all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.encoding import escape_uri_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ventanilla.core.errors import DomainError
from ventanilla.core.models import Institution
from ventanilla.core.pagination import paginate
from ventanilla.core.permissions import is_back_office_user

from . import selectors, services
from .forms import (
    AccessRequestForm,
    ConsentForm,
    DecisionForm,
    ServiceForm,
    SubsystemForm,
    apply_domain_error,
    error_summary,
)
from .models import AccessRight, Service, Subsystem
from .services import Call, InteropError

View = Callable[..., HttpResponse]
PAGE_SIZE = 20


# --------------------------------------------------------------------------------------------------------
# Mediator (/interop/r1/...)
# --------------------------------------------------------------------------------------------------------


def _bearer(request: HttpRequest) -> str:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def refusal_response(error: InteropError, request_id: str = "") -> HttpResponse:
    response = HttpResponse(
        services.error_payload(error), status=error.status, content_type="application/json; charset=utf-8"
    )
    response["Interop-Error"] = error.code
    if request_id:
        response["Interop-Request-Id"] = request_id
    if error.code == "bad_client":
        response["WWW-Authenticate"] = 'Bearer realm="interop"'
    if error.code == "rate_limited" and error.retry_after:
        response["Retry-After"] = str(error.retry_after)
    return response


def _request_body(request: HttpRequest, length: int) -> Iterator[bytes]:
    remaining = length
    while remaining > 0:
        chunk = request.read(min(services.CHUNK, remaining))
        if not chunk:
            break
        remaining -= len(chunk)
        yield chunk


def _content_length(request: HttpRequest) -> int:
    raw = request.META.get("CONTENT_LENGTH") or ""
    if not raw and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        # Without a length the body would be lost on the way: say so instead of forwarding nothing.
        raise InteropError(
            "length_required",
            _("Envíe el cuerpo con Content-Length (no se aceptan cuerpos por fragmentos)."),
            field="Content-Length",
        )
    try:
        length = int(raw or 0)
    except ValueError:
        length = -1
    if length < 0:
        raise InteropError("invalid_header", _("Content-Length no es válido."), field="Content-Length")
    return length


def _authenticated(request: HttpRequest) -> Subsystem:
    consumer = selectors.subsystem_for_token(_bearer(request))
    if consumer is None:
        raise InteropError(
            "bad_client",
            _("Falta un token válido de credenciales de cliente de un subsistema."),
            field="Authorization",
        )
    return consumer


@csrf_exempt
def mediate(request: HttpRequest, member: str, subsystem: str, service: str, path: str = "") -> HttpResponse:
    """ANY /interop/r1/{member}/{subsystem}/{service}/{path}: check, forward, stream back, log."""
    service_id = f"{member}/{subsystem}/{service}"
    call = Call(
        method=(request.method or "GET").upper(),
        service_id=service_id,
        path=("/" + escape_uri_path(path)) if path else "",
        query=request.META.get("QUERY_STRING", ""),
        client=services.header_decode(request.headers.get("Interop-Client", "")).strip(),
        purpose=services.header_decode(request.headers.get("Interop-Purpose", "")).strip(),
        subject=services.header_decode(request.headers.get("Interop-Subject", "")).strip(),
        user=services.header_decode(request.headers.get("Interop-User", "")).strip(),
        headers=dict(request.headers),
    )
    try:
        consumer = _authenticated(request)
        if not call.client:
            raise InteropError(
                "missing_header",
                _("Falta la cabecera Interop-Client (MIEMBRO/SUBSISTEMA)."),
                field="Interop-Client",
            )
        length = _content_length(request)
        if length > 0:
            call.body = _request_body(request, length)
            call.content_length = length
        exchange = services.exchange_open(consumer=consumer, call=call)
    except InteropError as error:
        return refusal_response(error, call.request_id)
    response = StreamingHttpResponse(
        exchange.body(), status=exchange.status, content_type=exchange.headers.get("content-type")
    )
    for name, value in exchange.headers.items():
        if name != "content-type":
            response[name] = value
    response["Interop-Request-Id"] = call.request_id
    response["Interop-Request-Hash"] = exchange.request_hash
    response["Interop-Client"] = exchange.auth.consumer.identifier
    response["Interop-Service"] = exchange.auth.service.identifier
    return response


# -- metaservices -------------------------------------------------------------------------------------------


def _meta(view: Callable[..., Any]) -> View:
    """GET only, with a subsystem's bearer token; returns JSON; refusals in the mediator's shape."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "GET":
            return JsonResponse(
                {"errors": [{"code": "method_not_allowed", "message": _("Use GET."), "field": None}]},
                status=405,
            )
        try:
            consumer = _authenticated(request)
            return JsonResponse(
                view(request, consumer, *args, **kwargs), json_dumps_params={"ensure_ascii": False}
            )
        except InteropError as error:
            return refusal_response(error)

    return wrapper


def _service_summary(service: Service) -> dict[str, Any]:
    return {
        "id": service.identifier,
        "code": service.code,
        "version": service.version,
        "name": service.name,
        "description": service.description,
        "classification": service.classification,
        "personal_data": service.personal_data,
        "legal_basis": service.legal_basis,
        "needs_consent": service.needs_consent,
        "openapi": bool(service.openapi),
    }


@_meta
def meta_members(request: HttpRequest, consumer: Subsystem) -> dict[str, Any]:
    """listMembers: every member and its subsystems."""
    return {
        "members": [
            {
                "code": member.institution.code,
                "name": member.institution.name,
                "subsystems": [
                    {"code": s.code, "name": s.name, "kind": s.kind}
                    for s in member.subsystems.all()
                    if s.status == Subsystem.Status.ACTIVE
                ],
            }
            for member in selectors.member_list()
        ]
    }


@_meta
def meta_services(request: HttpRequest, consumer: Subsystem, member: str, subsystem: str) -> dict[str, Any]:
    """listMethods: the active services of a subsystem."""
    found = selectors.subsystem_services(member_code=member, subsystem_code=subsystem)
    if found is None:
        raise InteropError(
            "unknown_service", _("El subsistema %(id)s no existe.") % {"id": f"{member}/{subsystem}"}
        )
    return {"subsystem": f"{member}/{subsystem}", "services": [_service_summary(s) for s in found]}


@_meta
def meta_allowed(request: HttpRequest, consumer: Subsystem) -> dict[str, Any]:
    """allowedMethods: the services the calling subsystem may call now, with the terms of each right."""
    return {
        "client": consumer.identifier,
        "services": [
            {
                **_service_summary(service),
                "purpose": right.purpose,
                "operations": [f"{m} {p}" for m, p in right.operation_list()] or ["* /**"],
                "expires_at": right.expires_at.isoformat() if right.expires_at else None,
            }
            for service, right in selectors.allowed_services(consumer=consumer)
        ],
    }


def _without_servers(document: dict[str, Any]) -> dict[str, Any]:
    """The document without its ``servers`` entries: top-level, path-level and operation-level ones all
    name the provider's private hosts."""
    document = {k: v for k, v in document.items() if k != "servers"}
    paths = document.get("paths")
    if isinstance(paths, dict):
        cleaned: dict[str, Any] = {}
        for route, item in paths.items():
            if isinstance(item, dict):
                item = {
                    k: ({o: w for o, w in v.items() if o != "servers"} if isinstance(v, dict) else v)
                    for k, v in item.items()
                    if k != "servers"
                }
            cleaned[route] = item
        document["paths"] = cleaned
    return document


def public_openapi(service: Service) -> dict[str, Any]:
    """The provider's OpenAPI document as consumers see it: served by the mediator, never the provider."""
    document = _without_servers(dict(service.openapi or {}))
    base = settings.VENTANILLA_PUBLIC_URL.rstrip("/")
    document["servers"] = [{"url": f"{base}/interop/r1/{service.identifier}", "description": "Mediador"}]
    return document


@_meta
def meta_openapi(request: HttpRequest, consumer: Subsystem, member: str, subsystem: str, service: str) -> Any:
    """getOpenAPI: a service's OpenAPI document."""
    found = selectors.service_by_identifier(f"{member}/{subsystem}/{service}")
    if found is None:
        raise InteropError("unknown_service", _("El servicio no existe o no está activo."))
    return public_openapi(found)


# --------------------------------------------------------------------------------------------------------
# Public catalogue (/interoperabilidad/)
# --------------------------------------------------------------------------------------------------------


@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    institution = request.GET.get("institucion", "").strip()[:30]
    rows, pager = paginate(request, selectors.public_service_list(q=q, institution=institution), PAGE_SIZE)
    return render(
        request,
        "interop/catalogue.html",
        {
            "services": rows,
            "pager": pager,
            "q": q,
            "institution": institution,
            "institutions": selectors.member_institutions(),
        },
    )


def _public_service(member: str, subsystem: str, service: str) -> Service:
    return selectors.public_service_get(f"{member}/{subsystem}/{service}")


def _operations(document: dict[str, Any]) -> list[dict[str, str]]:
    found = []
    paths = document.get("paths") if isinstance(document, dict) else None
    if isinstance(paths, dict):
        for route, item in paths.items():
            if not isinstance(item, dict):
                continue
            for method, operation in item.items():
                if method.lower() in {"get", "post", "put", "patch", "delete"}:
                    summary = operation.get("summary", "") if isinstance(operation, dict) else ""
                    found.append({"method": method.upper(), "path": str(route), "summary": str(summary)})
    return found


@require_GET
def catalogue_service(request: HttpRequest, member: str, subsystem: str, service: str) -> HttpResponse:
    found = _public_service(member, subsystem, service)
    return render(
        request,
        "interop/catalogue_service.html",
        {
            "service": found,
            "operations": _operations(found.openapi),
            "public_url": settings.VENTANILLA_PUBLIC_URL,
            "consumers": selectors.service_consumers(service=found),
        },
    )


@require_GET
def catalogue_openapi(request: HttpRequest, member: str, subsystem: str, service: str) -> HttpResponse:
    found = _public_service(member, subsystem, service)
    return JsonResponse(public_openapi(found), json_dumps_params={"ensure_ascii": False, "indent": 2})


# --------------------------------------------------------------------------------------------------------
# Mi cuenta: consents
# --------------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def consent_list(request: HttpRequest) -> HttpResponse:
    person = selectors.person_of(request.user)
    offers = selectors.consent_offers()
    form = ConsentForm(request.POST or None, offers=offers)
    if request.method == "POST":
        if person is None:
            raise PermissionDenied(_("Su cuenta no tiene datos de una persona."))
        if form.is_valid():
            try:
                services.interop_consent_grant(
                    actor=request.user, right=form.cleaned_data["right"], expires_at=form.expires_at()
                )
            except DomainError as error:
                apply_domain_error(form, error)
            else:
                messages.success(request, _("Consentimiento registrado."))
                return redirect("interop:consent-list")
    consents = list(selectors.consent_list(person_id=person.pk)) if person else []
    return render(
        request,
        "interop/consents.html",
        {
            "form": form,
            "errors": error_summary(form),
            "consents": consents,
            "has_person": person is not None,
            "active": "consentimientos",
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def consent_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.interop_consent_withdraw(actor=request.user, consent_id=pk)
    except DomainError as error:
        raise Http404 from error
    messages.success(request, _("Consentimiento retirado: desde ahora se rechazan esas consultas."))
    return redirect("interop:consent-list")


# --------------------------------------------------------------------------------------------------------
# Back office (/gestion/interoperabilidad/)
# --------------------------------------------------------------------------------------------------------


def back_office(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_back_office_user(request.user):
            raise PermissionDenied(_("Esta sección es para el personal de las instituciones."))
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _managed_institutions(request: HttpRequest) -> Any:
    ids = selectors.managed_institution_ids(request.user)
    institutions = Institution.objects.filter(is_active=True).order_by("name")
    return institutions if ids is None else institutions.filter(pk__in=ids)


@back_office
@require_GET
def manage_index(request: HttpRequest) -> HttpResponse:
    subsystems = list(selectors.subsystem_list_for_actor(actor=request.user))
    service_rows = list(selectors.service_list_for_actor(actor=request.user))
    rights = list(selectors.access_right_list_for_actor(actor=request.user)[:100])
    ids = selectors.managed_institution_ids(request.user)
    for right in rights:
        provider_id = right.service.subsystem.member.institution_id
        right.may_decide = ids is None or provider_id in ids
    return render(
        request,
        "interop/gestion/index.html",
        {
            "subsystems": subsystems,
            "services": service_rows,
            "rights": rights,
            "can_edit": ids is None or bool(ids),
        },
    )


@back_office
@require_http_methods(["GET", "POST"])
def manage_subsystem_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    subsystem = selectors.subsystem_get_for_actor(actor=request.user, pk=pk) if pk else None
    institutions = _managed_institutions(request)
    initial: dict[str, Any] = {}
    if subsystem:
        initial = {
            "status": subsystem.status,
            "institution": subsystem.member.institution,
            "code": subsystem.code,
            "name": subsystem.name,
            "kind": subsystem.kind,
            "description": subsystem.description,
            "rate_limit": subsystem.rate_limit,
        }
    form = SubsystemForm(
        request.POST or None, initial=initial, institutions=institutions, editing=bool(subsystem)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.subsystem_save(
                actor=request.user,
                institution=subsystem.member.institution if subsystem else data["institution"],
                code=subsystem.code if subsystem else data["code"],
                name=data["name"],
                kind=data["kind"],
                description=data["description"],
                rate_limit=data["rate_limit"],
                status=data.get("status") or (subsystem.status if subsystem else Subsystem.Status.ACTIVE),
                subsystem=subsystem,
            )
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, _("Subsistema guardado."))
            return redirect("interop:manage-subsystem", pk=saved.pk)
    return render(
        request,
        "interop/gestion/subsystem_form.html",
        {"form": form, "errors": error_summary(form), "subsystem": subsystem},
        status=400 if form.errors else 200,
    )


@back_office
@require_GET
def manage_subsystem(request: HttpRequest, pk: int) -> HttpResponse:
    subsystem = selectors.subsystem_get_for_actor(actor=request.user, pk=pk)
    return render(
        request,
        "interop/gestion/subsystem_detail.html",
        {
            "subsystem": subsystem,
            "services": list(subsystem.services.all()),
            "new_secret": request.session.pop("interop_new_secret", None),
        },
    )


@back_office
@require_POST
def manage_subsystem_client(request: HttpRequest, pk: int) -> HttpResponse:
    subsystem = selectors.subsystem_get_for_actor(actor=request.user, pk=pk)
    try:
        client_id, secret = services.subsystem_client_create(actor=request.user, subsystem=subsystem)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        request.session["interop_new_secret"] = {"client_id": client_id, "secret": secret}
    return redirect("interop:manage-subsystem", pk=pk)


@back_office
@require_http_methods(["GET", "POST"])
def manage_service_form(
    request: HttpRequest, subsystem_pk: int | None = None, pk: int | None = None
) -> HttpResponse:
    service = selectors.service_get_for_actor(actor=request.user, pk=pk) if pk else None
    subsystem = (
        service.subsystem
        if service
        else selectors.subsystem_get_for_actor(actor=request.user, pk=subsystem_pk or 0)
    )
    initial = (
        ServiceForm.initial_for(service) if service else {"version": "v1", "status": Service.Status.ACTIVE}
    )
    form = ServiceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.service_save(
                actor=request.user, subsystem=subsystem, data=form.to_data(), service=service
            )
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, _("Servicio guardado."))
            return redirect("interop:manage-service", pk=saved.pk)
    return render(
        request,
        "interop/gestion/service_form.html",
        {"form": form, "errors": error_summary(form), "service": service, "subsystem": subsystem},
        status=400 if form.errors else 200,
    )


@back_office
@require_GET
def manage_service(request: HttpRequest, pk: int) -> HttpResponse:
    service = selectors.service_get_for_actor(actor=request.user, pk=pk)
    by = "hour" if request.GET.get("por") == "hora" else "day"
    return render(
        request,
        "interop/gestion/service_detail.html",
        {
            "service": service,
            "stats": selectors.service_stats(service=service, by=by),
            "by": by,
            "entries": selectors.recent_log_entries(service=service),
            "rights": list(service.access_rights.select_related("consumer__member__institution")),
        },
    )


@back_office
@require_POST
def manage_service_secret(request: HttpRequest, pk: int) -> HttpResponse:
    service = selectors.service_get_for_actor(actor=request.user, pk=pk)
    services.service_secret_rotate(actor=request.user, service=service)
    messages.success(request, _("Secreto del proveedor renovado: configúrelo en su sistema."))
    return redirect("interop:manage-service", pk=pk)


@back_office
@require_http_methods(["GET", "POST"])
def manage_access_request(request: HttpRequest) -> HttpResponse:
    consumers = selectors.subsystem_list_for_actor(actor=request.user).exclude(kind=Subsystem.Kind.PROVIDER)
    form = AccessRequestForm(
        request.POST or None,
        consumers=consumers,
        services=selectors.requestable_services(),
        initial={"service": request.GET.get("servicio")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.access_right_request(
                actor=request.user,
                consumer=data["consumer"],
                service=data["service"],
                purpose=data["purpose"],
                legal_basis=data["legal_basis"],
                operations=data["operations"],
                expires_at=form.expires_at(),
            )
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, _("Solicitud enviada a la institución proveedora."))
            return redirect("interop:manage-index")
    return render(
        request,
        "interop/gestion/access_request.html",
        {"form": form, "errors": error_summary(form)},
        status=400 if form.errors else 200,
    )


DECISIONS = {
    "aprobar": services.access_right_approve,
    "rechazar": services.access_right_reject,
    "revocar": services.access_right_revoke,
}


@back_office
@require_POST
def manage_access_decide(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    decide = DECISIONS.get(action)
    if decide is None:
        raise Http404
    right: AccessRight = selectors.access_right_get_for_actor(actor=request.user, pk=pk)
    form = DecisionForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        decide(actor=request.user, right=right, comment=comment)
    except DomainError as error:
        if error.status == 403:
            raise Http404 from error
        messages.error(request, error.message)
    else:
        messages.success(request, _("Decisión registrada."))
    return redirect(reverse("interop:manage-index") + "#accesos")


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
