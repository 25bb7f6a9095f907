"""Horizontal scaling: two app processes behind one address share nothing but PostgreSQL and Redis.

Two gunicorn masters (one worker each, as on two machines: separate ports, separate var/ and metrics
directories) run ``config.settings.prod`` against a fresh PostgreSQL database and Redis database 15. A
session opened on A is valid on B; a rate-limit counter spent on A is spent on B; both are ready.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from ventanilla.core.crypto import generate_rsa_pem

from .conftest import POSTGRES_ADMIN_URL, REDIS_TEST_URL

pytestmark = pytest.mark.production

REPO_ROOT = Path(__file__).resolve().parents[2]
USERNAME = "ciudadana.prod"
PASSWORD = "clave-larga-de-prueba-2026"
METRICS_TOKEN = "token-de-metricas-de-prueba"
API_LIMIT = 5
TIMEOUT = 10

SETUP = f"""
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
call_command("collectstatic", interactive=False, verbosity=0)
get_user_model().objects.create_user(username={USERNAME!r}, password={PASSWORD!r})
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class App:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def logs(self) -> str:
        return (
            f"--- {self.name} stdout ---\n{self.stdout.read_text()[-3000:]}\n--- stderr ---\n"
            + (self.stderr.read_text()[-3000:])
        )


@pytest.fixture
def database_url(production_services: None) -> Iterator[str]:
    """A fresh PostgreSQL database for this test, dropped afterwards (even if a process still holds it)."""
    import psycopg
    from psycopg import sql

    name = f"vt_prodtest_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlsplit(POSTGRES_ADMIN_URL)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def redis_url(production_services: None) -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.flushdb()
    try:
        yield REDIS_TEST_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def prod_env(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "SECRET_KEY": "prod-test-" + uuid.uuid4().hex * 2,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "OIDC_RSA_PRIVATE_KEY": generate_rsa_pem(),
        "SECURE_SSL_REDIRECT": "0",  # plain http on loopback; cookies stay Secure (production default)
        "METRICS_TOKEN": METRICS_TOKEN,
        # A long window, so the test cannot straddle two windows.
        "VENTANILLA_RATE_LIMITS": json.dumps({"api": {"limit": API_LIMIT, "window": 86400}}),
        "VENTANILLA_VAR_DIR": str(tmp_path / "shared-static"),
        "LOG_LEVEL": "INFO",
    }


def _run_setup(env: dict[str, str]) -> None:
    result = subprocess.run(  # noqa: S603 - fixed interpreter and script
        [sys.executable, "-c", SETUP],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def _start(name: str, env: dict[str, str], tmp_path: Path) -> App:
    port = _free_port()
    metrics_dir = tmp_path / f"metrics-{name}"
    metrics_dir.mkdir()
    stdout, stderr = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"],
        cwd=REPO_ROOT,
        env={
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "1",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        },
        stdout=stdout.open("wb"),
        stderr=stderr.open("wb"),
        start_new_session=True,
    )
    return App(name, f"http://127.0.0.1:{port}", process, stdout, stderr)


