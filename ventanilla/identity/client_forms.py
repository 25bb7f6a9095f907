"""Forms of the applications back office. They only shape input: every rule (https, wildcards, scopes…) is
decided by ``clients.py`` and its messages are placed back on these fields with ``add_domain_error``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy

from ventanilla.core.errors import DomainError

from .clients import AUTHORIZATION_CODE, CLIENT_CREDENTIALS, CONFIDENTIAL, PUBLIC
from .models import AssuranceLevel, ClientRegistration


class _BoundField(forms.BoundField):
    """Adds USWDS's error style to an input that has errors."""

    def build_widget_attrs(self, attrs: dict[str, Any], widget: Any = None) -> dict[str, Any]:
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        base = attrs.get("class", widget.attrs.get("class", ""))
        if self.errors and "usa-checkbox__input" not in base and "usa-radio__input" not in base:
            attrs["class"] = f"{base} usa-input--error".strip()
        if self.errors or self.help_text:
            described = [f"{self.auto_id}_helptext"] if self.help_text else []
            described += [f"{self.auto_id}_error"] if self.errors else []
            attrs.setdefault("aria-describedby", " ".join(described))
        return attrs


def _css_class(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
        return "usa-checkbox__input"
    if isinstance(widget, forms.RadioSelect):
        return "usa-radio__input"
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


class _UswdsForm(forms.Form):
    bound_field_class = _BoundField
    label_suffix = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", _css_class(field.widget))

    def add_domain_error(self, exc: DomainError) -> None:
        """Put each problem the service found next to its input (or at the top if the form lacks it)."""
        for item in exc.items():
            self.add_error(item.field if item.field in self.fields else None, item.message)

    def error_summary(self) -> list[SummaryItem]:
        items = [
            SummaryItem("#client-form", str(gettext_lazy("Aplicación")), str(m))
            for m in self.non_field_errors()
        ]
        for bound in self:
            for message in bound.errors:
                items.append(SummaryItem(f"#{bound.auto_id}", str(bound.label), str(message)))
        return items


class AnyScopeField(forms.MultipleChoiceField):
    """Check boxes of the known scopes that let any submitted value through, so an unknown scope is refused
    by the service with its message (which lists the unknown and the available scopes)."""

    def valid_value(self, value: str) -> bool:
        return True


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").split() if line.strip()]


def scope_choices() -> list[tuple[str, str]]:
    return [(scope, f"{scope} — {label}") for scope, label in settings.OIDC_SCOPES.items()]


URIS_HELP = gettext_lazy(
    "Una dirección por línea, completa y con https:// (http solo para localhost, 127.0.0.1 o [::1]). "
    "Sin comodines (*) ni fragmentos (#)."
)


class ClientEditForm(_UswdsForm):
    """What can change after registration."""

    name = forms.CharField(label=gettext_lazy("Nombre de la aplicación"), max_length=255)
    description = forms.CharField(
        label=gettext_lazy("Descripción"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Para qué la usa la institución; hasta 300 caracteres."),
    )
    redirect_uris = forms.CharField(
        label=gettext_lazy("Direcciones de retorno (redirect URIs)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocapitalize": "off"}),
        help_text=URIS_HELP,
    )
    post_logout_redirect_uris = forms.CharField(
        label=gettext_lazy("Direcciones tras cerrar sesión"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "autocapitalize": "off"}),
        help_text=URIS_HELP,
    )
    allowed_scopes = AnyScopeField(
        label=gettext_lazy("Datos que puede pedir (alcances)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "Pida solo lo que necesita. Las aplicaciones de servidor a servidor no pueden pedir "
            "datos personales."
        ),
    )
    claim_shape = forms.ChoiceField(
        label=gettext_lazy("Formato de los datos de la persona"),
        choices=ClientRegistration.ClaimShape.choices,
        initial=ClientRegistration.ClaimShape.STANDARD,
        widget=forms.RadioSelect,
    )
    min_assurance = forms.ChoiceField(
        label=gettext_lazy("Nivel de seguridad mínimo de la cuenta"),
        choices=AssuranceLevel.choices,
        initial=AssuranceLevel.BASICO,
    )
    logo_url = forms.CharField(
        label=gettext_lazy("Logotipo (dirección https://)"),
        required=False,
        max_length=200,
        widget=forms.URLInput(attrs={"inputmode": "url"}),
    )
    privacy_policy_url = forms.CharField(
        label=gettext_lazy("Política de privacidad (dirección https://)"),
        required=False,
        max_length=200,
        widget=forms.URLInput(attrs={"inputmode": "url"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["allowed_scopes"]).choices = scope_choices()

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data.get("description", ""),
            "redirect_uris": _lines(data.get("redirect_uris", "")),
            "post_logout_redirect_uris": _lines(data.get("post_logout_redirect_uris", "")),
            "allowed_scopes": list(data.get("allowed_scopes") or []),
            "claim_shape": data["claim_shape"],
            "min_assurance": data["min_assurance"],
            "logo_url": data.get("logo_url", ""),
            "privacy_policy_url": data.get("privacy_policy_url", ""),
        }

    @staticmethod
    def initial_for(registration: ClientRegistration) -> dict[str, Any]:
        app = registration.application
        return {
            "name": app.name,
            "description": registration.description,
            "redirect_uris": "\n".join(app.redirect_uris.split()),
            "post_logout_redirect_uris": "\n".join(app.post_logout_redirect_uris.split()),
            "allowed_scopes": registration.allowed_scopes.split(),
            "claim_shape": registration.claim_shape,
            "min_assurance": registration.min_assurance,
            "logo_url": registration.logo_url,
            "privacy_policy_url": registration.privacy_policy_url,
        }


class ClientCreateForm(ClientEditForm):
    """Registration: also the institution, the client type and the flow (fixed afterwards)."""

    field_order = ["institution", "name", "description", "client_type", "grant_type"]

    institution = forms.ChoiceField(label=gettext_lazy("Institución"))
    client_type = forms.ChoiceField(
        label=gettext_lazy("Tipo de aplicación"),
        choices=[
            (CONFIDENTIAL, gettext_lazy("Confidencial: tiene un servidor que guarda un secreto")),
            (
                PUBLIC,
                gettext_lazy("Pública: aplicación web de una sola página o móvil, sin secreto (usa PKCE)"),
            ),
        ],
        initial=CONFIDENTIAL,
        widget=forms.RadioSelect,
    )
    grant_type = forms.ChoiceField(
        label=gettext_lazy("Flujo"),
        choices=[
            (AUTHORIZATION_CODE, gettext_lazy("Código de autorización: las personas inician sesión")),
            (
                CLIENT_CREDENTIALS,
                gettext_lazy("Credenciales de cliente: de servidor a servidor, sin personas"),
            ),
        ],
        initial=AUTHORIZATION_CODE,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, institutions: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["institution"]).choices = institutions
        if len(institutions) == 1:
            self.fields["institution"].initial = institutions[0][0]
        self.initial.setdefault("allowed_scopes", ["openid"])

    def service_kwargs(self) -> dict[str, Any]:
        return {
            **super().service_kwargs(),
            "client_type": self.cleaned_data["client_type"],
            "grant_type": self.cleaned_data["grant_type"],
        }


class ReviewForm(_UswdsForm):
    comment = forms.CharField(
        label=gettext_lazy("Observaciones para la institución"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Obligatorias para rechazar o suspender."),
    )
