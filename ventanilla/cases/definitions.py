"""The no-code procedure definition: its JSON shape, validation (a list of problems, never an exception
half-way), and the placeholder language of resolution templates.

Shape (``ProcedureDefinition.spec``)::

    {
      "fields": [{"name": "motivo", "label": "Motivo", "type": "text", "required": true,
                  "help": "", "min_length": 3, "max_length": 200, "pattern": "", "pattern_message": "",
                  "min": null, "max": null, "choices": [{"value": "a", "label": "A"}],
                  "show_if": {"field": "otro_campo", "equals": "si"},      # or "in": [...]
                  "prefill": "person.full_name",     # or {"service": ..., "path": ..., "key": ...}
                  "accept": ["pdf", "jpg", "png"], "max_size_mb": 5}],     # file fields
      "documents": [{"name": "croquis", "label": "Croquis del local", "required": true,
                     "accept": ["pdf"], "max_size_mb": 5,
                     "registry": {"service": "SEPREC/REGISTRO-COMERCIO/empresa", "path": "empresas/{nit}"}}],
      "fee": {"amount": "150.00", "concept": "Tasa municipal"},            # or null
      "min_assurance": "basico",
      "observation_days": 10,
      "steps": [{"code": "recepcion", "name": "Recepción", "office": "GAMLP-SEDE", "sla_days": 2}],
      "transitions": [{"action": "approve", "from": "recepcion", "to": "revision"},
                      {"action": "observe", "from": "revision"},
                      {"action": "reject", "from": "revision"},
                      {"action": "derive", "from": "revision"},
                      {"action": "resolve", "from": "revision"}],
      "resolution": {"title": "Licencia de funcionamiento", "body": "Se otorga a {{ solicitante.nombre }} …"}
    }
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from ventanilla.core.errors import ErrorItem

FORMAT = "ventanilla.procedure-definition/1"

FIELD_TYPES = {
    "text": _("Texto"),
    "textarea": _("Texto largo"),
    "number": _("Número"),
    "date": _("Fecha"),
    "choice": _("Opción única"),
    "multichoice": _("Opción múltiple"),
    "yesno": _("Sí / No"),
    "document": _("Número de documento"),
    "address": _("Dirección (departamento y municipio)"),
    "email": _("Correo electrónico"),
    "phone": _("Teléfono"),
    "file": _("Archivo"),
}
ACTIONS = ("approve", "observe", "reject", "derive", "resolve")
ACTION_LABELS = {
    "approve": _("Aprobar y pasar al siguiente paso"),
    "observe": _("Observar (pedir corrección)"),
    "reject": _("Rechazar"),
    "derive": _("Derivar a otra oficina"),
    "resolve": _("Resolver y emitir resolución"),
}
# Actions whose reason the citizen reads: a reason is required.
REASON_REQUIRED = {"observe", "reject", "derive"}
FILE_TYPES = {
    "pdf": ("application/pdf", b"%PDF-"),
    "jpg": ("image/jpeg", b"\xff\xd8\xff"),
    "png": ("image/png", b"\x89PNG\r\n\x1a\n"),
}
PERSON_PREFILL = {
    "person.full_name",
    "person.first_names",
    "person.surnames",
    "person.document",
    "person.email",
    "person.mobile",
    "person.birth_date",
}
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
STEP_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
PLACEHOLDER_RE = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_.]*)\s*\}\}")
BUILTIN_PLACEHOLDERS = {
    "codigo",
    "fecha",
    "tramite",
    "institucion",
    "solicitante.nombre",
    "solicitante.documento",
}
MAX_FILE_MB = 20


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def as_item(self) -> ErrorItem:
        return ErrorItem("invalid_definition", self.message, self.where)


def _p(problems: list[Problem], where: str, message: str) -> None:
    problems.append(Problem(where, message))


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _check_fields(spec: dict[str, Any], problems: list[Problem], office_codes: set[str] | None) -> set[str]:
    names: set[str] = set()
    raw = spec.get("fields", [])
    if not isinstance(raw, list):
        _p(problems, "fields", _("«fields» debe ser una lista."))
        return names
    for i, field in enumerate(raw):
        where = f"fields[{i}]"
        if not isinstance(field, dict):
            _p(problems, where, _("Cada campo debe ser un objeto."))
            continue
        name = str(field.get("name", ""))
        if not NAME_RE.match(name):
            _p(
                problems,
                where,
                _("Nombre de campo inválido «%(name)s»: minúsculas, números y _.") % {"name": name},
            )
        elif name in names:
            _p(problems, where, _("El nombre de campo «%(name)s» está repetido.") % {"name": name})
        names.add(name)
        if not str(field.get("label", "")).strip():
            _p(problems, where, _("El campo «%(name)s» no tiene etiqueta.") % {"name": name})
        kind = _str_or_none(field.get("type"))
        if kind not in FIELD_TYPES:
            _p(problems, where, _("Tipo de campo desconocido «%(type)s».") % {"type": kind})
        if kind in ("choice", "multichoice"):
            choices = field.get("choices")
            if not isinstance(choices, list) or not choices:
                _p(problems, where, _("El campo «%(name)s» necesita opciones.") % {"name": name})
            else:
                values = [
                    str(c["value"])
                    if isinstance(c, dict) and isinstance(c.get("value"), (str, int))
                    else None
                    for c in choices
                ]
                if any(not v for v in values) or len(set(values)) != len(values):
                    _p(
                        problems,
                        where,
                        _("Las opciones de «%(name)s» deben tener valores únicos.") % {"name": name},
                    )
        for key in ("min_length", "max_length", "max_size_mb"):
            if field.get(key) not in (None, "") and _int(field.get(key)) is None:
                _p(problems, where, _("«%(key)s» debe ser un número entero.") % {"key": key})
        for key in ("min", "max"):
            if field.get(key) in (None, ""):
                continue
            if kind == "date":
                try:
                    dt.date.fromisoformat(str(field[key]))
                except ValueError:
                    _p(problems, where, _("«%(key)s» debe ser una fecha AAAA-MM-DD.") % {"key": key})
            else:
                try:
                    Decimal(str(field[key]))
                except InvalidOperation:
                    _p(problems, where, _("«%(key)s» debe ser un número.") % {"key": key})
        if field.get("pattern"):
            try:
                re.compile(str(field["pattern"]))
            except re.error:
                _p(
                    problems,
                    where,
                    _("La expresión de validación de «%(name)s» no es válida.") % {"name": name},
                )
        if kind == "file":
            _check_accept(field, where, problems)
        show_if = field.get("show_if")
        if show_if:
            target = show_if.get("field") if isinstance(show_if, dict) else None
            target = target if isinstance(target, str) else None
            if target not in names or target == name:
                _p(
                    problems,
                    where,
                    _("«%(name)s» se muestra según «%(target)s», que no es un campo anterior.")
                    % {"name": name, "target": target},
                )
            elif "equals" not in show_if and not isinstance(show_if.get("in"), list):
                _p(
                    problems,
                    where,
                    _("La condición de «%(name)s» necesita «equals» o «in».") % {"name": name},
                )
        prefill = field.get("prefill")
        if isinstance(prefill, str) and prefill not in PERSON_PREFILL:
            _p(problems, where, _("Dato para prellenar desconocido «%(value)s».") % {"value": prefill})
        elif isinstance(prefill, dict) and not (prefill.get("service") and prefill.get("key")):
            _p(problems, where, _("El prellenado desde un registro necesita «service» y «key»."))
    return names


def _check_accept(item: dict[str, Any], where: str, problems: list[Problem]) -> None:
    accept = item.get("accept") or ["pdf"]
    if not isinstance(accept, list) or any(not isinstance(a, str) or a not in FILE_TYPES for a in accept):
        _p(problems, where, _("Tipos de archivo admitidos: %(types)s.") % {"types": ", ".join(FILE_TYPES)})
    size = _int(item.get("max_size_mb", 5))
    if size is None or not 1 <= size <= MAX_FILE_MB:
        _p(problems, where, _("El tamaño máximo debe estar entre 1 y %(max)s MB.") % {"max": MAX_FILE_MB})


def _check_documents(spec: dict[str, Any], problems: list[Problem], names: set[str]) -> None:
    raw = spec.get("documents", [])
    if not isinstance(raw, list):
        _p(problems, "documents", _("«documents» debe ser una lista."))
        return
    for i, doc in enumerate(raw):
        where = f"documents[{i}]"
        if not isinstance(doc, dict):
            _p(problems, where, _("Cada documento debe ser un objeto."))
            continue
        name = str(doc.get("name", ""))
        if not NAME_RE.match(name):
            _p(problems, where, _("Nombre de documento inválido «%(name)s».") % {"name": name})
        elif name in names:
            _p(problems, where, _("El nombre «%(name)s» está repetido.") % {"name": name})
        names.add(name)
        if not str(doc.get("label", "")).strip():
            _p(problems, where, _("El documento «%(name)s» no tiene etiqueta.") % {"name": name})
        _check_accept(doc, where, problems)
        registry = doc.get("registry")
        if registry is not None and not (isinstance(registry, dict) and registry.get("service")):
            _p(problems, where, _("El documento obtenido de un registro necesita «service»."))


def _check_steps(spec: dict[str, Any], problems: list[Problem], office_codes: set[str] | None) -> list[str]:
    raw = spec.get("steps")
    codes: list[str] = []
    if not isinstance(raw, list) or not raw:
        _p(problems, "steps", _("Defina al menos un paso."))
        return codes
    for i, step in enumerate(raw):
        where = f"steps[{i}]"
        if not isinstance(step, dict):
            _p(problems, where, _("Cada paso debe ser un objeto."))
            continue
        code = str(step.get("code", ""))
        if not STEP_RE.match(code):
            _p(problems, where, _("Código de paso inválido «%(code)s».") % {"code": code})
        elif code in codes:
            _p(problems, where, _("El código de paso «%(code)s» está repetido.") % {"code": code})
        codes.append(code)
        if not str(step.get("name", "")).strip():
            _p(problems, where, _("El paso «%(code)s» no tiene nombre.") % {"code": code})
        sla = _int(step.get("sla_days"))
        if sla is None or not 0 <= sla <= 365:
            _p(
                problems,
                where,
                _("El plazo del paso «%(code)s» debe ser de 0 a 365 días hábiles.") % {"code": code},
            )
        office = _str_or_none(step.get("office"))
        if office and office_codes is not None and office not in office_codes:
            _p(problems, where, _("La oficina «%(office)s» no es de esta institución.") % {"office": office})
    return codes


def _check_transitions(spec: dict[str, Any], problems: list[Problem], steps: list[str]) -> None:
    raw = spec.get("transitions")
    if not isinstance(raw, list) or not raw:
        _p(problems, "transitions", _("Defina las transiciones permitidas."))
        return
    edges: dict[str, set[str]] = {s: set() for s in steps}
    resolvable = False
    seen: set[tuple[str, str]] = set()
    for i, tr in enumerate(raw):
        where = f"transitions[{i}]"
        if not isinstance(tr, dict):
            _p(problems, where, _("Cada transición debe ser un objeto."))
            continue
        action, src, dst = (_str_or_none(tr.get(k)) for k in ("action", "from", "to"))
        if action not in ACTIONS:
            _p(problems, where, _("Acción desconocida «%(action)s».") % {"action": action})
            continue
        if src not in edges:
            _p(problems, where, _("La transición parte de un paso inexistente «%(step)s».") % {"step": src})
            continue
        if (action, src) in seen:
            _p(
                problems,
                where,
                _("La acción «%(action)s» está repetida en «%(step)s».") % {"action": action, "step": src},
            )
        seen.add((action, src))
        if action == "approve":
            if dst not in edges:
                _p(
                    problems,
                    where,
                    _("«Aprobar» en «%(step)s» lleva a un paso inexistente «%(to)s».")
                    % {"step": src, "to": dst},
                )
            elif dst == src:
                _p(
                    problems,
                    where,
                    _("«Aprobar» en «%(step)s» no puede volver al mismo paso.") % {"step": src},
                )
            else:
                edges[src].add(dst)
        elif dst not in (None, ""):
            _p(problems, where, _("Solo «aprobar» indica un paso de destino."))
        if action == "resolve":
            resolvable = True
    if not resolvable:
        _p(problems, "transitions", _("Ningún paso permite resolver el trámite."))
    if steps:
        reached = {steps[0]}
        queue = deque([steps[0]])
        while queue:
            for nxt in edges.get(queue.popleft(), ()):
                if nxt not in reached:
                    reached.add(nxt)
                    queue.append(nxt)
        for step in steps:
            if step not in reached:
                _p(
                    problems,
                    "steps",
                    _("El paso «%(step)s» es inalcanzable desde el primero.") % {"step": step},
                )
        for step in steps:
            if not edges.get(step) and ("resolve", step) not in seen and ("reject", step) not in seen:
                _p(problems, "transitions", _("El paso «%(step)s» no tiene salida.") % {"step": step})


def _check_resolution(spec: dict[str, Any], problems: list[Problem], names: set[str]) -> None:
    res = spec.get("resolution")
    if (
        not isinstance(res, dict)
        or not str(res.get("title", "")).strip()
        or not str(res.get("body", "")).strip()
    ):
        _p(problems, "resolution", _("La plantilla de resolución necesita título y texto."))
        return
    for placeholder in PLACEHOLDER_RE.findall(str(res["body"]) + str(res["title"])):
        if placeholder not in BUILTIN_PLACEHOLDERS and placeholder not in names:
            _p(
                problems,
                "resolution",
                _("La plantilla usa «%(name)s», que no es un campo.") % {"name": placeholder},
            )


def validate(spec: Any, *, office_codes: set[str] | None = None) -> list[Problem]:
    """Every problem of a definition, in reading order; an empty list means it can be published. Never
    raises: a document of the wrong shape is one more problem."""
    if not isinstance(spec, dict):
        return [Problem("definition", _("La definición debe ser un objeto JSON."))]
    try:
        return _validate(spec, office_codes)
    except (TypeError, ValueError, AttributeError, KeyError):
        return [
            Problem(
                "definition",
                _("La definición tiene una estructura inválida (revise los tipos de cada valor)."),
            )
        ]


def _validate(spec: dict[str, Any], office_codes: set[str] | None) -> list[Problem]:
    problems: list[Problem] = []
    names = _check_fields(spec, problems, office_codes)
    _check_documents(spec, problems, set(names))
    steps = _check_steps(spec, problems, office_codes)
    _check_transitions(spec, problems, steps)
    _check_resolution(spec, problems, names)
    fee = spec.get("fee")
    if fee not in (None, {}):
        try:
            if not isinstance(fee, dict) or Decimal(str(fee.get("amount"))) < 0:
                raise InvalidOperation
        except InvalidOperation:
            _p(problems, "fee", _("El arancel debe tener un monto numérico no negativo."))
    if spec.get("min_assurance", "basico") not in ("basico", "verificado"):
        _p(problems, "min_assurance", _("Nivel de seguridad desconocido."))
    obs = _int(spec.get("observation_days", 10))
    if obs is None or not 1 <= obs <= 90:
        _p(problems, "observation_days", _("El plazo para corregir debe ser de 1 a 90 días hábiles."))
    return problems


def render_placeholders(text: str, values: dict[str, Any]) -> str:
    """Replace ``{{ name }}`` with values (validated beforehand: every placeholder is known)."""
    return PLACEHOLDER_RE.sub(lambda m: str(values.get(m.group(1), "")), text)


def transitions_from(spec: dict[str, Any], step: str) -> list[dict[str, Any]]:
    return [t for t in spec.get("transitions", []) if t.get("from") == step]


def field_visible(field: dict[str, Any], data: dict[str, Any]) -> bool:
    cond = field.get("show_if")
    if not cond:
        return True
    value = data.get(cond.get("field"))
    if "equals" in cond:
        expected = cond["equals"]
        if isinstance(value, list):
            return expected in value
        return str(value) == str(expected) if value is not None else False
    options = [str(v) for v in cond.get("in", [])]
    if isinstance(value, list):
        return any(str(v) in options for v in value)
    return str(value) in options


def export_payload(*, procedure_slug: str, version: int, spec: dict[str, Any]) -> dict[str, Any]:
    return {"format": FORMAT, "procedure": procedure_slug, "version": version, "definition": spec}
