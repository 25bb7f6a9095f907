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

Modules that do not exist yet (cases, interoperability log, e-mail outbox) have a slot in ``PENDING``; the
runner reports them as pending until a generator is written here.
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

# Generators still to write, by the module they need (see bench/README.md).
PENDING = {
    "cases": "1.000.000 expedientes (módulo de expedientes)",
    "interop": "1.000.000 entradas de la bitácora de interoperabilidad (mediador)",
    "outbox": "bandeja de salida de correo electrónico",
}

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


def analyze(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            return
        for table in tables:
            cursor.execute(f"ANALYZE {table}")


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
    args = parser.parse_args(argv)

    setup_django()
    result: dict[str, Any] = {}
    if args.command == "base":
        result["persons"] = generate_persons(args.persons, args.accounts, args.password)
        result["procedures"] = generate_procedures(args.target)
    elif args.command == "procedures":
        result["procedures"] = generate_procedures(args.target)
    else:
        result = export(args.out)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
