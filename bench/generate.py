"""Synthetic but realistic data for `make bench` (never run it against a real database).

Sub-commands (run with the bench environment; ``bench/run.py`` calls them):

    python bench/generate.py base --persons 100000 --accounts 300 --password ... --target 1000
    python bench/generate.py procedures --target 10000
    python bench/generate.py export --out bench/.work

``base`` adds persons (identity.Person, bulk), sign-in accounts with a known password (each linked to one
of those persons) and procedures until the catalogue holds ``--target`` procedures; ``procedures`` grows
the catalogue to ``--target``; ``export`` writes the published slugs and the accounts for the load
generator. Every step bulk-inserts in batches and ends with ANALYZE. The demo data must be loaded first
(``manage.py load_demo``): the synthetic procedures are variants of the country's demo procedures (same
institutions, offices, categories, requirements and steps), named per municipality and modality, with
``search_document``/``search_stems``/``name_stems``/``sort_key`` computed by
``ventanilla.catalog.services.search_fields`` itself.

The modules' data (``cases``, ``interop-log``) is written with PostgreSQL's COPY (fast at 1,000,000 rows):

    python bench/generate.py cases --target 1000000 --out bench/.work
    python bench/generate.py interop-log --target 1000000 --final 1000000
    python bench/generate.py interop-setup --provider-base http://127.0.0.1:PORT --out bench/.work
    python bench/generate.py outbox-enqueue --count 2000

``cases`` adds synthetic cases (a mix of statuses, channels, offices, procedures and assignees over the
institutions of the published demo definitions, plus copies of those definitions on nine more procedures
of each institution, bench clerks, a citizen with many cases, a history for every open case and a sample
of closed ones, and an API client) and writes ``cases.json`` for the load generator; ``interop-log``
appends message-log entries chained with the app's own ``entry_digest``; ``interop-setup`` points the demo
registries at the bench's provider server; ``outbox-enqueue`` queues e-mails through ``message_queue``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BATCH = 2000
BENCH_ACCOUNT_PREFIX = "bench-"
SYNTHETIC_SLUG_MARK = "-bx"  # synthetic slugs end in -bx<number>

FIRST_NAMES = [
    "Juan",
    "José",
    "Luis",
    "Carlos",
    "Jorge",
    "Mario",
    "Víctor",
    "Fernando",
    "Miguel",
    "Roberto",
    "Marco Antonio",
    "Juan Carlos",
    "Rubén",
    "Wilfredo",
    "Freddy",
    "Édgar",
    "René",
    "Álvaro",
    "Gonzalo",
    "Rodrigo",
    "María",
    "Ana",
    "Rosa",
    "Carmen",
    "Julia",
    "Elizabeth",
    "Patricia",
    "Ximena",
    "Daniela",
    "Gabriela",
    "María Fernanda",
    "Lucía",
    "Sonia",
    "Juana",
    "Teresa",
    "Martha",
    "Silvia",
    "Paola",
    "Mónica",
    "Verónica",
    "Wara",
    "Illimani",
    "Amaru",
    "Nayra",
    "Yurac",
    "Inti",
    "Killa",
    "Sami",
]
SURNAMES = [
    "Quispe",
    "Mamani",
    "Choque",
    "Condori",
    "Flores",
    "Rojas",
    "Vargas",
    "Gutiérrez",
    "López",
    "Pérez",
    "García",
    "Fernández",
    "Rodríguez",
    "Torrez",
    "Apaza",
    "Huanca",
    "Limachi",
    "Ticona",
    "Chávez",
    "Álvarez",
    "Morales",
    "Cruz",
    "Gómez",
    "Soliz",
    "Aguilar",
    "Medina",
    "Vaca",
    "Suárez",
    "Justiniano",
    "Céspedes",
    "Ortiz",
    "Romero",
    "Salazar",
    "Calle",
    "Alanoca",
    "Poma",
    "Callisaya",
    "Copa",
    "Yujra",
    "Villca",
    "Coca",
    "Arce",
    "Paz",
    "Zeballos",
    "Antezana",
    "Camacho",
    "Saavedra",
    "Ledezma",
]
MODALITIES = [
    "",
    "",
    "",
    " — trámite en línea",
    " — atención presencial",
    " para personas adultas mayores",
    " para personas con discapacidad",
    " con atención preferente",
    " (renovación)",
    " (modificación de datos)",
    " (duplicado)",
    " (trámite urgente)",
]
SYNTHETIC_STATUSES = ["publicado"] * 92 + ["borrador"] * 4 + ["en_revision"] * 2 + ["archivado"] * 2


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.prod")
    import django

    django.setup()


def log(message: str) -> None:
    print(f"[generate] {message}", flush=True)


def analyze(*tables: str, vacuum: bool = False) -> None:
    """ANALYZE (or VACUUM ANALYZE: a table just filled by COPY has no visibility map yet, so index-only
    scans would still read the heap; in production autovacuum sets it) each table."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            return
        for table in tables:
            cursor.execute(f"{'VACUUM (ANALYZE)' if vacuum else 'ANALYZE'} {table}")


# --------------------------------------------------------------------------------------------------------
# Procedures
# --------------------------------------------------------------------------------------------------------


def _demo_records() -> list[dict[str, Any]]:
    from django.conf import settings

    from ventanilla.catalog.demo_loader import DEMO_ROOT

    folder = DEMO_ROOT / settings.COUNTRY_PACK.demo_dir
    records: list[dict[str, Any]] = []
    for path in sorted(folder.glob("procedures*.json")):
        records.extend(json.loads(path.read_text(encoding="utf-8")))
    if not records:
        raise SystemExit(f"No hay trámites de demostración en {folder}")
    return records


