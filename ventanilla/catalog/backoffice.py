"""Back office for institution editors and the platform agency (not Django admin).

Every page needs a signed-in user with a platform role; what each user may touch is decided by the selectors
(another institution's procedure is "not found") and the services (who may publish, archive…). Views only
translate between HTTP and those functions: no rule is decided here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, ExpressionWrapper, Prefetch, Q, QuerySet, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ventanilla.core.errors import DomainError, Forbidden, NotFound
from ventanilla.core.models import Institution, Role
from ventanilla.core.pagination import paginate
from ventanilla.core.permissions import (
    can_edit_institution_content,
    can_review,
    editable_institution_ids,
    has_institution_role,
    is_back_office_user,
    is_platform_admin,
)

from . import selectors
from .forms import ImportForm, ProcedureEditor, SimplificationForm
from .imports import (
    CSV_COLUMNS,
    LIST_SEPARATOR,
    ImportFailed,
    catalog_import_file,
    export_csv,
    export_records,
)
from .models import Channel, Procedure, Requirement
from .services import (
    procedure_archive,
    procedure_data_from_dict,
    procedure_publish,
    procedure_restore,
    procedure_return,
    procedure_save,
    procedure_submit,
    procedure_to_data,
    simplification_data_from_dict,
    simplification_record,
)

Status = Procedure.Status
PAGE_SIZE = 20
View = Callable[..., HttpResponse]


# --------------------------------------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------------------------------------


def back_office(view: View) -> View:
    """Signed-in (else to the login page) and holding a platform role (else 403)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_back_office_user(request.user):
            raise PermissionDenied(_("Esta sección es para el personal de las instituciones."))
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _require_editor(request: HttpRequest) -> None:
    """Pages that write content need at least one institution the user may edit (or the agency)."""
    allowed = editable_institution_ids(request.user)
    if allowed is not None and not allowed:
        raise PermissionDenied(_("Su cuenta no puede editar trámites."))


def _procedure_or_404(request: HttpRequest, slug: str) -> Procedure:
    try:
        return selectors.procedure_get_for_editor(actor=request.user, slug=slug)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _detail_url(procedure: Procedure) -> str:
    return reverse("catalog:manage-procedure-detail", kwargs={"slug": procedure.slug})


def _for_listing(queryset: QuerySet[Procedure]) -> QuerySet[Procedure]:
    """Rows for a table: no search text, no pending JSON (only whether there is some)."""
    return queryset.defer(
        "search_document",
        "search_stems",
        "name_stems",
        "pending_data",
        "description",
        "legal_basis",
        "payment_instructions",
    ).annotate(has_pending=ExpressionWrapper(Q(pending_data__isnull=False), output_field=BooleanField()))


def _full_prefetch(queryset: QuerySet[Procedure]) -> QuerySet[Procedure]:
    """Everything ``procedure_to_data`` reads, in a fixed number of queries (as selectors.export_queryset)."""
    return queryset.select_related("institution", "office", "category").prefetch_related(*_PREFETCH)


_PREFETCH = (
    "life_events",
    Prefetch("requirements", queryset=Requirement.objects.select_related("issuer")),
    "steps",
    Prefetch("channels", queryset=Channel.objects.prefetch_related("offices")),
    "faqs",
)


# --------------------------------------------------------------------------------------------------------
# List
# --------------------------------------------------------------------------------------------------------


@back_office
@require_GET
def procedure_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    agency = is_platform_admin(user)
    status = request.GET.get("estado", "")
    status = status if status in Status.values else ""
    institution = request.GET.get("institucion", "")[:30] if agency else ""
    q = request.GET.get("q", "")[:200]
    pending = request.GET.get("pendientes") == "1"
    queryset = selectors.procedure_list_for_editor(
        actor=user, status=status, institution=institution, q=q, pending=pending
    )
    items, pager = paginate(request, _for_listing(queryset), PAGE_SIZE)
    allowed = editable_institution_ids(user)
    return render(
        request,
        "catalog/manage/procedure_list.html",
        {
            "items": items,
            "result": pager,
            "filters": {"estado": status, "institucion": institution.upper(), "q": q, "pendientes": pending},
            "status_choices": Status.choices,
            "institutions": Institution.objects.order_by("name").only("code", "name", "acronym")
            if agency
            else [],
            "is_agency": agency,
            "can_create": allowed is None or bool(allowed),
        },
    )


