"""How answers read to people (review page, receipt, case view): labels instead of codes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from .definitions import field_visible


def answer_value(field: dict[str, Any], value: Any) -> str:
    if value in (None, "", []):
        return ""
    kind = field.get("type")
    if kind in ("choice", "multichoice"):
        labels = {str(c["value"]): str(c.get("label", c["value"])) for c in field.get("choices", [])}
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(v), str(v)) for v in values)
    if kind == "yesno":
        return _("Sí") if value == "si" else _("No")
    if kind == "document" and isinstance(value, dict):
        return f"{value.get('type', '')} {value.get('number', '')}".strip()
    if kind == "address" and isinstance(value, dict):
        pack = settings.COUNTRY_PACK
        department = pack.department(value.get("department"))
        return ", ".join(
            p
            for p in (
                value.get("street", ""),
                value.get("municipality", ""),
                department.name if department else "",
            )
            if p
        )
    if kind == "date":
        parts = str(value).split("-")
        return "/".join(reversed(parts)) if len(parts) == 3 else str(value)
    return str(value)


def answer_rows(spec: dict[str, Any], data: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, shown value) of every visible, non-file answer, in form order."""
    rows = []
    for field in spec.get("fields", []):
        if field.get("type") == "file" or not field_visible(field, data):
            continue
        rows.append((str(field.get("label", field["name"])), answer_value(field, data.get(field["name"]))))
    return rows
