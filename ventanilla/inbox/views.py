"""HTML pages of the inbox app.

Mi cuenta (``/cuenta/notificaciones/``): the signed-in person's own notifications; someone else's is 404.
Back office (``/gestion/notificaciones/``): staff of an institution (admin, editor, clerk, supervisor) send
and follow their institution's notifications — another institution's are 404; admins and editors manage
templates (with preview) and Notify-compatible API keys. No rule is decided here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from ventanilla.core.errors import DomainError, NotFound
from ventanilla.core.models import Institution
from ventanilla.core.pagination import paginate
from ventanilla.identity.account_selectors import person_for_user

from . import selectors, services
from .forms import ApiKeyForm, InboxSearchForm, NotificationForm, PreviewForm, TemplateForm
from .models import OutboxMessage

View = Callable[..., HttpResponse]


# -- Mi cuenta -----------------------------------------------------------------------------------------


def account_page(view: View) -> View:
    @wraps(view)
    @login_required
    @never_cache
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return view(request, *args, **kwargs)

    return wrapper


@account_page
def account_notification_list(request: HttpRequest) -> HttpResponse:
    person = person_for_user(request.user)
    can_read = selectors.person_can_read_notifications(person)
    search = InboxSearchForm(request.GET or None)
    query = search.cleaned_data["q"] if search.is_valid() and can_read else ""
    archived = request.GET.get("archivadas") == "1"
    if person is None:
        items, pager, unread = [], None, 0
    else:
        items, pager = paginate(
            request,
            selectors.notification_list_for_person(person_id=person.pk, query=query, archived=archived),
            settings.INBOX_PAGE_SIZE,
        )
        unread = selectors.unread_count(person_id=person.pk)
    return render(
        request,
        "inbox/account_list.html",
        {
            "items": items,
            "result": pager,
            "unread": unread,
            "search": search,
            "query": query,
            "archived": archived,
            "can_read": can_read,
            "active": "notificaciones",
        },
    )


def _own_notification(request: HttpRequest, notification_id: Any) -> Any:
    person = person_for_user(request.user)
    if person is None:
        raise Http404
    try:
        return selectors.notification_get_for_person(person_id=person.pk, notification_uuid=notification_id)
    except NotFound:
        raise Http404 from None


@account_page
def account_notification_detail(request: HttpRequest, notification_id: Any) -> HttpResponse:
    notification = _own_notification(request, notification_id)
    if not selectors.person_can_read_notifications(notification.person):
        # No content and no opening recorded: the account must first prove who it belongs to.
        return render(
            request,
            "inbox/account_verify_first.html",
            {"notification": notification, "active": "notificaciones"},
            status=403,
        )
    services.notification_open(actor=request.user, notification=notification)
    return render(
        request,
        "inbox/account_detail.html",
        {
            "notification": notification,
            "documents": list(notification.documents.all()),
            # rows stored before the stricter check are shown only if their link is still safe
            "link_path": notification.link_path
            if selectors.link_path_is_safe(notification.link_path)
            else "",
            "active": "notificaciones",
        },
    )


@account_page
def account_notification_document(request: HttpRequest, notification_id: Any, code: str) -> HttpResponse:
    """The signed PDF of an attached document or of the constancia, for the person of the notification
    only (anyone else: 404). Downloading is reading the content: same identity rule, and it counts as
    opening the notification."""
    from ventanilla.documents.selectors import document_content

    notification = _own_notification(request, notification_id)
    if not selectors.person_can_read_notifications(notification.person):
        return render(
            request,
            "inbox/account_verify_first.html",
            {"notification": notification, "active": "notificaciones"},
            status=403,
        )
    try:
        document = selectors.notification_document_for_person(notification=notification, code=code)
    except NotFound:
        raise Http404 from None
    services.notification_open(actor=request.user, notification=notification)
    try:
        content = document_content(document)
    except OSError:
        raise Http404 from None
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.code}.pdf"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@account_page
@require_POST
def account_notification_archive(request: HttpRequest, notification_id: Any) -> HttpResponse:
    notification = _own_notification(request, notification_id)
    archived = request.POST.get("accion") != "restaurar"
    services.notification_archive(actor=request.user, notification=notification, archived=archived)
    messages.success(
        request, _("Notificación archivada.") if archived else _("Notificación devuelta a la bandeja.")
    )
    return redirect("inbox:account-notification-list")


# -- back office ---------------------------------------------------------------------------------------


def _back_office(roles: str) -> Callable[[View], View]:
    """Signed in (else to the login page) and staff of at least one institution (else 403)."""

    def decorator(view: View) -> View:
        @wraps(view)
        @login_required
        @never_cache
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if roles == "sender":
                allowed: set[int] | None = selectors.sender_institution_ids(request.user)
            else:
                allowed = selectors.manager_institution_ids(request.user)
            if allowed is not None and not allowed:
                raise PermissionDenied
            request.inbox_institution_ids = allowed  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _institutions(ids: set[int] | None) -> list[Institution]:
    qs = Institution.objects.filter(is_active=True).order_by("name")
    return list(qs if ids is None else qs.filter(pk__in=ids))


@_back_office("sender")
def manage_notification_list(request: HttpRequest) -> HttpResponse:
    query = (request.GET.get("q") or "").strip()[:100]
    items, pager = paginate(
        request,
        selectors.notification_list_for_institutions(
            institution_ids=request.inbox_institution_ids, query=query
        ),  # type: ignore[attr-defined]
        settings.INBOX_PAGE_SIZE,
    )
    return render(request, "inbox/manage_list.html", {"items": items, "result": pager, "query": query})


@_back_office("sender")
@require_http_methods(["GET", "POST"])
def manage_notification_new(request: HttpRequest) -> HttpResponse:
    form = NotificationForm(request.POST or None, institutions=_institutions(request.inbox_institution_ids))  # type: ignore[attr-defined]
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                person_id = services.recipient_resolve(
                    actor=request.user,
                    document_type=data["document_type"],
                    document_number=data["document_number"],
                    document_complement=data["document_complement"],
                    first_names=data["first_names"],
                    first_surname=data["first_surname"],
                    second_surname=data["second_surname"],
                )
                notification = services.notification_send(
                    actor=request.user,
                    institution_id=data["institution"].pk,
                    person_id=person_id,
                    subject=data["subject"],
                    body=data["body"],
                    legal=data["legal"],
                    case_reference=data["case_reference"],
                    document_ids=services.document_ids_for_codes(form.codes()),
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("Notificación enviada."))
                return redirect("inbox:manage-notification-detail", notification.uuid)
        status = 400
    return render(
        request, "inbox/manage_form.html", {"form": form, "errors": form.error_summary()}, status=status
    )


@_back_office("sender")
def manage_notification_detail(request: HttpRequest, notification_id: Any) -> HttpResponse:
    try:
        notification = selectors.notification_get_for_institution(
            institution_ids=request.inbox_institution_ids,  # type: ignore[attr-defined]
            notification_uuid=notification_id,
        )
    except NotFound:
        raise Http404 from None
    return render(
        request,
        "inbox/manage_detail.html",
        {"notification": notification, "documents": list(notification.documents.all())},
    )


@_back_office("manager")
def manage_template_list(request: HttpRequest) -> HttpResponse:
    items, pager = paginate(
        request,
        selectors.template_list(institution_ids=request.inbox_institution_ids),  # type: ignore[attr-defined]
        settings.INBOX_PAGE_SIZE,
    )
    return render(request, "inbox/template_list.html", {"items": items, "result": pager})


@_back_office("manager")
@require_http_methods(["GET", "POST"])
def manage_template_edit(request: HttpRequest, template_id: Any = None) -> HttpResponse:
    ids = request.inbox_institution_ids  # type: ignore[attr-defined]
    template = None
    if template_id is not None:
        try:
            template = selectors.template_get(institution_ids=ids, template_id=template_id)
        except NotFound:
            raise Http404 from None
    initial = (
        {
            "institution": template.institution_id,
            "name": template.name,
            "channel": template.channel,
            "subject": template.subject,
            "body": template.body,
        }
        if template
        else {}
    )
    is_save = request.method == "POST" and "guardar" in request.POST
    form = TemplateForm(request.POST if is_save else None, initial=initial, institutions=_institutions(ids))
    preview_form = None
    preview: tuple[str, str] | None = None
    preview_error = ""
    status = 200
    if is_save:
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = services.template_save(
                    actor=request.user,
                    institution_id=data["institution"].pk,
                    name=data["name"],
                    channel=data["channel"],
                    subject=data["subject"],
                    body=data["body"],
                    template=template,
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("Plantilla guardada. Revise la vista previa antes de usarla."))
                return redirect("inbox:manage-template-edit", saved.pk)
        status = 400
    if template is not None:
        is_preview = request.method == "POST" and "previsualizar" in request.POST
        preview_form = PreviewForm(
            request.POST if is_preview else None, subject=template.subject, body=template.body
        )
        if is_preview and preview_form.is_valid():
            try:
                preview = services.template_render(
                    subject=template.subject,
                    body=template.body,
                    personalisation=preview_form.personalisation(),
                )
            except services.MissingPersonalisation as exc:
                preview_error = exc.message
                for name in exc.missing:
                    if f"p_{name}" in preview_form.fields:
                        preview_form.add_error(f"p_{name}", _("Falta este dato."))
                status = 400
    return render(
        request,
        "inbox/template_form.html",
        {
            "form": form,
            "errors": form.error_summary() or (preview_form.error_summary() if preview_form else []),
            "template": template,
            "preview_form": preview_form,
            "preview": preview,
            "preview_error": preview_error,
        },
        status=status,
    )


@_back_office("manager")
def manage_outbox(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("estado", "")
    items, pager = paginate(
        request,
        selectors.outbox_list_for_institutions(institution_ids=request.inbox_institution_ids, status=status),  # type: ignore[attr-defined]
        settings.INBOX_PAGE_SIZE,
    )
    return render(
        request,
        "inbox/outbox_list.html",
        {"items": items, "result": pager, "status": status, "statuses": OutboxMessage.Status.choices},
    )


@_back_office("manager")
@require_http_methods(["GET", "POST"])
def manage_api_keys(request: HttpRequest) -> HttpResponse:
    ids = request.inbox_institution_ids  # type: ignore[attr-defined]
    form = ApiKeyForm(request.POST or None, institutions=_institutions(ids))
    new_key = ""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _key, new_key = services.api_key_create(
                    actor=request.user,
                    institution_id=form.cleaned_data["institution"].pk,
                    name=form.cleaned_data["name"],
                )
            except DomainError as exc:
                form.add_domain_error(exc)
                status = 400
            else:
                form = ApiKeyForm(institutions=_institutions(ids))
        else:
            status = 400
    keys = list(selectors.api_key_list(institution_ids=ids))
    return render(
        request,
        "inbox/api_keys.html",
        {"form": form, "errors": form.error_summary(), "keys": keys, "new_key": new_key},
        status=status,
    )


@_back_office("manager")
@require_POST
def manage_api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    try:
        api_key = selectors.api_key_get(institution_ids=request.inbox_institution_ids, key_id=key_id)  # type: ignore[attr-defined]
    except NotFound:
        raise Http404 from None
    services.api_key_revoke(actor=request.user, api_key=api_key)
    messages.success(request, _("Clave revocada: ya no sirve para llamar a la API."))
    return redirect("inbox:manage-api-keys")
