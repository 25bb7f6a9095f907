"""A tiny cookie-keeping HTTP client (http.client, keep-alive when the server allows it) for the steps that
need a signed-in session: sign-in, OIDC consent and authorization codes. Loopback only."""

from __future__ import annotations

import base64
import hashlib
import html
import http.client
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'([\w:-]+)="([^"]*)"')

LOGIN_PATH = "/cuenta/ingresar/"
AUTHORIZE_PATH = "/authorize/"
TOKEN_PATH = "/token/"  # noqa: S105 - a URL path
REDIRECT_URI = "http://127.0.0.1:8080/callback"


class BenchHttpError(RuntimeError):
    pass


@dataclass
class Response:
    status: int
    headers: Any
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Browser:
    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def close(self) -> None:
        self.conn.close()

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=sent)
            resp = self.conn.getresponse()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # the server closed a kept-alive connection: retry once on a new one
            self.conn.request(method, path, body=body, headers=sent)
            resp = self.conn.getresponse()
        data = resp.read()
        for header in resp.msg.get_all("Set-Cookie") or []:
            pair, _, attributes = header.partition(";")
            name, _, value = pair.strip().partition("=")
            expired = "max-age=0" in attributes.lower().replace(" ", "") or value in ('""', "")
            if expired:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        if resp.will_close:
            self.conn.close()
        return Response(resp.status, resp.headers, data)

    @staticmethod
    def hidden_inputs(page: str) -> dict[str, str]:
        fields: dict[str, str] = {}
        for tag in _INPUT.findall(page):
            attrs = {k.lower(): html.unescape(v) for k, v in _ATTR.findall(tag)}
            if attrs.get("type", "").lower() == "hidden" and attrs.get("name"):
                fields[attrs["name"]] = attrs.get("value", "")
        return fields

    # -- flows ---------------------------------------------------------------------------------------

    def csrf_pair(self) -> tuple[dict[str, str], str]:
        """GET the sign-in page: the cookies it sets (CSRF) and the form's CSRF token."""
        page = self.request("GET", LOGIN_PATH)
        if page.status != 200:
            raise BenchHttpError(f"GET {LOGIN_PATH} respondió {page.status}")
        token = self.hidden_inputs(page.text).get("csrfmiddlewaretoken", "")
        if not token:
            raise BenchHttpError("La página de ingreso no tiene csrfmiddlewaretoken")
        return dict(self.cookies), token

    def login(self, username: str, password: str) -> None:
        _cookies, token = self.csrf_pair()
        resp = self.request(
            "POST",
            LOGIN_PATH,
            {"csrfmiddlewaretoken": token, "identifier": username, "password": password},
        )
        if resp.status != 302:
            raise BenchHttpError(f"El ingreso de {username} respondió {resp.status} (se esperaba 302)")


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_path(client_id: str, scope: str, challenge: str) -> str:
    return (
        AUTHORIZE_PATH
        + "?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": REDIRECT_URI,
                "scope": scope,
                "state": secrets.token_urlsafe(8),
                "nonce": secrets.token_urlsafe(8),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
    )


def code_from(resp: Response) -> str:
    if resp.status not in (301, 302):
        raise BenchHttpError(f"/authorize respondió {resp.status} (se esperaba una redirección con code)")
    location = resp.headers.get("Location", "")
    query = parse_qs(urlsplit(location).query)
    if "code" not in query:
        raise BenchHttpError(f"/authorize no devolvió code: {location[:200]}")
    return query["code"][0]


def consent_and_code(browser: Browser, client_id: str, scope: str, challenge: str) -> str:
    """First authorization of a signed-in person: consent page, «Autorizar», then the code."""
    resp = browser.request("GET", authorize_path(client_id, scope, challenge))
    if resp.status == 200:
        fields = browser.hidden_inputs(resp.text)
        fields["allow"] = "Authorize"
        resp = browser.request("POST", AUTHORIZE_PATH, fields)
    return code_from(resp)


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
