"""End to end in a real browser (issue 8): a citizen finds a procedure, signs in with Ciudadanía Digital,
fills the form (with uploads), reviews, submits and gets a tracking code; a clerk of the institution
approves and resolves it in the back office; the citizen sees the result and the signed resolution.

Every page of the flow also passes the accessibility gate (axe: no serious or critical violation) and
reports no Content-Security-Policy violation. Data: the whole demo data set (``load_all``)."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from django.conf import settings

from ventanilla.catalog.demo_loader import DEFAULT_DEMO_PASSWORD, DEMO_PASSWORD_ENV

from .conftest import NO_CHROMIUM_REASON, chromium_available
from .test_accessibility import ConsoleLog, _axe_findings, _context, _describe

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason=NO_CHROMIUM_REASON),
    pytest.mark.skipif(settings.VENTANILLA_COUNTRY != "BO", reason="uses the Bolivian demo data set"),
]
PASSWORD = os.environ.get(DEMO_PASSWORD_ENV, DEFAULT_DEMO_PASSWORD)
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
SLUG = "licencia-de-funcionamiento"


@pytest.fixture
def full_demo(live_server: Any, audit_log_flushable: None) -> str:
    from ventanilla.demo.loader import load_all

    load_all()
    return str(live_server.url)


@pytest.fixture
def chromium(full_demo: str) -> Any:
    if not chromium_available():
        pytest.skip(NO_CHROMIUM_REASON)
    from playwright.sync_api import sync_playwright

    from .conftest import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()


def _sign_in(page: Any, username: str) -> None:
    page.fill('input[name="identifier"]', username)
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation(wait_until="load"):
        page.locator('main form button[type="submit"]').click()


def _accessible(subtests: Any, page: Any, name: str, console: ConsoleLog) -> None:
    with subtests.test(msg=f"{name}: axe sin infracciones graves o críticas", url=page.url):
        violations = _axe_findings(page)
        assert not violations, f"{page.url}\n{_describe(violations)}"
    with subtests.test(msg=f"{name}: sin infracciones de CSP", url=page.url):
        assert not console.csp_violations(page), page.url


def test_citizen_applies_and_clerk_resolves_in_the_browser(
    full_demo: str, chromium: Any, subtests: Any
) -> None:
    base = full_demo
    console = ConsoleLog()
    citizen_context = _context(chromium, 1280, 900)
    page = console.watch(citizen_context.new_page())

    # Find the procedure and start it.
    page.goto(f"{base}/tramites/?q=licencia+de+funcionamiento", wait_until="load")
    with page.expect_navigation(wait_until="load"):
        page.locator(f'#resultados a[href="/tramites/{SLUG}/"]').first.click()
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Iniciar trámite").click()
    assert "/cuenta/ingresar/" in page.url, page.url
    _sign_in(page, "CI-4567891")
    assert "/mis-tramites/borrador/" in page.url, page.url
    _accessible(subtests, page, "formulario del trámite", console)

    # The name comes from Ciudadanía Digital; fill the rest, upload two documents.
    assert page.input_value("#id_f-titular") == "Juan Carlos Quispe Mamani"
    page.fill("#id_f-nombre_comercial", "Tienda Illimani")
    page.locator("label.usa-radio__label", has_text="Comercio minorista").click()
    assert page.locator('[data-show-if-field="f-rubro"]').is_hidden()  # «Describa la actividad» hidden
    page.locator("label.usa-radio__label", has_text=re.compile("^Otro$")).click()
    assert page.locator('[data-show-if-field="f-rubro"]').is_visible()
    page.locator("label.usa-radio__label", has_text="Comercio minorista").click()
    page.fill("#id_f-superficie", "45")
    page.select_option("#id_f-direccion-department", "L")
    page.fill("#id_f-direccion-municipality", "La Paz")
    page.fill("#id_f-direccion-street", "Calle Sagárnaga N° 215")
    for name in ("croquis", "contrato"):
        page.set_input_files(
            f"#id_f-{name}", files=[{"name": f"{name}.pdf", "mimeType": "application/pdf", "buffer": PDF}]
        )
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Continuar y revisar").click()
    assert page.url.endswith("/revisar/"), page.url
    assert page.get_by_text("Tienda Illimani").count() >= 1
    _accessible(subtests, page, "revisión antes de presentar", console)
    page.locator('label[for="id_confirmo"]').click()
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Presentar solicitud").click()
    code = page.locator(".font-mono-md").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]", code), code
    assert "En trámite" in page.locator("main").text_content()
    _accessible(subtests, page, "mi trámite", console)

    # A clerk of the municipality approves twice and resolves.
    clerk_context = _context(chromium, 1280, 900)
    clerk = console.watch(clerk_context.new_page())
    clerk.goto(f"{base}/cuenta/ingresar/?next=/gestion/expedientes/", wait_until="load")
    _sign_in(clerk, "funcionario.gamlp")
    assert clerk.get_by_text(code).count() >= 1, "el expediente no aparece en la bandeja"
    _accessible(subtests, clerk, "bandeja de expedientes", console)
    clerk.goto(f"{base}/gestion/expedientes/{code}/", wait_until="load")
    _accessible(subtests, clerk, "expediente (gestión)", console)
    for action in ("approve", "approve", "resolve"):
        with clerk.expect_navigation(wait_until="load"):
            clerk.locator(f"#accion-{action} button[type=submit]").click()
    assert "Resuelto" in clerk.locator("main").text_content()

    # The citizen sees the result and downloads the signed resolution.
    page.reload(wait_until="load")
    assert "Resuelto" in page.locator("main").text_content()
    with page.expect_download() as download:
        page.get_by_role("link", name="Resolución firmada (PDF)").click()
    path = download.value.path()
    assert path is not None and path.read_bytes()[:5] == b"%PDF-"
    for context in (clerk_context, citizen_context):
        context.close()
