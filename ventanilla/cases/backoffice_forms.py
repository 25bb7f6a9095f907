"""Forms of the Expedientes back office. They check shapes only (types, lengths, choices); the rules live in
the services and in ``definitions.validate``. The definition builder turns its formsets into the JSON spec
(``DefinitionBuilder.to_spec``) and puts each problem the validator finds back on the row it belongs to."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.forms import BoundField
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ventanilla.core.errors import ErrorItem

from .definitions import ACTION_LABELS, ACTIONS, FIELD_TYPES, FILE_TYPES
from .models import Case

# --------------------------------------------------------------------------------------------------------
# USWDS rendering
# --------------------------------------------------------------------------------------------------------


class UswdsBoundField(BoundField):
    def build_widget_attrs(self, attrs: dict[str, Any], widget: Any = None) -> dict[str, Any]:
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        base = attrs.get("class", widget.attrs.get("class", ""))
        if self.errors and "usa-checkbox__input" not in base:
            attrs["class"] = f"{base} usa-input--error".strip()
        return attrs


def _css_class(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
        return "usa-checkbox__input"
    if isinstance(widget, forms.Select):
        return "usa-select"
    if isinstance(widget, forms.Textarea):
        return "usa-textarea"
    if isinstance(widget, forms.FileInput):
        return "usa-file-input"
    return "usa-input"


class UswdsForm(forms.Form):
    bound_field_class = UswdsBoundField
    label_suffix = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if not isinstance(field.widget, forms.HiddenInput):
                field.widget.attrs.setdefault("class", _css_class(field.widget))

    def add_error_safely(self, field: str | None, message: str) -> None:
        self.add_error(field if field in self.fields else None, message)


@dataclass
class SummaryItem:
    label: str
    message: str
    href: str


def form_summary(form: forms.Form) -> list[SummaryItem]:
    """Error summary entries (core/_error_summary.html) linked to each field."""
    items = []
    for name, errors in form.errors.items():
        if name == "__all__":
            items += [SummaryItem(_("Formulario"), str(e), "#contenido") for e in errors]
            continue
        bound = form[name]
        items += [SummaryItem(str(bound.label), str(e), f"#{bound.auto_id}") for e in errors]
    return items


# --------------------------------------------------------------------------------------------------------
# Work queue and case actions
# --------------------------------------------------------------------------------------------------------

OPEN_LIKE_STATUSES = [
    (v, label) for v, label in Case.Status.choices if v not in (Case.Status.DRAFT, Case.Status.EXPIRED)
]


class QueueFilterForm(UswdsForm):
    q = forms.CharField(
        label=gettext_lazy("Código de seguimiento o número de documento"), required=False, max_length=30
    )
    oficina = forms.TypedChoiceField(
        label=gettext_lazy("Oficina"), required=False, coerce=int, empty_value=None
    )
    tramite = forms.TypedChoiceField(
        label=gettext_lazy("Trámite"), required=False, coerce=int, empty_value=None
    )
    estado = forms.ChoiceField(label=gettext_lazy("Estado"), required=False)
    plazo = forms.ChoiceField(
        label=gettext_lazy("Plazo"),
        required=False,
        choices=[
            ("", gettext_lazy("Todos")),
            ("soon", gettext_lazy("Por vencer")),
            ("overdue", gettext_lazy("Vencidos")),
        ],
    )
    canal = forms.ChoiceField(label=gettext_lazy("Canal"), required=False)
    mios = forms.BooleanField(label=gettext_lazy("Solo asignados a mí"), required=False)

    def __init__(
        self, *args: Any, offices: list[tuple[int, str]], procedures: list[tuple[int, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["oficina"].choices = [("", _("Todas")), *offices]
        self.fields["tramite"].choices = [("", _("Todos")), *procedures]
        self.fields["estado"].choices = [("", _("Abiertos (en trámite u observados)")), *OPEN_LIKE_STATUSES]
        self.fields["canal"].choices = [("", _("Todos")), *list(Case.Channel.choices)]


class VersionedForm(UswdsForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class TransitionForm(VersionedForm):
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS], widget=forms.HiddenInput)
    reason = forms.CharField(
        label=gettext_lazy("Motivo"), required=False, max_length=4000, widget=forms.Textarea
    )
    office = forms.CharField(label=gettext_lazy("Oficina de destino"), required=False, max_length=40)


class AssignForm(VersionedForm):
    user = forms.TypedChoiceField(
        label=gettext_lazy("Asignar a"), coerce=int, empty_value=None, required=False
    )

    def __init__(self, *args: Any, people: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [("", _("Sin asignar")), *people]


class NoteForm(UswdsForm):
    text = forms.CharField(
        label=gettext_lazy("Nota interna"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Solo la ve el personal de la institución."),
    )


# --------------------------------------------------------------------------------------------------------
# Assisted channels (counter, phone)
# --------------------------------------------------------------------------------------------------------

ASSISTED_CHANNELS = [
    (Case.Channel.COUNTER.value, Case.Channel.COUNTER.label),
    (Case.Channel.PHONE.value, Case.Channel.PHONE.label),
]


class AssistedStartForm(UswdsForm):
    tramite = forms.TypedChoiceField(label=gettext_lazy("Trámite"), coerce=int)
    canal = forms.ChoiceField(label=gettext_lazy("Canal de atención"), choices=ASSISTED_CHANNELS)

    def __init__(self, *args: Any, procedures: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tramite"].choices = [("", _("- Elija -")), *procedures]


class PersonForm(UswdsForm):
    prefix = "p"
    document_type = forms.ChoiceField(label=gettext_lazy("Tipo de documento"))
    document_number = forms.CharField(label=gettext_lazy("Número de documento"), max_length=20)
    document_complement = forms.CharField(label=gettext_lazy("Complemento"), max_length=4, required=False)
    first_names = forms.CharField(
        label=gettext_lazy("Nombres"),
        max_length=120,
        required=False,
        help_text=gettext_lazy("Obligatorio si la persona aún no está registrada."),
    )
    first_surname = forms.CharField(label=gettext_lazy("Primer apellido"), max_length=120, required=False)
    second_surname = forms.CharField(label=gettext_lazy("Segundo apellido"), max_length=120, required=False)
    email = forms.EmailField(label=gettext_lazy("Correo electrónico"), required=False)
    mobile = forms.CharField(label=gettext_lazy("Celular"), max_length=20, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["document_type"].choices = settings.COUNTRY_PACK.document_type_choices()


# --------------------------------------------------------------------------------------------------------
# Dashboard and webhooks
# --------------------------------------------------------------------------------------------------------


class DashboardForm(UswdsForm):
    institucion = forms.TypedChoiceField(
        label=gettext_lazy("Institución"), coerce=int, required=False, empty_value=None
    )
    desde = forms.DateField(
        label=gettext_lazy("Desde"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    hasta = forms.DateField(
        label=gettext_lazy("Hasta"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, institutions: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institucion"].choices = institutions

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("desde") and data.get("hasta") and data["desde"] > data["hasta"]:
            self.add_error("hasta", _("La fecha final debe ser posterior a la inicial."))
        return data

    def period(self) -> tuple[dt.date | None, dt.date | None]:
        if not self.is_bound or not self.is_valid():
            today = timezone.localdate()
            return today - dt.timedelta(days=90), today
        return self.cleaned_data.get("desde"), self.cleaned_data.get("hasta")


class WebhookForm(UswdsForm):
    institution = forms.TypedChoiceField(label=gettext_lazy("Institución"), coerce=int)
    url = forms.URLField(
        label=gettext_lazy("URL del sistema que recibe los avisos"),
        max_length=500,
        help_text=gettext_lazy(
            "Debe usar HTTPS. Recibirá un POST firmado (HMAC-SHA256) con cada cambio de estado."
        ),
        assume_scheme="https",
    )

    def __init__(self, *args: Any, institutions: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institution"].choices = institutions


# --------------------------------------------------------------------------------------------------------
# Definition editor (no-code builder)
# --------------------------------------------------------------------------------------------------------

FILE_TYPE_CHOICES = [(k, k.upper()) for k in FILE_TYPES]
PREFILL_CHOICES = [
    ("", gettext_lazy("No prellenar")),
    ("person.full_name", gettext_lazy("Nombre completo de la persona")),
    ("person.first_names", gettext_lazy("Nombres")),
    ("person.surnames", gettext_lazy("Apellidos")),
    ("person.document", gettext_lazy("Documento de identidad")),
    ("person.email", gettext_lazy("Correo electrónico")),
    ("person.mobile", gettext_lazy("Celular")),
    ("person.birth_date", gettext_lazy("Fecha de nacimiento")),
]

_CHOICE_LINE = re.compile(r"^\s*([^|]+?)\s*(?:\|\s*(.*?)\s*)?$")


def _int_or_none(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


def _clean_extra(value: str) -> dict[str, Any]:
    if not value:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class RowForm(UswdsForm):
    """A builder row. ``extra`` carries, untouched, the keys the builder does not edit (set in JSON)."""

    extra = forms.CharField(required=False, widget=forms.HiddenInput)
    key_field = "name"

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not data or not str(data.get(self.key_field) or "").strip()


class FieldRowForm(RowForm):
    name = forms.CharField(label=gettext_lazy("Nombre interno"), max_length=40, required=False)
    label = forms.CharField(label=gettext_lazy("Pregunta (etiqueta)"), max_length=200, required=False)
    type = forms.ChoiceField(label=gettext_lazy("Tipo"), choices=list(FIELD_TYPES.items()), initial="text")
    required = forms.BooleanField(label=gettext_lazy("Obligatorio"), required=False)
    help = forms.CharField(label=gettext_lazy("Ayuda"), max_length=300, required=False)
    choices = forms.CharField(
        label=gettext_lazy("Opciones (una por línea: valor|etiqueta)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    show_if_field = forms.CharField(
        label=gettext_lazy("Mostrar solo si el campo"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"list": "nombres-campos"}),
    )
    show_if_value = forms.CharField(
        label=gettext_lazy("tiene el valor (varios: separados por coma)"), max_length=200, required=False
    )
    min = forms.CharField(label=gettext_lazy("Mínimo (número o fecha)"), max_length=20, required=False)
    max = forms.CharField(label=gettext_lazy("Máximo (número o fecha)"), max_length=20, required=False)
    min_length = forms.IntegerField(label=gettext_lazy("Largo mínimo"), min_value=0, required=False)
    max_length = forms.IntegerField(label=gettext_lazy("Largo máximo"), min_value=1, required=False)
    pattern = forms.CharField(label=gettext_lazy("Expresión regular"), max_length=200, required=False)
    pattern_message = forms.CharField(
        label=gettext_lazy("Mensaje si no cumple"), max_length=200, required=False
    )
    accept = forms.MultipleChoiceField(
        label=gettext_lazy("Archivos admitidos"),
        choices=FILE_TYPE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    max_size_mb = forms.IntegerField(label=gettext_lazy("Tamaño máximo (MB)"), min_value=1, required=False)
    prefill = forms.ChoiceField(label=gettext_lazy("Prellenar con"), choices=PREFILL_CHOICES, required=False)

    @staticmethod
    def initial_from(item: dict[str, Any]) -> dict[str, Any]:
        known = {
            "name", "label", "type", "required", "help", "choices", "show_if", "min", "max", "min_length",
            "max_length", "pattern", "pattern_message", "accept", "max_size_mb", "prefill",
        }  # fmt: skip
        show_if = item.get("show_if") if isinstance(item.get("show_if"), dict) else {}
        if "equals" in show_if:
            show_value = str(show_if["equals"])
        else:
            show_value = ", ".join(str(v) for v in show_if.get("in", []))
        prefill = item.get("prefill")
        extra = {k: v for k, v in item.items() if k not in known}
        if isinstance(prefill, dict):
            extra["prefill"] = prefill
            prefill = ""
        choices = item.get("choices") if isinstance(item.get("choices"), list) else []
        return {
            "name": item.get("name", ""),
            "label": item.get("label", ""),
            "type": item.get("type", "text"),
            "required": bool(item.get("required")),
            "help": item.get("help", ""),
            "choices": "\n".join(
                f"{c.get('value', '')}|{c.get('label', '')}" for c in choices if isinstance(c, dict)
            ),
            "show_if_field": show_if.get("field", ""),
            "show_if_value": show_value,
            "min": "" if item.get("min") is None else str(item.get("min")),
            "max": "" if item.get("max") is None else str(item.get("max")),
            "min_length": item.get("min_length"),
            "max_length": item.get("max_length"),
            "pattern": item.get("pattern", ""),
            "pattern_message": item.get("pattern_message", ""),
            "accept": item.get("accept") or [],
            "max_size_mb": item.get("max_size_mb"),
            "prefill": prefill or "",
            "extra": json.dumps(extra) if extra else "",
        }

    def to_item(self) -> dict[str, Any]:
        data = self.cleaned_data
        kind = data["type"]
        item: dict[str, Any] = {
            "name": data["name"].strip(),
            "label": data["label"].strip(),
            "type": kind,
            "required": bool(data["required"]),
        }
        if data["help"].strip():
            item["help"] = data["help"].strip()
        if kind in ("choice", "multichoice"):
            choices = []
            for line in data["choices"].splitlines():
                match = _CHOICE_LINE.match(line)
                if match and match.group(1).strip():
                    value = match.group(1).strip()
                    choices.append({"value": value, "label": (match.group(2) or value).strip()})
            item["choices"] = choices
        if data["show_if_field"].strip():
            values = [v.strip() for v in data["show_if_value"].split(",") if v.strip()]
            cond: dict[str, Any] = {"field": data["show_if_field"].strip()}
            if len(values) == 1:
                cond["equals"] = values[0]
            else:
                cond["in"] = values
            item["show_if"] = cond
        for key in ("min", "max"):
            if data[key].strip():
                item[key] = data[key].strip()
        for key in ("min_length", "max_length"):
            if data[key] is not None:
                item[key] = data[key]
        if data["pattern"].strip():
            item["pattern"] = data["pattern"].strip()
            if data["pattern_message"].strip():
                item["pattern_message"] = data["pattern_message"].strip()
        if kind == "file":
            item["accept"] = list(data["accept"]) or ["pdf"]
            item["max_size_mb"] = data["max_size_mb"] or 5
        if data["prefill"]:
            item["prefill"] = data["prefill"]
        for key, value in _clean_extra(data.get("extra", "")).items():
            item.setdefault(key, value)
        return item


class DocumentRowForm(RowForm):
    name = forms.CharField(label=gettext_lazy("Nombre interno"), max_length=40, required=False)
    label = forms.CharField(label=gettext_lazy("Documento"), max_length=200, required=False)
    required = forms.BooleanField(label=gettext_lazy("Obligatorio"), required=False, initial=True)
    help = forms.CharField(label=gettext_lazy("Ayuda"), max_length=300, required=False)
    accept = forms.MultipleChoiceField(
        label=gettext_lazy("Archivos admitidos"),
        choices=FILE_TYPE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    max_size_mb = forms.IntegerField(label=gettext_lazy("Tamaño máximo (MB)"), min_value=1, required=False)

    @staticmethod
    def initial_from(item: dict[str, Any]) -> dict[str, Any]:
        known = {"name", "label", "required", "help", "accept", "max_size_mb"}
        extra = {k: v for k, v in item.items() if k not in known}
        return {
            "name": item.get("name", ""),
            "label": item.get("label", ""),
            "required": bool(item.get("required", True)),
            "help": item.get("help", ""),
            "accept": item.get("accept") or [],
            "max_size_mb": item.get("max_size_mb"),
            "extra": json.dumps(extra) if extra else "",
        }

    def to_item(self) -> dict[str, Any]:
        data = self.cleaned_data
        item: dict[str, Any] = {
            "name": data["name"].strip(),
            "label": data["label"].strip(),
            "required": bool(data["required"]),
            "accept": list(data["accept"]) or ["pdf"],
            "max_size_mb": data["max_size_mb"] or 5,
        }
        if data["help"].strip():
            item["help"] = data["help"].strip()
        for key, value in _clean_extra(data.get("extra", "")).items():
            item.setdefault(key, value)
        return item


class StepRowForm(RowForm):
    key_field = "code"
    code = forms.CharField(label=gettext_lazy("Código"), max_length=40, required=False)
    name = forms.CharField(label=gettext_lazy("Nombre del paso"), max_length=200, required=False)
    office = forms.ChoiceField(label=gettext_lazy("Oficina que actúa"), required=False)
    sla_days = forms.IntegerField(
        label=gettext_lazy("Plazo (días hábiles)"), min_value=0, max_value=365, required=False
    )

    def __init__(self, *args: Any, offices: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["office"].choices = [("", _("La del paso anterior"))] + (offices or [])

    @staticmethod
    def initial_from(item: dict[str, Any]) -> dict[str, Any]:
        known = {"code", "name", "office", "sla_days"}
        extra = {k: v for k, v in item.items() if k not in known}
        return {
            "code": item.get("code", ""),
            "name": item.get("name", ""),
            "office": item.get("office") or "",
            "sla_days": item.get("sla_days"),
            "extra": json.dumps(extra) if extra else "",
        }

    def to_item(self) -> dict[str, Any]:
        data = self.cleaned_data
        item: dict[str, Any] = {
            "code": data["code"].strip(),
            "name": data["name"].strip(),
            "sla_days": data["sla_days"] if data["sla_days"] is not None else "",
        }
        if data["office"]:
            item["office"] = data["office"]
        for key, value in _clean_extra(data.get("extra", "")).items():
            item.setdefault(key, value)
        return item


class TransitionRowForm(RowForm):
    key_field = "source"
    action = forms.ChoiceField(label=gettext_lazy("Acción"), choices=list(ACTION_LABELS.items()))
    source = forms.CharField(
        label=gettext_lazy("Desde el paso"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"list": "codigos-pasos"}),
    )
    target = forms.CharField(
        label=gettext_lazy("Al paso (solo «aprobar»)"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"list": "codigos-pasos"}),
    )

    @staticmethod
    def initial_from(item: dict[str, Any]) -> dict[str, Any]:
        return {
            "action": item.get("action", "approve"),
            "source": item.get("from", ""),
            "target": item.get("to") or "",
        }

    def to_item(self) -> dict[str, Any]:
        data = self.cleaned_data
        item: dict[str, Any] = {"action": data["action"], "from": data["source"].strip()}
        if data["target"].strip():
            item["to"] = data["target"].strip()
        return item


class GeneralForm(UswdsForm):
    prefix = "general"
    fee_amount = forms.DecimalField(
        label=gettext_lazy("Arancel"),
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        help_text=gettext_lazy("Déjelo vacío si el trámite es gratuito."),
    )
    fee_concept = forms.CharField(label=gettext_lazy("Concepto del arancel"), max_length=200, required=False)
    min_assurance = forms.ChoiceField(
        label=gettext_lazy("Nivel mínimo de identidad"),
        choices=[("basico", gettext_lazy("Básico")), ("verificado", gettext_lazy("Verificado"))],
    )
    observation_days = forms.IntegerField(
        label=gettext_lazy("Plazo para corregir una observación (días hábiles)"), min_value=1, max_value=90
    )
    resolution_title = forms.CharField(
        label=gettext_lazy("Título de la resolución"), max_length=200, required=False
    )
    resolution_body = forms.CharField(
        label=gettext_lazy("Texto de la resolución"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy(
            "Puede usar {{ codigo }}, {{ fecha }}, {{ tramite }}, {{ institucion }}, "
            "{{ solicitante.nombre }}, {{ solicitante.documento }} y {{ nombre_de_un_campo }}."
        ),
    )

    @staticmethod
    def initial_from(spec: dict[str, Any]) -> dict[str, Any]:
        fee = spec.get("fee") if isinstance(spec.get("fee"), dict) else {}
        resolution = spec.get("resolution") if isinstance(spec.get("resolution"), dict) else {}
        return {
            "fee_amount": fee.get("amount") or None,
            "fee_concept": fee.get("concept", ""),
            "min_assurance": spec.get("min_assurance", "basico"),
            "observation_days": spec.get("observation_days", 10),
            "resolution_title": resolution.get("title", ""),
            "resolution_body": resolution.get("body", ""),
        }

    def update_spec(self, spec: dict[str, Any]) -> None:
        data = self.cleaned_data
        if data["fee_amount"] is not None and data["fee_amount"] > 0:
            spec["fee"] = {"amount": f"{data['fee_amount']:.2f}", "concept": data["fee_concept"].strip()}
        else:
            spec["fee"] = None
        spec["min_assurance"] = data["min_assurance"]
        spec["observation_days"] = data["observation_days"]
        spec["resolution"] = {
            "title": data["resolution_title"].strip(),
            "body": data["resolution_body"].strip(),
        }


class JsonForm(UswdsForm):
    prefix = "json"
    spec = forms.CharField(
        label=gettext_lazy("Definición en JSON"),
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "usa-textarea vt-code"}),
    )

    def clean_spec(self) -> Any:
        try:
            value = json.loads(self.cleaned_data["spec"])
        except ValueError as exc:
            raise forms.ValidationError(_("No es JSON válido: %(error)s") % {"error": exc}) from exc
        if isinstance(value, dict) and isinstance(value.get("definition"), dict):
            value = value["definition"]  # an exported file pasted as is
        return value


class ImportForm(UswdsForm):
    prefix = "import"
    file = forms.FileField(label=gettext_lazy("Archivo JSON exportado"))

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > 1024 * 1024:
            raise forms.ValidationError(_("El archivo supera 1 MB."))
        content: bytes = upload.read()
        return content


SECTIONS = {
    "fields": (FieldRowForm, "campos", gettext_lazy("Campo")),
    "documents": (DocumentRowForm, "documentos", gettext_lazy("Documento")),
    "steps": (StepRowForm, "pasos", gettext_lazy("Paso")),
    "transitions": (TransitionRowForm, "transiciones", gettext_lazy("Transición")),
}
EXTRA_ROWS = 2


class DefinitionBuilder:
    """The builder's forms: one general form and one formset per list in the spec."""

    def __init__(
        self, *, spec: dict[str, Any] | None, offices: list[tuple[str, str]], data: Any = None
    ) -> None:
        spec = spec if isinstance(spec, dict) else {}
        self.bound = data is not None
        self.general = GeneralForm(data=data, initial=GeneralForm.initial_from(spec))
        self.formsets: dict[str, forms.BaseFormSet] = {}
        for key, (form_class, prefix, _label) in SECTIONS.items():
            formset_class = forms.formset_factory(
                form_class, extra=EXTRA_ROWS, can_delete=True, can_order=True
            )
            items = spec.get(key) if isinstance(spec.get(key), list) else []
            initial = [form_class.initial_from(i) for i in items if isinstance(i, dict)]  # type: ignore[attr-defined]
            kwargs: dict[str, Any] = {"form_kwargs": {"offices": offices}} if key == "steps" else {}
            formset = formset_class(data=data, initial=initial, prefix=prefix, **kwargs)
            for form in formset.forms:
                form.fields["ORDER"].label = _("Posición")
                form.fields["ORDER"].widget.attrs["class"] = "usa-input usa-input--small"
                form.fields["DELETE"].label = _("Eliminar esta fila")
                form.fields["DELETE"].widget.attrs["class"] = "usa-checkbox__input"
            self.formsets[key] = formset
        self.row_of: dict[str, list[forms.Form]] = {}

    def sections(self) -> list[tuple[str, str, forms.BaseFormSet]]:
        titles = {
            "fields": _("Campos del formulario"),
            "documents": _("Documentos que se adjuntan"),
            "steps": _("Pasos del flujo de trabajo"),
            "transitions": _("Transiciones permitidas"),
        }
        return [(SECTIONS[k][1], titles[k], fs) for k, fs in self.formsets.items()]

    def is_valid(self) -> bool:
        ok = self.general.is_valid()
        for formset in self.formsets.values():
            ok = formset.is_valid() and ok
        return ok

    def to_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        for key, formset in self.formsets.items():
            rows = [
                f
                for f in formset.ordered_forms
                if not getattr(f, "cleaned_data", {}).get("DELETE") and not f.is_blank()  # type: ignore[attr-defined]
            ]
            self.row_of[key] = rows
            spec[key] = [f.to_item() for f in rows]  # type: ignore[attr-defined]
        self.general.update_spec(spec)
        return spec

    def place(self, items: list[ErrorItem]) -> list[SummaryItem]:
        """Put each validator problem on its row (``fields[2]`` → third kept row) and return the summary."""
        summary = []
        for item in items:
            where = item.field or ""
            match = re.match(r"^(\w+)\[(\d+)\]$", where)
            href = "#definicion-general"
            label = _("Definición")
            if match and match.group(1) in self.row_of:
                key, index = match.group(1), int(match.group(2))
                rows = self.row_of[key]
                if index < len(rows):
                    rows[index].add_error(None, item.message)
                    href = f"#{rows[index].prefix}-fila"
                    label = f"{SECTIONS[key][2]} {index + 1}"
            elif where in self.formsets:
                href = f"#seccion-{SECTIONS[where][1]}"
                label = str(SECTIONS[where][2])
            summary.append(SummaryItem(label, item.message, href))
        return summary

    def form_errors(self) -> list[SummaryItem]:
        items = form_summary(self.general)
        for key, formset in self.formsets.items():
            for i, form in enumerate(formset.forms):
                for name, errors in form.errors.items():
                    target = f"#{form.prefix}-fila" if name == "__all__" else f"#{form[name].auto_id}"
                    label = f"{SECTIONS[key][2]} {i + 1}"
                    items += [SummaryItem(label, str(e), target) for e in errors]
        return items
