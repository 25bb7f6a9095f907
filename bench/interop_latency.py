"""Added latency of the interoperability mediator: the same demo registry call, direct vs through the
mediator (``/interop/r1/...``), on one local server. Not part of the tests.

    .venv/bin/python bench/interop_latency.py               # 300 calls each, gunicorn (4 threads)
    BENCH_INTEROP_CALLS=1000 .venv/bin/python bench/interop_latency.py
    BENCH_INTEROP_SERVER=runserver .venv/bin/python bench/interop_latency.py

It uses its own SQLite database in a temporary directory (or ``BENCH_DATABASE_URL``), migrates it, loads the
demo registries and one consumer (GAMLP/EXPEDIENTES, or IDENTIFICACIONES' country equivalent), starts the
server, warms up, then alternates direct and mediated calls (so machine noise hits both alike) and prints
p50/p95/p99 of each and the difference. The direct call carries the provider secret itself, so the two
calls hit the same provider view; the mediated one adds: token lookup, rights/consent checks, the rate
limit, one HTTP hop, hashing, the chained log append (one transaction) and the data-use row.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(fraction * len(ordered)) - 1)]


def _wait(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"El servidor no respondió en {url}")


def main() -> None:
    calls = int(os.environ.get("BENCH_INTEROP_CALLS", "300"))
    server = os.environ.get("BENCH_INTEROP_SERVER", "gunicorn")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="vt-interop-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'bench.sqlite3'}",
        "VENTANILLA_VAR_DIR": str(workdir),
        "VENTANILLA_PUBLIC_URL": base,
        "INTEROP_RATE_LIMIT": str(10**9),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)  # noqa: S603
    setup = subprocess.run(  # noqa: S603
        [PYTHON, "-c", SETUP_SCRIPT], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    ids = json.loads(setup.stdout.strip().splitlines()[-1])
    if server == "runserver":
        command = [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    else:
        command = [
            str(Path(PYTHON).parent / "gunicorn"),
            "config.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603
    try:
        _wait(f"{base}/health/live")
        with httpx.Client(timeout=30) as client:
            token = client.post(
                f"{base}/token/",
                data={"grant_type": "client_credentials"},
                auth=(ids["client_id"], ids["secret"]),
            ).json()["access_token"]
            direct_url = f"{ids['base_url']}/empresas/{ids['tax_id']}"
            mediated_url = f"{base}/interop/r1/{ids['service']}/empresas/{ids['tax_id']}"
            direct_headers = {"Interop-Provider-Secret": ids["provider_secret"]}
            mediated_headers = {
                "Authorization": f"Bearer {token}",
                "Interop-Client": ids["client"],
                "Interop-Purpose": "Medicion de latencia",
            }
            direct: list[float] = []
            mediated: list[float] = []
            for i in range(calls + 20):
                for url, headers, bucket in (
                    (direct_url, direct_headers, direct),
                    (mediated_url, mediated_headers, mediated),
                ):
                    started = time.perf_counter()
                    response = client.get(url, headers=headers)
                    elapsed = (time.perf_counter() - started) * 1000
                    if response.status_code != 200:
                        raise SystemExit(f"{url}: {response.status_code} {response.text[:200]}")
                    if i >= 20:  # warm-up discarded
                        bucket.append(elapsed)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    rows = {}
    for name, values in (("directo", direct), ("mediador", mediated)):
        rows[name] = {
            "p50": _percentile(values, 0.50),
            "p95": _percentile(values, 0.95),
            "p99": _percentile(values, 0.99),
            "media": statistics.fmean(values),
        }
    added = {k: rows["mediador"][k] - rows["directo"][k] for k in ("p50", "p95", "p99", "media")}
    print(f"Servidor: {server}; {calls} llamadas de cada tipo (alternadas), 20 de calentamiento descartadas.")
    print(f"{'':10} {'p50':>8} {'p95':>8} {'p99':>8} {'media':>8}  (ms)")
    for name, row in (*rows.items(), ("agregado", added)):
        print(f"{name:10} {row['p50']:8.1f} {row['p95']:8.1f} {row['p99']:8.1f} {row['media']:8.1f}")
    print(json.dumps({"server": server, "calls": calls, **rows, "agregado": added}))


SETUP_SCRIPT = r"""
import json
import django
django.setup()
from django.conf import settings
from ventanilla.core.models import Institution
from ventanilla.interop.demo import PROVIDERS, demo_secret, load_demo_interop, DEMO_CONSUMERS
from ventanilla.interop.models import Service
country = settings.COUNTRY_PACK.code
codes = PROVIDERS[country]
consumer = DEMO_CONSUMERS[country][0]
for code in (codes["civil"], codes["company"], consumer):
    Institution.objects.get_or_create(code=code, defaults={"name": code, "acronym": code, "level": "central"})
load_demo_interop(consumers=[consumer])
service = Service.objects.get(subsystem__member__institution__code=codes["company"], code="empresas")
from ventanilla.interop.demo_registries import COMPANIES
print(json.dumps({
    "client_id": f"interop-{consumer.lower()}-expedientes",
    "secret": demo_secret(consumer),
    "client": f"{consumer}/EXPEDIENTES",
    "service": service.identifier,
    "base_url": service.base_url,
    "provider_secret": service.provider_secret,
    "tax_id": COMPANIES[country][0]["nit"],
}))
"""


if __name__ == "__main__":
    main()
