"""Back-office forms for the catalogue.

Forms check shapes only (types, lengths, choices the user may pick). The rules live in
``services.validate_procedure_data``; when the service refuses, ``ProcedureEditor.add_domain_error`` puts each
message next to the field it belongs to ("requirements[2].name" → third requirement row, name input).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.forms import BoundField
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ventanilla.core.errors import DomainError, ErrorItem
from ventanilla.core.models import AssuranceLevel, Institution, Office
from ventanilla.core.permissions import editable_institution_ids

from .models import Category, Channel, LifeEvent, Procedure
from .services import ChannelData, FaqData, ProcedureData, RequirementData, StepData

Kind = Channel.Kind


# --------------------------------------------------------------------------------------------------------
# USWDS rendering helpers
# --------------------------------------------------------------------------------------------------------


class UswdsBoundField(BoundField):
    """Adds the USWDS error class to an input with errors (Django already sets aria-invalid/-describedby)."""

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
    if isinstance(widget, forms.Select):  # includes SelectMultiple
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
            field.widget.attrs.setdefault("class", _css_class(field.widget))

    def add_error_safely(self, field: str | None, message: str) -> None:
        """``add_error`` that falls back to a form-level error for a field this form does not have."""
        self.add_error(field if field in self.fields else None, message)


def _textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


def _institution_label(institution: Institution) -> str:
    acronym = institution.acronym or institution.code
    return f"{acronym} — {institution.name}"


# --------------------------------------------------------------------------------------------------------
# Procedure
# --------------------------------------------------------------------------------------------------------


class ProcedureForm(UswdsForm):
    name = forms.CharField(label=gettext_lazy("Nombre del trámite"), max_length=200)
    slug = forms.CharField(
        label=gettext_lazy("Identificador en la dirección (slug)"),
        max_length=120,
        required=False,
        help_text=gettext_lazy(
            "Minúsculas, números y guiones. Si lo deja vacío se genera a partir del nombre."
        ),
    )
    summary = forms.CharField(
        label=gettext_lazy("Resumen"),
        max_length=300,
        widget=_textarea(2),
        help_text=gettext_lazy("Una o dos frases, hasta 300 caracteres."),
    )
    description = forms.CharField(label=gettext_lazy("Descripción"), required=False, widget=_textarea(5))
    institution = forms.ChoiceField(label=gettext_lazy("Institución responsable"))
    office = forms.ChoiceField(label=gettext_lazy("Oficina responsable"), required=False)
    category = forms.ChoiceField(label=gettext_lazy("Tema (categoría)"))
    life_events = forms.MultipleChoiceField(
        label=gettext_lazy("Hechos vitales"), required=False, widget=forms.CheckboxSelectMultiple
    )
    audience = forms.ChoiceField(label=gettext_lazy("Dirigido a"), choices=Procedure.Audience.choices)
    keywords = forms.CharField(
        label=gettext_lazy("Palabras clave"),
        max_length=400,
        required=False,
        help_text=gettext_lazy("Términos con los que la gente busca este trámite, separados por comas."),
    )
    is_free = forms.BooleanField(label=gettext_lazy("Gratuito"), required=False)
    cost_amount = forms.DecimalField(
        label=gettext_lazy("Costo"), required=False, max_digits=12, decimal_places=2
    )
    payment_instructions = forms.CharField(
        label=gettext_lazy("Instrucciones de pago"), required=False, widget=_textarea(3)
    )
    legal_basis = forms.CharField(label=gettext_lazy("Base legal"), required=False, widget=_textarea(3))
    max_days = forms.IntegerField(
        label=gettext_lazy("Plazo máximo (días hábiles)"),
        required=False,
        help_text=gettext_lazy("0 si se resuelve en el acto."),
    )
    digitisation_level = forms.TypedChoiceField(
        label=gettext_lazy("Nivel de digitalización"), choices=Procedure.Level.choices, coerce=int
    )
    runs_on_platform = forms.BooleanField(label=gettext_lazy("Se tramita en esta plataforma"), required=False)
    min_assurance = forms.ChoiceField(
        label=gettext_lazy("Nivel de Ciudadanía Digital requerido"),
        choices=[("", gettext_lazy("No requiere cuenta")), *AssuranceLevel.choices],
        required=False,
    )
    external_start_url = forms.CharField(
        label=gettext_lazy("Enlace para iniciar (sistema de la institución)"),
        max_length=500,
        required=False,
        widget=forms.URLInput,
    )
    external_tracking_url = forms.CharField(
        label=gettext_lazy("Enlace de seguimiento"), max_length=500, required=False, widget=forms.URLInput
    )
    # Channels: one fieldset each, enabled by its checkbox.
    presencial_enabled = forms.BooleanField(label=gettext_lazy("Se atiende en oficinas"), required=False)
    presencial_offices = forms.MultipleChoiceField(
        label=gettext_lazy("Oficinas"),
        required=False,
        help_text=gettext_lazy("Puede elegir varias con Ctrl (o Cmd) y clic."),
    )
    presencial_hours = forms.CharField(label=gettext_lazy("Horario"), max_length=255, required=False)
    presencial_notes = forms.CharField(label=gettext_lazy("Notas"), max_length=255, required=False)
    en_linea_enabled = forms.BooleanField(label=gettext_lazy("Se atiende en línea"), required=False)
    en_linea_url = forms.CharField(
        label=gettext_lazy("Dirección web"), max_length=500, required=False, widget=forms.URLInput
    )
    en_linea_hours = forms.CharField(label=gettext_lazy("Horario"), max_length=255, required=False)
    en_linea_notes = forms.CharField(label=gettext_lazy("Notas"), max_length=255, required=False)
    telefonico_enabled = forms.BooleanField(label=gettext_lazy("Se atiende por teléfono"), required=False)
    telefonico_phone = forms.CharField(label=gettext_lazy("Teléfono"), max_length=60, required=False)
    telefonico_hours = forms.CharField(label=gettext_lazy("Horario"), max_length=255, required=False)
    telefonico_notes = forms.CharField(label=gettext_lazy("Notas"), max_length=255, required=False)

    MAIN_FIELDS = (
        "name",
        "slug",
        "summary",
        "description",
        "institution",
        "office",
        "category",
        "audience",
        "keywords",
    )
    COST_FIELDS = ("is_free", "cost_amount", "payment_instructions")
    OTHER_FIELDS = (
        "legal_basis",
        "max_days",
        "digitisation_level",
        "runs_on_platform",
        "min_assurance",
        "external_start_url",
        "external_tracking_url",
    )

    def __init__(self, *args: Any, actor: Any, procedure: Procedure | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.procedure = procedure
        allowed = editable_institution_ids(actor)
        institutions = Institution.objects.order_by("name")
        offices = (
            Office.objects.filter(is_active=True)
            .select_related("institution")
            .order_by("institution__name", "name")
        )
        if allowed is not None:
            institutions = institutions.filter(pk__in=allowed)
            offices = offices.filter(institution_id__in=allowed)
        self.fields["institution"].choices = [("", _("— Elija una institución —"))] + [
            (i.code, _institution_label(i)) for i in institutions
        ]
        grouped: dict[str, list[tuple[str, str]]] = {}
        for office in offices:
            grouped.setdefault(_institution_label(office.institution), []).append(
                (office.code, f"{office.name} ({office.code})")
            )
        self.fields["office"].choices = [("", _("— Ninguna —")), *grouped.items()]
        self.fields["presencial_offices"].choices = list(grouped.items())
        self.fields["presencial_offices"].widget.attrs["size"] = 6
        self.fields["category"].choices = [("", _("— Elija un tema —"))] + [
            (c.slug, c.name) for c in Category.objects.all()
        ]
        self.fields["life_events"].choices = [(e.slug, e.name) for e in LifeEvent.objects.all()]
        currency = settings.COUNTRY_PACK.currency
        self.fields["cost_amount"].label = _("Costo (%(currency)s)") % {"currency": currency}
        self.fields["cost_amount"].help_text = _(
            "En %(currency)s. Déjelo vacío y marque «Gratuito» si no tiene costo."
        ) % {"currency": currency}

    def main_fields(self) -> list[BoundField]:
        return [self[name] for name in self.MAIN_FIELDS]

    def cost_fields(self) -> list[BoundField]:
        return [self[name] for name in self.COST_FIELDS]

    def other_fields(self) -> list[BoundField]:
        return [self[name] for name in self.OTHER_FIELDS]

    def channel_fields(self, kind: str) -> list[BoundField]:
        return [
            self[name] for name in self.fields if name.startswith(f"{kind}_") and name != f"{kind}_enabled"
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            not cleaned.get("is_free")
            and cleaned.get("cost_amount") is None
            and "cost_amount" not in self.errors
        ):
            self.add_error("cost_amount", _("Indique el costo o marque «Gratuito»."))
        name = cleaned.get("name") or ""
        slug = (cleaned.get("slug") or "").lower()
        if not slug:
            slug = self.procedure.slug if self.procedure else slugify(name)[:120].strip("-")
        cleaned["slug"] = slug
        if slug and "slug" not in self.errors:
            others = Procedure.objects.filter(slug=slug)
            if self.procedure is not None:
                others = others.exclude(pk=self.procedure.pk)
            if others.exists():
                self.add_error("slug", _("Ya existe un trámite con ese identificador (slug); elija otro."))
        return cleaned


class RequirementForm(UswdsForm):
    name = forms.CharField(label=gettext_lazy("Requisito"), max_length=255, required=False)
    description = forms.CharField(label=gettext_lazy("Detalle"), required=False, widget=_textarea(2))
    issuer = forms.ChoiceField(label=gettext_lazy("Institución que lo emite"), required=False)
    issuer_name = forms.CharField(
        label=gettext_lazy("Emisor (si no está en la lista)"), max_length=255, required=False
    )
    held_by_state = forms.BooleanField(
        label=gettext_lazy("El Estado ya tiene este dato o documento"), required=False
    )
    CONTENT = ("name", "description", "issuer", "issuer_name", "held_by_state")

    def __init__(
        self, *args: Any, issuer_choices: list[tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["issuer"].choices = [("", _("— Ninguna / otra —")), *(issuer_choices or [])]


class StepForm(UswdsForm):
    title = forms.CharField(label=gettext_lazy("Paso"), max_length=255, required=False)
    description = forms.CharField(label=gettext_lazy("Detalle"), required=False, widget=_textarea(2))
    CONTENT = ("title", "description")


class FaqForm(UswdsForm):
    question = forms.CharField(label=gettext_lazy("Pregunta"), max_length=300, required=False)
    answer = forms.CharField(label=gettext_lazy("Respuesta"), required=False, widget=_textarea(3))
    CONTENT = ("question", "answer")


def _formset(form: type[forms.Form]) -> type[forms.BaseFormSet]:
    return forms.formset_factory(
        form, extra=2, can_delete=True, can_delete_extra=False, max_num=100, absolute_max=150
    )


RequirementFormSet = _formset(RequirementForm)
StepFormSet = _formset(StepForm)
FaqFormSet = _formset(FaqForm)

_INDEXED = re.compile(r"^(requirements|steps|faq|channels)\[(\d+)\](?:\.(\w+))?$")
_TOP_LEVEL = {"cost": "cost_amount", "cost.amount": "cost_amount", "cost.currency": "cost_amount"}


@dataclass
class SummaryItem:
    href: str
    label: str
    message: str


class ProcedureEditor:
    """The procedure form and its requirement/step/FAQ formsets, as one unit.

    Knows how to read a ``ProcedureData`` into initial values, turn valid input back into a
    ``ProcedureData``, and place the service's ``DomainError`` items on the right inputs.
    """

    formset_titles = {
        "requirements": gettext_lazy("Requisito"),
        "steps": gettext_lazy("Paso"),
        "faq": gettext_lazy("Pregunta frecuente"),
    }

    def __init__(
        self,
        *,
        actor: Any,
        data: Any = None,
        initial: ProcedureData | None = None,
        procedure: Procedure | None = None,
    ) -> None:
        self.procedure = procedure
        form_initial, rows = self._initial(initial)
        self.form = ProcedureForm(data, actor=actor, procedure=procedure, initial=form_initial)
        issuers = [
            (i.code, _institution_label(i))
            for i in Institution.objects.filter(is_active=True).order_by("name")
        ]
        self.formsets: dict[str, forms.BaseFormSet] = {
            "requirements": RequirementFormSet(
                data,
                prefix="requirements",
                initial=rows["requirements"],
                form_kwargs={"issuer_choices": issuers},
            ),
            "steps": StepFormSet(data, prefix="steps", initial=rows["steps"]),
            "faq": FaqFormSet(data, prefix="faq", initial=rows["faq"]),
        }
        # data index → form index, and the channel kind at each data index (filled by to_data()).
        self._rows: dict[str, list[int]] = {key: [] for key in self.formsets}
        self._channel_kinds: list[str] = []

    @property
    def requirements(self) -> forms.BaseFormSet:
        return self.formsets["requirements"]

    @property
    def steps(self) -> forms.BaseFormSet:
        return self.formsets["steps"]

    @property
    def faq(self) -> forms.BaseFormSet:
        return self.formsets["faq"]

    @staticmethod
    def _initial(data: ProcedureData | None) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
        if data is None:
            return (
                {"audience": Procedure.Audience.PERSON, "digitisation_level": 1, "max_days": 0},
                {"requirements": [], "steps": [], "faq": []},
            )
        initial: dict[str, Any] = {
            "name": data.name,
            "slug": data.slug,
            "summary": data.summary,
            "description": data.description,
            "institution": data.institution,
            "office": data.office or "",
            "category": data.category,
            "life_events": list(data.life_events),
            "audience": data.audience,
            "keywords": data.keywords,
            "is_free": data.cost_amount is None,
            "cost_amount": data.cost_amount,
            "payment_instructions": data.payment_instructions,
            "legal_basis": data.legal_basis,
            "max_days": data.max_days,
            "digitisation_level": data.digitisation_level,
            "runs_on_platform": data.runs_on_platform,
            "min_assurance": data.min_assurance,
            "external_start_url": data.external_start_url,
            "external_tracking_url": data.external_tracking_url,
        }
        for channel in data.channels:
            kind = channel.channel
            initial[f"{kind}_enabled"] = True
            initial[f"{kind}_hours"] = channel.hours
            initial[f"{kind}_notes"] = channel.notes
            if kind == Kind.IN_PERSON:
                initial["presencial_offices"] = list(channel.offices)
            elif kind == Kind.ONLINE:
                initial["en_linea_url"] = channel.url
            elif kind == Kind.PHONE:
                initial["telefonico_phone"] = channel.phone
        rows = {
            "requirements": [
                {
                    "name": r.name,
                    "description": r.description,
                    "issuer": r.issuer or "",
                    "issuer_name": r.issuer_name,
                    "held_by_state": r.held_by_state,
                }
                for r in data.requirements
            ],
            "steps": [{"title": s.title, "description": s.description} for s in data.steps],
            "faq": [{"question": f.question, "answer": f.answer} for f in data.faq],
        }
        return initial, rows

    # ---------------------------------------------------------------------------------------- validation

    def is_valid(self) -> bool:
        results = [self.form.is_valid(), *(fs.is_valid() for fs in self.formsets.values())]
        return all(results)

    def _rows_of(self, key: str) -> list[dict[str, Any]]:
        """The cleaned rows that carry content (empty and deleted rows are skipped), remembering positions."""
        formset = self.formsets[key]
        rows = []
        self._rows[key] = []
        for index, form in enumerate(formset.forms):
            cleaned = getattr(form, "cleaned_data", None) or {}
            if not cleaned or cleaned.get("DELETE"):
                continue
            if not any(cleaned.get(name) for name in form.CONTENT):
                continue
            rows.append(cleaned)
            self._rows[key].append(index)
        return rows

    def to_data(self) -> ProcedureData:
        cd = self.form.cleaned_data
        cost = None if cd.get("is_free") else cd.get("cost_amount")
        channels = []
        self._channel_kinds = []
        for kind in Kind.values:
            if not cd.get(f"{kind}_enabled"):
                continue
            channels.append(
                ChannelData(
                    channel=kind,
                    offices=list(cd.get("presencial_offices") or []) if kind == Kind.IN_PERSON else [],
                    hours=cd.get(f"{kind}_hours", ""),
                    url=cd.get("en_linea_url", "") if kind == Kind.ONLINE else "",
                    phone=cd.get("telefonico_phone", "") if kind == Kind.PHONE else "",
                    notes=cd.get(f"{kind}_notes", ""),
                )
            )
            self._channel_kinds.append(kind)
        return ProcedureData(
            slug=cd["slug"],
            name=cd["name"],
            institution=cd["institution"],
            office=cd.get("office") or None,
            summary=cd["summary"],
            description=cd.get("description", ""),
            category=cd["category"],
            life_events=list(cd.get("life_events") or []),
            audience=cd["audience"],
            keywords=cd.get("keywords", ""),
            requirements=[
                RequirementData(
                    name=r.get("name", ""),
                    description=r.get("description", ""),
                    issuer=r.get("issuer") or None,
                    issuer_name=r.get("issuer_name", ""),
                    held_by_state=bool(r.get("held_by_state")),
                )
                for r in self._rows_of("requirements")
            ],
            steps=[
                StepData(title=s.get("title", ""), description=s.get("description", ""))
                for s in self._rows_of("steps")
            ],
            channels=channels,
            faq=[
                FaqData(question=f.get("question", ""), answer=f.get("answer", ""))
                for f in self._rows_of("faq")
            ],
            cost_amount=Decimal(cost) if cost is not None else None,
            currency=settings.COUNTRY_PACK.currency if cost is not None else "",
            payment_instructions=cd.get("payment_instructions", ""),
            legal_basis=cd.get("legal_basis", ""),
            max_days=cd["max_days"] if cd.get("max_days") is not None else 0,
            digitisation_level=cd["digitisation_level"],
            runs_on_platform=bool(cd.get("runs_on_platform")),
            min_assurance=cd.get("min_assurance", "") or "",
            external_start_url=cd.get("external_start_url", ""),
            external_tracking_url=cd.get("external_tracking_url", ""),
        )

    def add_domain_error(self, exc: DomainError) -> None:
        """Place every item of a service error next to its input (call after ``to_data``)."""
        for item in exc.items():
            self._place(item)

    def _place(self, item: ErrorItem) -> None:
        field = item.field or ""
        match = _INDEXED.match(field)
        if match is None:
            self.form.add_error_safely(_TOP_LEVEL.get(field, field) or None, item.message)
            return
        key, index, sub = match.group(1), int(match.group(2)), match.group(3)
        if key == "channels":
            if index >= len(self._channel_kinds):
                self.form.add_error_safely(None, item.message)
                return
            kind = self._channel_kinds[index]
            name = f"{kind}_enabled" if sub in (None, "channel") else f"{kind}_{sub}"
            self.form.add_error_safely(name, item.message)
            return
        positions = self._rows[key]
        if index >= len(positions):
            self.form.add_error_safely(None, item.message)
            return
        form = self.formsets[key].forms[positions[index]]
        if sub is None:
            # A whole-row message (e.g. FAQ without answer): put it on the first empty input of the row.
            cleaned = getattr(form, "cleaned_data", {}) or {}
            sub = next((name for name in form.CONTENT if not cleaned.get(name)), form.CONTENT[0])
        form.add_error_safely(sub, item.message)

    # ---------------------------------------------------------------------------------------- rendering

    def error_summary(self) -> list[SummaryItem]:
        """Every error on the page, in reading order, each linked to its input."""
        items: list[SummaryItem] = []
        for message in self.form.non_field_errors():
            items.append(SummaryItem("#procedure-form", _("Trámite"), message))
        for bound in self.form:
            for message in bound.errors:
                items.append(SummaryItem(f"#{bound.auto_id}", str(bound.label), message))
        for key, formset in self.formsets.items():
            for message in formset.non_form_errors():
                items.append(SummaryItem(f"#fieldset-{key}", str(self.formset_titles[key]), message))
            for number, form in enumerate(formset.forms, start=1):
                title = f"{self.formset_titles[key]} {number}"
                for message in form.non_field_errors():
                    items.append(SummaryItem(f"#fieldset-{key}-{number}", title, message))
                for bound in form:
                    for message in bound.errors:
                        items.append(SummaryItem(f"#{bound.auto_id}", f"{title} — {bound.label}", message))
        return items


# --------------------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------------------


class ImportForm(UswdsForm):
    file = forms.FileField(
        label=gettext_lazy("Archivo (.csv o .json)"),
        help_text=gettext_lazy(
            "CSV en UTF-8 separado por comas o punto y coma, o JSON con una lista de trámites."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.json,text/csv,application/json"}),
    )


# --------------------------------------------------------------------------------------------------------
# Simplification register
# --------------------------------------------------------------------------------------------------------


def _count(label: str) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=0, max_value=32767, initial=0)


def _money(label: str) -> forms.DecimalField:
    return forms.DecimalField(label=label, min_value=0, max_digits=12, decimal_places=2, initial=0)


class SimplificationForm(UswdsForm):
    procedure = forms.ChoiceField(label=gettext_lazy("Trámite simplificado"))
    date = forms.DateField(
        label=gettext_lazy("Fecha de la simplificación"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("Formato AAAA-MM-DD."),
    )
    legal_act = forms.CharField(
        label=gettext_lazy("Acto normativo"),
        max_length=255,
        help_text=gettext_lazy("Por ejemplo: Resolución Administrativa 123/2025."),
    )
    description = forms.CharField(label=gettext_lazy("Qué cambió"), widget=_textarea(4))
    requirements_before = _count(gettext_lazy("Requisitos antes"))
    requirements_after = _count(gettext_lazy("Requisitos después"))
    steps_before = _count(gettext_lazy("Pasos antes"))
    steps_after = _count(gettext_lazy("Pasos después"))
    days_before = _count(gettext_lazy("Días hábiles antes"))
    days_after = _count(gettext_lazy("Días hábiles después"))
    cost_before = _money(gettext_lazy("Costo antes"))
    cost_after = _money(gettext_lazy("Costo después"))
    channels_before = forms.MultipleChoiceField(
        label=gettext_lazy("Canales antes"),
        choices=Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    channels_after = forms.MultipleChoiceField(
        label=gettext_lazy("Canales después"),
        choices=Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    annual_volume = forms.IntegerField(
        label=gettext_lazy("Trámites por año (estimado)"), min_value=0, max_value=2_000_000_000, initial=0
    )

    BEFORE_AFTER = ("requirements", "steps", "days", "cost", "channels")
    # Service field names → this form's field names.
    FIELD_MAP = {"before.channels": "channels_before", "after.channels": "channels_after"}

    def __init__(self, *args: Any, procedures: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["procedure"].choices = [("", _("— Elija un trámite —")), *procedures]
        self.fields["date"].initial = date.today()

    def pairs(self) -> list[tuple[BoundField, BoundField]]:
        return [(self[f"{k}_before"], self[f"{k}_after"]) for k in self.BEFORE_AFTER if k != "channels"]

    def as_raw(self) -> dict[str, Any]:
        """The layout ``simplification_data_from_dict`` reads (same as the JSON import of the register)."""
        cd = self.cleaned_data

        def side(suffix: str) -> dict[str, Any]:
            return {
                "requirements": cd[f"requirements_{suffix}"],
                "steps": cd[f"steps_{suffix}"],
                "days": cd[f"days_{suffix}"],
                "cost": cd[f"cost_{suffix}"],
                "channels": list(cd[f"channels_{suffix}"]),
            }

        return {
            "procedure": cd["procedure"],
            "date": cd["date"].isoformat(),
            "legal_act": cd["legal_act"],
            "description": cd["description"],
            "before": side("before"),
            "after": side("after"),
            "annual_volume": cd["annual_volume"],
        }

    def add_domain_error(self, exc: DomainError) -> None:
        for item in exc.items():
            self.add_error_safely(self.FIELD_MAP.get(item.field or "", item.field), item.message)

    def error_summary(self) -> list[SummaryItem]:
        items = [SummaryItem("#simplification-form", _("Formulario"), m) for m in self.non_field_errors()]
        for bound in self:
            items.extend(SummaryItem(f"#{bound.auto_id}", str(bound.label), m) for m in bound.errors)
        return items
