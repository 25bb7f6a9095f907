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
from datetime import UTC, datetime
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import browser, cpu, loadgen  # noqa: E402
from bench.generate import PENDING as PENDING_DATA  # noqa: E402

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

# Modules the benchmark will cover once they exist (issue 8): id → (candidate packages, label).
PENDING_MODULES = {
    "cases": (
        ("ventanilla.cases", "ventanilla.expedientes"),
        "Bandeja del funcionario con 1.000.000 de expedientes (p95 y crecimiento 10×)",
    ),
    "interop": (
        ("ventanilla.interop", "ventanilla.interoperability"),
        "Mediador de interoperabilidad: latencia añadida p50/p95 y rendimiento "
        "(bitácora de 1.000.000 de entradas)",
    ),
    "outbox": (
        ("ventanilla.outbox", "ventanilla.notifications", "ventanilla.mail"),
        "Bandeja de salida de correo: mensajes/s con el worker",
    ),
}


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
    def __init__(self, cfg: Config, env: dict[str, str], workdir: Path) -> None:
        self.cfg = cfg
        self.env = env
        self.log_path = workdir / "gunicorn.log"
        self.proc: subprocess.Popen[bytes] | None = None
        conf = ROOT / "config" / "gunicorn.conf.py"
        bind = f"127.0.0.1:{cfg.port}"
        gunicorn = str(Path(PY).parent / "gunicorn")
        # Production's gunicorn config when it exists; workers and recycling are bench knobs (README).
        common = [
            "--bind",
            bind,
            "--workers",
            str(cfg.workers),
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
                raise BenchError(f"gunicorn terminó al iniciar:\n{self.tail()}")
            try:
                b = browser.Browser(self.cfg.port, timeout=5)
                status = b.request("GET", "/health/ready").status
                b.close()
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise BenchError(f"gunicorn no respondió /health/ready en 60 s:\n{self.tail()}")

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

    def cpu_snapshot(self) -> cpu.Snapshot | None:
        pid = self.server.proc.pid if self.server.proc else None
        return cpu.snapshot(pid, db_backend_pids(self.cfg))

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
    ) -> dict[str, Any]:
        """Check one request by hand (fails fast on a wrong answer), warm up, then measure."""
        tool = tool or self.cfg.tool
        if mode == "random" or tool == "python":
            sample = random.choice(requests)  # noqa: S311
            resp = _check(self.cfg.port, sample, {**(headers or {}), **sample.headers})
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
                self.cfg.port,
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
            self.cfg.port,
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
    for key, (modules, label) in PENDING_MODULES.items():
        present = next((m for m in modules if find_spec(m) is not None), None)
        status = "pendiente"
        value = (
            "pendiente: el módulo aún no existe"
            if present is None
            else f"pendiente: falta el escenario ({present} ya existe)"
        )
        add(f"pending_{key}", label, value, "issue 8", status)
    return rows


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
        "- Pendiente (los módulos aún no existen): " + "; ".join(PENDING_DATA.values()) + ".",
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
    cfg.extra.update(small_total=small_total, large_total=cfg.procedures)
    log(
        f"{num(cfg.procedures)} trámites (crecimiento desde {num(small_total)}), "
        f"{num(cfg.persons)} personas, {cfg.workers} workers, {cfg.connections} conexiones, "
        f"{cfg.duration:g} s por fase, carga con {cfg.tool}"
    )
    if cfg.tool == "python":
        log("AVISO: wrk no está instalado; se usa el cliente Python (menos preciso, compite por la CPU).")
    env = bench_env(cfg, workdir)
    server = Server(cfg, env, workdir)
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
        exported = generate(env, "export", "--out", str(workdir))
        log(f"generado: {gen} → {exported}")
        server.start()
        log(f"gunicorn en 127.0.0.1:{cfg.port} ({' '.join(server.command[1:])})")
        data["cpu_before_1x"] = runner.wait_for_quiet(cfg.quiet_wait)

        # 1× data: search and list
        runner.search_phase("growth_search_html_1x", "/tramites/?q=")
        runner.phase("growth_list_1x", list_requests())
        runner.results["growth_list_1x"]["procedures"] = exported["procedures"]

        grow = generate(env, "procedures", "--target", str(cfg.procedures))
        exported = generate(env, "export", "--out", str(workdir))
        gen_seconds = gen["persons"]["seconds"] + gen["procedures"]["seconds"] + grow["procedures"]["seconds"]
        data.update(exported, generation_seconds=round(gen_seconds, 1), generation=[gen, grow])
        log(f"catálogo a {num(exported['procedures'])} trámites en {grow['procedures']['seconds']} s")
        redis_flush(cfg)

        # 10× data: everything, as ratios against /health/live measured at the start and at the end
        data["cpu_before_10x"] = runner.wait_for_quiet(cfg.quiet_wait)
        runner.phase("health", [loadgen.Request("GET", "/health/live")])
        runner.search_phase("search_html", "/tramites/?q=")
        runner.results["growth_search_html_10x"] = runner.results["search_html"]
        runner.search_phase("search_api", "/api/v1/procedures?q=")
        runner.phase("detail", detail_requests(workdir))
        runner.phase("list_10x", list_requests())

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
        explain = _explain(env)
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
        "pending_data": PENDING_DATA,
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


def _explain(env: dict[str, str]) -> Any:
    proc = subprocess.run(  # noqa: S603
        [PY, str(BENCH / "explain.py"), str(BENCH / "results" / "explain.txt")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"bench/explain.py falló:\n{proc.stderr.strip()[-2000:]}")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return None


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
