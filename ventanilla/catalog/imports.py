"""Bulk import and export of the catalogue (CSV, JSON, and Bolivia's gob.bo record layout).

Import is all-or-nothing: every record is parsed and validated first; if any record has an error, the
report lists each one with its line (CSV) or record number (JSON) and nothing is written. Otherwise all
records are written in one transaction through ``procedure_save`` (the same rules as the back office).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction

from ventanilla.core.errors import DomainError, ErrorItem
from ventanilla.core.permissions import editable_institution_ids

from .models import Procedure
from .services import (
    ProcedureData,
    References,
    procedure_data_from_dict,
    procedure_save,
    validate_procedure_data,
)

CSV_COLUMNS = [
    "slug",
    "nombre",
    "institucion",
    "oficina",
    "resumen",
    "descripcion",
    "categoria",
    "hechos_vitales",
    "dirigido_a",
    "palabras_clave",
    "requisitos",
    "pasos",
    "canales",
    "horarios_canales",
    "notas_canales",
    "preguntas",
    "gratuito",
    "costo",
    "moneda",
    "instrucciones_pago",
    "base_legal",
    "plazo_dias",
    "nivel_digitalizacion",
    "en_plataforma",
    "nivel_ciudadania",
    "url_inicio",
    "url_seguimiento",
    "estado",
]
REQUIRED_CSV_COLUMNS = {"slug", "nombre", "institucion", "resumen", "categoria"}
LIST_SEPARATOR = "|"


@dataclass
class RowError:
    location: str  # "línea 7" / "registro 3"
    message: str
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"location": self.location, "message": self.message, "field": self.field}


@dataclass
class ImportReport:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportFailed(DomainError):
    def __init__(self, report: ImportReport) -> None:
        self.report = report
        super().__init__(
            message=f"El archivo tiene {len(report.errors)} error(es); no se importó ningún trámite.",
            code="import_failed",
            status=400,
            extra=[ErrorItem("row_error", f"{e.location}: {e.message}", e.field) for e in report.errors],
        )


# --------------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------------


def _split(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(LIST_SEPARATOR) if part.strip()]


_ISSUER = re.compile(r"\{([A-Za-z0-9-]+)\}")
_ISSUER_NAME = re.compile(r"«([^»]*)»")


def _per_channel(value: str) -> dict[str, str]:
    """'presencial: Lunes a viernes 08:00 | en_linea: 24 horas' → {kind: text}."""
    result = {}
    for item in _split(value):
        kind, _, text = item.partition(":")
        result[kind.strip()] = text.strip()
    return result


def csv_row_to_dict(row: dict[str, str]) -> dict[str, Any]:
    """One CSV row → the JSON layout. Lists are '|'-separated (docs/catalog.md describes each column)."""
    get = lambda key: (row.get(key) or "").strip()  # noqa: E731
    requirements = []
    for item in _split(get("requisitos")):
        head, _, description = item.partition(" — ")
        head = head.strip()
        held = head.endswith("*")
        head = head.rstrip("*").strip()
        issuer_match = _ISSUER.search(head)
        issuer = issuer_match.group(1).upper() if issuer_match else None
        name_match = _ISSUER_NAME.search(head)
        issuer_name = name_match.group(1).strip() if name_match else ""
        name = _ISSUER_NAME.sub("", _ISSUER.sub("", head)).strip()
        requirements.append(
            {
                "name": name,
                "description": description.strip(),
                "issuer": issuer,
                "issuer_name": issuer_name,
                "held_by_state": held,
            }
        )
    steps = []
    for item in _split(get("pasos")):
        title, _, description = item.partition(" — ")
        steps.append({"title": title.strip(), "description": description.strip()})
    hours = _per_channel(get("horarios_canales"))
    notes = _per_channel(get("notas_canales"))
    channels = []
    for item in _split(get("canales")):
        kind, _, detail = item.partition(":")
        kind, detail = kind.strip(), detail.strip()
        channel: dict[str, Any] = {
            "channel": kind,
            "hours": hours.get(kind, ""),
            "notes": notes.get(kind, ""),
        }
        if kind == "presencial":
            channel["offices"] = [c.strip().upper() for c in detail.split(",") if c.strip()]
        elif kind == "en_linea":
            channel["url"] = detail
        else:
            channel["phone"] = detail
        channels.append(channel)
    faq = []
    for item in _split(get("preguntas")):
        question, _, answer = item.partition(" — ")
        faq.append({"question": question.strip(), "answer": answer.strip()})
    free = get("gratuito").lower() in {"si", "sí", "1", "true", "x"}
    cost = None if free or not get("costo") else {"amount": get("costo"), "currency": get("moneda")}
    return {
        "slug": get("slug"),
        "name": get("nombre"),
        "institution": get("institucion"),
        "office": get("oficina") or None,
        "summary": get("resumen"),
        "description": get("descripcion"),
        "category": get("categoria"),
        "life_events": _split(get("hechos_vitales")),
        "audience": get("dirigido_a") or "persona",
        "keywords": get("palabras_clave"),
        "requirements": requirements,
        "steps": steps,
        "channels": channels,
        "faq": faq,
        "cost": cost,
        "payment_instructions": get("instrucciones_pago"),
        "legal_basis": get("base_legal"),
        "max_days": get("plazo_dias") or 0,
        "digitisation_level": get("nivel_digitalizacion") or 1,
        "runs_on_platform": get("en_plataforma"),
        "min_assurance": get("nivel_ciudadania"),
        "external_start_url": get("url_inicio"),
        "external_tracking_url": get("url_seguimiento"),
        "status": get("estado") or None,
    }


def parse_csv(content: bytes) -> tuple[list[tuple[str, dict[str, Any]]], list[RowError]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [RowError("archivo", "El archivo no está en UTF-8.")]
    # Only the delimiter is guessed; quoting follows RFC 4180 (the Sniffer's other guesses are unreliable).
    dialect: Any = csv.excel
    try:
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    if delimiter != ",":
        dialect = type("Detected", (csv.excel,), {"delimiter": delimiter})
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    columns = set(reader.fieldnames or [])
    missing = REQUIRED_CSV_COLUMNS - columns
    if missing:
        return [], [RowError("línea 1", "Faltan columnas obligatorias: " + ", ".join(sorted(missing)))]
    records: list[tuple[str, dict[str, Any]]] = []
    errors: list[RowError] = []
    try:
        for row in reader:
            if None in row:
                errors.append(
                    RowError(f"línea {reader.line_num}", "La fila tiene más columnas que el encabezado.")
                )
                continue
            if not any((v or "").strip() for v in row.values()):
                continue
            records.append((f"línea {reader.line_num}", csv_row_to_dict(row)))
    except csv.Error as exc:
        errors.append(RowError(f"línea {reader.line_num}", f"CSV mal formado: {exc}"))
    return records, errors


def _gob_bo_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return "\n".join(_gob_bo_text(v) for v in value if _gob_bo_text(v))
    if isinstance(value, dict):
        for key in ("descripcion", "nombre", "titulo", "texto", "detalle"):
            if value.get(key):
                return _gob_bo_text(value[key])
    return str(value).strip()


_GOB_BO_CATEGORIES = {
    "identidad": "identidad-y-documentos",
    "documento": "identidad-y-documentos",
    "familia": "familia-y-registro-civil",
    "registro civil": "familia-y-registro-civil",
    "salud": "salud",
    "educaci": "educacion",
    "trabajo": "trabajo-y-empleo",
    "empleo": "trabajo-y-empleo",
    "empresa": "empresas-y-comercio",
    "comercio": "empresas-y-comercio",
    "impuesto": "impuestos-y-finanzas",
    "tribut": "impuestos-y-finanzas",
    "financ": "impuestos-y-finanzas",
    "vehícul": "vehiculos-y-transporte",
    "vehicul": "vehiculos-y-transporte",
    "transporte": "vehiculos-y-transporte",
    "vivienda": "vivienda-y-construccion",
    "construcci": "vivienda-y-construccion",
    "justicia": "justicia-y-seguridad",
    "seguridad": "justicia-y-seguridad",
    "migraci": "migracion-y-viajes",
    "viaje": "migracion-y-viajes",
    "social": "proteccion-social",
    "jubila": "proteccion-social",
    "agro": "agropecuario-y-medio-ambiente",
    "ambient": "agropecuario-y-medio-ambiente",
    "tierra": "tierras-y-catastro",
    "catastro": "tierras-y-catastro",
    "servicio": "servicios-basicos-y-telecomunicaciones",
    "telecom": "servicios-basicos-y-telecomunicaciones",
}


def _slugify(value: str) -> str:
    from django.utils.text import slugify

    return slugify(value)[:120].strip("-")


def gob_bo_to_dict(raw: dict[str, Any], refs: References) -> dict[str, Any]:
    """Map one record of Bolivia's published gob.bo procedure pages to our layout.

    Accepts the fields titulo, institucion (sigla, name, or an object with sigla/nombre), descripcion,
    requisitos, procedimiento, ubicaciones, costo {montos, formas, cuentas}, duracion, marco_legal,
    horarios_atencion, es_presencial, es_en_linea, categoria; anything unknown is ignored.
    """
    institution_raw = raw.get("institucion")
    institution_code = ""
    if isinstance(institution_raw, dict):
        candidates = [
            institution_raw.get("sigla"),
            institution_raw.get("codigo"),
            institution_raw.get("nombre"),
        ]
    else:
        candidates = [institution_raw]
    by_name = {i.name.lower(): code for code, i in refs.institutions.items()}
    by_acronym = {(i.acronym or code).upper(): code for code, i in refs.institutions.items()}
    for candidate in candidates:
        text = _gob_bo_text(candidate)
        code = (
            by_acronym.get(text.upper())
            or by_name.get(text.lower())
            or (text.upper() if text.upper() in refs.institutions else "")
        )
        if code:
            institution_code = code
            break
    if not institution_code:
        institution_code = _gob_bo_text(candidates[0] if candidates else "")

    title = _gob_bo_text(raw.get("titulo"))
    description = _gob_bo_text(raw.get("descripcion"))
    requirements = []
    for item in raw.get("requisitos") or []:
        if isinstance(item, dict):
            requirements.append(
                {
                    "name": _gob_bo_text(item.get("nombre") or item.get("descripcion") or item),
                    "description": _gob_bo_text(item.get("detalle") or item.get("observacion")),
                }
            )
        elif _gob_bo_text(item):
            requirements.append({"name": _gob_bo_text(item)})
    steps = []
    procedimiento = raw.get("procedimiento") or []
    if isinstance(procedimiento, str):
        procedimiento = [line for line in procedimiento.splitlines() if line.strip()]
    for item in procedimiento:
        if isinstance(item, dict):
            steps.append(
                {
                    "title": _gob_bo_text(item.get("titulo") or item.get("descripcion") or item),
                    "description": _gob_bo_text(item.get("detalle")),
                }
            )
        elif _gob_bo_text(item):
            steps.append({"title": _gob_bo_text(item)[:255]})
    hours = _gob_bo_text(raw.get("horarios_atencion"))
    channels: list[dict[str, Any]] = []
    if raw.get("es_presencial"):
        offices = []
        for location in raw.get("ubicaciones") or []:
            code = _gob_bo_text(location.get("codigo")) if isinstance(location, dict) else ""
            if code.upper() in refs.offices:
                offices.append(code.upper())
        notes = "; ".join(
            _gob_bo_text(loc.get("direccion") if isinstance(loc, dict) else loc)
            for loc in raw.get("ubicaciones") or []
        )[:255]
        channels.append({"channel": "presencial", "offices": offices, "hours": hours[:255], "notes": notes})
    online_url = _gob_bo_text(raw.get("url") or raw.get("enlace"))
    if raw.get("es_en_linea"):
        channels.append({"channel": "en_linea", "url": online_url, "hours": "Las 24 horas"})
    cost: dict[str, Any] | None = None
    instructions = ""
    costo = raw.get("costo") or {}
    if isinstance(costo, dict):
        amounts = costo.get("montos") or []
        total = Decimal(0)
        for amount in amounts:
            value = amount.get("monto") if isinstance(amount, dict) else amount
            try:
                total += Decimal(str(value).replace(",", "."))
            except Exception:
                cost = {"amount": str(value), "currency": settings.COUNTRY_PACK.currency}
        if cost is None and total > 0:
            cost = {"amount": str(total), "currency": settings.COUNTRY_PACK.currency}
        parts = [_gob_bo_text(costo.get("formas")), _gob_bo_text(costo.get("cuentas"))]
        instructions = "\n".join(p for p in parts if p)
    days = 0
    match = re.search(r"(\d+)", _gob_bo_text(raw.get("duracion")))
    if match:
        days = int(match.group(1))
    category_text = _gob_bo_text(raw.get("categoria")).lower()
    category = next((slug for key, slug in _GOB_BO_CATEGORIES.items() if key in category_text), category_text)
    level = (
        4 if raw.get("es_en_linea") and not raw.get("es_presencial") else (3 if raw.get("es_en_linea") else 1)
    )
    return {
        "slug": _slugify(_gob_bo_text(raw.get("slug")) or title),
        "name": title,
        "institution": institution_code,
        "summary": (description.split(". ")[0] if description else title)[:300],
        "description": description,
        "category": category,
        "requirements": requirements,
        "steps": steps,
        "channels": channels,
        "cost": cost,
        "payment_instructions": instructions,
        "legal_basis": _gob_bo_text(raw.get("marco_legal")),
        "max_days": days,
        "digitisation_level": level,
        "external_start_url": online_url,
        "status": "publicado" if raw.get("publicado", True) else "borrador",
    }


def parse_json(content: bytes, refs: References) -> tuple[list[tuple[str, dict[str, Any]]], list[RowError]]:
    try:
        payload = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [], [RowError("archivo", f"JSON inválido: {exc}")]
    if isinstance(payload, dict):
        payload = payload.get("procedures") or payload.get("tramites") or payload.get("data") or [payload]
    if not isinstance(payload, list):
        return [], [RowError("archivo", "Se esperaba una lista de trámites.")]
    records = []
    for index, raw in enumerate(payload, start=1):
        if isinstance(raw, dict) and "titulo" in raw and "name" not in raw:
            raw = gob_bo_to_dict(raw, refs)
        records.append((f"registro {index}", raw))
    return records, []


# --------------------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------------------


def catalog_import(
    *,
    actor: Any,
    records: Iterable[tuple[str, dict[str, Any]]],
    parse_errors: list[RowError] | None = None,
    refs: References | None = None,
) -> ImportReport:
    """Validate every record, then write all of them in one transaction, or none. Raises ImportFailed."""
    refs = refs or References()
    report = ImportReport(errors=list(parse_errors or []))
    allowed = editable_institution_ids(actor) if actor is not None else None
    parsed: list[tuple[str, ProcedureData]] = []
    seen: dict[str, str] = {}
    for location, raw in records:
        report.total += 1
        data, errors = procedure_data_from_dict(raw)
        if data is not None:
            errors = validate_procedure_data(data, refs)
            institution = refs.institutions.get(data.institution)
            if institution is not None and allowed is not None and institution.pk not in allowed:
                errors.append(
                    ErrorItem(
                        "forbidden", f"No puede importar trámites de {data.institution}.", "institution"
                    )
                )
            if data.slug in seen:
                errors.append(ErrorItem("duplicate", f"Slug repetido (ya en {seen[data.slug]}).", "slug"))
            seen[data.slug] = location
        report.errors.extend(RowError(location, e.message, e.field) for e in errors)
        if data is not None and not errors:
            parsed.append((location, data))
    if not report.errors and report.total == 0:
        report.errors.append(RowError("archivo", "El archivo no contiene trámites."))
    if report.errors:
        raise ImportFailed(report)
    existing = {p.slug: p for p in Procedure.objects.filter(slug__in=[d.slug for _, d in parsed])}
    with transaction.atomic():
        for location, data in parsed:
            current = existing.get(data.slug)
            version_before = current.version if current else None
            pending_before = current.pending_data if current else None
            try:
                saved = procedure_save(
                    actor=actor, data=data, procedure=current, refs=refs, note="Importación"
                )
            except DomainError as exc:
                report.errors.append(RowError(location, exc.message, exc.field))
                raise ImportFailed(report) from exc
            if current is None:
                report.created += 1
            elif saved.version != version_before or saved.pending_data != pending_before:
                report.updated += 1
            else:
                report.unchanged += 1
    return report


def catalog_import_file(*, actor: Any, filename: str, content: bytes) -> ImportReport:
    """Import an uploaded file; the format is chosen by extension (.csv or .json)."""
    if len(content) > settings.VENTANILLA_IMPORT_MAX_BYTES:
        raise DomainError(
            message="El archivo supera el tamaño máximo permitido.", code="too_large", field="file"
        )
    refs = References()
    lower = filename.lower()
    if lower.endswith(".csv"):
        records, errors = parse_csv(content)
    elif lower.endswith(".json"):
        records, errors = parse_json(content, refs)
    else:
        raise DomainError(
            message="Formato no admitido: use .csv o .json.", code="unsupported_format", field="file"
        )
    return catalog_import(actor=actor, records=records, parse_errors=errors, refs=refs)


# --------------------------------------------------------------------------------------------------------
# Export (same layouts as import, so an export re-imports unchanged)
# --------------------------------------------------------------------------------------------------------


def export_records(procedures: Iterable[Procedure]) -> list[dict[str, Any]]:
    from .services import procedure_to_data

    records = []
    for procedure in procedures:
        record = procedure_to_data(procedure).as_dict()
        record["updated_at"] = procedure.updated_at.isoformat()
        records.append(record)
    return records


def export_csv(procedures: Iterable[Procedure]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in export_records(procedures):
        requirements = []
        for r in record["requirements"]:
            text = (
                r["name"]
                + (f" {{{r['issuer']}}}" if r["issuer"] else "")
                + (f" «{r['issuer_name']}»" if r["issuer_name"] else "")
                + (" *" if r["held_by_state"] else "")
                + (f" — {r['description']}" if r["description"] else "")
            )
            requirements.append(text)
        channels, hours, notes = [], [], []
        for c in record["channels"]:
            detail = {"presencial": ", ".join(c["offices"]), "en_linea": c["url"]}.get(
                c["channel"], c["phone"]
            )
            channels.append(f"{c['channel']}: {detail}")
            if c["hours"]:
                hours.append(f"{c['channel']}: {c['hours']}")
            if c["notes"]:
                notes.append(f"{c['channel']}: {c['notes']}")
        cost = record["cost"]
        writer.writerow(
            {
                "slug": record["slug"],
                "nombre": record["name"],
                "institucion": record["institution"],
                "oficina": record["office"] or "",
                "resumen": record["summary"],
                "descripcion": record["description"],
                "categoria": record["category"],
                "hechos_vitales": " | ".join(record["life_events"]),
                "dirigido_a": record["audience"],
                "palabras_clave": record["keywords"],
                "requisitos": " | ".join(requirements),
                "pasos": " | ".join(
                    s["title"] + (f" — {s['description']}" if s["description"] else "")
                    for s in record["steps"]
                ),
                "canales": " | ".join(channels),
                "horarios_canales": " | ".join(hours),
                "notas_canales": " | ".join(notes),
                "preguntas": " | ".join(f"{f['question']} — {f['answer']}" for f in record["faq"]),
                "gratuito": "si" if cost is None else "no",
                "costo": cost["amount"] if cost else "",
                "moneda": cost["currency"] if cost else "",
                "instrucciones_pago": record["payment_instructions"],
                "base_legal": record["legal_basis"],
                "plazo_dias": record["max_days"],
                "nivel_digitalizacion": record["digitisation_level"],
                "en_plataforma": "si" if record["runs_on_platform"] else "no",
                "nivel_ciudadania": record["min_assurance"],
                "url_inicio": record["external_start_url"],
                "url_seguimiento": record["external_tracking_url"],
                "estado": record["status"],
            }
        )
    return out.getvalue()
