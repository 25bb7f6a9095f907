"""`make bench`: load-test Ventanilla in production mode on PostgreSQL with a large generated data set and
write bench/results/latest.md and latest.json. See bench/README.md for what each number means and the knobs.

Exit status: 0 when the run completed (even if goals were missed: they are printed and marked «no cumple»),
non-zero on errors (database, server, load generator, unexpected HTTP answers).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import browser, cpu, loadgen  # noqa: E402

PY = sys.executable
SETTINGS = "bench.settings_bench"
BENCH_PASSWORD = "banco-de-pruebas-" + "clave-conocida-2025"  # bench accounts only (throwaway database)
CC_CLIENT = "demo-interop"  # confidential, client_credentials (ventanilla.identity.demo_clients)
AC_CLIENT = "demo-licencias"  # confidential, authorization code + PKCE
AC_SCOPE = "openid profile"

KEYCLOAK_CC_PER_VCPU = 120.0
KEYCLOAK_LOGIN_PER_VCPU = 15.0
GOAL_THROUGHPUT_RATIO = 0.5
GOAL_SEARCH_P95_MS = 50.0
GOAL_GROWTH = 1.5
NOISY_SHARE = 0.10  # a phase where other processes used this share of the machine's CPU is flagged

# What people type (demo vocabulary), a few broad words and a few typos (the trigram fallback).
QUERIES = [
    "licencia de conducir",
    "brevet",
    "carnet de identidad",
    "cédula de identidad",
    "renovar carnet",
    "pasaporte",
    "pasaporte para menores",
    "certificado de nacimiento",
    "partida de nacimiento",
    "certificado de matrimonio",
    "certificado de defunción",
    "antecedentes penales",
    "antecedentes policiales",
    "nit",
    "facturación",
    "licencia de funcionamiento",
    "licencia de funcionamiento el alto",
    "permiso de construcción",
    "aprobación de planos",
    "certificado catastral",
    "impuesto vehicular",
    "transferencia de vehículo",
    "título de bachiller",
    "legalización de título",
    "apostilla",
    "visa de estudiante",
    "afiliación cns",
    "seguro de salud",
    "jubilación",
    "bono juancito pinto",
    "carnet de discapacidad",
    "registro de empresa",
    "matrícula de comercio",
    "registro de marca",
    "gas domiciliario",
    "conexión eléctrica",
    "denuncia de robo",
    "folio real",
    "herencia",
    "licencia ambiental",
    "beca",
    "inscripción escolar",
    "certificado",
    "registro",
    "multa",
    "pasaprote",
    "licensia de conducir",
    "sertificado de nasimiento",
    "antesedentes penales",
]

# Expedientes: the demo clerk's password (identity.demo_people) and the client of the cases API.
DEMO_PASSWORD = os.environ.get("VENTANILLA_DEMO_PASSWORD", "ventanilla-demo")
GOAL_MEDIATOR_ADDED_P95_MS = 50.0  # informative: X-Road's security servers add a few tens of ms per call


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class BenchError(RuntimeError):
    pass


# --------------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------------


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclass
class Config:
    scale: float = 1.0
    procedures: int = 10_000
    persons: int = 100_000
    accounts: int = 300
    duration: float = 10.0
    warmup: float = 2.0
    workers: int = 2
    connections: int = 2
    max_requests: int = 100_000
    auth_codes: int = 2_000
    worker_max_requests: int = 0
    quiet_wait: float = 60.0
    phase_quiet_wait: float = 15.0
    search_repeat: int = 2
    search_limit: float = 90.0
    cases: int = 1_000_000
    log_entries: int = 1_000_000
    email_messages: int = 1_000
    email_workers: int = 1
    email_limit: float = 300.0
    keep_db: bool = False
    db_name: str = "ventanilla_bench"
    pg_url: str = "postgres://postgres@127.0.0.1:5432"
    redis_url: str = "redis://127.0.0.1:6379/14"
    port: int = 0
    tool: str = "wrk"
    cores: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Config:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        scale = _env_float("BENCH_SCALE", 1.0)
        workers = _env_int("BENCH_WORKERS", cores)
        tool = os.environ.get("BENCH_LOADGEN", "").strip() or ("wrk" if loadgen.wrk_path() else "python")
        return cls(
            scale=scale,
            procedures=max(100, round(_env_int("BENCH_PROCEDURES", 10_000) * scale)),
            persons=_env_int("BENCH_PERSONS", 100_000),
            accounts=_env_int("BENCH_ACCOUNTS", 300),
            duration=_env_float("BENCH_DURATION", 10.0),
            warmup=_env_float("BENCH_WARMUP", 2.0),
            workers=workers,
            connections=_env_int("BENCH_CONNECTIONS", workers),
            max_requests=_env_int("BENCH_MAX_REQUESTS", 100_000),
            auth_codes=_env_int("BENCH_AUTH_CODES", 2_000),
            worker_max_requests=_env_int("BENCH_GUNICORN_MAX_REQUESTS", 0),
            quiet_wait=_env_float("BENCH_QUIET_WAIT", 60.0),
            phase_quiet_wait=_env_float("BENCH_PHASE_QUIET_WAIT", 15.0),
            search_repeat=_env_int("BENCH_SEARCH_REPEAT", 2),
            search_limit=_env_float("BENCH_SEARCH_LIMIT", 90.0),
            cases=max(1_000, round(_env_int("BENCH_CASES", 1_000_000) * scale)),
            log_entries=max(1_000, round(_env_int("BENCH_LOG_ENTRIES", 1_000_000) * scale)),
            email_messages=_env_int("BENCH_EMAIL_MESSAGES", 1_000),
            email_workers=_env_int("BENCH_EMAIL_WORKERS", 1),
            email_limit=_env_float("BENCH_EMAIL_LIMIT", 300.0),
            keep_db=os.environ.get("BENCH_KEEP_DB", "") == "1",
            db_name=os.environ.get("BENCH_DB", "ventanilla_bench"),
            pg_url=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/"),
            redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
            port=_env_int("BENCH_PORT", 0),
            tool=tool,
            cores=cores,
        )


# --------------------------------------------------------------------------------------------------------
# Database, Redis, server
# --------------------------------------------------------------------------------------------------------


def _admin(cfg: Config) -> Any:
    import psycopg

    return psycopg.connect(f"{cfg.pg_url}/postgres", autocommit=True, connect_timeout=5)


def db_recreate(cfg: Config) -> None:
    from psycopg import sql

    with _admin(cfg) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(cfg.db_name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg.db_name)))


def db_drop(cfg: Config) -> None:
    from psycopg import sql

    with _admin(cfg) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(cfg.db_name)))


def pg_version(cfg: Config) -> str:
    with _admin(cfg) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else ""


def _redis(cfg: Config, *commands: list[str]) -> list[bytes]:
    url = urlsplit(cfg.redis_url)
    db = (url.path or "/0").lstrip("/") or "0"
    replies = []
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379), timeout=3) as sock:
        for command in (["SELECT", db], *commands):
            payload = f"*{len(command)}\r\n" + "".join(f"${len(c.encode())}\r\n{c}\r\n" for c in command)
            sock.sendall(payload.encode())
            data = b""
            while not data.endswith(b"\r\n"):
                data += sock.recv(65536)
            if data.startswith(b"$"):  # bulk string: read the whole body
                size = int(data.split(b"\r\n", 1)[0][1:])
                while size >= 0 and len(data.split(b"\r\n", 1)[1]) < size + 2:
                    data += sock.recv(65536)
            replies.append(data)
    return replies


def db_backend_pids(cfg: Config) -> list[int]:
    """PostgreSQL processes working for the bench: its database's backends and the shared background ones."""
    try:
        with _admin(cfg) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE (datname = %s OR datname IS NULL) "
                "AND pid <> pg_backend_pid()",
                [cfg.db_name],
            ).fetchall()
    except Exception:
        return []
    return [int(r[0]) for r in rows]


