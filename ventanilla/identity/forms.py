"""Forms of Ciudadanía Digital pages. They check shape and give field-level Spanish messages; the rules that
protect data live in ``accounts.py`` (which checks again)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ventanilla.core.errors import DomainError

from . import account_selectors as selectors


class UswdsMixin:
    """USWDS classes on widgets and, after validation, ``aria-invalid``/``aria-describedby`` on fields
    with errors so screen readers announce them."""

    def _style_widgets(self) -> None:
        for field in self.fields.values():  # type: ignore[attr-defined]
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "usa-checkbox__input"
            elif isinstance(widget, forms.Select):
                css = "usa-select"
            else:
                css = "usa-input"
            widget.attrs["class"] = f"{css} {widget.attrs.get('class', '')}".strip()

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        for name in self.errors:  # type: ignore[attr-defined]
            if name in self.fields:  # type: ignore[attr-defined]
                bound = self[name]  # type: ignore[index]
                attrs = self.fields[name].widget.attrs  # type: ignore[attr-defined]
                attrs["aria-invalid"] = "true"
                described = [f"{bound.auto_id}_error"]
                if self.fields[name].help_text:  # type: ignore[attr-defined]
                    described.insert(0, f"{bound.auto_id}_helptext")
                attrs["aria-describedby"] = " ".join(described)

    def add_domain_error(self, exc: DomainError) -> None:
        field = exc.field if exc.field in self.fields else None  # type: ignore[attr-defined]
        self.add_error(field, exc.message)  # type: ignore[attr-defined]

    def error_summary(self) -> list[dict[str, str]]:
        """Errors for the summary box at the top of the page, each linked to its field."""
        items = []
        for name, errors in self.errors.items():  # type: ignore[attr-defined]
            if name in self.fields:  # type: ignore[attr-defined]
                bound = self[name]  # type: ignore[index]
                href = f"#{bound.id_for_label or bound.auto_id}"
                label = str(bound.label)
            else:
                href, label = "#contenido", str(_("Formulario"))
            for message in errors:
                items.append({"href": href, "label": label, "message": str(message)})
        return items


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def _country_has_complement() -> bool:
    return any(doc.has_complement for doc in settings.COUNTRY_PACK.document_types)


class DocumentFields(forms.Form):
    document_type = forms.ChoiceField(label=_("Tipo de documento"))
    document_number = forms.CharField(
        label=_("Número de documento"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text", "spellcheck": "false"}),
    )
    document_complement = forms.CharField(
        label=_("Complemento"),
        max_length=4,
        required=False,
        help_text=_("Solo si su cédula lo tiene (por ejemplo, 1A). Déjelo vacío si no tiene."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(
            forms.ChoiceField, self.fields["document_type"]
        ).choices = settings.COUNTRY_PACK.document_type_choices()
        if not _country_has_complement():
            del self.fields["document_complement"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "document_type" in cleaned and "document_number" in cleaned:
            document, errors = selectors.document_parse(
                cleaned["document_type"], cleaned["document_number"], cleaned.get("document_complement", "")
            )
            if document is None:
                for message in errors:
                    about_complement = message.startswith(
                        ("El complemento", "Este documento no lleva complemento")
                    )
                    field = "document_complement" if about_complement else "document_number"
                    self.add_error(field if field in self.fields else "document_number", message)
            else:
                cleaned["document"] = document
        return cleaned


class RegistrationForm(UswdsMixin, DocumentFields):
    document_department = forms.ChoiceField(label=_("Expedido en"), required=False)
    first_names = forms.CharField(
        label=_("Nombres"), max_length=120, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    first_surname = forms.CharField(
        label=_("Primer apellido"),
        max_length=80,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    second_surname = forms.CharField(label=_("Segundo apellido"), max_length=80, required=False)
    birth_date = forms.DateField(
        label=_("Fecha de nacimiento"), widget=DateInput(attrs={"autocomplete": "bday"})
    )
    email = forms.EmailField(
        label=_("Correo electrónico"),
        max_length=254,
        help_text=_("Le enviaremos un código para confirmarlo."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    mobile = forms.CharField(
        label=_("Celular"),
        max_length=20,
        help_text=_("Un celular de este país: le enviaremos un código por SMS."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    password1 = forms.CharField(
        label=_("Contraseña"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Al menos 10 caracteres. No use su nombre, su documento ni contraseñas comunes; una frase de "
            "varias palabras es fácil de recordar y difícil de adivinar."
        ),
    )
    password2 = forms.CharField(
        label=_("Repita la contraseña"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    accept_terms = forms.BooleanField(
        label=_(
            "Acepto las condiciones de uso de Ciudadanía Digital y que mis datos se usen para identificarme "
            "ante las instituciones que yo autorice."
        ),
        error_messages={"required": _("Debe aceptar las condiciones para crear su cuenta.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if _country_has_complement():
            cast(forms.ChoiceField, self.fields["document_department"]).choices = [
                ("", _("(opcional)")),
                *settings.COUNTRY_PACK.department_choices(),
            ]
        else:
            del self.fields["document_department"]
        self._style_widgets()

    def clean_mobile(self) -> str:
        number, errors = selectors.mobile_parse(self.cleaned_data["mobile"])
        if number is None:
            raise ValidationError(errors)
        return str(self.cleaned_data["mobile"])

    def clean_birth_date(self) -> dt.date:
        value: dt.date = self.cleaned_data["birth_date"]
        if value >= timezone.localdate() or value.year < 1900:
            raise ValidationError(_("Revise la fecha de nacimiento."))
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if (
            not cleaned.get("first_surname")
            and not cleaned.get("second_surname")
            and "first_surname" not in self.errors
        ):
            self.add_error("first_surname", _("Escriba al menos un apellido."))
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("Las contraseñas no coinciden."))
        elif password1:
            document = cleaned.get("document")
            user = get_user_model()(
                username=selectors.username_for_document(document) if document else "",
                first_name=cleaned.get("first_names", ""),
                last_name=" ".join(
                    p for p in (cleaned.get("first_surname", ""), cleaned.get("second_surname", "")) if p
                ),
                email=cleaned.get("email", ""),
            )
            try:
                password_validation.validate_password(password1, user=user)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned

    def add_domain_error(self, exc: DomainError) -> None:
        if exc.field == "password":
            self.add_error("password1", exc.message)
        else:
            super().add_domain_error(exc)


class LoginForm(UswdsMixin, forms.Form):
    identifier = forms.CharField(
        label=_("Número de documento o usuario"),
        max_length=150,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    password = forms.CharField(
        label=_("Contraseña"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


class CodeForm(UswdsMixin, forms.Form):
    code = forms.CharField(
        label=_("Código"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args: Any, label: Any = None, help_text: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if label:
            self.fields["code"].label = label
        if help_text:
            self.fields["code"].help_text = help_text
        self._style_widgets()


class PasswordConfirmForm(UswdsMixin, forms.Form):
    password = forms.CharField(
        label=_("Contraseña actual"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


class PasswordChangeForm(UswdsMixin, forms.Form):
    old_password = forms.CharField(
        label=_("Contraseña actual"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password1 = forms.CharField(
        label=_("Contraseña nueva"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Al menos 10 caracteres, distinta de su nombre, su documento y de contraseñas comunes."),
    )
    new_password2 = forms.CharField(
        label=_("Repita la contraseña nueva"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        self._style_widgets()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        new1, new2 = cleaned.get("new_password1"), cleaned.get("new_password2")
        if new1 and new2 and new1 != new2:
            self.add_error("new_password2", _("Las contraseñas no coinciden."))
        elif new1:
            try:
                password_validation.validate_password(new1, user=self.user)
            except ValidationError as exc:
                self.add_error("new_password1", exc)
        return cleaned


class SpanishPasswordResetForm(UswdsMixin, PasswordResetForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].label = _("Correo electrónico de su cuenta")
        self._style_widgets()


class AuditedSetPasswordForm(UswdsMixin, SetPasswordForm):
    """The reset link's form: saving goes through ``accounts.password_reset_complete`` (audited, ends every
    session, clears the lockout)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = _("Contraseña nueva")
        self.fields["new_password2"].label = _("Repita la contraseña nueva")
        self.fields["new_password1"].help_text = _(
            "Al menos 10 caracteres, distinta de su nombre, su documento y de contraseñas comunes."
        )
        self._style_widgets()

    def save(self, commit: bool = True) -> Any:
        from .accounts import password_reset_complete

        password_reset_complete(user=self.user, new_password=self.cleaned_data["new_password1"])
        return self.user


