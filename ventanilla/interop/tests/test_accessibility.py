"""Accessibility of the interop pages in Debian's Chromium (axe-core: no serious/critical finding), no
sideways scrolling at 320 px, and no Content-Security-Policy violation. Skipped without Chromium."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from conftest import login
from ventanilla.identity.tests.conftest import make_citizen
from ventanilla.interop.models import Service

from .conftest import build_world

BLOCKING = {"serious", "critical"}
CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Chromium (Debian) is not installed")


def test_pages_are_accessible_reflow_and_respect_csp(
    live_server: Any, interop_log_flushable: Any, institution_a: Any, institution_b: Any, bob: Any
) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    world = build_world(live_server.url, institution_a, institution_b)
    Service.objects.filter(pk=world.service.pk).update(
        needs_consent=True,
        openapi={"openapi": "3.0.3", "paths": {"/personas/{d}": {"get": {"summary": "Una"}}}},
    )
    world.call()
    citizen = make_citizen("CI-4567891", number="4567891")
    pages = {
        None: ["/interoperabilidad/", "/interoperabilidad/servicios/INSTA/REGISTRO/personas/"],
        citizen: ["/cuenta/consentimientos/"],
        bob: [
            "/gestion/interoperabilidad/",
            f"/gestion/interoperabilidad/subsistemas/{world.provider.pk}/",
            f"/gestion/interoperabilidad/servicios/{world.service.pk}/",
            f"/gestion/interoperabilidad/servicios/{world.service.pk}/editar/",
            "/gestion/interoperabilidad/subsistemas/nuevo/",
            "/gestion/interoperabilidad/accesos/solicitar/",
        ],
    }
    problems = []
    cookies = {}
    for user in pages:
        if user is not None:
            cookies[user.pk] = login(user).cookies["sessionid"].value
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for user, urls in pages.items():
            for width in (1280, 320):
                context = browser.new_context(viewport={"width": width, "height": 800})
                if user is not None:
                    context.add_cookies(
                        [{"name": "sessionid", "value": cookies[user.pk], "url": live_server.url}]
                    )
                page = context.new_page()
                messages = []
                page.on("console", lambda m, seen=messages: seen.append(m.text))
                for url in urls:
                    response = page.goto(live_server.url + url)
                    assert response.status == 200, url
                    if width == 1280:
                        violations = [
                            v for v in Axe().run(page).response["violations"] if v.get("impact") in BLOCKING
                        ]
                        for v in violations:
                            problems.append((url, v["id"], [n["html"][:120] for n in v["nodes"][:3]]))
                    else:
                        sw = page.evaluate("document.documentElement.scrollWidth")
                        if sw > 320:
                            problems.append((url, "reflow", sw))
                csp = [m for m in messages if "Content Security Policy" in m or "Refused" in m]
                if csp:
                    problems.append((urls, "csp", csp[:3]))
                context.close()
        browser.close()
    assert not problems, problems