def redis_flush(cfg: Config) -> None:
    """Empty the bench's own Redis database (cache, sessions, rate-limit counters) between phases."""
    try:
        _redis(cfg, ["FLUSHDB"])
    except OSError as exc:
        raise BenchError(f"Redis no responde en {cfg.redis_url}: {exc}") from exc


def redis_version(cfg: Config) -> str:
    try:
        reply = _redis(cfg, ["INFO", "server"])[-1].decode("utf-8", "replace")
    except OSError:
        return ""
    match = re.search(r"redis_version:(\S+)", reply)
    return match.group(1) if match else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_env(cfg: Config, workdir: Path) -> dict[str, str]:
    from ventanilla.core.crypto import generate_rsa_pem

    (workdir / "prometheus").mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": f"{cfg.pg_url}/{cfg.db_name}",
            "ALLOWED_HOSTS": "127.0.0.1",
            "OIDC_RSA_PRIVATE_KEY": generate_rsa_pem(),
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",  # plain http on loopback, as `make serve-prod`
            "REDIS_URL": cfg.redis_url,
            "CACHE_KEY_PREFIX": "vtbench",
            "VENTANILLA_VAR_DIR": str(workdir / "var"),
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus"),
            "WEB_CONCURRENCY": str(cfg.workers),
            "GUNICORN_MAX_REQUESTS": str(cfg.worker_max_requests),
            "GUNICORN_BIND": f"127.0.0.1:{cfg.port}",
            "PYTHONUNBUFFERED": "1",
            # Demo data only (throwaway database): load_demo signs its demo documents with the development
            # CA, which production refuses by default (DOCUMENTS_DEV_CA=0). Nothing measured depends on it.
            "DOCUMENTS_DEV_CA": "1",
            # The mediator's per-consumer limit (600/min) would turn the throughput phase into a measure of
            # 429s; the limiter still runs on every call (its Redis round trip is measured).
            "INTEROP_RATE_LIMIT": str(10**9),
            # The demo registries (the bench's provider server) live on 127.0.0.1 over plain HTTP, which
            # production refuses as a provider address (SSRF rule); allowed here as in dev and test.
            "INTEROP_ALLOW_PRIVATE_PROVIDERS": "1",
            # The outbox worker hands e-mail to Django's in-memory backend (no SMTP server in the bench):
            # what is measured is the outbox (claim, attempt rows, audit) and the RQ worker, not a mail relay.
            "EMAIL_BACKEND": os.environ.get(
                "BENCH_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
            ),
        }
    )
    return env


def manage(env: dict[str, str], *args: str, timeout: int = 600) -> str:
    proc = subprocess.run(  # noqa: S603
        [PY, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args)} falló:\n{proc.stderr.strip()[-3000:]}")
    return proc.stdout