class RegistrarSearchForm(UswdsMixin, DocumentFields):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


class ProofingFields(forms.Form):
    first_names = forms.CharField(label=_("Nombres"), max_length=120)
    first_surname = forms.CharField(label=_("Primer apellido"), max_length=80, required=False)
    second_surname = forms.CharField(label=_("Segundo apellido"), max_length=80, required=False)
    birth_date = forms.DateField(label=_("Fecha de nacimiento"), widget=DateInput())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            not cleaned.get("first_surname")
            and not cleaned.get("second_surname")
            and "first_surname" not in self.errors
        ):
            self.add_error("first_surname", _("Escriba al menos un apellido."))
        return cleaned


class RegistrarVerifyForm(UswdsMixin, ProofingFields):
    person = forms.UUIDField(widget=forms.HiddenInput)
    office: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Oficina de registro"),
        queryset=None,
        empty_label=_("Elija la oficina"),
        error_messages={"invalid_choice": _("Elija una oficina de su institución.")},
    )
    document_checked = forms.BooleanField(
        label=_("Revisé el documento original en presencia de la persona y coincide con ella."),
        error_messages={"required": _("Confirme que revisó el documento original.")},
    )
    code = forms.CharField(
        label=_("Código para verificación presencial"),
        max_length=20,
        help_text=_(
            "Pídale a la persona que abra Mi cuenta, genere su código para verificación presencial y se lo "
            "lea (8 letras y números, vale 15 minutos). Así se verifica la cuenta de quien está presente."
        ),
        error_messages={
            "required": _("Escriba el código de verificación presencial que la persona ve en Mi cuenta.")
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    field_order = [
        "office",
        "first_names",
        "first_surname",
        "second_surname",
        "birth_date",
        "document_checked",
        "code",
    ]

    def __init__(self, *args: Any, offices: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        office_field = cast(forms.ModelChoiceField, self.fields["office"])
        office_field.queryset = offices
        office_field.label_from_instance = lambda office: (  # type: ignore[method-assign,assignment]
            f"{office.name} ({office.institution.display_acronym})"
        )
        self._style_widgets()


class CivilRegistryForm(UswdsMixin, ProofingFields):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["first_names"].help_text = _("Escríbalos como figuran en su certificado de nacimiento.")
        self._style_widgets()