# --------------------------------------------------------------------------------------------------------
# Create / edit
# --------------------------------------------------------------------------------------------------------


def _save_procedure(
    request: HttpRequest, editor: ProcedureEditor, procedure: Procedure | None
) -> Procedure | None:
    """Run the service; on refusal put its messages on the form and return None."""
    data = editor.to_data()
    try:
        return procedure_save(actor=request.user, data=data, procedure=procedure)
    except DomainError as exc:
        editor.add_domain_error(exc)
        return None


def _render_editor(
    request: HttpRequest, editor: ProcedureEditor, procedure: Procedure | None
) -> HttpResponse:
    agency = is_platform_admin(request.user)
    return render(
        request,
        "catalog/manage/procedure_form.html",
        {
            "editor": editor,
            "form": editor.form,
            "procedure": procedure,
            "errors": editor.error_summary() if editor.form.is_bound else [],
            "currency": settings.COUNTRY_PACK.currency,
            "goes_pending": procedure is not None and procedure.status == Status.PUBLISHED and not agency,
            "locked": procedure is not None and procedure.status == Status.IN_REVIEW and not agency,
            "editor_sections": [
                ("requirements", editor.requirements, _("Requisitos"), editor.formset_titles["requirements"]),
                ("steps", editor.steps, _("Pasos"), editor.formset_titles["steps"]),
                ("faq", editor.faq, _("Preguntas frecuentes"), editor.formset_titles["faq"]),
            ],
            "channel_kinds": [
                (kind, label, editor.form[f"{kind}_enabled"], editor.form.channel_fields(kind))
                for kind, label in Channel.Kind.choices
            ],
        },
    )


@back_office
@require_http_methods(["GET", "POST"])
def procedure_create(request: HttpRequest) -> HttpResponse:
    _require_editor(request)
    if request.method == "POST":
        editor = ProcedureEditor(actor=request.user, data=request.POST)
        if editor.is_valid():
            procedure = _save_procedure(request, editor, None)
            if procedure is not None:
                messages.success(
                    request, _("Se creó el trámite «%(name)s» como borrador.") % {"name": procedure.name}
                )
                return redirect(_detail_url(procedure))
    else:
        editor = ProcedureEditor(actor=request.user)
        allowed = editable_institution_ids(request.user)
        if allowed is not None and len(allowed) == 1:
            code = Institution.objects.filter(pk__in=allowed).values_list("code", flat=True).first()
            editor.form.initial["institution"] = code
    return _render_editor(request, editor, None)


@back_office
@require_http_methods(["GET", "POST"])
def procedure_edit(request: HttpRequest, slug: str) -> HttpResponse:
    procedure = _procedure_or_404(request, slug)
    if request.method == "POST":
        editor = ProcedureEditor(actor=request.user, data=request.POST, procedure=procedure)
        if editor.is_valid():
            saved = _save_procedure(request, editor, procedure)
            if saved is not None:
                if (
                    saved.pending_data
                    and saved.status == Status.PUBLISHED
                    and not is_platform_admin(request.user)
                ):
                    messages.success(
                        request,
                        _(
                            "Sus cambios quedaron pendientes de aprobación. La página pública sigue "
                            "mostrando la versión publicada hasta que la agencia los apruebe."
                        ),
                    )
                else:
                    messages.success(request, _("Se guardaron los cambios."))
                return redirect(_detail_url(saved))
        return _render_editor(request, editor, procedure)
    # Someone with pending changes keeps editing their proposal, not the published text.
    initial = None
    if procedure.pending_data:
        initial, _errors = procedure_data_from_dict(procedure.pending_data)
    if initial is None:
        prefetch_related_objects([procedure], *_PREFETCH)
        initial = procedure_to_data(procedure)
    editor = ProcedureEditor(actor=request.user, initial=initial, procedure=procedure)
    return _render_editor(request, editor, procedure)


# --------------------------------------------------------------------------------------------------------
# Detail and workflow
# --------------------------------------------------------------------------------------------------------