def _places() -> list[str]:
    from django.conf import settings

    return [m for d in settings.COUNTRY_PACK.departments for m in d.municipalities]


def generate_procedures(target: int, seed: int = 20251123) -> dict[str, Any]:
    """Bulk-insert synthetic procedures until the catalogue holds ``target`` procedures."""
    from django.db import transaction

    from ventanilla.catalog.models import Channel, Faq, Procedure, Requirement, Step
    from ventanilla.catalog.services import References, procedure_data_from_dict, search_fields

    started = time.monotonic()
    existing = Procedure.objects.count()
    missing = max(0, target - existing)
    if not missing:
        return {"created": 0, "total": existing, "seconds": 0.0}
    rng = random.Random(seed + existing)  # noqa: S311 - synthetic data, reproducible
    refs = References()
    bases = [r for r in _demo_records() if r.get("institution", "").upper() in refs.institutions]
    places = _places()
    start_index = Procedure.objects.filter(slug__contains=SYNTHETIC_SLUG_MARK).count()
    through = Procedure.life_events.through
    channel_offices = Channel.offices.through
    created = 0
    search_seconds = 0.0
    while created < missing:
        size = min(BATCH, missing - created)
        procedures: list[Procedure] = []
        datas = []
        for k in range(size):
            number = start_index + created + k
            base = bases[number % len(bases)]
            place = rng.choice(places)
            modality = rng.choice(MODALITIES)
            raw = dict(base)
            raw["slug"] = f"{base['slug'][:90]}{SYNTHETIC_SLUG_MARK}{number}"
            raw["name"] = f"{base['name']} — {place}{modality}"[:200]
            raw["keywords"] = f"{base.get('keywords', '')}, {place}"[:400]
            raw["summary"] = (base.get("summary") or raw["name"])[:300]
            data, errors = procedure_data_from_dict(raw)
            if data is None:
                raise SystemExit(f"Registro sintético inválido ({raw['slug']}): {errors[0].message}")
            if data.office and data.office not in refs.offices:
                data.office = None
            data.life_events = [s for s in data.life_events if s in refs.life_events]
            t0 = time.monotonic()
            fields = search_fields(Procedure(), data, refs)
            search_seconds += time.monotonic() - t0
            status = rng.choice(SYNTHETIC_STATUSES)
            procedures.append(
                Procedure(
                    slug=data.slug,
                    name=data.name,
                    summary=data.summary,
                    description=data.description,
                    institution=refs.institutions[data.institution],
                    office=refs.offices.get(data.office) if data.office else None,
                    category=refs.categories[data.category],
                    audience=data.audience,
                    keywords=data.keywords,
                    is_free=data.cost_amount is None,
                    cost_amount=data.cost_amount,
                    currency=data.currency if data.cost_amount is not None else "",
                    payment_instructions=data.payment_instructions,
                    legal_basis=data.legal_basis,
                    max_days=data.max_days,
                    digitisation_level=data.digitisation_level,
                    runs_on_platform=data.runs_on_platform,
                    min_assurance=data.min_assurance,
                    external_start_url=data.external_start_url,
                    external_tracking_url=data.external_tracking_url,
                    status=status,
                    published_at=None if status == "borrador" else _now(),
                    helpful_yes=rng.randint(0, 300),
                    helpful_no=rng.randint(0, 60),
                    **fields,
                )
            )
            datas.append(data)
        with transaction.atomic():
            Procedure.objects.bulk_create(procedures, batch_size=BATCH)
            requirements, steps, faqs, channels, links = [], [], [], [], []
            pending_offices: list[tuple[Channel, list[str]]] = []
            for procedure, data in zip(procedures, datas, strict=True):
                requirements += [
                    Requirement(
                        procedure=procedure,
                        order=i,
                        name=r.name,
                        description=r.description,
                        issuer=refs.institutions.get((r.issuer or "").upper()),
                        issuer_name=r.issuer_name,
                        held_by_state=r.held_by_state,
                    )
                    for i, r in enumerate(data.requirements)
                ]
                steps += [
                    Step(procedure=procedure, order=i, title=s.title, description=s.description)
                    for i, s in enumerate(data.steps)
                ]
                faqs += [
                    Faq(procedure=procedure, order=i, question=f.question, answer=f.answer)
                    for i, f in enumerate(data.faq)
                ]
                for ch in data.channels:
                    channel = Channel(
                        procedure=procedure,
                        kind=ch.channel,
                        hours=ch.hours,
                        url=ch.url,
                        phone=ch.phone,
                        notes=ch.notes,
                    )
                    channels.append(channel)
                    offices = [c for c in ch.offices if c in refs.offices]
                    if offices:
                        pending_offices.append((channel, offices))
                links += [
                    through(procedure_id=procedure.pk, lifeevent_id=refs.life_events[s].pk)
                    for s in data.life_events
                ]
            Requirement.objects.bulk_create(requirements, batch_size=BATCH)
            Step.objects.bulk_create(steps, batch_size=BATCH)
            Faq.objects.bulk_create(faqs, batch_size=BATCH)
            Channel.objects.bulk_create(channels, batch_size=BATCH)
            through.objects.bulk_create(links, batch_size=BATCH)
            channel_offices.objects.bulk_create(
                [
                    channel_offices(channel_id=channel.pk, office_id=refs.offices[code].pk)
                    for channel, codes in pending_offices
                    for code in codes
                ],
                batch_size=BATCH,
            )
        created += size
        log(f"trámites: {existing + created}/{target}")
    _catalog_changed()
    analyze(
        "catalog_procedure",
        "catalog_requirement",
        "catalog_step",
        "catalog_faq",
        "catalog_channel",
        "catalog_channel_offices",
        "catalog_procedure_life_events",
    )
    return {
        "created": created,
        "total": existing + created,
        "seconds": round(time.monotonic() - started, 2),
        "search_fields_seconds": round(search_seconds, 2),
    }