def _wait_live(app: App, deadline: float) -> None:
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            pytest.fail(f"{app.name} exited with {app.process.returncode}\n{app.logs()}")
        try:
            if requests.get(f"{app.url}/health/live", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{app.name} did not answer /health/live in time\n{app.logs()}")


def _stop(app: App) -> None:
    if app.process.poll() is not None:
        return
    os.killpg(app.process.pid, signal.SIGTERM)
    try:
        app.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(app.process.pid, signal.SIGKILL)
        app.process.wait(timeout=5)


@pytest.fixture
def two_apps(prod_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[App, App]]:
    _run_setup(prod_env)  # migrate once (and collect static files, which the manifest storage needs)
    apps: list[App] = []
    try:
        apps = [_start("A", prod_env, tmp_path), _start("B", prod_env, tmp_path)]
        deadline = time.monotonic() + 40
        for app in apps:
            _wait_live(app, deadline)
        yield apps[0], apps[1]
    finally:
        for app in apps:
            _stop(app)


def _sign_in(app: App) -> requests.Response:
    """Fill in the sign-in form like a browser: CSRF cookie and hidden token from the GET, then POST."""
    form = requests.get(f"{app.url}/cuenta/ingresar/", timeout=TIMEOUT)
    assert form.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token is not None
    return requests.post(
        f"{app.url}/cuenta/ingresar/",
        data={"csrfmiddlewaretoken": token.group(1), "identifier": USERNAME, "password": PASSWORD},
        headers={"Cookie": f"csrftoken={form.cookies['csrftoken']}"},
        allow_redirects=False,
        timeout=TIMEOUT,
    )


def test_two_app_processes_share_only_postgresql_and_redis(two_apps: tuple[App, App]) -> None:
    a, b = two_apps
    assert a.process.pid != b.process.pid and a.url != b.url

    # Both are ready, and ready means the database, the cache and the queue answered.
    for app in (a, b):
        ready = requests.get(f"{app.url}/health/ready", timeout=TIMEOUT)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "cache": "ok", "queue": "ok"}

    # A session opened on A is valid on B (cached_db sessions: Redis in front of PostgreSQL).
    signed_in = _sign_in(a)
    assert signed_in.status_code == 302, signed_in.text[:500]
    assert "secure" in signed_in.headers["Set-Cookie"].lower()
    session = signed_in.cookies["sessionid"]
    on_b = requests.get(
        f"{b.url}/cuenta/", headers={"Cookie": f"sessionid={session}"}, allow_redirects=False, timeout=TIMEOUT
    )
    assert on_b.status_code == 200
    assert USERNAME in on_b.text
    anonymous = requests.get(f"{b.url}/cuenta/", allow_redirects=False, timeout=TIMEOUT)
    assert anonymous.status_code == 302  # the control: without A's cookie, B sends to sign-in

    # A rate-limit counter spent on A is spent on B (counters live in Redis).
    for _ in range(3):
        assert requests.get(f"{a.url}/api/v1/procedures", timeout=TIMEOUT).status_code == 200
    for _ in range(API_LIMIT - 3):
        assert requests.get(f"{b.url}/api/v1/procedures", timeout=TIMEOUT).status_code == 200
    refused = requests.get(f"{b.url}/api/v1/procedures", timeout=TIMEOUT)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert [e["code"] for e in refused.json()["errors"]] == ["rate_limited"]
    assert requests.get(f"{a.url}/api/v1/procedures", timeout=TIMEOUT).status_code == 429

    # Metrics are merged across gunicorn workers (PROMETHEUS_MULTIPROC_DIR) and need the token.
    assert requests.get(f"{a.url}/metrics", timeout=TIMEOUT).status_code == 401
    scraped = requests.get(
        f"{a.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=TIMEOUT
    )
    assert scraped.status_code == 200
    assert 'ventanilla_http_requests_total{method="GET",route="/api/v1/procedures",status="200"} 3.0' in (
        scraped.text
    )
    assert 'ventanilla_dependency_up{check="cache"} 1.0' in scraped.text

    # Logs: one JSON object per line on stdout, access lines and Django's lines with the request id.
    _assert_json_logs(a)


def _assert_json_logs(app: App) -> None:
    requests.get(f"{app.url}/health/ready", headers={"X-Request-Id": "rastreo-prod-1"}, timeout=TIMEOUT)
    requests.get(f"{app.url}/no-existe/", headers={"X-Request-Id": "rastreo-prod-2"}, timeout=TIMEOUT)
    deadline = time.monotonic() + 5
    entries: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        lines = [line for line in app.stdout.read_text().splitlines() if line.strip()]
        entries = [json.loads(line) for line in lines]  # fails on any line that is not JSON
        if any(e.get("request_id") == "rastreo-prod-2" and e["logger"] == "gunicorn.access" for e in entries):
            break
        time.sleep(0.1)
    access = next(
        e for e in entries if e["logger"] == "gunicorn.access" and e.get("request_id") == "rastreo-prod-1"
    )
    assert (access["method"], access["path"], access["status"]) == ("GET", "/health/ready", 200)
    not_found = next(
        e for e in entries if e["logger"] == "django.request" and e.get("request_id") == "rastreo-prod-2"
    )
    assert (not_found["level"], not_found["message"]) == ("WARNING", "Not Found: /no-existe/")
    assert not_found["status_code"] == 404