FIELD_LABELS: dict[str, Any] = {
    "slug": gettext_lazy("Identificador (slug)"),
    "name": gettext_lazy("Nombre"),
    "institution": gettext_lazy("Institución"),
    "office": gettext_lazy("Oficina responsable"),
    "summary": gettext_lazy("Resumen"),
    "description": gettext_lazy("Descripción"),
    "category": gettext_lazy("Tema"),
    "life_events": gettext_lazy("Hechos vitales"),
    "audience": gettext_lazy("Dirigido a"),
    "keywords": gettext_lazy("Palabras clave"),
    "requirements": gettext_lazy("Requisitos"),
    "steps": gettext_lazy("Pasos"),
    "channels": gettext_lazy("Canales de atención"),
    "faq": gettext_lazy("Preguntas frecuentes"),
    "cost": gettext_lazy("Costo"),
    "payment_instructions": gettext_lazy("Instrucciones de pago"),
    "legal_basis": gettext_lazy("Base legal"),
    "max_days": gettext_lazy("Plazo máximo (días hábiles)"),
    "digitisation_level": gettext_lazy("Nivel de digitalización"),
    "runs_on_platform": gettext_lazy("Se tramita en esta plataforma"),
    "min_assurance": gettext_lazy("Nivel de Ciudadanía Digital requerido"),
    "external_start_url": gettext_lazy("Enlace para iniciar"),
    "external_tracking_url": gettext_lazy("Enlace de seguimiento"),
}


def _readable(key: str, value: Any) -> list[str]:
    """A value of the exchange layout as lines a reviewer can read."""
    if value in (None, "", [], {}):
        return ["—"]
    if key == "cost":
        return [settings.COUNTRY_PACK.format_money(value["amount"])]
    if isinstance(value, bool):
        return [_("Sí") if value else _("No")]
    if key == "requirements":
        return [
            r["name"]
            + (f" ({r['issuer'] or r['issuer_name']})" if r["issuer"] or r["issuer_name"] else "")
            + (" — " + r["description"] if r["description"] else "")
            + (" · " + _("el Estado ya lo tiene") if r["held_by_state"] else "")
            for r in value
        ]
    if key == "steps":
        return [s["title"] + (" — " + s["description"] if s["description"] else "") for s in value]
    if key == "faq":
        return [f"{f['question']} — {f['answer']}" for f in value]
    if key == "channels":
        labels = dict(Channel.Kind.choices)
        lines = []
        for c in value:
            details = [", ".join(c["offices"]), c["url"], c["phone"], c["hours"], c["notes"]]
            lines.append(f"{labels.get(c['channel'], c['channel'])}: " + " · ".join(d for d in details if d))
        return lines
    if key == "digitisation_level":
        return [str(dict(Procedure.Level.choices).get(value, value))]
    if key == "audience":
        return [str(dict(Procedure.Audience.choices).get(value, value))]
    if isinstance(value, list):
        return [", ".join(str(v) for v in value)]
    return [str(value)]


def pending_diff(current: dict[str, Any], pending: dict[str, Any]) -> list[dict[str, Any]]:
    """Top-level fields whose proposed value differs from the published one."""
    rows = []
    for key, label in FIELD_LABELS.items():
        if key in pending and pending.get(key) != current.get(key):
            rows.append(
                {
                    "label": label,
                    "before": _readable(key, current.get(key)),
                    "after": _readable(key, pending.get(key)),
                }
            )
    return rows


@dataclass
class Action:
    name: str
    label: str
    style: str = ""
    needs_comment: bool = False


def available_actions(user: Any, procedure: Procedure) -> list[Action]:
    """The buttons worth showing (the services decide again when one is pressed)."""
    editor = can_edit_institution_content(user, procedure.institution_id)
    reviewer = can_review(user)
    pending = bool(procedure.pending_data)
    actions = []
    if procedure.status == Status.DRAFT and editor:
        actions.append(Action("enviar", _("Enviar a revisión")))
    if reviewer and (
        procedure.status == Status.IN_REVIEW or (procedure.status == Status.PUBLISHED and pending)
    ):
        label = _("Aprobar y publicar los cambios") if pending else _("Publicar")
        actions.append(Action("publicar", label))
        actions.append(
            Action(
                "devolver",
                _("Rechazar los cambios") if pending else _("Devolver con observaciones"),
                "usa-button--secondary",
                needs_comment=True,
            )
        )
    if procedure.status != Status.ARCHIVED and (
        reviewer or has_institution_role(user, procedure.institution_id, {Role.INSTITUTION_ADMIN})
    ):
        actions.append(Action("archivar", _("Archivar"), "usa-button--outline"))
    if procedure.status == Status.ARCHIVED and editor:
        actions.append(Action("restaurar", _("Restaurar como borrador")))
    return actions


