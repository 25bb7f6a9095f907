"""Browser and accessibility gate (issue 8): the real application, served by pytest-django's live server,
driven by Debian's Chromium through Playwright.

For every page that exists today (the public catalogue pages, the sign-in page and the back office list
signed in as a demo editor):

- axe-core (axe-playwright-python, default rule set) finds no violation of impact "serious" or
  "critical" — WCAG 2.1 AA is the target, and those are the findings that block people;
- at 320 CSS px wide (WCAG 1.4.10 Reflow) the page does not scroll sideways;
- the browser reports no Content-Security-Policy violation, at either width (a "Refused to …" or "…
  violates the following Content Security Policy directive …" console message, or a
  ``securitypolicyviolation`` event): the CSP has no 'unsafe-inline', so an inline style or script that
  slips into a template is silently dropped in production. Other console errors are recorded (printed and
  attached to the test report as ``console_errors``) but do not fail the run.

And the main citizen flow works with the keyboard alone: Tab to the search box, type, Enter, Tab to the
first result, Enter, and the procedure page is open.

Data: the country's demo data set (``load_demo()``). A live-server test is transactional and pytest-django
flushes the database after each one, so data cannot outlive a test; instead every page is a *subtest* of
one test (pytest's ``subtests`` fixture), so the data is loaded once for all the page checks and each
finding is still reported on its own. The keyboard flow is a second test with its own load.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from ventanilla.catalog.demo_loader import DEFAULT_DEMO_PASSWORD, DEMO_PASSWORD_ENV

from .conftest import NO_CHROMIUM_REASON, chromium_available

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason=NO_CHROMIUM_REASON),
    pytest.mark.skipif(
        settings.VENTANILLA_COUNTRY != "BO",
        reason="the pages and the demo editor below come from the Bolivian demo data set",
    ),
]

PUBLIC_PAGES = [
    ("inicio", "/"),
    ("búsqueda", "/tramites/?q=licencia"),
    ("trámite", "/tramites/licencia-de-conducir/"),
    ("instituciones", "/instituciones/"),
    ("institución", "/instituciones/SEGIP/"),
    ("estadísticas", "/estadisticas/"),
    ("simplificación", "/simplificacion/"),
    ("ingreso", "/cuenta/ingresar/"),
    ("seguimiento de trámites", "/seguimiento/"),
    ("verificación de documentos", "/verificar/"),
    ("catálogo de interoperabilidad", "/interoperabilidad/"),
]
# The main citizen pages, signed in as the demo citizen with level «verificado» (identity/demo_people.py).
CITIZEN_PAGES = [
    ("mis trámites", "/mis-tramites/"),
    ("mis datos y nivel", "/cuenta/"),
    ("notificaciones", "/cuenta/notificaciones/"),
    ("documentos para aprobar", "/cuenta/aprobaciones/"),
    ("consentimientos", "/cuenta/consentimientos/"),
    ("¿quién usó mis datos?", "/cuenta/uso-de-mis-datos/"),
]
DEMO_CITIZEN = "CI-5123987-1B"
# Back-office pages of the demo clerk and supervisor of the municipality of La Paz.
STAFF_PAGES = [
    ("bandeja de expedientes", "/gestion/expedientes/"),
    ("panel de supervisión", "/gestion/expedientes/panel/"),
]
DEMO_SUPERVISOR = "supervisor.gamlp"
BACK_OFFICE_LIST = "/gestion/"
# A SEGIP editor of the demo data set (catalog/demo/bo/users.json), with the demo password.
DEMO_EDITOR = ("editor.segip", os.environ.get(DEMO_PASSWORD_ENV, DEFAULT_DEMO_PASSWORD))

BLOCKING_IMPACTS = {"serious", "critical"}
NARROW_WIDTH = 320

# Injected before any page script (outside the page's CSP): keeps every CSP violation the page reports.
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} ` +
    `(${e.sourceFile || "?"}:${e.lineNumber || "?"})`);
});
"""

