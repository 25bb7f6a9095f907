"""One entry point that loads every module's demo data for the configured country, in dependency order.
Each step is idempotent; the whole run is repeatable (`make run` calls it every time)."""

from __future__ import annotations

from ventanilla.cases.demo import load_demo_cases
from ventanilla.catalog.demo_loader import load_demo as load_catalog_demo
from ventanilla.documents.demo import load_demo_documents
from ventanilla.identity.demo_clients import demo_client_credentials, load_demo_clients
from ventanilla.identity.demo_people import load_demo_people
from ventanilla.inbox.demo import load_demo_inbox
from ventanilla.interop.demo import load_demo_interop


def load_all() -> list[str]:
    report = load_catalog_demo()
    lines = [
        f"Catálogo: {report.institutions} instituciones, {report.offices} oficinas, trámites "
        f"{report.procedures_created} nuevos / {report.procedures_updated} actualizados / "
        f"{report.procedures_unchanged} sin cambios, {report.simplifications} simplificaciones, "
        f"{report.users} cuentas de gestión.",
    ]
    people = load_demo_people()
    lines.append(f"Ciudadanía Digital: {people} personas y funcionarios de demostración.")
    clients = load_demo_clients()
    lines.append(f"Aplicaciones cliente de demostración: {len(clients)}.")
    for credential in demo_client_credentials():
        lines.append("  " + ", ".join(f"{k}={v}" for k, v in credential.items() if v))
    lines.extend(load_demo_inbox())
    lines.extend(load_demo_interop())
    lines.extend(load_demo_documents())
    # Last: cases use every other module (documents, inbox, interop registries).
    lines.extend(load_demo_cases())
    return lines
