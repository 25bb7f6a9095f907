"""Validating a citizen's answers and uploads against a procedure definition. Pure functions: no database,
so the same rules run for the web form, the counter and the API."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import EmailValidator
from django.utils.translation import gettext as _

from .definitions import FILE_TYPES, field_visible


@dataclass
class Checked:
    data: dict[str, Any]
    errors: dict[str, str]


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, dict)):
        return not any(
            v not in (None, "", []) for v in (value.values() if isinstance(value, dict) else value)
        )
    return False


def _text(field: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    text = str(value).strip()
    if field.get("min_length") and len(text) < int(field["min_length"]):
        return None, _("Escriba al menos %(n)s caracteres.") % {"n": field["min_length"]}
    limit = int(field.get("max_length") or (4000 if field.get("type") == "textarea" else 300))
    if len(text) > limit:
        return None, _("Escriba como máximo %(n)s caracteres.") % {"n": limit}
    if field.get("pattern") and not re.fullmatch(str(field["pattern"]), text):
        return None, str(field.get("pattern_message") or _("El formato no es válido."))
    return text, None


def _number(field: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    try:
        number = Decimal(str(value).strip().replace(",", "."))
        if not number.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        return None, _("Escriba un número.")
    if field.get("min") not in (None, "") and number < Decimal(str(field["min"])):
        return None, _("El valor mínimo es %(n)s.") % {"n": field["min"]}
    if field.get("max") not in (None, "") and number > Decimal(str(field["max"])):
        return None, _("El valor máximo es %(n)s.") % {"n": field["max"]}
    return str(number.normalize()) if number == number.to_integral() else str(number), None


def _date(field: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    try:
        day = dt.date.fromisoformat(str(value).strip())
    except ValueError:
        return None, _("Escriba una fecha válida (AAAA-MM-DD).")
    if field.get("min") and day < dt.date.fromisoformat(str(field["min"])):
        return None, _("La fecha no puede ser anterior a %(d)s.") % {"d": field["min"]}
    if field.get("max") and day > dt.date.fromisoformat(str(field["max"])):
        return None, _("La fecha no puede ser posterior a %(d)s.") % {"d": field["max"]}
    return day.isoformat(), None


def _choice(field: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    allowed = {str(c["value"]) for c in field.get("choices", [])}
    if field["type"] == "multichoice":
        values = value if isinstance(value, list) else [value]
        values = [str(v) for v in values if str(v).strip()]
        if any(v not in allowed for v in values):
            return None, _("Elija opciones de la lista.")
        return values, None
    if str(value) not in allowed:
        return None, _("Elija una opción de la lista.")
    return str(value), None


def _yesno(field: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    normalized = str(value).strip().lower()
    if normalized in ("si", "sí", "true", "1", "yes"):
        return "si", None
    if normalized in ("no", "false", "0"):
        return "no", None
    return None, _("Responda sí o no.")


def _document(field: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    pack = settings.COUNTRY_PACK
    if not isinstance(value, dict):
        value = {"type": pack.document_types[0].code, "number": str(value)}
    doc_type = pack.document_type(value.get("type"))
    if doc_type is None:
        return None, _("Elija un tipo de documento de la lista.")
    errors = doc_type.validate(str(value.get("number", "")), str(value.get("complement", "")))
    if errors:
        return None, errors[0]
    return {"type": doc_type.code, "number": doc_type.normalize(str(value.get("number", "")))}, None


def _address(field: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    pack = settings.COUNTRY_PACK
    if not isinstance(value, dict):
        return None, _("Indique departamento, municipio y dirección.")
    department = pack.department(str(value.get("department", "")))
    if department is None:
        return None, _("Elija un departamento de la lista.")
    municipality = str(value.get("municipality", "")).strip()
    if municipality not in department.municipalities:
        return None, _("Elija un municipio de %(dep)s.") % {"dep": department.name}
    street = str(value.get("street", "")).strip()
    if len(street) < 3:
        return None, _("Escriba la dirección (calle, número, zona).")
    if len(street) > 300:
        return None, _("La dirección es demasiado larga.")
    return {"department": department.code, "municipality": municipality, "street": street}, None


def _email(field: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    text = str(value).strip().lower()
    try:
        EmailValidator()(text)
    except ValidationError:
        return None, _("Escriba un correo electrónico válido.")
    return text, None


def _phone(field: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    digits = re.sub(r"[\s\-()]", "", str(value))
    if not re.fullmatch(r"\+?\d{6,15}", digits):
        return None, _("Escriba un número de teléfono válido.")
    return digits, None


CHECKERS = {
    "text": _text,
    "textarea": _text,
    "number": _number,
    "date": _date,
    "choice": _choice,
    "multichoice": _choice,
    "yesno": _yesno,
    "document": _document,
    "address": _address,
    "email": _email,
    "phone": _phone,
}


def check_answers(
    spec: dict[str, Any], raw: dict[str, Any], *, have_files: set[str], require_complete: bool
) -> Checked:
    """Clean ``raw`` answers. Hidden fields (``show_if`` false) are dropped. With ``require_complete`` every
    visible required field and document must be present (``have_files`` names the uploads already kept)."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in spec.get("fields", []):
        name, kind = field["name"], field["type"]
        if not field_visible(field, data):
            continue
        if kind == "file":
            if require_complete and field.get("required") and name not in have_files:
                errors[name] = _("Adjunte este archivo.")
            continue
        value = raw.get(name)
        if _blank(value):
            if require_complete and field.get("required"):
                errors[name] = _("Este dato es obligatorio.")
            continue
        cleaned, error = CHECKERS[kind](field, value)
        if error:
            errors[name] = error
        else:
            data[name] = cleaned
    if require_complete:
        for doc in spec.get("documents", []):
            if doc.get("required", True) and doc["name"] not in have_files:
                errors[doc["name"]] = _("Adjunte este documento.")
    return Checked(data, errors)


def upload_items(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every name that takes a file: file fields and required documents."""
    items = {f["name"]: f for f in spec.get("fields", []) if f.get("type") == "file"}
    items.update({d["name"]: d for d in spec.get("documents", [])})
    return items


def check_upload(item: dict[str, Any], upload: UploadedFile) -> tuple[str | None, str | None]:
    """``(content_type, None)`` for an acceptable file, ``(None, message)`` otherwise. The type is read from
    the file's first bytes and its extension; the client's content type is never trusted."""
    accept = item.get("accept") or ["pdf"]
    limit_mb = int(item.get("max_size_mb") or 5)
    limit = min(limit_mb * 1024 * 1024, settings.CASES_UPLOAD_MAX_BYTES)
    size = upload.size or 0
    if size == 0:
        return None, _("El archivo está vacío.")
    if size > limit:
        return None, _("El archivo supera el tamaño máximo de %(mb)s MB.") % {"mb": limit // (1024 * 1024)}
    name = (upload.name or "").lower()
    extension = name.rsplit(".", 1)[-1] if "." in name else ""
    if extension == "jpeg":
        extension = "jpg"
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for kind in accept:
        content_type, magic = FILE_TYPES[kind]
        if extension == kind and head.startswith(magic):
            return content_type, None
    allowed = ", ".join(k.upper() for k in accept)
    return None, _("Tipo de archivo no admitido: se aceptan %(types)s.") % {"types": allowed}