def generate(env: dict[str, str], *args: str) -> dict[str, Any]:
    proc = subprocess.run(  # noqa: S603
        [PY, str(BENCH / "generate.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(
            f"bench/generate.py {args[0]} falló:\n{(proc.stderr or proc.stdout).strip()[-3000:]}"
        )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise BenchError(f"bench/generate.py {args[0]} no informó resultado")


class Server:
    def __init__(
        self,
        cfg: Config,
        env: dict[str, str],
        workdir: Path,
        name: str = "gunicorn",
        port: int | None = None,
        workers: int | None = None,
    ) -> None:
        self.cfg = cfg
        self.env = env
        self.name = name
        self.port = port or cfg.port
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        conf = ROOT / "config" / "gunicorn.conf.py"
        bind = f"127.0.0.1:{self.port}"
        gunicorn = str(Path(PY).parent / "gunicorn")
        # Production's gunicorn config when it exists; workers and recycling are bench knobs (README).
        common = [
            "--bind",
            bind,
            "--workers",
            str(workers or cfg.workers),
            "--max-requests",
            str(cfg.worker_max_requests),
        ]
        if conf.exists():
            self.command = [gunicorn, "-c", str(conf), *common]
        else:
            self.command = [gunicorn, "config.wsgi:application", *common, "--access-logfile", "-"]

    def start(self) -> None:
        (Path(self.env["PROMETHEUS_MULTIPROC_DIR"])).mkdir(parents=True, exist_ok=True)
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(  # noqa: S603
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} terminó al iniciar:\n{self.tail()}")
            try:
                b = browser.Browser(self.port, timeout=5)
                status = b.request("GET", "/health/ready").status
                b.close()
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise BenchError(f"{self.name} no respondió /health/ready en 60 s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)  # our own gunicorn's process group (started above)
            self.proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


# --------------------------------------------------------------------------------------------------------
# Phases
# --------------------------------------------------------------------------------------------------------


class Runner:
    def __init__(self, cfg: Config, workdir: Path, server: Server) -> None:
        self.cfg = cfg
        self.workdir = workdir
        self.server = server
        self.results: dict[str, dict[str, Any]] = {}
        self.other_pids: list[int] = []  # the provider server, the task worker: ours too

    def cpu_snapshot(self) -> cpu.Snapshot | None:
        pid = self.server.proc.pid if self.server.proc else None
        return cpu.snapshot(pid, db_backend_pids(self.cfg), tuple(self.other_pids))

    def wait_for_quiet(
        self, limit_s: float, threshold: float = NOISY_SHARE, window: float = 3.0, verbose: bool = True
    ) -> dict[str, Any] | None:
        """Wait (up to ``limit_s``) until other processes use less than ``threshold`` of the machine."""
        deadline = time.monotonic() + limit_s
        share = None
        waited = False
        while True:
            before = self.cpu_snapshot()
            time.sleep(window)
            share = cpu.foreign_share(before, self.cpu_snapshot())
            if share is None or share["foreign"] < threshold or time.monotonic() >= deadline:
                break
            if verbose or not waited:
                log(f"la máquina está ocupada por otros procesos ({share['foreign']:.0%} de CPU); esperando…")
            waited = True
        if share and share["foreign"] >= threshold and (verbose or waited):
            log(f"AVISO: se mide con {share['foreign']:.0%} de la CPU ocupada por otros procesos")
        return share

    def phase(
        self,
        key: str,
        requests: list[loadgen.Request],
        expect: tuple[int, ...] = (200,),
        mode: str = "random",
        headers: dict[str, str] | None = None,
        warmup: bool = True,
        duration: float | None = None,
        connections: int | None = None,
        capture: Path | None = None,
        max_requests: int | None = None,
        tool: str | None = None,
        port: int | None = None,
    ) -> dict[str, Any]:
        """Check one request by hand (fails fast on a wrong answer), warm up, then measure."""
        tool = tool or self.cfg.tool
        port = port or self.cfg.port
        if mode == "random" or tool == "python":
            sample = random.choice(requests)  # noqa: S311
            resp = _check(port, sample, {**(headers or {}), **sample.headers})
            if resp.status not in expect:
                raise BenchError(
                    f"{key}: {sample.method} {sample.path} respondió {resp.status}, se esperaba {expect}: "
                    f"{resp.text[:300]}"
                )
        common = {
            "headers": headers or {},
            "connections": connections or self.cfg.connections,
            "max_requests": max_requests or self.cfg.max_requests,
        }
        if warmup and self.cfg.warmup > 0 and mode == "random":
            loadgen.run(
                loadgen.Phase(f"{key}-warmup", requests, mode, duration=self.cfg.warmup, **common),
                port,
                self.workdir / "wrk",
                self.cfg.tool,
            )
        if self.cfg.phase_quiet_wait > 0:
            self.wait_for_quiet(self.cfg.phase_quiet_wait, window=1.0, verbose=False)
        before = self.cpu_snapshot()
        result = loadgen.run(
            loadgen.Phase(
                key, requests, mode, duration=duration or self.cfg.duration, capture=capture, **common
            ),
            port,
            self.workdir / "wrk",
            tool,
        )
        result["planned"] = len(requests) if mode == "once" else None
        result["cpu"] = cpu.foreign_share(before, self.cpu_snapshot())
        classes = {f"{s // 100}xx" for s in expect}
        ok = sum(v for k, v in result["statuses"].items() if k in classes)
        result["ok"] = ok
        result["unexpected"] = result["requests"] - ok
        self.results[key] = result
        lat = result["latency_ms"]
        log(
            f"{key}: {result['rps']:.1f} sol/s, p50 {lat['p50']} ms, p95 {lat['p95']} ms "
            f"({result['requests']} respuestas, estados {result['statuses']}"
            + (f", errores {result['errors']}" if result["errors"] else "")
            + (f", CPU ajena {result['cpu']['foreign']:.0%}" if result["cpu"] else "")
            + ")"
        )
        if result["requests"] == 0:
            raise BenchError(f"{key}: ninguna respuesta en {duration or self.cfg.duration} s")
        if result["unexpected"] > max(2, 0.01 * result["requests"]):
            raise BenchError(f"{key}: {result['unexpected']} respuestas inesperadas: {result['statuses']}")
        return result

    def search_phase(self, key: str, prefix: str) -> dict[str, Any]:
        """A fixed set of searches (each query ``BENCH_SEARCH_REPEAT`` times), all of them answered or the
        time limit reached: searches cost from milliseconds to seconds, and a duration-bound run would keep
        the fast ones and drop the slow ones still in flight at the end."""
        result = self.phase(
            key,
            search_requests(prefix, self.cfg.search_repeat),
            mode="once",
            tool="python",
            warmup=False,
            duration=self.cfg.search_limit,
        )
        if result["requests"] < (result["planned"] or 0):
            log(f"AVISO: {key} respondió {result['requests']} de {result['planned']} en el límite de tiempo")
        return result


def _check(port: int, req: loadgen.Request, headers: dict[str, str]) -> browser.Response:
    """One request exactly as the load generator will send it (no cookies added)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    sent = dict(headers)
    if req.body:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(req.method, req.path, body=req.body or None, headers=sent)
        resp = conn.getresponse()
        return browser.Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def search_requests(prefix: str, repeat: int) -> list[loadgen.Request]:
    """Every query ``repeat`` times in one fixed shuffled order (the same for 1× and 10× data)."""
    requests = [loadgen.Request("GET", f"{prefix}{quote_plus(q)}") for q in QUERIES for _ in range(repeat)]
    random.Random(8).shuffle(requests)  # noqa: S311 - a fixed order, not security
    return requests


def list_requests() -> list[loadgen.Request]:
    return [loadgen.Request("GET", f"/tramites/?pagina={p}") for p in range(1, 6)]


def detail_requests(workdir: Path) -> list[loadgen.Request]:
    slugs = [s for s in (workdir / "slugs.txt").read_text().split() if s]
    return [loadgen.Request("GET", f"/tramites/{s}/") for s in slugs]


def _secret(workdir: Path, client_id: str) -> str:
    secrets_by_client = json.loads((workdir / "clients.json").read_text())
    if client_id not in secrets_by_client:
        raise BenchError(f"El cliente de demostración {client_id} no existe o no tiene secreto")
    return str(secrets_by_client[client_id])


def authorize_sessions(cfg: Config, workdir: Path, verifier: str, challenge: str) -> list[str]:
    """Sign in a few bench accounts (kept apart from the sign-in phase) and consent once for each; return
    their Cookie headers. Their GET /authorize then answers at once with a code (remembered consent)."""
    accounts = [a for a in (workdir / "accounts.txt").read_text().split() if a]
    cookies = []
    for username in accounts[-max(2, cfg.connections * 2) :]:
        b = browser.Browser(cfg.port)
        try:
            b.login(username, BENCH_PASSWORD)
            browser.consent_and_code(b, AC_CLIENT, AC_SCOPE, challenge)
        finally:
            b.close()
        cookies.append("; ".join(f"{k}={v}" for k, v in b.cookies.items()))
    return cookies


def codes_from(capture: Path) -> list[str]:
    codes = []
    for line in capture.read_text().splitlines() if capture.exists() else []:
        query = parse_qs(urlsplit(line).query)
        if "code" in query:
            codes.append(query["code"][0])
    return codes


# --------------------------------------------------------------------------------------------------------
# Expedientes, interoperability, outbox
# --------------------------------------------------------------------------------------------------------

QUEUE_PATH = "/gestion/expedientes/"


def session_cookie(cfg: Config, username: str, password: str) -> str:
    """Sign in through the real form and return the Cookie header of that session."""
    b = browser.Browser(cfg.port)
    try:
        b.login(username, password)
    finally:
        b.close()
    return "; ".join(f"{k}={v}" for k, v in b.cookies.items())


def client_token(cfg: Config, client_id: str, secret: str, scope: str = "") -> str:
    """A client-credentials access token from POST /token/."""
    conn = http.client.HTTPConnection("127.0.0.1", cfg.port, timeout=30)
    body = "grant_type=client_credentials" + (f"&scope={quote_plus(scope)}" if scope else "")
    try:
        conn.request(
            "POST",
            "/token/",
            body=body,
            headers={
                "Authorization": browser.basic_auth(client_id, secret),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        raise BenchError(f"POST /token/ de {client_id} respondió {resp.status}: {data[:300]!r}")
    return str(json.loads(data)["access_token"])


def cases_info(workdir: Path) -> dict[str, Any]:
    return dict(json.loads((workdir / "cases.json").read_text()))


def queue_requests(info: dict[str, Any]) -> list[loadgen.Request]:
    """The clerk's queue as clerks use it: the default view (open cases by due date), its usual filters
    and a deeper page. The same list at 1× and 10×."""
    paths = [
        "",
        "?pagina=3",
        "?estado=observado",
        "?plazo=overdue",
        "?estado=en_tramite&plazo=soon",
        "?mios=on",
        "?canal=ventanilla",
        "?estado=resuelto",
    ]
    if info.get("office"):
        paths.append(f"?oficina={info['office']}&canal=en_linea")
    if info.get("procedure"):
        paths.append(f"?tramite={info['procedure']}")
    if info.get("document_number"):
        paths.append(f"?q={quote_plus(info['document_number'])}")
    if info.get("tracking_code"):
        paths.append(f"?q={quote_plus(info['tracking_code'])}")
    return [loadgen.Request("GET", QUEUE_PATH + p) for p in paths]


def my_cases_requests() -> list[loadgen.Request]:
    return [loadgen.Request("GET", "/mis-tramites/" + p) for p in ("", "", "?pagina=2", "?pagina=6")]


def api_cases_requests(info: dict[str, Any], filtered: bool) -> list[loadgen.Request]:
    if not filtered:
        return [loadgen.Request("GET", "/api/v1/cases")]
    since = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    paths = ["?status=en_tramite", "?status=observado", f"?updated_since={quote_plus(since)}"]
    if info.get("api_procedure"):
        paths.append(f"?procedure={quote_plus(info['api_procedure'])}&status=resuelto")
    return [loadgen.Request("GET", "/api/v1/cases" + p) for p in paths]


def interop_requests(info: dict[str, Any], mediated: bool) -> list[loadgen.Request]:
    """The same demo registry calls, straight to the provider or through the mediator."""
    requests = []
    for call in info["calls"]:
        headers = {}
        if call["subject"]:
            headers = {"Interop-Subject": call["subject"], "Interop-User": info["user"]}
        if not mediated:
            # What the mediator sends the provider: its secret and the subject of the consultation.
            headers["Interop-Provider-Secret"] = call["secret"]
            requests.append(loadgen.Request("GET", call["direct"], headers=headers))
            continue
        requests.append(loadgen.Request("GET", call["mediated"], headers=headers))
    return requests


def interop_headers(info: dict[str, Any], token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Interop-Client": info["client"],
        "Interop-Purpose": quote(info["purpose"], safe=""),
    }


def outbox_phase(
    cfg: Config, env: dict[str, str], runner: Runner, key: str = "outbox", worker_class: str = ""
) -> dict[str, Any]:
    """Queue N e-mails (``message_queue``: row + audit + RQ job on commit) with no worker running, then
    start production's RQ worker command (in burst mode: it exits when the queues are empty) and time
    until every message is ``sent``. Throughput = messages ÷ (first → last ``sent_at``); the wall time also
    counts the worker's start. ``worker_class`` runs the same command with another RQ worker class."""
    import psycopg

    if cfg.email_messages <= 0:
        return {}
    prefix = f"bench{key}"
    queued = generate(env, "outbox-enqueue", "--count", str(cfg.email_messages), "--prefix", prefix)
    log(f"bandeja de salida: {num(cfg.email_messages)} correos en cola en {queued['seconds']} s")
    runner.wait_for_quiet(cfg.phase_quiet_wait, window=1.0, verbose=False)
    command = [
        PY,
        "manage.py",
        "rqworker",
        "default",
        "email",
        "webhooks",
        "--job-class",
        "django_tasks_rq.Job",
    ]
    command += ["--with-scheduler", "--burst"]
    if worker_class:
        command += ["--worker-class", worker_class]
    url = f"{cfg.pg_url}/{cfg.db_name}"
    sql = "SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status = 'failed'), "
    sql += f"min(sent_at), max(sent_at) FROM inbox_outboxmessage WHERE reference LIKE '{prefix}-%%'"
    workers: list[subprocess.Popen[bytes]] = []
    logs = []
    before = runner.cpu_snapshot()
    started = time.monotonic()
    sent = failed = 0
    first = last = None
    try:
        for n in range(max(1, cfg.email_workers)):
            handle = (runner.workdir / f"rqworker-{key}-{n}.log").open("wb")
            logs.append(handle)
            workers.append(
                subprocess.Popen(  # noqa: S603 - fixed command
                    command,
                    cwd=ROOT,
                    env=env,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        runner.other_pids = [w.pid for w in workers]
        with psycopg.connect(url, autocommit=True) as conn:
            while time.monotonic() - started < cfg.email_limit:
                row = conn.execute(sql).fetchone()
                sent, failed, first, last = int(row[0]), int(row[1]), row[2], row[3]
                if sent + failed >= cfg.email_messages:
                    break
                if all(w.poll() is not None for w in workers):
                    break
                time.sleep(0.2)
        wall = time.monotonic() - started
    finally:
        for w in workers:
            if w.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(w.pid, signal.SIGTERM)  # our own worker's process group
                with contextlib.suppress(subprocess.TimeoutExpired):
                    w.wait(timeout=20)
        for handle in logs:
            handle.close()
    share = cpu.foreign_share(before, runner.cpu_snapshot())
    runner.other_pids = []
    span = (last - first).total_seconds() if first and last else 0.0
    result = {
        "messages": cfg.email_messages,
        "workers": max(1, cfg.email_workers),
        "sent": sent,
        "failed": failed,
        "enqueue": queued,
        "wall_s": round(wall, 2),
        "span_s": round(span, 3),
        "per_second": round((sent - 1) / span, 1) if span > 0 and sent > 1 else 0.0,
        "per_second_wall": round(sent / wall, 1) if wall > 0 else 0.0,
        "email_backend": env.get("EMAIL_BACKEND", ""),
        "worker_class": worker_class or "rq.worker.Worker (por omisión)",
        "command": " ".join(["manage.py", *command[2:]]),
        "cpu": share,
    }
    runner.results[key] = result
    log(
        f"{key}: {sent}/{cfg.email_messages} enviados ({failed} fallidos) en {wall:.1f} s; "
        f"{result['per_second']} mensajes/s entre el primero y el último"
    )
    if sent < cfg.email_messages:
        tail = (runner.workdir / f"rqworker-{key}-0.log").read_text(errors="replace").splitlines()[-15:]
        raise BenchError(
            f"{key}: solo {sent} de {cfg.email_messages} correos enviados en {cfg.email_limit:g} s:\n"
            + "\n".join(tail)
        )
    return result


# --------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------


def machine_facts(cfg: Config, server: Server) -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return ""

    return {
        "cores": cfg.cores,
        "cpu": cpu,
        "memory_gib": mem_gib,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": version("Django"),
        "gunicorn": version("gunicorn"),
        "django_oauth_toolkit": version("django-oauth-toolkit"),
        "argon2_cffi": version("argon2-cffi"),
        "postgresql": pg_version(cfg),
        "redis": redis_version(cfg),
        "load_generator": loadgen.wrk_version() if cfg.tool == "wrk" else "python (http.client)",
        "gunicorn_command": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(server.command)),
        "settings": SETTINGS,
    }


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{value:,.{digits}f}"
    return text.replace(",", " ").replace(".", ",")


def num(value: int) -> str:
    """Thousands separated with a dot, as written in Spanish (10.000)."""
    return f"{value:,}".replace(",", ".")


def verdict(ok: bool) -> str:
    return "cumple" if ok else "NO CUMPLE"


def build_metrics(cfg: Config, r: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    trivial = (r["health"]["rps"] + r.get("health_end", r["health"])["rps"]) / 2

    phases_of = {
        "trivial": ["health", "health_end"],
        "search_html_throughput": ["search_html"],
        "search_html_p95": ["search_html"],
        "search_api_throughput": ["search_api"],
        "search_api_p95": ["search_api"],
        "detail_throughput": ["detail"],
        "detail_latency": ["detail"],
        "growth_search_html": ["growth_search_html_1x", "search_html"],
        "growth_list": ["growth_list_1x", "list_10x"],
        "token_cc": ["token_cc"],
        "token_ac": ["token_ac"],
        "authorize": ["authorize"],
        "login": ["login"],
        "oidc_flow": ["login", "authorize", "token_ac"],
        "queue": ["queue_10x"],
        "growth_queue": ["growth_queue_1x", "queue_10x"],
        "my_cases": ["my_cases"],
        "api_cases": ["api_cases"],
        "api_cases_filtered": ["api_cases_filtered"],
        "growth_api_cases": ["growth_api_cases_1x", "api_cases"],
        "interop_added_latency": ["interop_direct_seq", "interop_mediated_seq"],
        "interop_throughput": ["interop_direct", "interop_mediated"],
        "outbox": ["outbox"],
        "outbox_simple": ["outbox_simple"],
    }

    def add(key: str, label: str, value: str, reference: str, status: str, **numbers: Any) -> None:
        foreign = [(r.get(k, {}).get("cpu") or {}).get("foreign", 0) for k in phases_of.get(key, [])]
        noisy = max(foreign, default=0) >= NOISY_SHARE
        rows.append(
            {
                "id": key,
                "metric": label,
                "value": value,
                "reference": reference,
                "status": status + (" (con ruido)" if noisy else ""),
                "noisy": noisy,
                **numbers,
            }
        )

    h = r["health"]["latency_ms"]
    add(
        "trivial",
        "Vista trivial /health/live",
        f"{fmt(trivial, 0)} sol/s; p50 {fmt(h['p50'])} ms, p95 {fmt(h['p95'])} ms",
        "base de las razones (media de inicio y fin)",
        "referencia",
        rps=trivial,
        p50_ms=h["p50"],
        p95_ms=h["p95"],
    )
    for key, label, p95_goal in (
        ("search_html", "Búsqueda /tramites/?q=…", True),
        ("search_api", "API /api/v1/procedures?q=…", True),
        ("detail", "Ficha /tramites/<slug>/", False),
    ):
        m = r[key]
        ratio = m["rps"] / trivial if trivial else 0.0
        lat = m["latency_ms"]
        partial = (
            f" (incompleto: {m['requests']} de {m['planned']})"
            if m.get("planned") and m["requests"] < m["planned"]
            else ""
        )
        add(
            f"{key}_throughput",
            f"{label}: rendimiento",
            f"{fmt(m['rps'])} sol/s = {fmt(100 * ratio, 1)} % de la trivial{partial}",
            "≥ 50 % de la vista trivial",
            verdict(ratio >= GOAL_THROUGHPUT_RATIO),
            rps=m["rps"],
            ratio=ratio,
        )
        if p95_goal:
            add(
                f"{key}_p95",
                f"{label}: latencia",
                f"p50 {fmt(lat['p50'])} ms, p95 {fmt(lat['p95'])} ms",
                "p95 < 50 ms",
                verdict((lat["p95"] or 1e9) < GOAL_SEARCH_P95_MS),
                p50_ms=lat["p50"],
                p95_ms=lat["p95"],
            )
        else:
            add(
                f"{key}_latency",
                f"{label}: latencia",
                f"p50 {fmt(lat['p50'])} ms, p95 {fmt(lat['p95'])} ms",
                "informativo",
                "informativo",
                p50_ms=lat["p50"],
                p95_ms=lat["p95"],
            )
    small, large = cfg.extra["small_total"], cfg.extra["large_total"]
    for key, label in (("search_html", "búsqueda"), ("list", "listado /tramites/")):
        a, b = r[f"growth_{key}_1x"], r[key if key != "list" else "list_10x"]
        mean = (b["latency_ms"]["mean"] or 0) / (a["latency_ms"]["mean"] or 1)
        p95 = (b["latency_ms"]["p95"] or 0) / (a["latency_ms"]["p95"] or 1)
        add(
            f"growth_{key}",
            f"Crecimiento {label}: {num(small)} → {num(large)} trámites",
            f"{fmt(mean, 2)}× más lento en media, {fmt(p95, 2)}× en p95",
            "≤ 1,5× con 10× datos (media y p95)",
            verdict(max(mean, p95) <= GOAL_GROWTH),
            slower_mean=mean,
            slower_p95=p95,
            rps_1x=a["rps"],
            rps_10x=b["rps"],
        )
    cores = cfg.cores
    cc = r["token_cc"]["rps"] / cores
    add(
        "token_cc",
        "Token client_credentials por núcleo",
        f"{fmt(cc)} tokens/s/núcleo ({fmt(r['token_cc']['rps'])}/s en {cores})",
        "Keycloak: 120/s por vCPU",
        verdict(cc >= KEYCLOAK_CC_PER_VCPU),
        per_core=cc,
        rps=r["token_cc"]["rps"],
        p95_ms=r["token_cc"]["latency_ms"]["p95"],
    )
    ac = r["token_ac"]["rps"] / cores
    add(
        "token_ac",
        "Token authorization_code (canje) por núcleo",
        f"{fmt(ac)} tokens/s/núcleo ({fmt(r['token_ac']['rps'])}/s)",
        "≥ 120/s por vCPU (cifra de Keycloak para concesiones)",
        verdict(ac >= KEYCLOAK_CC_PER_VCPU),
        per_core=ac,
        rps=r["token_ac"]["rps"],
        p95_ms=r["token_ac"]["latency_ms"]["p95"],
    )
    az = r["authorize"]["rps"] / cores
    add(
        "authorize",
        "Emisión de código GET /authorize (sesión y consentimiento)",
        f"{fmt(az)} códigos/s/núcleo",
        "informativo",
        "informativo",
        per_core=az,
        rps=r["authorize"]["rps"],
    )
    lg = r["login"]["rps"] / cores
    add(
        "login",
        "Ingreso POST /cuenta/ingresar/ (argon2id) por núcleo",
        f"{fmt(lg)} ingresos/s/núcleo ({fmt(r['login']['rps'])}/s)",
        "Keycloak: 15/s por vCPU",
        verdict(lg >= KEYCLOAK_LOGIN_PER_VCPU),
        per_core=lg,
        rps=r["login"]["rps"],
        p95_ms=r["login"]["latency_ms"]["p95"],
    )
    flow = 1 / (1 / lg + 1 / az + 1 / ac) if min(lg, az, ac) > 0 else 0.0
    add(
        "oidc_flow",
        "Ingreso OIDC completo (ingreso + código + canje), estimado",
        f"{fmt(flow)} /s/núcleo",
        "Keycloak: 15/s por vCPU",
        verdict(flow >= KEYCLOAK_LOGIN_PER_VCPU),
        per_core=flow,
    )
    _case_rows(cfg, r, add, trivial)
    _interop_rows(cfg, r, add)
    _outbox_rows(cfg, r, add)
    return rows


def _lat(m: dict[str, Any]) -> str:
    return f"p50 {fmt(m['latency_ms']['p50'])} ms, p95 {fmt(m['latency_ms']['p95'])} ms"


def _growth(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, float]:
    mean = (b["latency_ms"]["mean"] or 0) / (a["latency_ms"]["mean"] or 1)
    p95 = (b["latency_ms"]["p95"] or 0) / (a["latency_ms"]["p95"] or 1)
    return mean, p95


def _case_rows(cfg: Config, r: dict[str, dict[str, Any]], add: Any, trivial: float) -> None:
    if "queue_10x" not in r:
        return
    small, large = cfg.extra["small_cases"], cfg.extra["large_cases"]
    q = r["queue_10x"]
    shape = (r.get("growth_queue_1x") or {}).get("cases") or {}
    ratio = q["rps"] / trivial if trivial else 0.0
    add(
        "queue",
        f"Bandeja del funcionario /gestion/expedientes/ ({num(large)} expedientes; filtros variados)",
        f"{fmt(q['rps'])} sol/s = {fmt(100 * ratio, 1)} % de la trivial; {_lat(q)}",
        "informativo (meta: crecimiento)",
        "informativo",
        rps=q["rps"],
        ratio=ratio,
        p50_ms=q["latency_ms"]["p50"],
        p95_ms=q["latency_ms"]["p95"],
        institution_cases_1x=shape.get("institution_cases"),
    )
    mean, p95 = _growth(r["growth_queue_1x"], q)
    add(
        "growth_queue",
        f"Crecimiento bandeja del funcionario: {num(small)} → {num(large)} expedientes",
        f"{fmt(mean, 2)}× más lento en media, {fmt(p95, 2)}× en p95",
        "≤ 1,5× con 10× datos (media y p95)",
        verdict(max(mean, p95) <= GOAL_GROWTH),
        slower_mean=mean,
        slower_p95=p95,
        rps_1x=r["growth_queue_1x"]["rps"],
        rps_10x=q["rps"],
    )
    m = r["my_cases"]
    add(
        "my_cases",
        "«Mis trámites» /mis-tramites/ (ciudadano con muchos expedientes)",
        f"{fmt(m['rps'])} sol/s = {fmt(100 * m['rps'] / trivial if trivial else 0, 1)} % de la trivial; "
        f"{_lat(m)}",
        "informativo",
        "informativo",
        rps=m["rps"],
        p50_ms=m["latency_ms"]["p50"],
        p95_ms=m["latency_ms"]["p95"],
    )
    for key, label in (
        ("api_cases", "API GET /api/v1/cases (página 1)"),
        ("api_cases_filtered", "API GET /api/v1/cases filtrada (estado, trámite, updated_since)"),
    ):
        m = r[key]
        add(
            key,
            label,
            f"{fmt(m['rps'])} sol/s = {fmt(100 * m['rps'] / trivial if trivial else 0, 1)} % de la trivial; "
            f"{_lat(m)}",
            "informativo",
            "informativo",
            rps=m["rps"],
            p50_ms=m["latency_ms"]["p50"],
            p95_ms=m["latency_ms"]["p95"],
        )
    if "growth_api_cases_1x" in r:
        mean, p95 = _growth(r["growth_api_cases_1x"], r["api_cases"])
        add(
            "growth_api_cases",
            f"Crecimiento API /api/v1/cases (página 1): {num(small)} → {num(large)} expedientes",
            f"{fmt(mean, 2)}× más lento en media, {fmt(p95, 2)}× en p95",
            "informativo (misma meta que la bandeja: ≤ 1,5×)",
            "informativo" if max(mean, p95) <= GOAL_GROWTH else "informativo: > 1,5×",
            slower_mean=mean,
            slower_p95=p95,
        )


def _interop_rows(cfg: Config, r: dict[str, dict[str, Any]], add: Any) -> None:
    if "interop_mediated_seq" not in r:
        return
    d, m = r["interop_direct_seq"]["latency_ms"], r["interop_mediated_seq"]["latency_ms"]
    added50 = (m["p50"] or 0) - (d["p50"] or 0)
    added95 = (m["p95"] or 0) - (d["p95"] or 0)
    add(
        "interop_added_latency",
        f"Mediador: latencia añadida por llamada (bitácora de {num(cfg.log_entries)} entradas; "
        "una llamada a la vez)",
        f"+{fmt(added50)} ms en p50, +{fmt(added95)} ms en p95 (directo p50 {fmt(d['p50'])} / p95 "
        f"{fmt(d['p95'])} ms; mediado p50 {fmt(m['p50'])} / p95 {fmt(m['p95'])} ms)",
        "informativo (X-Road: decenas de ms por salto)",
        "informativo",
        added_p50_ms=added50,
        added_p95_ms=added95,
        direct_p50_ms=d["p50"],
        direct_p95_ms=d["p95"],
        mediated_p50_ms=m["p50"],
        mediated_p95_ms=m["p95"],
    )
    d, m = r["interop_direct"], r["interop_mediated"]
    ratio = m["rps"] / d["rps"] if d["rps"] else 0.0
    add(
        "interop_throughput",
        f"Mediador: rendimiento con {cfg.connections} conexiones",
        f"{fmt(m['rps'])} llamadas/s mediadas ({fmt(m['rps'] / cfg.cores)}/s/núcleo) = "
        f"{fmt(100 * ratio, 1)} % de las directas ({fmt(d['rps'])}/s); mediadas {_lat(m)}",
        "informativo",
        "informativo",
        rps=m["rps"],
        direct_rps=d["rps"],
        ratio=ratio,
        p95_ms=m["latency_ms"]["p95"],
    )


def _outbox_rows(cfg: Config, r: dict[str, dict[str, Any]], add: Any) -> None:
    o = r.get("outbox")
    if not o:
        return
    workers = o["workers"]
    add(
        "outbox",
        f"Bandeja de salida de correo: worker RQ ({workers} proceso{'s' if workers > 1 else ''})",
        f"{fmt(o['per_second'])} mensajes/s ({num(o['sent'])} de {num(o['messages'])} enviados; "
        f"{fmt(o['wall_s'], 1)} s con el arranque del worker = {fmt(o['per_second_wall'])}/s); "
        f"encolar: {fmt(o['enqueue']['per_second'])}/s",
        "informativo",
        "informativo" if o["sent"] == o["messages"] else "NO CUMPLE: mensajes sin enviar",
        per_second=o["per_second"],
        per_second_wall=o["per_second_wall"],
        enqueue_per_second=o["enqueue"]["per_second"],
    )
    s = r.get("outbox_simple")
    if s:
        add(
            "outbox_simple",
            "Bandeja de salida con `--worker-class rq.worker.SimpleWorker` (sin fork por trabajo)",
            f"{fmt(s['per_second'])} mensajes/s ({num(s['sent'])} de {num(s['messages'])}; "
            f"{fmt(s['per_second'] / o['per_second'] if o['per_second'] else 0, 1)}× el worker por omisión)",
            "informativo",
            "informativo" if s["sent"] == s["messages"] else "NO CUMPLE: mensajes sin enviar",
            per_second=s["per_second"],
            per_second_wall=s["per_second_wall"],
        )


def _data_lines(cfg: Config, d: dict[str, Any]) -> list[str]:
    lines = []
    shape = d.get("cases") or {}
    if shape:
        statuses = d.get("cases_statuses") or {}
        total = sum(statuses.values()) or 1
        mix = ", ".join(
            f"{k} {fmt(100 * v / total, 1)} %" for k, v in sorted(statuses.items(), key=lambda x: -x[1])
        )
        small = d.get("cases_1x") or {}
        lines += [
            f"- Expedientes: {num(shape['cases'])} ({mix}); crecimiento medido con "
            f"{num(cfg.extra['small_cases'])} → {num(cfg.extra['large_cases'])}. Bandeja del funcionario "
            f"`{shape['clerk']}`: {num(small.get('institution_open', 0))} → {num(shape['institution_open'])} "
            f"abiertos de {num(small.get('institution_cases', 0))} → {num(shape['institution_cases'])} de su "
            f"institución; historial (CaseEvent): {num(shape['case_events'])} filas; «Mis trámites»: "
            f"{num(shape['heavy_citizen_cases'])} expedientes de un mismo ciudadano.",
        ]
    if d.get("interop_log"):
        verify = d.get("interop_verify") or {}
        checked = (
            f"; `interop_verify_log` tras la medición: {verify.get('message', '')} "
            f"({fmt(verify.get('seconds'), 1)} s)"
            if verify and not verify.get("skipped")
            else ""
        )
        lines.append(
            f"- Bitácora de interoperabilidad: {num(d['interop_log'])} entradas generadas con la cadena de "
            f"hashes de la aplicación (`entry_digest`){checked}."
        )
    return lines


def write_results(cfg: Config, payload: dict[str, Any]) -> None:
    results = BENCH / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "latest.json").write_text(
        json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    m = payload["machine"]
    d = payload["data"]
    lines = [
        "# Ventanilla — resultados de `make bench`",
        "",
        f"Fecha: {payload['finished_at']} · duración total {fmt(payload['total_seconds'] / 60, 1)} min · "
        f"escala {cfg.scale:g} (BENCH_SCALE)",
        "",
        "| Métrica | Valor | Referencia / meta | Resultado |",
        "| --- | --- | --- | --- |",
    ]
    for row in payload["metrics"]:
        lines.append(f"| {row['metric']} | {row['value']} | {row['reference']} | {row['status']} |")
    noisy = [
        f"{key} ({phase['cpu']['foreign']:.0%})"
        for key, phase in payload["phases"].items()
        if (phase.get("cpu") or {}).get("foreign", 0) >= NOISY_SHARE
    ]
    if noisy:
        lines += [
            "",
            f"**Aviso: otros procesos usaron ≥ {NOISY_SHARE:.0%} de la CPU de la máquina durante: "
            + ", ".join(noisy)
            + ". Las filas marcadas «con ruido» dependen de ellas: repita `make bench` con la máquina "
            "libre.**",
        ]
    lines += [
        "",
        "## Datos",
        "",
        f"- Trámites: {num(d['procedures'])} ({num(d['published'])} publicados); crecimiento medido con "
        f"{num(cfg.extra['small_total'])} → {num(cfg.extra['large_total'])}.",
        f"- Personas: {num(d['persons'])}; cuentas de prueba con contraseña conocida: {d['accounts']}.",
        f"- Generación: {fmt(d['generation_seconds'], 1)} s (migrar y demo {fmt(d['setup_seconds'], 1)} s).",
        *_data_lines(cfg, d),
        "",
        "## Máquina y modo de servicio",
        "",
        f"- {m['cores']} núcleos ({m['cpu']}), {m['memory_gib']} GiB, {m['os']}.",
        f"- Python {m['python']}, Django {m['django']}, gunicorn {m['gunicorn']}, django-oauth-toolkit "
        f"{m['django_oauth_toolkit']}, PostgreSQL {m['postgresql']}, Redis {m['redis']}.",
        f"- Servidor: `{m['gunicorn_command']}` con `{m['settings']}` (producción sin límites por IP), "
        f"{cfg.workers} workers.",
        f"- Carga: {m['load_generator']}, {cfg.connections} conexiones, {fmt(cfg.duration, 0)} s por fase "
        f"(+{fmt(cfg.warmup, 0)} s de calentamiento), máximo {num(cfg.max_requests)} solicitudes por fase; "
        "solo 127.0.0.1.",
        "- «por núcleo» = total ÷ núcleos de la máquina (servidor, PostgreSQL, Redis y generador de carga "
        "comparten la CPU).",
        "",
        "Detalle de cada fase en `latest.json`; consultas SQL de la búsqueda y EXPLAIN en `explain.txt`.",
    ]
    (results / "latest.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------


def main() -> int:
    cfg = Config.from_env()
    if cfg.port == 0:
        cfg.port = free_port()
    started = time.monotonic()
    workdir = BENCH / ".work"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    small_total = max(50, cfg.procedures // 10)
    small_cases = max(100, cfg.cases // 10)
    small_log = max(100, cfg.log_entries // 10)
    cfg.extra.update(
        small_total=small_total,
        large_total=cfg.procedures,
        small_cases=small_cases,
        large_cases=cfg.cases,
        small_log=small_log,
    )
    log(
        f"{num(cfg.procedures)} trámites (crecimiento desde {num(small_total)}), "
        f"{num(cfg.cases)} expedientes (desde {num(small_cases)}), "
        f"{num(cfg.log_entries)} entradas de la bitácora de interoperabilidad, "
        f"{num(cfg.persons)} personas, {cfg.workers} workers, {cfg.connections} conexiones, "
        f"{cfg.duration:g} s por fase, carga con {cfg.tool}"
    )
    if cfg.tool == "python":
        log("AVISO: wrk no está instalado; se usa el cliente Python (menos preciso, compite por la CPU).")
    env = bench_env(cfg, workdir)
    server = Server(cfg, env, workdir)
    # The demo registries run in their own gunicorn: the mediator calls its provider over HTTP, and a sync
    # worker calling back into its own server would wait for a free worker of that same server.
    provider_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus-provider")}
    provider = Server(cfg, provider_env, workdir, name="provider", port=free_port(), workers=cfg.workers)
    runner = Runner(cfg, workdir, server)
    data: dict[str, Any] = {}
    explain: Any = None
    try:
        db_recreate(cfg)
        redis_flush(cfg)
        t0 = time.monotonic()
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        manage(env, "load_demo")
        data["setup_seconds"] = round(time.monotonic() - t0, 1)
        log(f"base creada, migrada y con datos de demostración en {data['setup_seconds']} s")
        gen = generate(
            env,
            "base",
            "--persons",
            str(cfg.persons),
            "--accounts",
            str(cfg.accounts),
            "--password",
            BENCH_PASSWORD,
            "--target",
            str(small_total),
        )
        cases_1x = generate(env, "cases", "--target", str(small_cases), "--out", str(workdir))
        log(f"expedientes: {cases_1x['cases']} → {cases_1x['shape']}")
        log_1x = generate(env, "interop-log", "--target", str(small_log), "--final", str(cfg.log_entries))
        log(f"bitácora de interoperabilidad: {log_1x['log']}")
        exported = generate(env, "export", "--out", str(workdir))
        log(f"generado: {gen} → {exported}")
        provider.start()
        runner.other_pids = [provider.proc.pid] if provider.proc else []
        interop_setup = generate(
            env,
            "interop-setup",
            "--provider-base",
            f"http://127.0.0.1:{provider.port}",
            "--out",
            str(workdir),
        )
        log(f"proveedor de los registros de demostración en 127.0.0.1:{provider.port}: {interop_setup}")
        server.start()
        log(f"gunicorn en 127.0.0.1:{cfg.port} ({' '.join(server.command[1:])})")
        data["cpu_before_1x"] = runner.wait_for_quiet(cfg.quiet_wait)

        # 1× data: search and list; the clerk's queue and the cases API
        runner.search_phase("growth_search_html_1x", "/tramites/?q=")
        runner.phase("growth_list_1x", list_requests())
        runner.results["growth_list_1x"]["procedures"] = exported["procedures"]
        info = cases_info(workdir)  # the same filter values at 1× and 10×
        clerk_cookie = session_cookie(cfg, info["clerk"], DEMO_PASSWORD)
        runner.phase("growth_queue_1x", queue_requests(info), headers={"Cookie": clerk_cookie})
        runner.results["growth_queue_1x"]["cases"] = cases_1x["shape"]
        api_token = client_token(cfg, info["api_client"], info["api_secret"], "expedientes")
        runner.phase(
            "growth_api_cases_1x",
            api_cases_requests(info, filtered=False),
            headers={"Authorization": f"Bearer {api_token}"},
        )

        grow = generate(env, "procedures", "--target", str(cfg.procedures))
        exported = generate(env, "export", "--out", str(workdir))
        gen_seconds = gen["persons"]["seconds"] + gen["procedures"]["seconds"] + grow["procedures"]["seconds"]
        log(f"catálogo a {num(exported['procedures'])} trámites en {grow['procedures']['seconds']} s")
        cases_10x = generate(env, "cases", "--target", str(cfg.cases), "--out", str(workdir))
        log(f"expedientes: {cases_10x['cases']} → {cases_10x['shape']}")
        log_10x = generate(
            env, "interop-log", "--target", str(cfg.log_entries), "--final", str(cfg.log_entries)
        )
        log(f"bitácora de interoperabilidad: {log_10x['log']}")
        gen_seconds += sum(g["cases"]["seconds"] for g in (cases_1x, cases_10x)) + sum(
            g["log"]["seconds"] for g in (log_1x, log_10x)
        )
        data.update(
            exported,
            generation_seconds=round(gen_seconds, 1),
            generation=[gen, grow, cases_1x, cases_10x, log_1x, log_10x],
            cases=cases_10x["shape"],
            cases_1x=cases_1x["shape"],
            cases_statuses=cases_10x["cases"]["statuses"],
            interop_log=log_10x["log"]["total"],
            interop=interop_setup,
        )
        redis_flush(cfg)

        # 10× data: everything, as ratios against /health/live measured at the start and at the end
        data["cpu_before_10x"] = runner.wait_for_quiet(cfg.quiet_wait)
        runner.phase("health", [loadgen.Request("GET", "/health/live")])
        runner.search_phase("search_html", "/tramites/?q=")
        runner.results["growth_search_html_10x"] = runner.results["search_html"]
        runner.search_phase("search_api", "/api/v1/procedures?q=")
        runner.phase("detail", detail_requests(workdir))
        runner.phase("list_10x", list_requests())

        # Expedientes with 10× data: the queue (same requests as 1×), "Mis trámites", the API
        clerk_cookie = session_cookie(cfg, info["clerk"], DEMO_PASSWORD)
        runner.phase("queue_10x", queue_requests(info), headers={"Cookie": clerk_cookie})
        citizen_cookie = session_cookie(cfg, info["heavy_citizen"], BENCH_PASSWORD)
        runner.phase("my_cases", my_cases_requests(), headers={"Cookie": citizen_cookie})
        api_token = client_token(cfg, info["api_client"], info["api_secret"], "expedientes")
        runner.phase(
            "api_cases",
            api_cases_requests(info, filtered=False),
            headers={"Authorization": f"Bearer {api_token}"},
        )
        runner.phase(
            "api_cases_filtered",
            api_cases_requests(info, filtered=True),
            headers={"Authorization": f"Bearer {api_token}"},
        )

        # Interoperability with the full message log: the same registry calls direct and mediated, under
        # load (throughput) and one at a time (the latency a call gains).
        iinfo = json.loads((workdir / "interop.json").read_text())
        itoken = client_token(cfg, iinfo["client_id"], iinfo["secret"])
        iheaders = interop_headers(iinfo, itoken)
        runner.phase("interop_direct", interop_requests(iinfo, mediated=False), port=provider.port)
        runner.phase("interop_mediated", interop_requests(iinfo, mediated=True), headers=iheaders)
        runner.phase(
            "interop_direct_seq", interop_requests(iinfo, mediated=False), port=provider.port, connections=1
        )
        runner.phase(
            "interop_mediated_seq", interop_requests(iinfo, mediated=True), headers=iheaders, connections=1
        )

        cc_id = CC_CLIENT
        runner.phase(
            "token_cc",
            [loadgen.Request("POST", "/token/", "grant_type=client_credentials")],
            headers={"Authorization": browser.basic_auth(cc_id, _secret(workdir, CC_CLIENT))},
        )
        accounts = [a for a in (workdir / "accounts.txt").read_text().split() if a]
        b = browser.Browser(cfg.port)
        cookies, token = b.csrf_pair()
        b.close()
        login_accounts = accounts[: max(1, len(accounts) - max(2, cfg.connections * 2))]
        runner.phase(
            "login",
            [
                loadgen.Request(
                    "POST",
                    browser.LOGIN_PATH,
                    f"csrfmiddlewaretoken={quote_plus(token)}&identifier={quote_plus(u)}"
                    f"&password={quote_plus(BENCH_PASSWORD)}",
                )
                for u in login_accounts
            ],
            expect=(302,),
            headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
        )
        # Authorization code: signed-in sessions with remembered consent ask for codes (GET /authorize,
        # measured), and the codes are exchanged at once (they live 60 s).
        verifier, challenge = browser.pkce_pair()
        sessions = authorize_sessions(cfg, workdir, verifier, challenge)
        capture = workdir / "codes.txt"
        runner.phase(
            "authorize",
            [
                loadgen.Request(
                    "GET", browser.authorize_path(AC_CLIENT, AC_SCOPE, challenge), headers={"Cookie": c}
                )
                for c in sessions
            ],
            expect=(302,),
            capture=capture,
            max_requests=cfg.auth_codes,
        )
        codes = codes_from(capture)
        if not codes:
            raise BenchError("GET /authorize no entregó códigos")
        runner.phase(
            "token_ac",
            [
                loadgen.Request(
                    "POST",
                    "/token/",
                    f"grant_type=authorization_code&code={quote_plus(code)}"
                    f"&redirect_uri={quote_plus(browser.REDIRECT_URI)}&code_verifier={quote_plus(verifier)}",
                )
                for code in codes
            ],
            mode="once",
            headers={"Authorization": browser.basic_auth(AC_CLIENT, _secret(workdir, AC_CLIENT))},
            warmup=False,
        )
        runner.phase("health_end", [loadgen.Request("GET", "/health/live")], warmup=False)
        provider.stop()
        runner.other_pids = []
        outbox_phase(cfg, env, runner)
        if os.environ.get("BENCH_EMAIL_COMPARE", "1") == "1":
            # Same worker command with RQ's SimpleWorker (no fork per job): what a one-flag change gives.
            outbox_phase(cfg, env, runner, key="outbox_simple", worker_class="rq.worker.SimpleWorker")
        data["interop_verify"] = verify_log(cfg, env)
        explain = _explain(env)
        data["explain_cases"] = _explain(env, "explain_cases.py", "explain_cases.txt")
        machine = machine_facts(cfg, server)
    except Exception as exc:
        if not isinstance(exc, BenchError):
            traceback.print_exc()
        print(f"\nERROR: {exc}", file=sys.stderr)
        tail = server.tail()
        if tail:
            print(f"--- últimas líneas de gunicorn ({server.log_path}):\n{tail}", file=sys.stderr)
        return 2
    finally:
        server.stop()
        provider.stop()
        if cfg.keep_db:
            log(f"BENCH_KEEP_DB=1: se conserva la base {cfg.db_name}")
        else:
            try:
                db_drop(cfg)
            except Exception as exc:
                print(f"Aviso: no se pudo borrar la base {cfg.db_name}: {exc}", file=sys.stderr)
        with contextlib.suppress(BenchError):
            redis_flush(cfg)

    metrics = build_metrics(cfg, runner.results)
    payload = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "total_seconds": round(time.monotonic() - started, 1),
        "machine": machine,
        "config": {
            "scale": cfg.scale,
            "procedures": cfg.procedures,
            "persons": cfg.persons,
            "accounts": cfg.accounts,
            "workers": cfg.workers,
            "connections": cfg.connections,
            "duration_s": cfg.duration,
            "warmup_s": cfg.warmup,
            "max_requests": cfg.max_requests,
            "auth_codes": cfg.auth_codes,
            "load_generator": cfg.tool,
            "growth_small": small_total,
            "growth_large": cfg.procedures,
            "cases": cfg.cases,
            "cases_small": small_cases,
            "interop_log_entries": cfg.log_entries,
            "email_messages": cfg.email_messages,
            "email_workers": cfg.email_workers,
            "queries": QUERIES,
        },
        "data": data,
        "goals": {
            "throughput_ratio_min": GOAL_THROUGHPUT_RATIO,
            "search_p95_ms_max": GOAL_SEARCH_P95_MS,
            "growth_max": GOAL_GROWTH,
            "keycloak_cc_per_vcpu": KEYCLOAK_CC_PER_VCPU,
            "keycloak_login_per_vcpu": KEYCLOAK_LOGIN_PER_VCPU,
        },
        "metrics": metrics,
        "phases": runner.results,
        "explain": explain,
    }
    write_results(cfg, payload)
    print()
    print((BENCH / "results" / "latest.md").read_text(encoding="utf-8"))
    missed = [row for row in metrics if row["status"].startswith("NO CUMPLE")]
    if missed:
        print("METAS NO CUMPLIDAS (make bench no falla por esto):")
        for row in missed:
            print(f"  - {row['metric']}: {row['value']} (meta: {row['reference']})")
    log(f"listo en {payload['total_seconds']} s → bench/results/latest.md, latest.json, explain.txt")
    return 0


def verify_log(cfg: Config, env: dict[str, str]) -> dict[str, Any]:
    """``manage.py interop_verify_log`` over the whole chain (generated entries and the mediator's own)."""
    if os.environ.get("BENCH_VERIFY_LOG", "1") != "1":
        return {"skipped": True}
    started = time.monotonic()
    proc = subprocess.run(  # noqa: S603
        [PY, "manage.py", "interop_verify_log"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    seconds = round(time.monotonic() - started, 1)
    text = (proc.stdout + proc.stderr).strip().splitlines()
    result = {"ok": proc.returncode == 0, "seconds": seconds, "message": text[-1] if text else ""}
    log(f"verificación de la cadena en {seconds} s: {result['message']}")
    return result


def _explain(env: dict[str, str], script: str = "explain.py", out: str = "explain.txt") -> Any:
    proc = subprocess.run(  # noqa: S603
        [PY, str(BENCH / script), str(BENCH / "results" / out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"bench/{script} falló:\n{proc.stderr.strip()[-2000:]}")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return None


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
