"""Load generation for `make bench`: wrk (Debian package) with bench/wrk/requests.lua, or a Python client
(threads + http.client keep-alive) when wrk is missing. Loopback only, fixed request count and time limit.

Both return the same summary::

    {"tool", "requests", "ok", "statuses": {"2xx": n, ...}, "rps", "elapsed_s",
     "latency_ms": {"p50", "p90", "p95", "p99", "mean", "max"}, "errors": {...}}

``rps`` counts every answered request over the time from the first request sent to the last answer.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LUA = Path(__file__).resolve().parent / "wrk" / "requests.lua"
HOST = "127.0.0.1"


@dataclass
class Request:
    method: str
    path: str
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # per request (e.g. a session cookie)

    def line(self) -> str:
        extra = "|".join(f"{k}: {v}" for k, v in self.headers.items())
        parts = [self.method, self.path, self.body, extra]
        if any(ch in part for part in parts for ch in "\t\n") or "|" in "".join(self.headers.values()):
            raise ValueError("tabs, newlines (and | in headers) are not allowed in bench requests")
        return "\t".join(parts).rstrip("\t")


@dataclass
class Phase:
    name: str
    requests: list[Request]
    mode: str = "random"  # or "once": each request exactly once (single-use authorization codes)
    headers: dict[str, str] = field(default_factory=dict)
    duration: float = 10.0
    max_requests: int = 100_000
    connections: int = 2
    timeout: float = 30.0
    capture: Path | None = None  # append the Location of every redirect here (authorization codes)


def wrk_path() -> str | None:
    return shutil.which("wrk")


def wrk_version() -> str:
    path = wrk_path()
    if not path:
        return ""
    out = subprocess.run([path, "-v"], capture_output=True, text=True, check=False)  # noqa: S603
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "wrk"


def run(phase: Phase, port: int, workdir: Path, tool: str) -> dict[str, Any]:
    if tool == "wrk":
        return _run_wrk(phase, port, workdir)
    return _run_python(phase, port)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def _status_classes(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


# --------------------------------------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------------------------------------


def _run_wrk(phase: Phase, port: int, workdir: Path) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    slug = phase.name.replace(" ", "_")
    requests_file = workdir / f"{slug}.requests"
    headers_file = workdir / f"{slug}.headers"
    out_file = workdir / f"{slug}.json"
    requests_file.write_text("\n".join(r.line() for r in phase.requests) + "\n")
    headers_file.write_text("".join(f"{k}: {v}\n" for k, v in phase.headers.items()))
    out_file.unlink(missing_ok=True)
    env = {
        **os.environ,
        "BENCH_REQUESTS_FILE": str(requests_file),
        "BENCH_HEADERS_FILE": str(headers_file),
        "BENCH_MODE": phase.mode,
        "BENCH_MAX": str(phase.max_requests),
        "BENCH_OUT": str(out_file),
        "BENCH_CAPTURE": str(phase.capture or ""),
    }
    duration = max(1, round(phase.duration))
    command = [
        wrk_path() or "wrk",
        "-t1",
        f"-c{phase.connections}",
        f"-d{duration}s",
        f"--timeout={max(1, round(phase.timeout))}s",
        "-s",
        str(LUA),
        f"http://{HOST}:{port}",
    ]
    proc = subprocess.run(  # noqa: S603 - fixed command
        command, env=env, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    if proc.returncode != 0 or not out_file.exists():
        raise RuntimeError(f"wrk falló en la fase {phase.name}: {proc.stderr.strip() or proc.stdout.strip()}")
    raw = json.loads(out_file.read_text())
    thread = raw["threads"][0] if raw["threads"] else {}
    answered = int(thread.get("responses", 0))
    elapsed = float(thread.get("t_last") or 0) - float(thread.get("t_first") or 0)
    if elapsed <= 0:
        elapsed = raw["duration_us"] / 1e6
    lat = raw["latency_us"]
    statuses = {
        "1xx": thread.get("s1", 0),
        "2xx": thread.get("s2", 0),
        "3xx": thread.get("s3", 0),
        "4xx": thread.get("s4", 0),
        "5xx": thread.get("s5", 0),
    }
    return {
        "tool": "wrk",
        "requests": answered,
        "statuses": _status_classes(statuses),
        "rps": answered / elapsed if elapsed > 0 else 0.0,
        "elapsed_s": round(elapsed, 3),
        "latency_ms": {
            k: (None if lat[k] is None else round(lat[k] / 1000, 2))
            for k in ("p50", "p90", "p95", "p99", "mean", "max")
        },
        "errors": {k: v for k, v in raw["errors"].items() if k != "status" and v},
        "connections": phase.connections,
        "duration_limit_s": duration,
        "max_requests": phase.max_requests,
    }


# --------------------------------------------------------------------------------------------------------
# Python fallback
# --------------------------------------------------------------------------------------------------------


def _run_python(phase: Phase, port: int) -> dict[str, Any]:
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    cursor = {"next": 0, "answered": 0}
    deadline = time.monotonic() + phase.duration
    first_last = [float("inf"), 0.0]
    limit = phase.max_requests
    if phase.mode == "once":
        limit = min(limit, len(phase.requests))

    def take() -> Request | None:
        with lock:
            if cursor["next"] >= limit or time.monotonic() >= deadline:
                return None
            index = cursor["next"]
            cursor["next"] += 1
        if phase.mode == "once":
            return phase.requests[index]
        return random.choice(phase.requests)  # noqa: S311 - load mix, not security

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=phase.timeout)
        while True:
            req = take()
            if req is None:
                break
            headers = {**phase.headers, **req.headers}
            if req.body:
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            start = time.monotonic()
            try:
                conn.request(req.method, req.path, body=req.body or None, headers=headers)
                resp = conn.getresponse()
                resp.read()
                location = resp.getheader("Location")
                if phase.capture and location:
                    with lock, phase.capture.open("a") as captured:
                        captured.write(location + "\n")
                if resp.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                with lock:
                    key = type(exc).__name__
                    errors[key] = errors.get(key, 0) + 1
                continue
            end = time.monotonic()
            with lock:
                latencies.append((end - start) * 1000)
                key = f"{resp.status // 100}xx"
                statuses[key] = statuses.get(key, 0) + 1
                cursor["answered"] += 1
                first_last[0] = min(first_last[0], start)
                first_last[1] = max(first_last[1], end)
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(phase.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(phase.duration + phase.timeout + 5)
    elapsed = first_last[1] - first_last[0] if latencies else 0.0
    return {
        "tool": "python",
        "requests": cursor["answered"],
        "statuses": statuses,
        "rps": cursor["answered"] / elapsed if elapsed > 0 else 0.0,
        "elapsed_s": round(elapsed, 3),
        "latency_ms": {
            "p50": round(_pct(latencies, 50), 2),
            "p90": round(_pct(latencies, 90), 2),
            "p95": round(_pct(latencies, 95), 2),
            "p99": round(_pct(latencies, 99), 2),
            "mean": round(sum(latencies) / len(latencies), 2) if latencies else None,
            "max": round(max(latencies), 2) if latencies else None,
        },
        "errors": errors,
        "connections": phase.connections,
        "duration_limit_s": phase.duration,
        "max_requests": phase.max_requests,
    }
