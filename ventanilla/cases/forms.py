"""The dynamic application form: turn a definition into inputs to render, and a POST back into raw answers
and uploads for ``answers.check_answers`` (which holds the rules). Shared by the citizen's pages, the
counter (assisted filing) and corrections."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .answers import upload_items
from .display import answer_value

PREFIX = "f-"


@dataclass
class FieldView:
    name: str
    input_name: str
    label: str
    type: str
    required: bool
    help: str = ""
    value: Any = ""
    values: list[str] = field(default_factory=list)
    choices: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""
    show_if_field: str = ""
    show_if_values: str = ""
    show_if_text: str = ""
    prefilled: str = ""
    accept: str = ""
    max_size_mb: int = 0
    current_file: str = ""
    departments: list[tuple[str, str]] = field(default_factory=list)
    municipalities: list[str] = field(default_factory=list)
    document_types: list[tuple[str, str]] = field(default_factory=list)
    min: Any = None
    max: Any = None
    max_length: Any = None

    @property
    def input_id(self) -> str:
        return f"id_{self.input_name}"


def _show_if(spec_field: dict[str, Any], by_name: dict[str, dict[str, Any]]) -> tuple[str, str, str]:
    cond = spec_field.get("show_if")
    if not cond:
        return "", "", ""
    target = by_name.get(cond.get("field"), {})
    values = [cond["equals"]] if "equals" in cond else list(cond.get("in", []))
    shown = (
        ", ".join(answer_value(target, v) or str(v) for v in values)
        if target
        else ", ".join(map(str, values))
    )
    text = _("Responda solo si en «%(label)s» eligió: %(values)s.") % {
        "label": target.get("label", cond.get("field")),
        "values": shown,
    }
    return str(cond.get("field")), json.dumps([str(v) for v in values]), text


def field_views(
    spec: dict[str, Any],
    data: dict[str, Any],
    errors: dict[str, str] | None = None,
    *,
    prefilled: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
    raw: dict[str, Any] | None = None,
) -> list[FieldView]:
    """What to render for each field and required document. ``raw`` (the rejected input) wins over
    ``data`` so a refused form shows what the person typed."""
    errors = errors or {}
    prefilled = prefilled or {}
    files = files or {}
    pack = settings.COUNTRY_PACK
    by_name = {f["name"]: f for f in spec.get("fields", [])}
    views: list[FieldView] = []
    source = {**data, **(raw or {})}
    for item in spec.get("fields", []):
        name, kind = item["name"], item["type"]
        value = source.get(name)
        show_field, show_values, show_text = _show_if(item, by_name)
        view = FieldView(
            name=name,
            input_name=PREFIX + name,
            label=str(item.get("label", name)),
            type=kind,
            required=bool(item.get("required")),
            help=str(item.get("help", "")),
            error=errors.get(name, ""),
            show_if_field=PREFIX + show_field if show_field else "",
            show_if_values=show_values,
            show_if_text=show_text,
            prefilled=prefilled.get(name, ""),
            min=item.get("min"),
            max=item.get("max"),
            max_length=item.get("max_length"),
        )
        if kind in ("choice", "multichoice"):
            view.choices = [
                (str(c["value"]), str(c.get("label", c["value"]))) for c in item.get("choices", [])
            ]
            view.values = (
                [str(v) for v in value] if isinstance(value, list) else ([str(value)] if value else [])
            )
        elif kind == "yesno":
            view.choices = [("si", _("Sí")), ("no", _("No"))]
            view.values = [str(value)] if value else []
        elif kind == "address":
            value = value if isinstance(value, dict) else {}
            view.value = value
            view.departments = pack.department_choices()
            department = pack.department(value.get("department"))
            view.municipalities = list(department.municipalities) if department else []
        elif kind == "document":
            value = value if isinstance(value, dict) else {"type": "", "number": value or ""}
            view.value = value
            view.document_types = pack.document_type_choices()
        elif kind == "file":
            view.accept = ",".join("." + a for a in item.get("accept") or ["pdf"])
            view.max_size_mb = int(item.get("max_size_mb") or 5)
            view.current_file = files.get(name, "")
        else:
            view.value = "" if value is None else value
        views.append(view)
    for doc in spec.get("documents", []):
        views.append(
            FieldView(
                name=doc["name"],
                input_name=PREFIX + doc["name"],
                label=str(doc.get("label", doc["name"])),
                type="file",
                required=bool(doc.get("required", True)),
                help=str(doc.get("help", "")),
                error=errors.get(doc["name"], ""),
                accept=",".join("." + a for a in doc.get("accept") or ["pdf"]),
                max_size_mb=int(doc.get("max_size_mb") or 5),
                current_file=files.get(doc["name"], ""),
                prefilled="registro" if doc["name"] in prefilled else "",
            )
        )
    return views


def raw_from_post(
    spec: dict[str, Any], post: QueryDict, files: MultiValueDict[str, UploadedFile] | None = None
) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Read the answers and uploads the form sent (only names the definition knows)."""
    raw: dict[str, Any] = {}
    for item in spec.get("fields", []):
        name, kind = item["name"], item["type"]
        key = PREFIX + name
        if kind == "file":
            continue
        if kind == "multichoice":
            if key in post or f"{key}-present" in post:
                raw[name] = post.getlist(key)
        elif kind == "address":
            parts = {p: post.get(f"{key}-{p}", "") for p in ("department", "municipality", "street")}
            if any(parts.values()):
                raw[name] = parts
            elif f"{key}-street" in post:
                raw[name] = None
        elif kind == "document":
            parts = {p: post.get(f"{key}-{p}", "") for p in ("type", "number")}
            if parts["number"]:
                raw[name] = parts
            elif f"{key}-number" in post:
                raw[name] = None
        elif key in post:
            raw[name] = post.get(key, "")
    uploads: dict[str, UploadedFile] = {}
    if files:
        for name in upload_items(spec):
            upload = files.get(PREFIX + name)
            if upload is not None:
                uploads[name] = upload
    return raw, uploads


def error_list(fields: list[Any], errors: dict[str, str]) -> list[dict[str, str]]:
    """The error summary at the top of a form: one linked line per field."""
    rows = [{"href": f"#{f.input_id}", "label": f.label, "message": f.error} for f in fields if f.error]
    known = {f.name for f in fields}
    rows += [
        {"href": "#", "label": _("Solicitud"), "message": m} for k, m in errors.items() if k not in known
    ]
    return rows


class StatusCheckForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Código de seguimiento"), max_length=20)
    document_number = forms.CharField(
        label=gettext_lazy("Número de documento del solicitante"), max_length=20
    )


class CorrectionNoteForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy("Confirmo que los datos y documentos son correctos y completos."), required=True
    )
