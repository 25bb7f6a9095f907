"""Forms of the documents pages: shape and Spanish field messages; the rules live in services."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ventanilla.core.errors import DomainError


class UswdsForm(forms.Form):
    """USWDS classes on widgets, ``aria-invalid``/``aria-describedby`` on fields with errors, and the
    list of errors for the summary box (each linked to its field)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.RadioSelect):
                css = "usa-radio__input"
            elif isinstance(widget, forms.Select):
                css = "usa-select"
            elif isinstance(widget, forms.ClearableFileInput | forms.FileInput):
                css = "usa-file-input"
            elif isinstance(widget, forms.Textarea):
                css = "usa-textarea"
            else:
                css = "usa-input"
            widget.attrs["class"] = f"{css} {widget.attrs.get('class', '')}".strip()

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                bound = self[name]
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                described = [f"{bound.auto_id}_error"]
                if self.fields[name].help_text:
                    described.insert(0, f"{bound.auto_id}_helptext")
                attrs["aria-describedby"] = " ".join(described)

    def add_domain_error(self, exc: DomainError) -> None:
        field = exc.field if exc.field in self.fields else None
        self.add_error(field, exc.message)

    def error_summary(self) -> list[dict[str, str]]:
        items = []
        for name, errors in self.errors.items():
            if name in self.fields:
                bound = self[name]
                href, label = f"#{bound.id_for_label or bound.auto_id}", str(bound.label)
            else:
                href, label = "#contenido", str(_("Formulario"))
            for message in errors:
                items.append({"href": href, "label": label, "message": str(message)})
        return items


def _pdf_upload(upload: Any, *, required_pdf: bool = True) -> bytes:
    limit = settings.DOCUMENTS_UPLOAD_MAX_BYTES
    if upload.size > limit:
        raise forms.ValidationError(
            _("El archivo pesa más de %(mb)s MB.") % {"mb": limit // (1024 * 1024)}, code="too_large"
        )
    data: bytes = upload.read()
    if required_pdf and not data.startswith(b"%PDF-"):
        raise forms.ValidationError(_("El archivo no es un PDF."), code="not_pdf")
    return data


class VerifyCodeForm(UswdsForm):
    codigo = forms.CharField(
        label=_("Código de verificación"),
        max_length=40,
        help_text=_("Está al pie del documento, junto al código QR. Por ejemplo: K7QF-3MZC-R."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "class": "vt-w-20"}),
    )


class VerifyCopyForm(UswdsForm):
    archivo = forms.FileField(
        label=_("Copia del documento (PDF)"),
        help_text=_("Compararemos su copia con el original emitido por la institución."),
        widget=forms.FileInput(attrs={"accept": "application/pdf"}),
    )

    def clean_archivo(self) -> bytes:
        return _pdf_upload(self.cleaned_data["archivo"])


class DecisionForm(UswdsForm):
    decision = forms.ChoiceField(
        label=_("Su respuesta"),
        choices=[("aprobar", _("Apruebo el documento")), ("rechazar", _("No apruebo el documento"))],
        widget=forms.RadioSelect,
    )
    password = forms.CharField(
        label=_("Contraseña"),
        help_text=_("Para confirmar que es usted, escriba nuevamente su contraseña."),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        strip=False,
    )
    comment = forms.CharField(
        label=_("Comentario (opcional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, with_code: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if with_code:
            self.fields["code"] = forms.CharField(
                label=_("Código de verificación en dos pasos"),
                help_text=_("Los 6 dígitos de su aplicación de autenticación, o un código de recuperación."),
                max_length=20,
                widget=forms.TextInput(
                    attrs={
                        "autocomplete": "one-time-code",
                        "inputmode": "numeric",
                        "class": "usa-input vt-w-10",
                    }
                ),
            )


class ApprovalCreateForm(UswdsForm):
    institution = forms.TypedChoiceField(label=_("Institución que solicita"), coerce=int)
    document_type = forms.ChoiceField(label=_("Tipo de documento de identidad de la persona"))
    document_number = forms.CharField(label=_("Número de documento"), max_length=20)
    document_complement = forms.CharField(label=_("Complemento"), max_length=4, required=False)
    title = forms.CharField(label=_("Título del documento a aprobar"), max_length=255)
    description = forms.CharField(
        label=_("Descripción para la persona"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Explique qué aprueba y por qué se lo pide."),
    )
    reference = forms.CharField(label=_("Referencia del trámite (opcional)"), max_length=100, required=False)
    file = forms.FileField(
        label=_("Documento (PDF)"), widget=forms.FileInput(attrs={"accept": "application/pdf"})
    )

    def __init__(self, *args: Any, institutions: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["institution"]).choices = institutions
        cast(forms.ChoiceField, self.fields["document_type"]).choices = [
            (doc.code, doc.name) for doc in settings.COUNTRY_PACK.document_types
        ]
        if not any(doc.has_complement for doc in settings.COUNTRY_PACK.document_types):
            del self.fields["document_complement"]

    def clean_file(self) -> bytes:
        return _pdf_upload(self.cleaned_data["file"])


class RevokeForm(UswdsForm):
    reason = forms.CharField(
        label=_("Motivo de la revocación"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
