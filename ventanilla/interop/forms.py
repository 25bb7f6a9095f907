"""Forms of the interop pages: shapes only (the rules live in services). ``apply_domain_error`` puts a
service's refusal next to the field it names; ``error_summary`` feeds core/_error_summary.html."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ventanilla.core.errors import DomainError

from .models import AccessRight, Service, Subsystem
from .services import ServiceData

INPUT = "usa-input"
SELECT = "usa-select"
TEXTAREA = "usa-textarea"


def _style(form: forms.Form) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "usa-checkbox__input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", SELECT)
        elif isinstance(widget, forms.Textarea):
            widget.attrs.setdefault("class", TEXTAREA)
        else:
            widget.attrs.setdefault("class", INPUT)


def apply_domain_error(form: forms.Form, error: DomainError) -> None:
    for item in error.items():
        field = item.field if item.field in form.fields else None
        form.add_error(field, item.message)


def error_summary(form: forms.Form) -> list[dict[str, str]]:
    summary = []
    for name, errors in form.errors.items():
        if name == "__all__" or name not in form.fields:
            for message in errors:
                summary.append({"href": "#contenido", "label": _("Formulario"), "message": message})
            continue
        bound = form[name]
        for message in errors:
            summary.append({"href": f"#{bound.id_for_label}", "label": str(bound.label), "message": message})
    return summary


def _end_of_day(day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


class DateInput(forms.DateInput):
    input_type = "date"


class SubsystemForm(forms.Form):
    institution = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Institución"))
    code = forms.CharField(
        label=gettext_lazy("Código"),
        max_length=50,
        help_text=gettext_lazy("Letras, números y guiones, p. ej., EXPEDIENTES o REGISTRO-CIVIL."),
    )
    name = forms.CharField(label=gettext_lazy("Nombre del sistema"), max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("Tipo"), choices=Subsystem.Kind.choices)
    description = forms.CharField(label=gettext_lazy("Descripción"), required=False, widget=forms.Textarea)
    status = forms.ChoiceField(
        label=gettext_lazy("Estado"),
        choices=Subsystem.Status.choices,
        help_text=gettext_lazy("Un subsistema suspendido no puede llamar ni ser llamado."),
    )
    rate_limit = forms.IntegerField(
        label=gettext_lazy("Límite de llamadas por minuto"),
        required=False,
        min_value=1,
        max_value=1_000_000,
        help_text=gettext_lazy("Vacío: el límite general de la plataforma."),
    )

    def __init__(self, *args: Any, institutions: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions
        if not editing:
            del self.fields["status"]
        if editing:
            self.fields["institution"].disabled = True
            self.fields["code"].disabled = True
        _style(self)


def _json_object(value: str) -> dict[str, Any]:
    if not value.strip():
        return {}
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise forms.ValidationError(_("No es un JSON válido: %(error)s") % {"error": exc}) from exc
    if not isinstance(data, dict):
        raise forms.ValidationError(_("El documento OpenAPI debe ser un objeto JSON."))
    return data


class ServiceForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Código del servicio"), max_length=50)
    version = forms.CharField(label=gettext_lazy("Versión"), max_length=20, initial="v1")
    name = forms.CharField(label=gettext_lazy("Nombre"), max_length=200)
    description = forms.CharField(label=gettext_lazy("Descripción"), required=False, widget=forms.Textarea)
    base_url = forms.URLField(
        assume_scheme="https",
        label=gettext_lazy("URL base del proveedor"),
        max_length=500,
        help_text=gettext_lazy("Solo la plataforma la usa; no se publica."),
    )
    classification = forms.ChoiceField(
        label=gettext_lazy("Clasificación de los datos"), choices=Service.Classification.choices
    )
    personal_data = forms.CharField(
        label=gettext_lazy("Datos personales que devuelve"),
        required=False,
        max_length=400,
        help_text=gettext_lazy("Vacío si no devuelve datos de personas."),
    )
    legal_basis = forms.CharField(label=gettext_lazy("Base legal"), required=False, max_length=400)
    needs_consent = forms.BooleanField(
        label=gettext_lazy("Requiere el consentimiento de la persona"), required=False
    )
    confidential_by_law = forms.BooleanField(
        label=gettext_lazy("Reservado por ley (no se muestra a la persona)"), required=False
    )
    status = forms.ChoiceField(label=gettext_lazy("Estado"), choices=Service.Status.choices)
    timeout_seconds = forms.FloatField(
        label=gettext_lazy("Tiempo máximo de espera (segundos)"),
        required=False,
        min_value=0.01,
        max_value=300,
    )
    log_bodies = forms.BooleanField(
        label=gettext_lazy("Guardar los cuerpos de los mensajes en el registro"), required=False
    )
    openapi = forms.CharField(
        label=gettext_lazy("Documento OpenAPI (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _style(self)

    def clean_openapi(self) -> dict[str, Any]:
        return _json_object(self.cleaned_data.get("openapi") or "")

    def to_data(self) -> ServiceData:
        d = self.cleaned_data
        return ServiceData(
            code=d["code"],
            name=d["name"],
            base_url=d["base_url"],
            version=d["version"],
            description=d["description"],
            openapi=d["openapi"],
            classification=d["classification"],
            personal_data=d["personal_data"],
            legal_basis=d["legal_basis"],
            needs_consent=d["needs_consent"],
            confidential_by_law=d["confidential_by_law"],
            status=d["status"],
            timeout_seconds=d["timeout_seconds"],
            log_bodies=d["log_bodies"],
        )

    @staticmethod
    def initial_for(service: Service) -> dict[str, Any]:
        initial = {
            name: getattr(service, name) for name in ServiceData.__dataclass_fields__ if name != "openapi"
        }
        initial["openapi"] = (
            json.dumps(service.openapi, ensure_ascii=False, indent=2) if service.openapi else ""
        )
        return initial


class AccessRequestForm(forms.Form):
    consumer = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Subsistema consumidor (suyo)"))
    service = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Servicio"))
    purpose = forms.CharField(
        label=gettext_lazy("Finalidad"),
        max_length=200,
        help_text=gettext_lazy(
            "La que enviará en Interop-Purpose, p. ej., «Trámite de licencia de funcionamiento». Varias: "
            "sepárelas con «;». Una finalidad cubre también «finalidad: detalle»."
        ),
    )
    legal_basis = forms.CharField(label=gettext_lazy("Base legal"), max_length=400)
    operations = forms.CharField(
        label=gettext_lazy("Operaciones (opcional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Una por línea: MÉTODO /ruta, p. ej., GET /personas/*. «*» abarca un solo segmento de la ruta; "
            "«**», varios (GET /**). Vacío: todas."
        ),
    )
    expires_on = forms.DateField(label=gettext_lazy("Vence el (opcional)"), required=False, widget=DateInput)

    def __init__(self, *args: Any, consumers: Any, services: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["consumer"].queryset = consumers
        self.fields["consumer"].label_from_instance = lambda s: f"{s.identifier} — {s.name}"
        self.fields["service"].queryset = services
        self.fields["service"].label_from_instance = lambda s: f"{s.identifier} — {s.name}"
        _style(self)

    def expires_at(self) -> dt.datetime | None:
        return _end_of_day(self.cleaned_data.get("expires_on"))


class DecisionForm(forms.Form):
    comment = forms.CharField(label=gettext_lazy("Comentario"), required=False, max_length=400)


class ConsentForm(forms.Form):
    right = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Intercambio"))
    expires_on = forms.DateField(
        label=gettext_lazy("Hasta (opcional)"),
        required=False,
        widget=DateInput,
        help_text=gettext_lazy("Vacío: hasta que usted lo retire."),
    )

    def __init__(self, *args: Any, offers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["right"].queryset = offers
        self.fields["right"].label_from_instance = lambda r: (
            _("%(consumer)s (%(institution)s) consulta «%(service)s» de %(provider)s para: %(purpose)s")
            % {
                "consumer": r.consumer.name,
                "institution": r.consumer.member.institution.display_acronym,
                "service": r.service.name,
                "provider": r.service.subsystem.member.institution.display_acronym,
                "purpose": r.purpose,
            }
        )
        _style(self)

    def expires_at(self) -> dt.datetime | None:
        return _end_of_day(self.cleaned_data.get("expires_on"))


__all__ = [
    "AccessRequestForm",
    "AccessRight",
    "ConsentForm",
    "DecisionForm",
    "ServiceForm",
    "SubsystemForm",
    "apply_domain_error",
    "error_summary",
]