# The innermost elements whose right edge passes the viewport: what makes a narrow page scroll sideways.
OVERFLOWING_ELEMENTS = """
(width) => {
  const over = (el) => el.getBoundingClientRect().right > width + 0.5;
  const classes = (el) => (typeof el.className === "string" ? el.className.trim() : "");
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (classes(el) ? "." + classes(el).split(/\\s+/).join(".") : "");
  return Array.from(document.querySelectorAll("body *"))
    .filter((el) => over(el) && !Array.from(el.children).some(over))
    .slice(0, 8)
    .map((el) => `${name(el)} (right=${Math.round(el.getBoundingClientRect().right)})`);
}
"""


def _is_csp_message(text: str) -> bool:
    # Older Chromium says "Refused to apply inline style…"; current Debian Chromium says "Applying inline
    # style violates the following Content Security Policy directive…".
    return "Refused to" in text or "Content Security Policy" in text


class ConsoleLog:
    """Console errors of every watched page, each with the address of the page that logged it."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []

    def watch(self, page: Any) -> Any:
        page.on("console", lambda m: m.type == "error" and self.entries.append((page.url, m.text)))
        page.on("pageerror", lambda exc: self.entries.append((page.url, f"uncaught exception: {exc}")))
        return page

    def mark(self) -> int:
        return len(self.entries)

    def csp_violations(self, *pages: Any, since: int = 0) -> list[str]:
        logged = [f"{url}: {text}" for url, text in self.entries[since:] if _is_csp_message(text)]
        for page in pages:
            logged += [f"{page.url}: {e}" for e in page.evaluate("window.__cspViolations || []")]
        return logged

    def by_page(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for url, text in self.entries:
            grouped.setdefault(url, []).append(text)
        return grouped


def _context(browser: Any, width: int, height: int, **options: Any) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="es-BO", **options)
    context.add_init_script(CSP_RECORDER)
    return context


@pytest.fixture
def desktop(browser: Any) -> Iterator[Any]:
    context = _context(browser, 1280, 900)
    yield context
    context.close()


def _axe_findings(page: Any) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [v for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS]


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} — {v['helpUrl']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:300]}")
        if len(v["nodes"]) > 5:
            lines.append(f"    … and {len(v['nodes']) - 5} more elements")
    return "\n".join(lines)


def _check_page(subtests: Any, name: str, url: str, wide: Any, narrow: Any, console: ConsoleLog) -> None:
    """Every check of one page, each its own subtest: ``wide`` is a desktop-sized page (it may already
    show ``url``), ``narrow`` a 320 px wide one."""
    mark = console.mark()
    if wide.url != url:
        response = wide.goto(url, wait_until="load")
        with subtests.test(msg=f"{name}: responde 200", url=url):
            assert response is not None and response.status == 200, f"{url} → {response and response.status}"
    with subtests.test(msg=f"{name}: axe sin infracciones graves o críticas", url=url):
        violations = _axe_findings(wide)
        assert not violations, f"{url}\n{_describe(violations)}"
    with subtests.test(msg=f"{name}: sin desplazamiento horizontal a {NARROW_WIDTH} px", url=url):
        narrow.goto(url, wait_until="load")
        width = narrow.evaluate("document.documentElement.scrollWidth")
        culprits = [] if width <= NARROW_WIDTH else narrow.evaluate(OVERFLOWING_ELEMENTS, NARROW_WIDTH)
        assert width <= NARROW_WIDTH, f"{url}: scrollWidth {width} > {NARROW_WIDTH}; sobresalen: {culprits}"
    with subtests.test(msg=f"{name}: sin infracciones de CSP", url=url):
        violations = console.csp_violations(wide, narrow, since=mark)
        assert not violations, "\n".join(violations)


def test_pages_are_accessible_reflow_and_respect_csp(
    live_server: Any,
    audit_log_flushable: None,
    demo_site: str,
    browser: Any,
    desktop: Any,
    subtests: Any,
    record_property: Any,
) -> None:
    console = ConsoleLog()
    narrow_context = _context(browser, NARROW_WIDTH, 640)
    wide, narrow = console.watch(desktop.new_page()), console.watch(narrow_context.new_page())
    for name, path in PUBLIC_PAGES:
        _check_page(subtests, name, demo_site + path, wide, narrow, console)

    # The back office list, signed in as a demo editor through the real sign-in form.
    staff_context = _context(browser, 1280, 900)
    staff = console.watch(staff_context.new_page())
    staff.goto(f"{demo_site}/cuenta/ingresar/?next={BACK_OFFICE_LIST}", wait_until="load")
    staff.fill('input[name="identifier"]', DEMO_EDITOR[0])
    staff.fill('input[name="password"]', DEMO_EDITOR[1])
    with staff.expect_navigation(wait_until="load"):
        staff.locator('main form button[type="submit"]').click()
    with subtests.test(msg="gestión: el editor de demostración ingresa con el formulario"):
        assert staff.url == demo_site + BACK_OFFICE_LIST, f"tras ingresar quedó en {staff.url}"
    narrow_staff_context = _context(browser, NARROW_WIDTH, 640, storage_state=staff_context.storage_state())
    narrow_staff = console.watch(narrow_staff_context.new_page())
    _check_page(subtests, "gestión", demo_site + BACK_OFFICE_LIST, staff, narrow_staff, console)
    for context in (narrow_staff_context, staff_context):
        context.close()

    # The citizen's pages and the supervisor's pages, each signed in through the real form.
    for username, pages in ((DEMO_CITIZEN, CITIZEN_PAGES), (DEMO_SUPERVISOR, STAFF_PAGES)):
        signed_context = _context(browser, 1280, 900)
        signed = console.watch(signed_context.new_page())
        signed.goto(f"{demo_site}/cuenta/ingresar/?next={pages[0][1]}", wait_until="load")
        signed.fill('input[name="identifier"]', username)
        signed.fill('input[name="password"]', DEMO_EDITOR[1])
        with signed.expect_navigation(wait_until="load"):
            signed.locator('main form button[type="submit"]').click()
        with subtests.test(msg=f"{username}: ingresa con el formulario"):
            assert signed.url == demo_site + pages[0][1], f"tras ingresar quedó en {signed.url}"
        narrow_signed_context = _context(
            browser, NARROW_WIDTH, 640, storage_state=signed_context.storage_state()
        )
        narrow_signed = console.watch(narrow_signed_context.new_page())
        for name, path in pages:
            _check_page(subtests, name, demo_site + path, signed, narrow_signed, console)
        for context in (narrow_signed_context, signed_context):
            context.close()
    narrow_context.close()

    if console.entries:
        record_property("console_errors", json.dumps(console.by_page(), ensure_ascii=False))
        print("Errores de consola (registrados; solo las infracciones de CSP hacen fallar la prueba):")
        for url, errors in console.by_page().items():
            for error in errors:
                print(f"  {url}: {error}")


def _tab_to(page: Any, selector: str, *, limit: int) -> list[str]:
    """Press Tab until the first element matching ``selector`` has focus; return the focus path."""
    path: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        path.append(
            page.evaluate(
                "() => { const e = document.activeElement; return e ? "
                "`${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''} ${(e.innerText || e.name || '')"
                ".trim().slice(0, 40)}` : '' }"
            )
        )
        if page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector):
            return path
    raise AssertionError(f"{limit} pulsaciones de Tab no llegaron a {selector}; recorrido: {path}")


def test_search_flow_works_with_the_keyboard_only(
    live_server: Any, audit_log_flushable: None, demo_site: str, desktop: Any
) -> None:
    console = ConsoleLog()
    page = console.watch(desktop.new_page())
    page.goto(demo_site + "/", wait_until="load")
    _tab_to(page, "#buscar-tramite", limit=25)
    page.keyboard.type("licencia de conducir")
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    assert "/tramites/" in page.url and "q=licencia" in page.url, page.url
    first_result = "#resultados .usa-collection a"
    assert page.locator(first_result).count() > 0, "la búsqueda no devolvió resultados"
    _tab_to(page, first_result, limit=150)
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text().strip() == "Licencia de conducir", page.url
    assert not console.csp_violations(page)