@back_office
@require_GET
def procedure_detail(request: HttpRequest, slug: str) -> HttpResponse:
    procedure = _procedure_or_404(request, slug)
    diff: list[dict[str, Any]] = []
    if procedure.pending_data:
        prefetch_related_objects([procedure], *_PREFETCH)
        diff = pending_diff(procedure_to_data(procedure).as_dict(), procedure.pending_data)
    return render(
        request,
        "catalog/manage/procedure_detail.html",
        {
            "procedure": procedure,
            "diff": diff,
            "versions": list(selectors.procedure_versions(procedure)[:50]),
            "actions": available_actions(request.user, procedure),
            "can_edit": can_edit_institution_content(request.user, procedure.institution_id),
        },
    )


TRANSITIONS: dict[str, Callable[..., Procedure]] = {
    "enviar": procedure_submit,
    "publicar": procedure_publish,
    "archivar": procedure_archive,
    "restaurar": procedure_restore,
}
DONE = {
    "enviar": gettext_lazy("El trámite se envió a revisión de la agencia."),
    "publicar": gettext_lazy("El trámite está publicado."),
    "devolver": gettext_lazy("Se devolvió con observaciones."),
    "archivar": gettext_lazy("El trámite se archivó y ya no aparece en el portal."),
    "restaurar": gettext_lazy("El trámite se restauró como borrador."),
}


@back_office
@require_POST
def procedure_transition(request: HttpRequest, slug: str, action: str) -> HttpResponse:
    if action not in DONE:
        raise Http404(_("Acción desconocida."))
    procedure = _procedure_or_404(request, slug)
    try:
        if action == "devolver":
            procedure_return(
                actor=request.user, procedure=procedure, comment=request.POST.get("comentario", "")
            )
        else:
            TRANSITIONS[action](actor=request.user, procedure=procedure)
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:  # InvalidTransition, missing comment, invalid pending changes…
        messages.error(request, exc.message)
        return redirect(_detail_url(procedure))
    messages.success(request, str(DONE[action]))
    return redirect(_detail_url(procedure))


@back_office
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    if not can_review(request.user):
        raise PermissionDenied(_("La revisión es tarea de la agencia de gobierno electrónico."))
    items, pager = paginate(request, _for_listing(selectors.review_queue(actor=request.user)), PAGE_SIZE)
    return render(request, "catalog/manage/review_queue.html", {"items": items, "result": pager})


# --------------------------------------------------------------------------------------------------------
# Import / export
# --------------------------------------------------------------------------------------------------------

CSV_HELP = [
    ("slug", gettext_lazy("identificador único: minúsculas, números y guiones (obligatorio)")),
    ("nombre", gettext_lazy("nombre del trámite (obligatorio)")),
    ("institucion", gettext_lazy("código de la institución (obligatorio)")),
    ("oficina", gettext_lazy("código de la oficina responsable")),
    ("resumen", gettext_lazy("una o dos frases (obligatorio)")),
    ("descripcion", gettext_lazy("texto libre")),
    ("categoria", gettext_lazy("slug del tema, p. ej. identidad-y-documentos (obligatorio)")),
    ("hechos_vitales", gettext_lazy("slugs separados por «|»")),
    ("dirigido_a", gettext_lazy("persona, empresa o ambos")),
    ("palabras_clave", gettext_lazy("texto libre")),
    (
        "requisitos",
        gettext_lazy(
            "separados por «|»; «{CODIGO}» indica la institución que lo emite y «*» al "
            "final que el Estado ya lo tiene"
        ),
    ),
    ("pasos", gettext_lazy("separados por «|»; «título — detalle»")),
    (
        "canales",
        gettext_lazy(
            "separados por «|»: «presencial: OFICINA1, OFICINA2», «en_linea: https://…», "
            "«telefonico: 800-10-0000»"
        ),
    ),
    ("gratuito", gettext_lazy("«si» si no tiene costo")),
    ("costo", gettext_lazy("monto, con punto decimal")),
    ("moneda", gettext_lazy("código de la moneda del país")),
    ("instrucciones_pago", gettext_lazy("texto libre")),
    ("base_legal", gettext_lazy("texto libre")),
    ("plazo_dias", gettext_lazy("días hábiles, 0 a 3650")),
    ("nivel_digitalizacion", gettext_lazy("1 a 4")),
    ("en_plataforma", gettext_lazy("«si» si se tramita en esta plataforma")),
    ("url_inicio", gettext_lazy("enlace para iniciar en el sistema de la institución")),
    ("url_seguimiento", gettext_lazy("enlace de seguimiento")),
    ("estado", gettext_lazy("se ignora: lo importado entra como borrador o como cambios pendientes")),
]


