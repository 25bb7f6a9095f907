"""Expedientes API for institutions' own systems: list and read their cases, apply transitions.

Who may call: an approved client of the institution (Ciudadanía Digital client credentials) whose token
carries the ``expedientes`` scope. Every route is scoped to the caller's institution: another
institution's case is 404."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.security import HttpBearer

from ventanilla.core.api import ErrorsOut
from ventanilla.core.codes import normalize_tracking_code
from ventanilla.core.errors import NotFound
from ventanilla.identity.client_selectors import ClientToken, client_token_get

from . import selectors, services
from .display import answer_rows

router = Router(tags=["Expedientes"])
SCOPE = "expedientes"


class InstitutionSystem(HttpBearer):
    """OAuth2 bearer token (client credentials) of an approved client with the ``expedientes`` scope."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> ClientToken | None:
        caller = client_token_get(token)
        if caller is None or SCOPE not in caller.scopes:
            return None
        return caller


class ApiActor:
    """The audit actor of an API call: no user, the client is named in the audit metadata."""

    pk = None
    is_authenticated = False

    def __init__(self, caller: ClientToken) -> None:
        self.caller = caller
        self.username = f"cliente:{caller.client_id}"

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username

    def get_full_name(self) -> str:
        return self.caller.application_name


class EventOut(Schema):
    kind: str
    label: str
    from_status: str
    to_status: str
    from_step: str
    to_step: str
    comment: str
    at: datetime


class CaseOut(Schema):
    tracking_code: str
    procedure: str
    procedure_name: str
    status: str
    status_label: str
    channel: str
    step: str
    office: str | None
    version: int = Field(
        description="Envíela en las transiciones: si el expediente cambió, la respuesta es 409."
    )
    submitted_at: datetime | None
    step_due_date: date | None
    due_date: date | None
    observation_due_date: date | None
    closed_at: datetime | None
    applicant_document: str


class CaseDetailOut(CaseOut):
    answers: list[dict[str, str]]
    allowed_actions: list[str]
    history: list[EventOut]


class CasePage(Schema):
    count: int
    page: int
    pages: int
    results: list[CaseOut]


class TransitionIn(Schema):
    action: Literal["approve", "observe", "reject", "derive", "resolve"]
    version: int = Field(ge=1)
    reason: str = Field("", max_length=4000)
    office: str = Field("", max_length=40, description="Código de la oficina de destino (solo «derive»).")


def _case_out(case: Any) -> dict[str, Any]:
    return {
        "tracking_code": case.tracking_code,
        "procedure": case.procedure.slug,
        "procedure_name": case.procedure.name,
        "status": case.status,
        "status_label": case.get_status_display(),
        "channel": case.channel,
        "step": case.current_step,
        "office": case.office.code if case.office_id else None,
        "version": case.version,
        "submitted_at": case.submitted_at,
        "step_due_date": case.step_due_date,
        "due_date": case.due_date,
        "observation_due_date": case.observation_due_date,
        "closed_at": case.closed_at,
        "applicant_document": case.applicant.document_display,
    }


def _detail(case: Any) -> dict[str, Any]:
    from .definitions import transitions_from

    out = _case_out(case)
    out["answers"] = [
        {"label": label, "value": value} for label, value in answer_rows(case.definition.spec, case.data)
    ]
    out["allowed_actions"] = (
        [t["action"] for t in transitions_from(case.definition.spec, case.current_step)]
        if case.status == "en_tramite"
        else []
    )
    out["history"] = [
        {
            "kind": e.kind,
            "label": e.get_kind_display(),
            "from_status": e.from_status,
            "to_status": e.to_status,
            "from_step": e.from_step,
            "to_step": e.to_step,
            "comment": e.comment,
            "at": e.created_at,
        }
        for e in case.events.all()
    ]
    return out


def _code(tracking_code: str) -> str:
    code = normalize_tracking_code(tracking_code)
    if code is None:
        raise NotFound("Expediente no encontrado.")
    return code


class CaseFilters(Schema):
    status: Literal["en_tramite", "observado", "resuelto", "rechazado", "abandonado"] | None = None
    procedure: str | None = Field(None, max_length=120, description="Slug del trámite.")
    updated_since: datetime | None = None
    page: int = Field(1, ge=1, le=100000)
    page_size: int = Field(50, ge=1, le=200)


@router.get(
    "/cases",
    response={200: CasePage, 400: ErrorsOut, 401: ErrorsOut},
    auth=InstitutionSystem(),
    summary="Expedientes de la institución que llama",
)
def case_list(request: HttpRequest, filters: Query[CaseFilters]) -> dict[str, Any]:
    caller: ClientToken = request.auth  # type: ignore[attr-defined]
    qs = selectors.case_api_list(
        institution_id=caller.institution_id,
        status=filters.status or "",
        procedure=filters.procedure or "",
        updated_since=filters.updated_since,
    )
    count = qs.count()
    pages = max(1, -(-count // filters.page_size))
    start = (min(filters.page, pages) - 1) * filters.page_size
    return {
        "count": count,
        "page": min(filters.page, pages),
        "pages": pages,
        "results": [_case_out(c) for c in qs[start : start + filters.page_size]],
    }


@router.get(
    "/cases/{tracking_code}",
    response={200: CaseDetailOut, 401: ErrorsOut, 404: ErrorsOut},
    auth=InstitutionSystem(),
    summary="Un expediente, con respuestas e historial",
)
def case_detail(request: HttpRequest, tracking_code: str) -> dict[str, Any]:
    caller: ClientToken = request.auth  # type: ignore[attr-defined]
    case = selectors.case_for_institution(
        institution_id=caller.institution_id, tracking_code=_code(tracking_code)
    )
    return _detail(case)


@router.post(
    "/cases/{tracking_code}/transitions",
    response={
        200: CaseDetailOut,
        400: ErrorsOut,
        401: ErrorsOut,
        404: ErrorsOut,
        409: ErrorsOut,
        422: ErrorsOut,
    },
    auth=InstitutionSystem(),
    summary="Aplicar una transición (aprobar, observar, rechazar, derivar, resolver)",
)
def case_transition(request: HttpRequest, tracking_code: str, payload: TransitionIn) -> dict[str, Any]:
    """Two concurrent transitions on the same case: one wins, the other gets 409 (``version`` is stale)."""
    caller: ClientToken = request.auth  # type: ignore[attr-defined]
    code = _code(tracking_code)
    services.case_transition_by_system(
        institution_id=caller.institution_id,
        actor=ApiActor(caller),
        tracking_code=code,
        action=payload.action,
        version=payload.version,
        reason=payload.reason,
        office_code=payload.office,
    )
    case = selectors.case_for_institution(institution_id=caller.institution_id, tracking_code=code)
    return _detail(case)
