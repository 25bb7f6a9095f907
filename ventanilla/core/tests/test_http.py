"""What every HTTP client sees: security headers, request ids, health probes, error pages, accessible HTML."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client, override_settings


class Page(HTMLParser):
    """Collects what the assertions need from an HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.h1_count = 0
        self.inline_scripts: list[str] = []
        self._in_script: dict[str, str | None] | None = None
        self._script_text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "h1":
            self.h1_count += 1
        if tag == "script":
            self._in_script = attributes
            self._script_text = []

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            self._script_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script is not None:
            executable = self._in_script.get("type") in (None, "", "text/javascript", "module")
            if executable and not self._in_script.get("src"):
                self.inline_scripts.append("".join(self._script_text))
            self._in_script = None

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def with_attribute(self, attribute: str) -> list[str]:
        return [name for name, attrs in self.tags if attribute in attrs]


def _html(response: Any) -> Page:
    assert response["Content-Type"].startswith("text/html")
    return Page(response.content.decode())


# -- headers on every response ----------------------------------------------------------------------------

URLS = [
    "/",
    "/health/live",
    "/health/ready",
    "/no-existe-esta-pagina/",
    "/api/v1/no-existe",
    "/api/v1/openapi.json",
]


def _assert_security_headers(response: Any) -> None:
    csp = response["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("url", URLS)
def test_every_response_carries_security_headers(client: Client, db: Any, url: str) -> None:
    response = client.get(url)
    _assert_security_headers(response)
    assert len(response["X-Request-Id"]) == 32
    assert response["X-Request-Id"] != client.get(url)["X-Request-Id"]


@pytest.mark.parametrize("url", URLS)
def test_request_id_sent_by_the_client_is_echoed(client: Client, db: Any, url: str) -> None:
    response = client.get(url, HTTP_X_REQUEST_ID="trazabilidad-42")
    assert response["X-Request-Id"] == "trazabilidad-42"


def test_security_headers_on_logged_in_pages_and_posts(bob_client: Client) -> None:
    response = bob_client.post("/health/live")  # GET-only probe: 405, still with headers
    assert response.status_code == 405
    _assert_security_headers(response)
    _assert_security_headers(bob_client.get("/"))


def test_static_files_carry_security_headers_too(db: Any) -> None:
    with override_settings(WHITENOISE_USE_FINDERS=True):
        client = Client()  # a new handler, so WhiteNoise reads the overridden setting
        response = client.get("/static/ventanilla/css/ventanilla.css", HTTP_X_REQUEST_ID="estatico-1")
        assert response.status_code == 200
        _assert_security_headers(response)
        assert response["X-Request-Id"] == "estatico-1"


# -- health probes ----------------------------------------------------------------------------------------


def test_health_live(client: Client) -> None:
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_health_ready_checks_the_database(client: Client, db: Any) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert "no-store" in response["Cache-Control"]


# -- error pages ------------------------------------------------------------------------------------------


def test_unknown_page_is_a_spanish_404_page(client: Client, db: Any) -> None:
    response = client.get("/no-existe-esta-pagina/")
    assert response.status_code == 404
    page = _html(response)
    assert page.all("html")[0].get("lang") == "es"
    assert page.h1_count == 1
    text = response.content.decode()
    assert "Página no encontrada" in text
    assert "Código de error: 404" in text
    assert "Traceback" not in text
    assert page.inline_scripts == []
    assert page.with_attribute("style") == []


def test_unknown_page_asked_as_json_gets_the_error_format(client: Client, db: Any) -> None:
    response = client.get("/no-existe-esta-pagina/", HTTP_ACCEPT="application/json")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


@pytest.mark.parametrize("url", ["/api/v1/no-existe", "/api/v1/no/existe/tampoco/", "/api/v1/"])
def test_unknown_api_path_is_a_json_404_in_the_error_format(client: Client, db: Any, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert set(body) == {"errors"}
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert set(error) == {"code", "message", "field"}
    assert error["code"] == "not_found"
    assert error["message"]
    assert error["field"] is None


# -- the home page's HTML ---------------------------------------------------------------------------------


def test_home_page_is_accessible_and_csp_clean(client: Client, procedure_a: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = _html(response)
    html_tag = page.all("html")
    assert len(html_tag) == 1
    assert html_tag[0].get("lang") == "es"
    assert page.h1_count == 1

    # The first link is the skip link, and its target exists.
    first_link = page.all("a")[0]
    assert first_link.get("href") == "#contenido"
    assert [a for a in page.all("main") if a.get("id") == "contenido"]

    # Nothing the CSP would block: no inline styles, no inline scripts or handlers.
    assert page.with_attribute("style") == []
    assert page.all("style") == []
    assert page.inline_scripts == []
    scripts = page.all("script")
    assert scripts
    for script in scripts:
        assert script.get("src"), script
        assert str(script["src"]).startswith("/static/"), script
    handlers = [attr for _, attrs in page.tags for attr in attrs if attr.startswith("on")]
    assert handlers == []


def test_api_docs_page_works_under_the_csp(client: Client, db: Any) -> None:
    """The footer links to the API docs; the CSP only allows same-origin scripts and styles there too."""
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = _html(response)
    assert page.inline_scripts == []
    for script in page.all("script"):
        if script.get("type") == "application/json":
            continue
        assert str(script.get("src", "")).startswith("/static/"), script
    for link in page.all("link"):
        assert str(link.get("href", "")).startswith("/static/"), link