def _catalog_changed() -> None:
    """Tell the catalogue its published content changed (cached counts/facets), as its services do."""
    from ventanilla.catalog import services

    bump = getattr(services, "bump_generation", None)
    if bump is not None:
        bump()


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()


# --------------------------------------------------------------------------------------------------------
# Persons and accounts
# --------------------------------------------------------------------------------------------------------


def generate_persons(count: int, accounts: int, password: str, seed: int = 7) -> dict[str, Any]:
    """``count`` persons (bulk) and ``accounts`` sign-in accounts (username bench-NNNN, known password)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from ventanilla.identity.models import AssuranceLevel, DataSource, Person

    started = time.monotonic()
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible
    user_model = get_user_model()
    pack = settings.COUNTRY_PACK
    departments = [d.code for d in pack.departments]
    doc_type = pack.document_types[0].code
    accounts = min(accounts, count)
    encoded = make_password(password)  # one Argon2id hash (random salt) shared by every bench account
    users = [
        user_model(
            username=f"{BENCH_ACCOUNT_PREFIX}{i:05d}",
            password=encoded,
            first_name=rng.choice(FIRST_NAMES),
            last_name=f"{rng.choice(SURNAMES)} {rng.choice(SURNAMES)}",
            email=f"{BENCH_ACCOUNT_PREFIX}{i:05d}@example.bo",
        )
        for i in range(accounts)
    ]
    with transaction.atomic():
        user_model.objects.bulk_create(users, batch_size=BATCH)
    first_number = 20_000_000 + Person.objects.count()
    made = 0
    birth_origin = date(1940, 1, 1)
    while made < count:
        size = min(BATCH * 5, count - made)
        people = []
        for k in range(size):
            index = made + k
            user = users[index] if index < len(users) else None
            verified = rng.random() < 0.3
            first_surname, second_surname = rng.choice(SURNAMES), rng.choice(SURNAMES)
            people.append(
                Person(
                    user=user,
                    document_type=doc_type,
                    document_number=str(first_number + index),
                    document_department=rng.choice(departments),
                    first_names=user.first_name if user else rng.choice(FIRST_NAMES),
                    first_surname=first_surname,
                    second_surname=second_surname,
                    birth_date=birth_origin + timedelta(days=rng.randint(0, 365 * 66)),
                    email=f"persona{first_number + index}@example.bo" if rng.random() < 0.6 else "",
                    email_verified=rng.random() < 0.5,
                    mobile=f"+5917{rng.randint(0, 9_999_999):07d}" if rng.random() < 0.8 else "",
                    assurance_level=AssuranceLevel.VERIFICADO if verified else AssuranceLevel.BASICO,
                    names_source=DataSource.REGISTRAR if verified else DataSource.DECLARED,
                    verification_method="registrador" if verified else "",
                    verified_at=_now() if verified else None,
                )
            )
        with transaction.atomic():
            Person.objects.bulk_create(people, batch_size=BATCH)
        made += size
        log(f"personas: {made}/{count}")
    analyze("identity_person", "identity_user")
    return {"persons": count, "accounts": accounts, "seconds": round(time.monotonic() - started, 2)}


# --------------------------------------------------------------------------------------------------------
# Expedientes (cases)
# --------------------------------------------------------------------------------------------------------

CASE_STATUS_MIX = [  # (status, weight ‰): most closed, a realistic open share (~7.5 %)
    ("resuelto", 700),
    ("rechazado", 80),
    ("abandonado", 60),
    ("en_tramite", 60),
    ("observado", 15),
    ("borrador", 50),
    ("vencido", 35),
]
CASE_CHANNEL_MIX = [("en_linea", 72), ("ventanilla", 23), ("telefono", 5)]
CASE_DEFINITIONS_PER_INSTITUTION = 10  # the demo definition plus variants of it on synthetic procedures
CASE_CLERKS_PER_INSTITUTION = 5  # bench clerks besides the demo one (assignments, "solo asignados a mí")
CASE_HEAVY_CITIZEN = "bench-00000"  # the bench account whose person filed many cases ("Mis trámites")
CASE_HEAVY_COUNT = 250
CASE_EVENT_SHARE = 0.10  # closed cases with a history (every open case has one)
CASE_API_CLIENT = "bench-expedientes"
CASE_API_SECRET = "bench-expedientes-" + "secreto-solo-para-pruebas"  # throwaway database only
CASE_YEARS = 3
_CODE_MOD = 32**8
_CODE_MUL = 0x9E3779B1  # odd: n → n·MUL mod 32⁸ is a bijection, so the codes are unique


def _tracking_code(number: int) -> str:
    from ventanilla.core.codes import ALPHABET, _check_char, format_code

    value = (number * _CODE_MUL + 0x5BD1E995) % _CODE_MOD
    body = ""
    for _ in range(8):
        value, digit = divmod(value, 32)
        body += ALPHABET[digit]
    return format_code(body + _check_char(body))


def _weighted(rng: random.Random, mix: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in mix], weights=[w for _, w in mix])[0]


def _copy_rows(table: str, columns: list[str], rows: Any) -> int:
    """COPY ``rows`` (tuples in ``columns`` order) into ``table`` through Django's psycopg connection."""
    from django.db import connection

    count = 0
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    statement = f"COPY {connection.ops.quote_name(table)} ({cols}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _case_setup(now: Any, create: bool) -> dict[str, Any]:
    """Definitions (the demo ones plus copies on same-institution procedures; copied only when ``create``,
    i.e. on the first call, so 1× and 10× share one set of procedures), offices and clerks. Idempotent."""
    import copy as copylib

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from ventanilla.cases.demo import demo_definitions
    from ventanilla.cases.models import ProcedureDefinition
    from ventanilla.catalog.models import Procedure
    from ventanilla.core.models import Membership, Office, Role

    slugs = [slug for slug, _spec in demo_definitions()]
    demo = list(
        ProcedureDefinition.objects.filter(status="publicada", procedure__slug__in=slugs)
        .select_related("procedure")
        .order_by("pk")
    )
    if not demo:
        raise SystemExit("No hay definiciones de trámite publicadas: ¿se ejecutó load_demo?")
    by_institution: dict[int, list[ProcedureDefinition]] = {}
    for definition in demo:
        by_institution.setdefault(definition.institution_id, []).append(definition)
    created = []
    for institution_id, definitions in by_institution.items():
        missing = CASE_DEFINITIONS_PER_INSTITUTION - len(definitions)
        if missing <= 0 or not create:
            continue
        base = definitions[0]
        candidates = (
            Procedure.objects.filter(
                institution_id=institution_id, status="publicado", definitions__isnull=True
            )
            .exclude(pk=base.procedure_id)
            .order_by("pk")[:missing]
        )
        for procedure in candidates:
            created.append(
                ProcedureDefinition(
                    procedure=procedure,
                    institution_id=institution_id,
                    version=1,
                    status="publicada",
                    spec=copylib.deepcopy(base.spec),
                    published_at=now,
                )
            )
    ProcedureDefinition.objects.bulk_create(created, batch_size=BATCH)
    user_model = get_user_model()
    clerks: dict[int, list[int]] = {}
    offices: dict[int, list[tuple[int, str]]] = {}
    unusable = make_password(None)
    for institution_id in by_institution:
        offices[institution_id] = list(
            Office.objects.filter(institution_id=institution_id, is_active=True)
            .order_by("pk")
            .values_list("pk", "code")
        )
        demo_clerks = list(
            user_model.objects.filter(
                memberships__institution_id=institution_id, memberships__role=Role.CLERK
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        code = (
            ProcedureDefinition.objects.filter(institution_id=institution_id)
            .values_list("institution__code", flat=True)
            .first()
            or str(institution_id)
        ).lower()
        for n in range(CASE_CLERKS_PER_INSTITUTION):
            user, made = user_model.objects.get_or_create(
                username=f"funcionario-bench-{code}-{n}",
                defaults={"password": unusable, "first_name": "Funcionario", "last_name": f"{code} {n}"},
            )
            if made:
                Membership.objects.create(user=user, institution_id=institution_id, role=Role.CLERK)
            demo_clerks.append(user.pk)
        clerks[institution_id] = demo_clerks
    definitions = list(
        ProcedureDefinition.objects.filter(status="publicada", institution_id__in=list(by_institution))
        .select_related("procedure", "institution")
        .order_by("pk")
    )
    return {
        "definitions": definitions,
        "demo_ids": {d.pk for d in demo},
        "clerks": clerks,
        "offices": offices,
        "new_definitions": len(created),
    }


def _case_api_client(institution: Any) -> None:
    from ventanilla.identity.clients import CLIENT_CREDENTIALS, CONFIDENTIAL, client_approve, client_register
    from ventanilla.identity.models import ClientRegistration

    if ClientRegistration.objects.filter(application__client_id=CASE_API_CLIENT).exists():
        return
    registration, _secret = client_register(
        actor=None,
        institution=institution,
        name="Sistema de expedientes (bench)",
        client_type=CONFIDENTIAL,
        grant_type=CLIENT_CREDENTIALS,
        redirect_uris=[],
        post_logout_redirect_uris=[],
        allowed_scopes=["expedientes"],
        description="Cliente de make bench (base desechable).",
        client_id=CASE_API_CLIENT,
        client_secret=CASE_API_SECRET,
    )
    client_approve(actor=None, registration=registration, comment="make bench")


def generate_cases(target: int, seed: int = 20251201) -> dict[str, Any]:
    """COPY synthetic cases until ``target`` synthetic cases exist (plus a history for all open cases and
    a sample of closed ones). Statuses, channels, offices, procedures, assignees and dates follow a
    realistic mix over the institutions of the published demo definitions."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from ventanilla.cases.models import Case, CaseEvent
    from ventanilla.identity.models import Person

    started = time.monotonic()
    now = timezone.now()
    today = timezone.localdate()
    existing = Case.objects.filter(data__bench=True).count()
    setup = _case_setup(now, create=existing == 0)
    definitions = setup["definitions"]
    missing = max(0, target - existing)
    rng = random.Random(seed + existing)  # noqa: S311 - synthetic data, reproducible
    user_model = get_user_model()
    heavy_user = user_model.objects.filter(username=CASE_HEAVY_CITIZEN).first()
    heavy_person = Person.objects.filter(user=heavy_user).values_list("pk", flat=True).first()
    person_ids = list(Person.objects.order_by("pk").values_list("pk", flat=True))
    # Weights: each institution's demo definition gets as many cases as its nine variants together.
    weights = [CASE_DEFINITIONS_PER_INSTITUTION - 1 if d.pk in setup["demo_ids"] else 1 for d in definitions]
    plans = []
    for d in definitions:
        steps = [(s["code"], s.get("office") or "", int(s.get("sla_days") or 1)) for s in d.steps]
        office_ids = setup["offices"].get(d.institution_id) or [(None, "")]
        step_office = {code: next((pk for pk, c in office_ids if c == oc), None) for code, oc, _ in steps}
        plans.append(
            {
                "definition": d.pk,
                "procedure": d.procedure_id,
                "institution": d.institution_id,
                "steps": steps,
                "step_office": step_office,
                "offices": [pk for pk, _ in office_ids],
                "clerks": setup["clerks"].get(d.institution_id) or [None],
                "max_days": int(d.procedure.max_days or 15),
                "data": json.dumps({"bench": True, "nota": "expediente sintético de make bench"}),
            }
        )
    case_fields = [f for f in Case._meta.concrete_fields if f.column != "id"]
    case_columns = ["id"] + [f.column for f in case_fields]
    event_columns = [f.column for f in CaseEvent._meta.concrete_fields if f.column != "id"]
    counts: dict[str, int] = {}
    events: list[tuple[Any, ...]] = []
    day = 86400.0

    drafts = set(
        Case.objects.filter(status="borrador", channel="en_linea").values_list("applicant_id", "procedure_id")
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE cases_case IN EXCLUSIVE MODE")
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM cases_case")
            first_id = int(cursor.fetchone()[0]) + 1

        def rows() -> Any:
            for k in range(missing):
                number = existing + k
                plan = rng.choices(plans, weights=weights)[0]
                heavy = heavy_person is not None and number < CASE_HEAVY_COUNT
                status = _weighted(rng, CASE_STATUS_MIX)
                channel = "en_linea" if heavy else _weighted(rng, CASE_CHANNEL_MIX)
                steps = plan["steps"]
                clerk = rng.choice(plan["clerks"])
                applicant = heavy_person if heavy else rng.choice(person_ids)
                if status == "borrador" and channel == "en_linea":
                    # The app allows one online draft per person and procedure (case_one_online_draft).
                    for _ in range(5 if not heavy else 0):
                        if (applicant, plan["procedure"]) not in drafts:
                            break
                        applicant = rng.choice(person_ids)
                    if (applicant, plan["procedure"]) in drafts:
                        status = "vencido"
                    drafts.add((applicant, plan["procedure"]))
                counts[status] = counts.get(status, 0) + 1
                row: dict[str, Any] = {f.column: None for f in case_fields}
                row.update(
                    uuid=uuid_from(rng),
                    definition_id=plan["definition"],
                    procedure_id=plan["procedure"],
                    institution_id=plan["institution"],
                    applicant_id=applicant,
                    filed_by_id=(heavy_user.pk if heavy else None) if channel == "en_linea" else clerk,
                    channel=channel,
                    status=status,
                    data=plan["data"],
                    prefilled="{}",
                    current_step="",
                    version=1,
                    observation="",
                    outcome_reason="",
                )
                if status in ("borrador", "vencido"):
                    age = rng.uniform(0, 29) if status == "borrador" else rng.uniform(31, 365 * CASE_YEARS)
                    created = now - _td(age * day)
                    row.update(
                        created_at=created,
                        updated_at=created + _td(rng.uniform(0, 3600)),
                        draft_expires_at=created + _td(30 * day),
                    )
                    yield _case_tuple(first_id + k, row, case_fields)
                    continue
                row["tracking_code"] = _tracking_code(number)
                open_case = status in ("en_tramite", "observado")
                age = rng.uniform(0, 25) if open_case else rng.uniform(26, 365 * CASE_YEARS)
                submitted = now - _td(age * day)
                created = submitted - _td(rng.uniform(300, 2 * day))
                index = rng.randrange(len(steps)) if open_case else len(steps) - 1
                if status in ("rechazado", "abandonado"):
                    index = rng.randrange(len(steps))
                code, _office, sla = steps[index]
                office = plan["step_office"].get(code)
                if office is None or rng.random() < 0.3:
                    office = rng.choice(plan["offices"])
                # The current (or last) step started after the earlier ones; a closed case was worked
                # within about its procedure's maximum time.
                span = age - 0.01 if open_case else min(age - 1.5, plan["max_days"] * 1.2)
                step_started = submitted + _td(rng.uniform(0, max(0.01, span)) * day * (index > 0))
                row.update(
                    tracking_code=row["tracking_code"],
                    current_step=code,
                    office_id=office,
                    created_at=created,
                    submitted_at=submitted,
                    step_started_at=step_started,
                    due_date=(submitted + _td(plan["max_days"] * 1.4 * day)).date(),
                    version=1 + index + (status != "en_tramite"),
                )
                # The app keeps a closed case's last step due date (the queue orders by it).
                row["step_due_date"] = step_started.date() + _td(rng.choice((sla, sla + 1, sla + 2)) * day)
                if open_case:
                    row["assigned_to_id"] = clerk if rng.random() < 0.55 else None
                    if status == "observado":
                        row["observation"] = "Adjunte el documento legible: la copia enviada está cortada."
                        row["observation_due_date"] = today + _td(rng.randint(-1, 10) * day)
                    row["updated_at"] = max(step_started, submitted)
                else:
                    closed = step_started + _td(rng.uniform(0.05, 12) * day)
                    closed = min(closed, now - _td(day))
                    row["assigned_to_id"] = clerk
                    row["closed_at"] = closed
                    row["updated_at"] = closed
                    if status == "rechazado":
                        row["outcome_reason"] = "No cumple los requisitos del trámite."
                    elif status == "abandonado":
                        row["outcome_reason"] = "No presentó la corrección en el plazo."
                if open_case or rng.random() < CASE_EVENT_SHARE:
                    events.extend(_case_events(first_id + k, row, steps, index, clerk))
                yield _case_tuple(first_id + k, row, case_fields)

        copied = _copy_rows("cases_case", case_columns, rows())
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('cases_case', 'id'), "
                "(SELECT COALESCE(MAX(id), 1) FROM cases_case))"
            )
        made_events = _copy_rows(
            "cases_caseevent", event_columns, (_event_tuple(e, event_columns) for e in events)
        )
    if heavy_person is not None and existing == 0:
        _case_api_client(definitions[0].institution)
    analyze("cases_case", "cases_caseevent", "cases_proceduredefinition", vacuum=True)
    return {
        "created": copied,
        "total": existing + copied,
        "events": made_events,
        "statuses": counts,
        "definitions": len(definitions),
        "new_definitions": setup["new_definitions"],
        "seconds": round(time.monotonic() - started, 2),
    }


def _td(seconds: float) -> Any:
    return timedelta(seconds=seconds)


def uuid_from(rng: random.Random) -> Any:
    import uuid

    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _case_tuple(pk: int, row: dict[str, Any], fields: list[Any]) -> tuple[Any, ...]:
    return (pk, *(row[f.column] for f in fields))


def _case_events(case_id: int, row: dict[str, Any], steps: list[Any], index: int, clerk: Any) -> list[dict]:
    """The case's history: filed, the approvals up to its step, then its last action."""
    submitted = row["submitted_at"]
    first = steps[0][0]
    out = [
        {"kind": "presentado", "to_status": "en_tramite", "to_step": first, "at": submitted, "actor": None}
    ]
    span = (row["step_started_at"] - submitted) / max(1, index)
    for i in range(1, index + 1):
        out.append(
            {
                "kind": "aprobar",
                "from_status": "en_tramite",
                "to_status": "en_tramite",
                "from_step": steps[i - 1][0],
                "to_step": steps[i][0],
                "at": submitted + span * i,
                "actor": clerk,
            }
        )
    final = {
        "observado": ("observar", row["observation"]),
        "resuelto": ("resolver", ""),
        "rechazado": ("rechazar", row["outcome_reason"]),
        "abandonado": ("abandono", row["outcome_reason"]),
    }.get(row["status"])
    if final:
        at = row["closed_at"] or row["updated_at"]
        out.append(
            {
                "kind": final[0],
                "from_status": "en_tramite" if row["status"] != "abandonado" else "observado",
                "to_status": row["status"],
                "from_step": steps[index][0],
                "to_step": steps[index][0],
                "comment": final[1],
                "at": at,
                "actor": None if row["status"] == "abandonado" else clerk,
            }
        )
    for event in out:
        event["case_id"] = case_id
    return out


def _event_tuple(event: dict[str, Any], columns: list[str]) -> tuple[Any, ...]:
    values = {
        "case_id": event["case_id"],
        "kind": event["kind"],
        "actor_id": event.get("actor"),
        "from_status": event.get("from_status", ""),
        "to_status": event.get("to_status", ""),
        "from_step": event.get("from_step", ""),
        "to_step": event.get("to_step", ""),
        "comment": event.get("comment", ""),
        "internal": False,
        "created_at": event["at"],
    }
    return tuple(values[c] for c in columns)


def export_cases(out: Path) -> dict[str, Any]:
    """What the load generator needs for the case phases: the clerk, filter values, the heavy citizen and
    the API client; plus the data's shape."""
    from django.db.models import Count

    from ventanilla.cases.models import Case, CaseEvent, ProcedureDefinition
    from ventanilla.core.models import Institution

    first = ProcedureDefinition.objects.filter(status="publicada").order_by("pk").first()
    if first is None:
        raise SystemExit("No hay definiciones publicadas")
    institution = Institution.objects.get(pk=first.institution_id)
    from django.contrib.auth import get_user_model

    clerk = (
        get_user_model()
        .objects.filter(memberships__institution=institution, memberships__role="clerk")
        .exclude(username__startswith="funcionario-bench-")
        .order_by("pk")
        .first()
    )
    open_cases = Case.objects.filter(institution=institution, status__in=("en_tramite", "observado"))
    office = (
        open_cases.exclude(office=None).values("office").annotate(n=Count("id")).order_by("-n").first() or {}
    ).get("office")
    procedure = (open_cases.values("procedure").annotate(n=Count("id")).order_by("n").first() or {}).get(
        "procedure"
    )
    sample = (
        open_cases.exclude(tracking_code=None)
        .order_by("submitted_at")
        .values_list("tracking_code", "applicant__document_number")[:1]
    )
    slug = (
        Case.objects.filter(institution=institution, status="resuelto")
        .values_list("procedure__slug", flat=True)
        .first()
    )
    info = {
        "institution": institution.code,
        "clerk": clerk.username if clerk else "",
        "office": office,
        "procedure": procedure,
        "tracking_code": sample[0][0] if sample else "",
        "document_number": sample[0][1] if sample else "",
        "heavy_citizen": CASE_HEAVY_CITIZEN,
        "api_client": CASE_API_CLIENT,
        "api_secret": CASE_API_SECRET,
        "api_procedure": slug or "",
    }
    (out / "cases.json").write_text(json.dumps(info))
    return {
        "cases": Case.objects.count(),
        "open_cases": Case.objects.filter(status__in=("en_tramite", "observado")).count(),
        "institution_cases": Case.objects.filter(institution=institution).count(),
        "institution_open": open_cases.count(),
        "heavy_citizen_cases": Case.objects.filter(applicant__user__username=CASE_HEAVY_CITIZEN).count(),
        "case_events": CaseEvent.objects.count(),
        "clerk": info["clerk"],
    }


# --------------------------------------------------------------------------------------------------------
# Interoperability message log
# --------------------------------------------------------------------------------------------------------

LOG_DAYS = 365  # the full log spans a year; the 1× phase holds its oldest tenth
LOG_OUTCOMES = [  # (status, outcome, weight ‰)
    (200, "ok", 940),
    (404, "ok", 35),
    (403, "access_denied", 12),
    (401, "bad_client", 5),
    (502, "provider_error", 5),
    (504, "provider_timeout", 3),
]


def generate_interop_log(target: int, final: int, seed: int = 20251202) -> dict[str, Any]:
    """COPY message-log entries until the log holds ``target`` entries, each chained to the previous one
    with ``ventanilla.interop.services.entry_digest`` (the app's own function), and move the chain head.
    ``final`` is the size the log will reach: entry *k* is dated k/final of the way through the year, so a
    log grown in two steps looks like one written over a year."""
    from types import SimpleNamespace

    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from ventanilla.interop import services as interop_services
    from ventanilla.interop.demo import CONSUMER_SUBSYSTEM, PURPOSE
    from ventanilla.interop.models import LogHead, MessageLogEntry, Service, Subsystem
    from ventanilla.interop.services import EMPTY_HASH, GENESIS_HASH, entry_digest

    digest_version = getattr(interop_services, "DIGEST_VERSION", None)  # as log_append writes today

    started = time.monotonic()
    rng = random.Random(seed + target)  # noqa: S311 - synthetic data, reproducible
    services = list(Service.objects.select_related("subsystem__member__institution").order_by("pk"))
    consumers = list(
        Subsystem.objects.filter(code=CONSUMER_SUBSYSTEM).select_related("member__institution").order_by("pk")
    )
    if not services or not consumers:
        raise SystemExit("No hay servicios ni consumidores de interoperabilidad: ¿se ejecutó load_demo?")
    users = ["funcionario." + c.member.institution.code.lower() for c in consumers]
    doc_type = settings.COUNTRY_PACK.document_types[0].code
    fields = [f for f in MessageLogEntry._meta.concrete_fields if f.column != "id"]
    columns = [f.column for f in fields]
    origin = timezone.now() - timedelta(days=LOG_DAYS, hours=2)
    step = timedelta(days=LOG_DAYS) / max(1, final)
    with transaction.atomic():
        head, _ = LogHead.objects.select_for_update().get_or_create(pk=1)
        existing = head.seq
        missing = max(0, target - existing)
        prev = head.entry_hash or GENESIS_HASH
        last_created = (
            MessageLogEntry.objects.order_by("-seq").values_list("created_at", flat=True).first() or origin
        )
        state = {"prev": prev, "seq": existing}

        def rows() -> Any:
            for k in range(missing):
                seq = existing + k + 1
                created = max(origin + step * seq, last_created + timedelta(microseconds=k + 1))
                service = services[seq % len(services)] if rng.random() < 0.5 else rng.choice(services)
                consumer_index = rng.randrange(len(consumers))
                consumer = consumers[consumer_index]
                personal = bool(service.personal_data.strip())
                number = str(20_000_000 + rng.randrange(100_000))
                status, outcome = _weighted(rng, [((s, o), w) for s, o, w in LOG_OUTCOMES])  # type: ignore[misc]
                path = (
                    f"/personas/{doc_type}-{number}"
                    if personal
                    else f"/empresas/{rng.randrange(10**9, 10**10)}"
                )
                entry = SimpleNamespace(
                    seq=seq,
                    created_at=created,
                    request_id=f"{rng.getrandbits(128):032x}",
                    client=f"{consumer.member.institution.code}/{consumer.code}",
                    service_id_text=(
                        f"{service.subsystem.member.institution.code}/{service.subsystem.code}/{service.code}"
                    ),
                    service_id=service.pk,
                    consumer_id=consumer.pk,
                    method="GET",
                    path=path,
                    purpose=PURPOSE,
                    subject=f"{doc_type}-{number}" if personal else "",
                    user=users[consumer_index] if personal else "",
                    status=status,
                    outcome=outcome,
                    latency_ms=max(1, int(rng.lognormvariate(3.0, 0.6))),
                    request_hash=EMPTY_HASH,
                    response_hash=f"{rng.getrandbits(256):064x}" if outcome == "ok" else EMPTY_HASH,
                    request_body=None,
                    response_body=None,
                    prev_hash=state["prev"],
                    digest_version=digest_version,
                )
                entry.entry_hash = entry_digest(entry)  # type: ignore[arg-type]
                state["prev"] = entry.entry_hash
                state["seq"] = seq
                yield tuple(getattr(entry, c) for c in columns)

        copied = _copy_rows(MessageLogEntry._meta.db_table, columns, rows())
        LogHead.objects.filter(pk=1).update(seq=state["seq"], entry_hash=state["prev"])
    analyze(MessageLogEntry._meta.db_table, vacuum=True)
    return {
        "created": copied,
        "total": state["seq"],
        "head": state["prev"][:16],
        "seconds": round(time.monotonic() - started, 2),
    }


def interop_setup(provider_base: str, out: Path) -> dict[str, Any]:
    """Point the demo registries at the provider server of the bench (its own gunicorn: the mediator must
    not call back into the server it runs in) and write what the load generator needs."""
    from django.conf import settings

    from ventanilla.interop.demo import DEMO_CONSUMERS, PURPOSE, demo_registries, demo_secret
    from ventanilla.interop.demo_registries import COMPANIES, person_records

    services = demo_registries(provider_base)
    consumer = DEMO_CONSUMERS.get(settings.COUNTRY_PACK.code, ["GAMLP"])[0]
    calls = []
    for service in services:
        personal = bool(service.personal_data.strip())
        if personal:
            keys = sorted(person_records())[:5]
            paths = [f"/personas/{k}" for k in keys]
        else:
            paths = [f"/empresas/{c['nit']}" for c in COMPANIES[settings.COUNTRY_PACK.code]]
        for path in paths:
            calls.append(
                {
                    "direct": service.base_url.replace(provider_base.rstrip("/"), "") + path,
                    "mediated": f"/interop/r1/{service.identifier}{path}",
                    "secret": service.provider_secret,
                    "subject": path.rsplit("/", 1)[1] if personal else "",
                }
            )
    info = {
        "client_id": f"interop-{consumer.lower()}-expedientes",
        "secret": demo_secret(consumer),
        "client": f"{consumer}/EXPEDIENTES",
        "user": f"funcionario.{consumer.lower()}",
        "purpose": PURPOSE.split(";")[0].strip(),  # a right may name several purposes ("a; b")
        "calls": calls,
    }
    (out / "interop.json").write_text(json.dumps(info))
    return {"services": [s.identifier for s in services], "calls": len(calls)}


# --------------------------------------------------------------------------------------------------------
# E-mail outbox
# --------------------------------------------------------------------------------------------------------


def outbox_enqueue(count: int, prefix: str = "bench") -> dict[str, Any]:
    """Queue ``count`` e-mails through ``ventanilla.inbox.services.message_queue`` (one transaction each,
    as the app does: the row, its audit entry, then the RQ job on commit). Returns the time it took."""
    from ventanilla.core.models import Institution
    from ventanilla.inbox.services import message_queue

    institution = Institution.objects.order_by("pk").values_list("pk", flat=True).first()
    started = time.monotonic()
    for n in range(count):
        message_queue(
            institution_id=institution,
            channel="email",
            to=f"persona{20_000_000 + n}@example.bo",
            subject="Tiene una nueva notificación",
            body=(
                "Tiene una nueva notificación en su buzón de Ventanilla. Para leerla, ingrese a su cuenta: "
                "https://ventanilla.example/cuenta/notificaciones/\n\nEste mensaje no incluye el contenido."
            ),
            reference=f"{prefix}-{n}",
        )
    seconds = time.monotonic() - started
    return {"queued": count, "seconds": round(seconds, 3), "per_second": round(count / seconds, 1)}


# --------------------------------------------------------------------------------------------------------
# Export for the load generator
# --------------------------------------------------------------------------------------------------------


def export(out: Path, slugs_sample: int = 3000, seed: int = 11) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from ventanilla.catalog.models import Procedure
    from ventanilla.identity.models import Person

    out.mkdir(parents=True, exist_ok=True)
    slugs = list(Procedure.objects.filter(status="publicado").values_list("slug", flat=True))
    random.Random(seed).shuffle(slugs)  # noqa: S311 - sampling, not security
    (out / "slugs.txt").write_text("\n".join(slugs[:slugs_sample]) + "\n")
    usernames = list(
        get_user_model()
        .objects.filter(username__startswith=BENCH_ACCOUNT_PREFIX)
        .order_by("username")
        .values_list("username", flat=True)
    )
    (out / "accounts.txt").write_text("\n".join(usernames) + "\n")
    # The demo clients' secrets (env or documented defaults) for the token endpoint phases.
    from ventanilla.identity.demo_clients import DEMO_CLIENTS

    secrets = {d.client_id: d.secret() for d in DEMO_CLIENTS if d.secret()}
    (out / "clients.json").write_text(json.dumps(secrets))
    return {
        "procedures": Procedure.objects.count(),
        "published": Procedure.objects.filter(status="publicado").count(),
        "persons": Person.objects.count(),
        "accounts": len(usernames),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    base = sub.add_parser("base")
    base.add_argument("--persons", type=int, default=100_000)
    base.add_argument("--accounts", type=int, default=300)
    base.add_argument("--password", required=True)
    base.add_argument("--target", type=int, default=1_000)
    grow = sub.add_parser("procedures")
    grow.add_argument("--target", type=int, required=True)
    exp = sub.add_parser("export")
    exp.add_argument("--out", type=Path, required=True)
    cases = sub.add_parser("cases")
    cases.add_argument("--target", type=int, required=True)
    cases.add_argument("--out", type=Path, required=True)
    log_ = sub.add_parser("interop-log")
    log_.add_argument("--target", type=int, required=True)
    log_.add_argument("--final", type=int, required=True)
    isetup = sub.add_parser("interop-setup")
    isetup.add_argument("--provider-base", required=True)
    isetup.add_argument("--out", type=Path, required=True)
    outbox = sub.add_parser("outbox-enqueue")
    outbox.add_argument("--count", type=int, required=True)
    outbox.add_argument("--prefix", default="bench")
    args = parser.parse_args(argv)

    setup_django()
    result: dict[str, Any] = {}
    if args.command == "base":
        result["persons"] = generate_persons(args.persons, args.accounts, args.password)
        result["procedures"] = generate_procedures(args.target)
    elif args.command == "procedures":
        result["procedures"] = generate_procedures(args.target)
    elif args.command == "cases":
        result["cases"] = generate_cases(args.target)
        result["shape"] = export_cases(args.out)
    elif args.command == "interop-log":
        result["log"] = generate_interop_log(args.target, args.final)
    elif args.command == "interop-setup":
        result = interop_setup(args.provider_base, args.out)
    elif args.command == "outbox-enqueue":
        result = outbox_enqueue(args.count, args.prefix)
    else:
        result = export(args.out)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
