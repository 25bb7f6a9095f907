"""Forms of the inbox app (back office and Mi cuenta). Input checks only; rules live in services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.forms import BoundField
from django.utils.translation import gettext_lazy as _

from ventanilla.core.errors import DomainError
from ventanilla.core.models import Institution

from .models import Channel
from .services import template_placeholders


class UswdsBoundField(BoundField):
    def build_widget_attrs(self, attrs: dict[str, Any], widget: Any = None) -> dict[str, Any]:
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        base = attrs.get("class", widget.attrs.get("class", ""))
        if self.errors and "usa-checkbox__input" not in base:
            attrs["class"] = f"{base} usa-input--error".strip()
        return attrs


def _css_class(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxInput):
        return "usa-checkbox__input"
    if isinstance(widget, forms.Select):
        return "usa-select"
    if isinstance(widget, forms.Textarea):
        return "usa-textarea"
    return "usa-input"


@dataclass
class SummaryItem:
    href: str
    label: str
    message: str


class UswdsForm(forms.Form):
    bound_field_class = UswdsBoundField
    label_suffix = ""
    form_id = "formulario"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", _css_class(field.widget))

    def add_domain_error(self, exc: DomainError) -> None:
        for item in exc.items():
            self.add_error(item.field if item.field in self.fields else None, item.message)

    def error_summary(self) -> list[SummaryItem]:
        if not self.is_bound or not self.errors:
            return []
        items = [
            SummaryItem(f"#{self.form_id}", str(_("Formulario")), str(m)) for m in self.non_field_errors()
        ]
        for bound in self:
            for message in bound.errors:
                items.append(SummaryItem(f"#{bound.auto_id}", str(bound.label), str(message)))
        return items


def _institution_field(institutions: list[Institution]) -> forms.ModelChoiceField:
    field = forms.ModelChoiceField(
        label=_("Institución"),
        queryset=Institution.objects.filter(pk__in=[i.pk for i in institutions]),
        empty_label=None,
    )
    field.label_from_instance = lambda obj: obj.name  # type: ignore[method-assign]
    return field


class NotificationForm(UswdsForm):
    form_id = "notification-form"

    institution = forms.ModelChoiceField(queryset=Institution.objects.none())
    document_type = forms.ChoiceField(label=_("Tipo de documento"))
    document_number = forms.CharField(label=_("Número de documento"), max_length=20)
    document_complement = forms.CharField(label=_("Complemento"), max_length=4, required=False)
    first_names = forms.CharField(
        label=_("Nombres"),
        max_length=120,
        required=False,
        help_text=_("Solo si la persona todavía no está registrada en la plataforma."),
    )
    first_surname = forms.CharField(label=_("Primer apellido"), max_length=80, required=False)
    second_surname = forms.CharField(label=_("Segundo apellido"), max_length=80, required=False)
    subject = forms.CharField(label=_("Asunto"), max_length=200)
    body = forms.CharField(label=_("Contenido"), widget=forms.Textarea(attrs={"rows": 8}), max_length=20000)
    case_reference = forms.CharField(
        label=_("Expediente o referencia"),
        max_length=100,
        required=False,
        help_text=_("Por ejemplo, el código de seguimiento del trámite."),
    )
    document_codes = forms.CharField(
        label=_("Documentos adjuntos (códigos de verificación)"),
        required=False,
        help_text=_("Separe los códigos con comas. Deben ser documentos emitidos por su institución."),
    )
    legal = forms.BooleanField(
        label=_("Tiene efectos legales (notificación formal)"),
        required=False,
        help_text=_("Surte efecto según la norma del país; se emite una constancia firmada."),
    )

    def __init__(self, *args: Any, institutions: list[Institution], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institution"] = _institution_field(institutions)
        self.fields["institution"].widget.attrs["class"] = "usa-select"
        self.fields["document_type"].choices = settings.COUNTRY_PACK.document_type_choices()

    def codes(self) -> list[str]:
        raw = self.cleaned_data.get("document_codes") or ""
        return [code.strip() for code in raw.replace(";", ",").split(",") if code.strip()]


class TemplateForm(UswdsForm):
    form_id = "template-form"

    institution = forms.ModelChoiceField(queryset=Institution.objects.none())
    name = forms.CharField(label=_("Nombre de la plantilla"), max_length=150)
    channel = forms.ChoiceField(label=_("Canal"), choices=Channel.choices)
    subject = forms.CharField(label=_("Asunto (solo correo electrónico)"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Texto"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "Use ((nombre)) para los datos que cambian en cada envío, por ejemplo ((codigo_tramite))."
        ),
    )

    def __init__(self, *args: Any, institutions: list[Institution], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institution"] = _institution_field(institutions)
        self.fields["institution"].widget.attrs["class"] = "usa-select"


class PreviewForm(UswdsForm):
    """One input per placeholder of the template, to see the message before using it."""

    form_id = "preview-form"

    def __init__(self, *args: Any, subject: str, body: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in template_placeholders(subject, body):
            self.fields[f"p_{name}"] = forms.CharField(label=name, max_length=500, required=False)
            self.fields[f"p_{name}"].widget.attrs["class"] = "usa-input"

    def personalisation(self) -> dict[str, str]:
        return {key[2:]: value for key, value in self.cleaned_data.items() if value}


class ApiKeyForm(UswdsForm):
    form_id = "api-key-form"

    institution = forms.ModelChoiceField(queryset=Institution.objects.none())
    name = forms.CharField(
        label=_("Nombre de la clave"),
        max_length=60,
        help_text=_("Para reconocerla después, por ejemplo «sistema_tramites_produccion»."),
    )

    def __init__(self, *args: Any, institutions: list[Institution], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institution"] = _institution_field(institutions)
        self.fields["institution"].widget.attrs["class"] = "usa-select"


class InboxSearchForm(forms.Form):
    q = forms.CharField(label=_("Buscar"), max_length=100, required=False)