@back_office
@require_http_methods(["GET", "POST"])
def catalog_import(request: HttpRequest) -> HttpResponse:
    _require_editor(request)
    failed = None
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            # Read one byte past the limit so the service sees an oversized file without us loading all of it.
            content = upload.read(settings.VENTANILLA_IMPORT_MAX_BYTES + 1)
            try:
                report = catalog_import_file(actor=request.user, filename=upload.name, content=content)
            except ImportFailed as exc:
                failed = exc.report
            except DomainError as exc:
                form.add_error("file", exc.message)
            else:
                messages.success(
                    request,
                    _(
                        "Importación completa: %(total)s trámite(s) leído(s), %(created)s creado(s), "
                        "%(updated)s actualizado(s) y %(unchanged)s sin cambios."
                    )
                    % {
                        "total": report.total,
                        "created": report.created,
                        "updated": report.updated,
                        "unchanged": report.unchanged,
                    },
                )
                return redirect("catalog:manage-import")
    else:
        form = ImportForm()
    errors = [
        {"href": f"#{form['file'].auto_id}", "label": str(form["file"].label), "message": m}
        for m in form["file"].errors
    ]
    known = set(CSV_COLUMNS)
    return render(
        request,
        "catalog/manage/import.html",
        {
            "form": form,
            "errors": errors,
            "failed": failed,
            "csv_help": [(column, text) for column, text in CSV_HELP if column in known],
            "separator": LIST_SEPARATOR,
            "currency": settings.COUNTRY_PACK.currency,
        },
    )


@back_office
@require_GET
def catalog_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """Every procedure the user may manage, in any status, in the layouts the import reads."""
    if fmt not in ("csv", "json"):
        raise Http404(_("Formato no disponible."))
    procedures = _full_prefetch(selectors.procedure_list_for_editor(actor=request.user)).order_by(
        "institution__code", "slug"
    )
    stamp = timezone.localdate().isoformat()
    if fmt == "csv":
        response = HttpResponse(export_csv(procedures), content_type="text/csv; charset=utf-8")
    else:
        body = json.dumps(export_records(procedures), ensure_ascii=False, indent=2)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="tramites-{stamp}.{fmt}"'
    return response


# --------------------------------------------------------------------------------------------------------
# Simplification register
# --------------------------------------------------------------------------------------------------------


@back_office
@require_http_methods(["GET", "POST"])
def simplification_create(request: HttpRequest) -> HttpResponse:
    _require_editor(request)
    procedures = [
        (slug, f"{name} ({code})")
        for slug, name, code in selectors.procedure_list_for_editor(actor=request.user)
        .order_by("name")
        .values_list("slug", "name", "institution__code")
    ]
    initial = {"procedure": request.GET.get("tramite", "")}
    form = SimplificationForm(
        request.POST if request.method == "POST" else None, procedures=procedures, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data, errors = simplification_data_from_dict(form.as_raw())
        try:
            if data is None:
                first, *rest = errors
                raise DomainError(message=first.message, code=first.code, field=first.field, extra=rest)
            item = simplification_record(actor=request.user, data=data)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(
                request, _("Se registró la simplificación de «%(name)s».") % {"name": item.procedure.name}
            )
            return redirect(_detail_url(item.procedure))
    return render(
        request,
        "catalog/manage/simplification_form.html",
        {
            "form": form,
            "errors": form.error_summary() if form.is_bound else [],
        },
    )


urlpatterns = [
    path("gestion/", procedure_list, name="manage-procedure-list"),
    path("gestion/tramites/nuevo/", procedure_create, name="manage-procedure-create"),
    path("gestion/revision/", review_queue, name="manage-review-queue"),
    path("gestion/importar/", catalog_import, name="manage-import"),
    path("gestion/exportar.<str:fmt>", catalog_export, name="manage-export"),
    path("gestion/simplificaciones/nueva/", simplification_create, name="manage-simplification-create"),
    path("gestion/tramites/<slug:slug>/", procedure_detail, name="manage-procedure-detail"),
    path("gestion/tramites/<slug:slug>/editar/", procedure_edit, name="manage-procedure-edit"),
    path(
        "gestion/tramites/<slug:slug>/<str:action>/", procedure_transition, name="manage-procedure-transition"
    ),
]
